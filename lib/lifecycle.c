/* lifecycle.c - stop, rm and gc of a user's container, and its host state
 * (lifecycle.h).  Every decision is taken again under the user's lock: a
 * login may have come in since the list was taken. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/box.h"
#include "berth/image.h"
#include "berth/spec.h"
#include "berth/hoststate.h"
#include "berth/lifecycle.h"
#include "berth/log.h"
#include "berth/session.h"
#include "berth/user.h"
#include "berth/util.h"

/* The most the keeper is given to exit; it exits on SIGTERM at once, the
 * bound only matters for a custom one.  berth_box_lock_timeout allows a
 * lock holder this much (LOGOUT_STOP_S there) for a stop. */
#define STOP_GRACE_S 5
/* How long gc waits for a user's lock before it skips the user for this run
 * (a login holds it for a container create and start). */
#define GC_LOCK_WAIT_MS 5000L

int
berth_lifecycle_stop_grace(const struct berth_config *cfg)
{
  /* the stop request lasts the grace period plus the engine timeout */
  int t = (int) (cfg->engine.timeout_ms / 2000);
  return t > STOP_GRACE_S ? STOP_GRACE_S : t;
}

/* The one action line of stop/rm/gc. */
static void
log_act(enum berth_lc_op op, const struct berth_row *r, const char *trigger, const char *extra,
        berth_error_t err)
{
  struct berth_action a = { .user = r->user,
                            .container = r->name,
                            .trigger = trigger,
                            .extra = extra,
                            .outcome = err ? "failed" : "ok",
                            .err = err };
  berth_log_action(err ? LOG_ERR : LOG_NOTICE, op == BERTH_LC_RM ? "rm" : "stop", &a);
}

/* Stop or remove r's container; the caller holds the lock.  rm: force, so
 * the engine kills a running container before removing it, and the host
 * state goes with it. */
static int
act(struct berth_engine *e, const struct berth_config *cfg, const struct berth_row *r,
    enum berth_lc_op op, berth_error_t *err)
{
  if (op == BERTH_LC_STOP)
    return berth_engine_container_stop(e, r->id, berth_lifecycle_stop_grace(cfg), err);
  if (berth_engine_container_remove(e, r->id, true, err) < 0)
    return -1;
  berth_host_state_remove(r->name);
  return 0;
}

/* Under the lock: the container's state now: 0 found, 1 gone, -1 error. */
static int
current_state(struct berth_engine *e, struct berth_row *r, bool *running, berth_error_t *err)
{
  struct berth_row_detail d;
  int ir = berth_listing_detail(e, r, &d, err);
  if (ir == 0) {
    *running = berth_listing_running(d.status);
    free(r->state); /* what the caller reports */
    r->state = steal_pointer(&d.status);
  }
  berth_listing_detail_clear(&d);
  return ir;
}

int
berth_lifecycle_admin(struct berth_engine *e, const struct berth_config *cfg, struct berth_row *r,
                      enum berth_lc_op op, bool force, int *live, enum berth_lc_outcome *out,
                      berth_error_t *err)
{
  char extra[64];
  bool running = false;
  int lock, ir, ret = -1;

  /* The user's lock: a login that is creating or starting this container
   * finishes first, and none starts while we act. */
  lock = berth_session_lock(r->name, berth_box_lock_timeout(cfg), err);
  if (lock < 0)
    return -1;
  *live = berth_session_count(r->name, 0, err);
  if (*live < 0)
    goto out;
  /* and the sessions of other bastions (live.h): unknown counts as live */
  r->sessions = *live;
  if (berth_listing_engine_sessions(e, r) < 0 && !force) {
    ret = berth_error_make(err, BERTH_E_ENGINE, EIO,
                           "cannot tell whether sessions on the engine use %s", r->name);
    goto out;
  }
  if (r->sessions > *live)
    *live = r->sessions;
  ret = 0;
  if (*live > 0 && !force) {
    *out = BERTH_LC_REFUSED;
    goto out;
  }
  ir = current_state(e, r, &running, err);
  if (ir != 0) {
    ret = ir < 0 ? -1 : 0;
    *out = BERTH_LC_GONE;
    goto out;
  }
  if (op == BERTH_LC_STOP && !running) {
    *out = BERTH_LC_ALREADY_STOPPED;
    goto out;
  }
  snprintf(extra, sizeof(extra), "sessions=%d force=%s", *live, force ? "yes" : "no");
  ret = act(e, cfg, r, op, err);
  log_act(op, r, "admin", extra, ret < 0 ? *err : NULL);
  *out = BERTH_LC_DONE;
out:
  berth_session_unlock(lock);
  return ret;
}

/* ---------------------------------------------------------------- gc */

/* The settings that apply to a labelled container: the user's effective
 * ones, or the global ones when the account no longer resolves. */
