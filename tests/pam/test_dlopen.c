/* test_dlopen.c - pam_berth.so loads with RTLD_NOW (every symbol resolves,
 * as libpam would load it), exports the two session hooks and nothing of the
 * core, and stays mapped after dlclose (-z nodelete: libcurl's global state
 * must survive sshd unloading the module).  Linux-PAM's tst-dlopen, extended. */
#include "config.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

static int failures;

static void
check(int cond, const char *what)
{
  printf("%s - %s\n", cond ? "ok" : "not ok", what);
  if (!cond)
    failures++;
}

int
main(void)
{
  static const char *const hidden[] = {
    "berth_config_load", "berth_box_open",    "berth_engine_ping",    "berth_log",
    "berth_error_make",  "berth_user_lookup", "berth_session_record", "pam_sm_authenticate",
    "pam_sm_acct_mgmt",  "pam_sm_setcred",    "pam_sm_chauthtok",     NULL,
  };
  const char *top = getenv("top_builddir");
  char path[PATH_MAX];
  void *h;

  snprintf(path, sizeof(path), "%s/.libs/pam_berth.so", top ? top : ".");
  h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    printf("not ok - dlopen(%s, RTLD_NOW): %s\n", path, dlerror());
    return 1;
  }
  check(1, "dlopen RTLD_NOW resolves every symbol");
  check(dlsym(h, "pam_sm_open_session") != NULL, "pam_sm_open_session is exported");
  check(dlsym(h, "pam_sm_close_session") != NULL, "pam_sm_close_session is exported");
  for (size_t i = 0; hidden[i] != NULL; i++) {
    char what[128];
    snprintf(what, sizeof(what), "%s is not exported", hidden[i]);
    check(dlsym(h, hidden[i]) == NULL, what);
  }
  check(dlclose(h) == 0, "dlclose");
  h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  check(h != NULL, "module stays loaded after dlclose (-z nodelete)");
  if (h != NULL)
    dlclose(h);
  return failures ? 1 : 0;
}
