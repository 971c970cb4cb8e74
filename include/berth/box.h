/* box.h - the user's container ("box") as the front ends see it: make the
 * object (effective settings, names), bring the container up at login
 * (berth_box_open), explain a killed entry (berth_box_after_kill) and apply
 * on_logout (berth_box_close).  The pieces below it have headers of their
 * own: spec.h (create body), image.h (image facts, scratch sweep),
 * etcfiles.h (host state); the object is in boxdef.h. */
#ifndef BERTH_BOX_H
#define BERTH_BOX_H

#include <stdbool.h>
#include <sys/types.h>
#include "berth/boxdef.h"
#include "berth/config.h"
#include "berth/engine.h"
#include "berth/user.h"

/* Resolve settings, expand templates, compute names.  No engine traffic. */
int berth_box_new(const struct berth_config *cfg, const struct berth_user *u,
                  struct berth_box **out, berth_error_t *err);
void berth_box_free(struct berth_box *b);

/* How long to wait for a user's lock: the longest a holder can keep it
 * (every request it makes under the lock bounded by engine.timeout_ms). */
long berth_box_lock_timeout(const struct berth_config *cfg);

/* The login-time flow both front ends share, run as root: make sure the
 * image is there (inspect, pull per policy: outside the lock, a pull can be
 * slow); take the user's lock; ensure the home (berth_home_ensure, when
 * cfg->home.create); ensure the container (as berth_box_ensure in
 * lib/box-internal.h, recreating on a spec change only when no session is
 * live); record a session owned by `owner` (0 = record nothing); release
 * the lock.  Fills b->id etc. */
int berth_box_open(struct berth_engine *e, struct berth_box *b, pid_t owner, berth_error_t *err);
/* After an entry whose command ended with `status` after `elapsed_ms`, when
 * that is 137 (SIGKILL): why.  -1 with err (kind BERTH_E_CONTAINER, status
 * ESRCH) when the container was stopped or removed under the session.  When
 * it died within a few seconds of starting, whether the container's memory
 * is exhausted (the engine's memory stats: usage, less reclaimable file
 * cache, at the limit), which leaves every new process OOM-killed at once,
 * typically because memory-backed files (/dev/shm, a tmpfs) fill it: then 1
 * when no other session was live (b->others_live) and the container has
 * been restarted, so the entry can be tried once more; -1 with err (status
 * ENOMEM) when other sessions are live, or with the restart's error.  0
 * otherwise, or when the engine cannot tell (the 137 stands).  Runs after
 * the privilege drop: only the kept engine connection is used. */
int berth_box_after_kill(struct berth_engine *e, struct berth_box *b, int status,
                         long long elapsed_ms, berth_error_t *err);

/* Release owner's session; when it was the last live one on this host and
 * the engine shows no session holder of another host (live.h; b->holder,
 * this session's own, is not counted), apply on_logout (keep / stop /
 * remove; keep writes the idle mark), bounded by the engine timeout.
 * *remaining gets the live sessions left (may be NULL). */
int berth_box_close(struct berth_engine *e, struct berth_box *b, pid_t owner, int *remaining,
                    berth_error_t *err);

#endif
