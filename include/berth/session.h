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
#include <sys/types.h>
#include <time.h>
#include "berth/error.h"

#ifndef BERTH_RUNDIR
#define BERTH_RUNDIR "/run/berth"
#endif

/* Take the per-container lock (flock), waiting at most timeout_ms.  Returns
 * an fd (O_CLOEXEC) to pass to berth_session_unlock, or -1. */
int berth_session_lock(const char *name, long timeout_ms, berth_error_t *err);
void berth_session_unlock(int fd);

/* Record/release a session owned by pid. */
int berth_session_record(const char *name, pid_t pid, berth_error_t *err);
int berth_session_release(const char *name, pid_t pid, berth_error_t *err);
/* Live sessions of name, not counting `exclude` (0 = none); prunes stale
 * records.  -1 on error. */
int berth_session_count(const char *name, pid_t exclude, berth_error_t *err);
/* When the last session ended (mtime of the session directory), 0 if never. */
int berth_session_idle_since(const char *name, time_t *since, berth_error_t *err);

#endif
