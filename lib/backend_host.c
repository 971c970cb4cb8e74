/* backend_host.c - linked into engine-docker.so only, in place of log.c:
 * the plugin's log lines go to the loading program's sink (the host table
 * of backend.h), so a plugin line reads and lands exactly like a core one.
 * The backend uses berth_log and berth_debug only; a call to another log.h
 * function would fail the plugin's link (-z defs), which is the reminder to
 * lend it here too. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "backend-internal.h"
#include "berth/log.h"

static const struct berth_backend_host *host;

void
berth_backend_host_set(const struct berth_backend_host *h)
{
  host = h;
}

bool
berth_log_debug_enabled(void)
{
  return host != NULL && host->debug_enabled != NULL && host->debug_enabled();
}

void
berth_log(int priority, const char *fmt, ...)
{
  char buf[2048]; /* log.c's bound */
  va_list ap;

  if (host == NULL || host->log == NULL)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  host->log(priority, "%s", buf);
}
