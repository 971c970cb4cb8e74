/* output.c - berthctl's printing and set-up shared by the verbs. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "berth/log.h"
#include "berth/listing.h"
#include "berth/login.h"
#include "ctl.h"

static const char *prog = "berthctl";
static bool log_to_stderr;

void
ctl_vwarn(const char *fmt, va_list ap)
{
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void
ctl_warn(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  ctl_vwarn(fmt, ap);
  va_end(ap);
}

/* "what: reason (detail)", one line, for an error from the core.  Config
 * errors already read "file:line: key: problem", the reason adds nothing. */
void
ctl_warn_err(const char *what, berth_error_t err)
{
  if (err == NULL)
    ctl_warn("%s: %s", what, "an internal error occurred");
  else if (err->kind == BERTH_E_CONFIG)
    ctl_warn("%s: %s", what, err->msg);
  else
    ctl_warn("%s: %s (%s)", what, berth_error_reason(err), err->msg);
}

void
ctl_fmt_time_utc(time_t t, char *buf, size_t len)
{
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, len, "@%lld", (long long) t);
}

void
ctl_fmt_time_local(time_t t, char *buf, size_t len)
{
  struct tm tm;
  if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
    snprintf(buf, len, "@%lld", (long long) t);
}

/* 7260 -> "2h01m" */
void
ctl_fmt_duration(long long s, char *buf, size_t len)
{
  if (s < 0)
    s = 0;
  if (s < 60)
    snprintf(buf, len, "%llds", s);
  else if (s < 3600)
    snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400)
    snprintf(buf, len, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  else
    snprintf(buf, len, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
}

int
ctl_print_json(json_t *j)
{
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s == NULL) {
    ctl_warn("out of memory");
    return -1;
  }
  puts(s);
  free(s);
  return 0;
}

/* The core's sink: syslog; with --debug every line is mirrored on stderr so
 * an admin sees what the core did without reading the journal. */
static void
log_sink(void *ctx, int priority, const char *msg)
{
  (void) ctx;
  syslog(LOG_AUTHPRIV | priority, "%s", msg);
  if (log_to_stderr)
    fprintf(stderr, "%s: log: %s\n", prog, msg);
}

void
ctl_log_init(bool debug)
{
  log_to_stderr = debug;
  openlog("berthctl", LOG_PID, LOG_AUTHPRIV);
  berth_log_set_sink(log_sink, NULL);
  berth_log_set_debug(debug);
}

int
ctl_load_config(struct ctl *c)
{
  berth_error_t err = NULL;
  if (berth_config_load(c->o.config_path, &c->cfg, &err) < 0) {
    ctl_warn_err("config", err);
    berth_error_release(&err);
    return -1;
  }
  berth_log_set_debug(log_to_stderr || c->cfg->debug);
  return 0;
}

int
ctl_connect(struct ctl *c)
{
  berth_error_t err = NULL;
  if (berth_core_connect(c->cfg, &c->engine, &err) < 0) {
    ctl_warn_err("engine", err);
    berth_error_release(&err);
    return -1;
  }
  return 0;
}

int
ctl_setup(struct ctl *c)
{
  if (ctl_load_config(c) < 0 || ctl_connect(c) < 0)
    return -1;
  return 0;
}

int
ctl_setup_rows(struct ctl *c, const char *user, struct berth_row **rows, size_t *n)
{
  berth_error_t err = NULL;

  if (ctl_setup(c) < 0)
    return -1;
  if (berth_listing_rows(c->engine, user, rows, n, &err) < 0) {
    ctl_warn_err("engine", err);
    berth_error_release(&err);
    return -1;
  }
  return 0;
}
