/* syslog_capture.h - the PAM test driver replaces syslog(3) to see what
 * pam_berth logs (pam_syslog ends in __syslog_chk inside libpam). */
#ifndef BERTH_TEST_SYSLOG_CAPTURE_H
#define BERTH_TEST_SYSLOG_CAPTURE_H

#include <stdbool.h>

/* Everything logged since the last reset, one message per line, each line
 * starting with its priority as "<N>" (6 info, 3 err...), then the text as
 * syslog would store it ("pam_berth(SERVICE:session): ..." for pam_syslog). */
const char *captured_log(void);
void captured_log_reset(void);
bool captured_log_has(const char *needle);
/* The first line containing needle, without its newline (a copy, valid until
 * the next call), or NULL. */
const char *captured_log_line(const char *needle);
/* How many lines contain needle. */
int captured_log_count(const char *needle);

#endif
