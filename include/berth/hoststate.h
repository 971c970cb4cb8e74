/* hoststate.h - the host state of a user's container under RUNDIR:
 * RUNDIR/etc/NAME (the /etc files of a read-only container), the session
 * records RUNDIR/sessions/NAME, the agent sockets' directory RUNDIR/agent/NAME,
 * join mode's warm state RUNDIR/warm/NAME and the lock file
 * RUNDIR/lock/NAME.lock. */
#ifndef BERTH_HOSTSTATE_H
#define BERTH_HOSTSTATE_H

/* Remove all of it, once the container NAME is removed; the caller holds
 * NAME's lock.  The lock file goes last: berth_session_lock retakes a lock
 * whose file was unlinked under its holder, so a waiter never ends up
 * holding a lock nobody else can see.  Best effort: a failure is logged. */
void berth_host_state_remove(const char *name);

#endif
