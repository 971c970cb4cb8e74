/* lifecycle.h - what berthctl does to a user's container (stop, rm, gc)
 * and the host state that goes with one: decisions taken under the user's
 * lock, one action line for each, and no host state left behind for a
 * container that is removed. */
#ifndef BERTH_LIFECYCLE_H
#define BERTH_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "berth/config.h"
#include "berth/engine.h"
#include "berth/error.h"
#include "berth/listing.h"

enum berth_lc_op { BERTH_LC_STOP, BERTH_LC_RM };

enum berth_lc_outcome {
  BERTH_LC_DONE,            /* stopped or removed */
  BERTH_LC_REFUSED,         /* live sessions and no force */
  BERTH_LC_GONE,            /* the container went away since the list */
  BERTH_LC_ALREADY_STOPPED, /* stop: nothing runs in it */
  BERTH_LC_BUSY,            /* gc: the user's lock is held; skipped for this run */
  BERTH_LC_NOT_IDLE,        /* gc: a login came in since the list */
};

/* Seconds the engine gives the keeper between SIGTERM and SIGKILL when
 * berth stops a container: what the lock waiters allow a holder for a stop
 * (berth_box_lock_timeout), and bounded by the engine timeout. */
int berth_lifecycle_stop_grace(const struct berth_config *cfg);

/* berthctl stop / rm of one row, under the user's lock: refused while
 * sessions are live unless force (rm --force kills them with the
 * container).  *live: the sessions found.  Logs the action line (trigger
 * "admin") whenever it acts.  -1 with err when a step failed. */
int berth_lifecycle_admin(struct berth_engine *e, const struct berth_config *cfg,
                          struct berth_row *r, enum berth_lc_op op, bool force, int *live,
                          enum berth_lc_outcome *out, berth_error_t *err);

/* gc's view of one row. */
struct berth_gc_plan {
  bool act; /* idle long enough and something to do */
  enum berth_lc_op op;
  bool gone;            /* the account no longer resolves: global settings */
  int64_t idle_timeout; /* the effective setting */
  long long idle;       /* seconds idle; -1 while sessions are live */
  const char *skip;     /* !act: why it is left alone */
  char busy[256];       /* BERTH_LC_BUSY: the lock's reason */
};
/* Decide from the row as listed (no lock, nothing done).  now: the clock
 * gc runs by (--now).  -1 with err when the user's settings cannot be
 * read (a lookup failure other than "no such user": never guessed). */
int berth_gc_plan(const struct berth_config *cfg, const struct berth_row *r, time_t now,
                  struct berth_gc_plan *p, berth_error_t *err);
/* Act on a plan: decide again under the user's lock, waiting a short
 * while only; a busy user is skipped (BERTH_LC_BUSY, logged outcome=skipped)
 * and left to the next run.  Logs the action line (trigger "gc"). */
int berth_gc_apply(struct berth_engine *e, const struct berth_config *cfg, struct berth_row *r,
                   time_t now, struct berth_gc_plan *p, enum berth_lc_outcome *out,
                   berth_error_t *err);

#endif
