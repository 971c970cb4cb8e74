/* ctl.h - what berthctl's verbs share: options, exit codes, printing.
 *
 * Root only: berthctl drives the engine socket, which is root-equivalent.
 * Unlike lib/ it prints: results on stdout, one line per problem on stderr;
 * the core logs one syslog line (authpriv, ident "berthctl") per lifecycle
 * action it takes.  Exit codes are part of the interface (berthctl(8)). */
#ifndef BERTH_CTL_H
#define BERTH_CTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "berth/config.h"
#include "berth/engine.h"
#include "berth/error.h"
#include "berth/lifecycle.h"

enum {
  EXIT_OK = 0,       /* done; for check: every check passed */
  EXIT_PROBLEM = 1,  /* a check failed, an operation failed or was refused */
  EXIT_USAGE = 2,    /* bad command line */
  EXIT_NOTFOUND = 3, /* no such user and no container for it */
  EXIT_PERM = 4,     /* not run as root */
};

struct opts {
  const char *config_path;
  bool json;
  bool force;
  bool dry_run;
  bool verbose;
  bool have_now;
  time_t now;
  bool no_audit;           /* check: config, keeper, engine, images only */
  const char *sshd_config; /* check: sshd -f FILE */
  const char *pam_dir;     /* check: the sshd PAM stack is DIR/sshd */
  bool debug;              /* mirror the core's log lines on stderr */
};

struct ctl {
  struct opts o;
  struct berth_config *cfg;
  struct berth_engine *engine;
};

/* jansson ships json_decrefp for exactly this */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* The verbs (one file each); arg: the USER of status, stop and rm. */
int ctl_check(struct ctl *c, const char *arg);
int ctl_list(struct ctl *c, const char *arg);
int ctl_status(struct ctl *c, const char *arg);
int ctl_stop(struct ctl *c, const char *arg);
int ctl_rm(struct ctl *c, const char *arg);
int ctl_gc(struct ctl *c, const char *arg);
/* stop.c: stop or remove each of user's containers. */
int ctl_stop_or_rm(struct ctl *c, const char *user, enum berth_lc_op op);

/* output.c */
void ctl_vwarn(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_warn_err(const char *what, berth_error_t err);
void ctl_fmt_time_utc(time_t t, char *buf, size_t len);
void ctl_fmt_time_local(time_t t, char *buf, size_t len);
void ctl_fmt_duration(long long s, char *buf, size_t len);
int ctl_print_json(json_t *j);
void ctl_log_init(bool debug);
/* Load the config; reach the engine; both (what every verb but check needs). */
int ctl_load_config(struct ctl *c);
int ctl_connect(struct ctl *c);
int ctl_setup(struct ctl *c);
struct berth_row;
/* ctl_setup, then berth's containers (with user, only that user's). */
int ctl_setup_rows(struct ctl *c, const char *user, struct berth_row **rows, size_t *n);

/* list.c, for status: one row as JSON, its idle column. */
json_t *ctl_row_json(const struct berth_row *r);
const char *ctl_row_idle_text(const struct berth_row *r, char *buf, size_t len);

#endif
