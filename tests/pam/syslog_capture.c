/* syslog_capture.c - syslog(3) replacements for the PAM test driver.
 *
 * The driver is linked with -export-dynamic, so these definitions interpose
 * on glibc's for every library in the process: libpam's pam_syslog calls
 * __syslog_chk, the core's default sink calls syslog.  <syslog.h> is left out
 * on purpose: with _FORTIFY_SOURCE it turns syslog into an inline wrapper
 * that these definitions would clash with. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "syslog_capture.h"

void syslog(int pri, const char *fmt, ...);
void vsyslog(int pri, const char *fmt, va_list ap);
void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);

static char logbuf[256 * 1024];
static size_t loglen;

static void
capture(int pri, const char *fmt, va_list ap)
{
  char line[4096];
  int n = snprintf(line, sizeof(line), "<%d>", pri & 7);

  vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
  fprintf(stderr, "# syslog%s\n", line);
  if (loglen + strlen(line) + 2 < sizeof(logbuf)) {
    memcpy(logbuf + loglen, line, strlen(line));
    loglen += strlen(line);
    logbuf[loglen++] = '\n';
    logbuf[loglen] = '\0';
  }
}

void
syslog(int pri, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  capture(pri, fmt, ap);
  va_end(ap);
}

void
vsyslog(int pri, const char *fmt, va_list ap)
{
  capture(pri, fmt, ap);
}

void
__syslog_chk(int pri, int flag, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  capture(pri, fmt, ap);
  va_end(ap);
}

void
__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
  capture(pri, fmt, ap);
}

const char *
captured_log(void)
{
  return logbuf;
}

void
captured_log_reset(void)
{
  loglen = 0;
  logbuf[0] = '\0';
}

bool
captured_log_has(const char *needle)
{
  return strstr(logbuf, needle) != NULL;
}

const char *
captured_log_line(const char *needle)
{
  static char line[4096];
  const char *hit = strstr(logbuf, needle);
  const char *start, *end;

  if (hit == NULL)
    return NULL;
  for (start = hit; start > logbuf && start[-1] != '\n'; start--)
    ;
  end = strchr(hit, '\n');
  snprintf(line, sizeof(line), "%.*s", (int) (end ? end - start : (long) strlen(start)), start);
  return line;
}

int
captured_log_count(const char *needle)
{
  int n = 0;
  for (const char *p = logbuf; (p = strstr(p, needle)) != NULL; p++) {
    n++;
    p = strchr(p, '\n');
    if (p == NULL)
      break;
  }
  return n;
}
