/* live.h - a container's live sessions and idle clock as the engine shows
 * them, the same to every bastion (host running sshd + berth) that shares
 * the engine (docs/scale-out.md "Sessions across bastions").
 *
 * Session records under RUNDIR (session.h) are host-local: bastion A never
 * sees B's.  The engine sees every bastion's execs: each PAM session holds
 * one, a session holder (below), for as long as it is open, and each
 * command runs as one (exec mode; a remote engine always means exec mode).
 * A running exec is a live session somewhere (or an admin's `docker exec`,
 * which should keep the container too).  Before a stop or a removal the
 * core asks here as well as RUNDIR; both must say "none".
 *
 * The idle clock: a container's labels cannot change, and the engine keeps
 * no time for an exec, so the bastion whose logout leaves no session on the
 * engine writes the time into the container, at /.berth/idle, through the
 * archive API (as the engine, root: the user cannot write there).  gc takes
 * the later of it and the local records' clock. */
#ifndef BERTH_LIVE_H
#define BERTH_LIVE_H

#include <sys/types.h>
#include <time.h>
#include <jansson.h>

#include "berth/config.h"
#include "berth/engine.h"
#include "berth/error.h"

/* Where the idle mark lives inside the container. */
#define BERTH_LIVE_MARK_PATH "/.berth/idle"

/* What counts as a live session: any running exec (gc, berthctl stop/rm,
 * a login deciding whether to recreate: nothing of ours is running then),
 * or only session holders (a logout: its own session's command may still
 * be dying, and must not keep the container). */
enum berth_live_kind { BERTH_LIVE_ANY, BERTH_LIVE_HOLDERS };
/* Running execs of that kind among a container inspect's ExecIDs (`info`),
 * not counting `exclude` (an exec id, or NULL): one exec inspect each; an
 * exec the engine no longer knows is not running.  0 and *running, -1 on
 * error. */
int berth_live_execs(struct berth_engine *e, json_t *info, enum berth_live_kind kind,
                     const char *exclude, int *running, berth_error_t *err);

/* The session holder: pam_berth starts one per session at open, an exec of
 * `berth-keeper --hold` as the user, and keeps its hijacked stdin open in
 * sshd's monitor until close_session.  It ends when the session ends, when
 * sshd or the bastion dies (the connection closes), or with the container,
 * so every bastion's logout and gc see every other bastion's live PAM
 * sessions as running holders. */
#define BERTH_LIVE_HOLD_ARG "--hold"
/* How long a logout waits for its own holder to end (berth_live_unhold). */
#define BERTH_LIVE_SETTLE_MS 1000
struct berth_live_hold;
/* Create and start the holder in container; its stream goes to the engine
 * cfg names (a unix socket, or tcp:// + TLS, hijack.h); timeout_ms bounds
 * the handshake.  Fails (status ENOTSUP) when it ended at once: a keeper
 * older than hold mode. */
int berth_live_hold(struct berth_engine *e, const struct berth_config *cfg, const char *container,
                    uid_t uid, gid_t gid, long timeout_ms, struct berth_live_hold **out,
                    berth_error_t *err);
const char *berth_live_hold_id(const struct berth_live_hold *hd);
/* End it (close its stdin) and wait up to settle_ms for the engine to show
 * it ended, so that it does not count as a session of its own logout. */
void berth_live_unhold(struct berth_engine *e, struct berth_live_hold *hd, long settle_ms);
/* Close without asking the engine anything (a process that only inherited
 * it, or cleanup); NULL is fine. */
void berth_live_hold_free(struct berth_live_hold *hd);

/* Write the idle mark `when` into container id.  Fails (status EROFS or the
 * engine's refusal) on a read-only rootfs: the idle clock is then the local
 * one only. */
int berth_live_mark_idle(struct berth_engine *e, const char *id, time_t when, berth_error_t *err);
/* Read it: 0 and *when, 1 when there is none (or it is not a time), -1 on
 * error. */
int berth_live_idle_mark(struct berth_engine *e, const char *id, time_t *when, berth_error_t *err);

/* A "created" container is being set up by a login that did not take
 * this host's lock (another bastion's), between its create and its start,
 * maybe still writing the user's /etc files: starting it now would race
 * that.  Wait, a bounded while, for that login to start it; one still
 * "created" after that is a leftover, for the caller to start.  *info (an
 * inspect of `name`) is replaced by the newest one.  *info NULL: a create
 * was refused with 409 and the container cannot be inspected yet (the
 * engine takes the name before the other create completes): wait for it
 * to appear first.  0, or -1 (status EAGAIN when it was removed meanwhile,
 * or never appeared: that login failed). */
#define BERTH_LIVE_CREATED_WAIT_MS 3000
int berth_live_wait_created(struct berth_engine *e, const char *name, json_t **info,
                            berth_error_t *err);

#endif
