/* session.h - per-user lock and live-session accounting.
 *
 * A session is a record file /run/berth/sessions/NAME/PID-STARTTIME made by
 * the process that owns the session (sshd's per-connection monitor for PAM,
 * berth-shell itself otherwise).  A record counts only while that process is
 * alive with the same start time, so the count is derived from live state and
 * cannot drift when sshd is killed or close_session never runs. */
#ifndef BERTH_SESSION_H
#define BERTH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "berth/error.h"

#ifndef BERTH_RUNDIR
#define BERTH_RUNDIR "/run/berth"
#endif

/* The run directory: BERTH_RUNDIR unless a test changed it
 * (berth_session_set_rundir, lib/session-internal.h). */
const char *berth_session_rundir(void);
/* Open RUNDIR/sub/name (sub, name may be NULL) as a directory owned by the
 * caller (root) and writable by nobody else, never following a link; with
 * `create`, missing levels are made 0755.  Returns an O_DIRECTORY|O_CLOEXEC
 * fd, -2 (err untouched) when absent and !create, -1 on error. */
int berth_session_rundir_open(const char *sub, const char *name, bool create, berth_error_t *err);

/* Take the per-container lock (flock), waiting at most timeout_ms.  Returns
 * an fd (O_CLOEXEC) to pass to berth_session_unlock, or -1: status
 * ETIMEDOUT when the wait ran out, EBUSY at once (within about half a
 * second) when the process holding it is stopped (SIGSTOP, a debugger). */
int berth_session_lock(const char *name, long timeout_ms, berth_error_t *err);
void berth_session_unlock(int fd);

/* Record/release a session owned by pid.  Both also remove stale records
 * (owner dead or pid reused) and move the idle clock. */
int berth_session_record(const char *name, pid_t pid, berth_error_t *err);
int berth_session_release(const char *name, pid_t pid, berth_error_t *err);
/* Live sessions of name, not counting `exclude` (0 = none); stale records
 * are skipped, and left alone so that the idle clock does not move.  -1 on
 * error. */
int berth_session_count(const char *name, pid_t exclude, berth_error_t *err);
/* true when a live record of name belongs to an ancestor of this process
 * (pam_berth recorded the session in sshd's monitor, so berth-shell must not
 * record it twice). */
bool berth_session_owned_by_ancestor(const char *name);
/* "PID-STARTTIME" of a process (the form of a record's name), which names
 * it for as long as it lives, never a later process with the same pid; -1
 * when it is gone.  _live: whether such a process is still running. */
int berth_session_proc_id(pid_t pid, char *buf, size_t len);
bool berth_session_proc_id_live(const char *id);
/* When the last session ended (mtime of the session directory: the last
 * record or release), 0 if never. */
int berth_session_idle_since(const char *name, time_t *since, berth_error_t *err);

#endif
