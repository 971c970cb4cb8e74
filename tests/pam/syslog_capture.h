/* syslog_capture.h - the PAM test driver replaces syslog(3) to see what
 * pam_berth logs (pam_syslog ends in __syslog_chk inside libpam). */
#ifndef BERTH_TEST_SYSLOG_CAPTURE_H
#define BERTH_TEST_SYSLOG_CAPTURE_H

#include <stdbool.h>

/* Everything logged since the last reset, one message per line. */
const char *captured_log(void);
void captured_log_reset(void);
bool captured_log_has(const char *needle);

#endif
