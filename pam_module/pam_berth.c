/* pam_berth.c - placeholder; being written. */
#include "config.h"
#include <security/pam_modules.h>
PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv);
PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv);
__attribute__((visibility("default"))) int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) { return PAM_SESSION_ERR; }
__attribute__((visibility("default"))) int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) { return PAM_SUCCESS; }
