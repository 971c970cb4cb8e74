/* log.c - the logging sink.  Default: syslog(LOG_AUTHPRIV).  Front ends
 * replace it (pam_syslog in the module, syslog + stderr policy in the shell). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "berth/log.h"

static berth_log_sink_fn sink_fn;
static void *sink_ctx;
static bool debug_on;

void
berth_log_set_sink(berth_log_sink_fn fn, void *ctx)
{
  sink_fn = fn;
  sink_ctx = ctx;
}

void
berth_log_set_debug(bool on)
{
  debug_on = on;
}

bool
berth_log_debug_enabled(void)
{
  return debug_on;
}

void
berth_log(int priority, const char *fmt, ...)
{
  char buf[2048];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (sink_fn != NULL)
    sink_fn(sink_ctx, priority, buf);
  else
    syslog(LOG_AUTHPRIV | priority, "%s", buf);
}
