/* log.h - the one logging sink of the core.
 *
 * lib/ never prints: it logs through the sink the front end installs
 * (pam_syslog inside PAM, syslog(LOG_AUTHPRIV) in berth-shell and berthctl).
 * Messages are lowercase "key=value" lines without the program prefix. */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stdbool.h>
#include <syslog.h>

typedef void (*berth_log_sink_fn)(void *ctx, int priority, const char *msg);

/* Install a sink; NULL restores the default (syslog, facility authpriv). */
void berth_log_set_sink(berth_log_sink_fn fn, void *ctx);
void berth_log_set_debug(bool on);
bool berth_log_debug_enabled(void);
void berth_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define berth_debug(...) \
  do { if (berth_log_debug_enabled()) berth_log(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