static int
gc_settings(const struct berth_config *cfg, const char *user, int64_t *idle_timeout,
            enum berth_on_logout *on_logout, bool *gone, berth_error_t *err)
{
  struct berth_user *u = NULL;
  struct berth_container_conf *cc = NULL;

  *gone = false;
  if (*user == '\0' || berth_user_lookup(user, &u, err) < 0) {
    if (*err != NULL && !((*err)->kind == BERTH_E_USER && (*err)->status == ENOENT))
      return -1; /* a lookup failure other than "no such user": do not guess */
    berth_error_release(err);
    *gone = true;
    *idle_timeout = cfg->container.idle_timeout;
    *on_logout = cfg->container.on_logout;
    return 0;
  }
  if (berth_config_resolve(cfg, u, &cc, err) < 0) {
    berth_user_free(u);
    return -1;
  }
  *idle_timeout = cc->idle_timeout;
  *on_logout = cc->on_logout;
  berth_container_conf_free(cc);
  berth_user_free(u);
  return 0;
}

/* Seconds idle, or -1 while sessions are live.  A container with no session
 * recorded since boot (the records live on a tmpfs) counts from creation. */
static long long
gc_idle(const struct berth_row *r, time_t now)
{
  if (r->sessions != 0)
    return -1;
  return (long long) now - (long long) (r->idle_since ? r->idle_since : r->created);
}

int
berth_gc_plan(const struct berth_config *cfg, const struct berth_row *r, time_t now,
              struct berth_gc_plan *p, berth_error_t *err)
{
  enum berth_on_logout ol;
  bool has_op;

  memset(p, 0, sizeof(*p));
  if (gc_settings(cfg, r->user, &p->idle_timeout, &ol, &p->gone, err) < 0)
    return -1;
  /* gc exists to reclaim resources, so "keep" (which only means "do not
   * stop at logout") stops an idle container too; "remove" removes it. */
  p->op = ol == BERTH_LOGOUT_REMOVE ? BERTH_LC_RM : BERTH_LC_STOP;
  has_op = p->op == BERTH_LC_RM || berth_listing_running(r->state);
  p->idle = gc_idle(r, now);
  p->act = p->idle_timeout > 0 && p->idle >= 0 && p->idle > p->idle_timeout && has_op;
  if (!p->act)
    p->skip = p->idle_timeout <= 0 ? "idle_timeout = 0"
              : r->sessions > 0    ? "sessions are live"
              : r->sessions < 0    ? "session count unknown"
              : !has_op            ? "already stopped"
                                   : "not idle long enough";
  return 0;
}

int
berth_gc_apply(struct berth_engine *e, const struct berth_config *cfg, struct berth_row *r,
               time_t now, struct berth_gc_plan *p, enum berth_lc_outcome *out, berth_error_t *err)
{
  char extra[128], reason[BERTH_LOG_VALUE_MAX + 16];
  long lock_ms = berth_box_lock_timeout(cfg);
  int lock, ret;

  /* A short wait only: the holder may be a login that is slow, or a
   * berth-shell its user stopped (the lock then says so at once).  Either
   * way this user is skipped for this run, logged, and the next run tries
   * again; one busy user never holds up gc for the others. */
  snprintf(extra, sizeof(extra), "idle=%lld idle_timeout=%" PRId64, p->idle, p->idle_timeout);
  lock = berth_session_lock(r->name, lock_ms < GC_LOCK_WAIT_MS ? lock_ms : GC_LOCK_WAIT_MS, err);
  if (lock < 0) {
    if ((*err)->kind != BERTH_E_SESSION || ((*err)->status != EBUSY && (*err)->status != ETIMEDOUT))
      return -1;
    snprintf(reason, sizeof(reason), "reason=%s", BERTH_LOG_VAL((*err)->msg));
    snprintf(p->busy, sizeof(p->busy), "%s", (*err)->msg);
    berth_log_action(LOG_NOTICE, p->op == BERTH_LC_RM ? "rm" : "stop",
                     &(struct berth_action){ .user = r->user,
                                             .container = r->name,
                                             .trigger = "gc",
                                             .extra = extra,
                                             .outcome = "skipped",
                                             .tail = reason });
    berth_error_release(err);
    *out = BERTH_LC_BUSY;
    return 0;
  }
  berth_listing_sessions(r);
  berth_listing_engine_sessions(e, r); /* other bastions' sessions, the idle mark */
  p->idle = gc_idle(r, now);
  if (p->idle < 0 || p->idle <= p->idle_timeout) {
    berth_session_unlock(lock);
    *out = BERTH_LC_NOT_IDLE;
    return 0;
  }
  snprintf(extra, sizeof(extra), "idle=%lld idle_timeout=%" PRId64, p->idle, p->idle_timeout);
  ret = act(e, cfg, r, p->op, err);
  log_act(p->op, r, "gc", extra, ret < 0 ? *err : NULL);
  *out = BERTH_LC_DONE;
  berth_session_unlock(lock);
  return ret;
}
