/* join_pty.h - join mode's terminal: a pty from the container's own devpts,
 * its master handed to the host-side parent, and the relay between the
 * session's terminal (sshd's pty on fds 0/1) and that master.
 *
 * Why the container's devpts (moby#8755, lxd#1724): a pty of the host's
 * devpts is invisible in the container's /dev/pts, so `tty` says "not a
 * tty" and tmux, screen, su and `write` break.  runc creates the console
 * inside the container (setns_init_linux.go setupConsole) and passes the
 * master out over a socket; join mode does the same:
 *
 *   joining child (root, in the container's mount namespace, before the
 *   identity drop)            berth_join_pty_child(sock, &ws)
 *   host-side parent           berth_join_pty_recv(sock, &master)
 *   host-side parent, as the user   berth_join_relay(master, pidfd, &status)
 *
 * docs/security.md "Join mode: the terminal" says what the container can do
 * to the relay (send bytes, hold the slave open, flood) and why that is all. */
#ifndef BERTH_JOIN_PTY_H
#define BERTH_JOIN_PTY_H

#include <sys/ioctl.h>
#include <sys/types.h>
#include "berth/error.h"

/* How long the parent waits for the master (the child's setns and open of
 * /dev/pts/ptmx take microseconds; a container that hangs the open, e.g. a
 * FUSE mount over /dev/pts, must not hang the session). */
#define BERTH_JOIN_PTY_WAIT_MS 5000

/* In the joining child, after setns(CLONE_NEWNS) and before the identity
 * drop: open the container's own /dev/pts/ptmx (refused unless it is the
 * ptmx of a devpts), unlockpt, open the slave through the master
 * (TIOCGPTPEER: no path lookup the container could redirect), set *ws (when
 * not NULL and not 0x0), send the master over sock (SCM_RIGHTS), setsid()
 * (unless already a session leader), make the slave the controlling tty and
 * dup2 it to 0/1/2.  The slave is
 * given to getuid() (in setuid berth-shell the invoking user), its group
 * and mode left as the devpts mount made them: what runc leaves for
 * `docker exec -t -u uid:gid` (uid, gid 5 = tty, 0620; runc's
 * fixStdioPermissions).  On failure the cause goes over sock too, so the
 * parent reports it (the child must not log: after setns /dev/log is the
 * container's).  Returns 0, or -1 with err. */
int berth_join_pty_child(int sock, const struct winsize *ws, berth_error_t *err);
/* The same with the slave's owner named. */
int berth_join_pty_child_for(int sock, const struct winsize *ws, uid_t owner, berth_error_t *err);

/* In the host-side parent: receive the master from sock, waiting at most
 * BERTH_JOIN_PTY_WAIT_MS.  The fd must be a pty master (TIOCGPTN) opened
 * read-write, and not one of the host's own /dev/pts; extra fds are closed.
 * *master is O_CLOEXEC.  Errors: BERTH_E_EXEC with the child's cause, its
 * silence (ETIMEDOUT) or its end (EPIPE). */
int berth_join_pty_recv(int sock, int *master, berth_error_t *err);

/* Host-side parent, as the user: relay fds 0/1 <-> master until the child
 * (pidfd: a child of the caller) has exited and the master is drained (to
 * EIO, or quiet for a moment when something in the container still holds
 * the slave).  For its duration: raw mode on fd 0 (restored on every path),
 * fds 0/1/master non-blocking (flags restored), signals.h's set caught:
 * SIGWINCH -> fd 0's size onto the master (TIOCSWINSZ); SIGINT/SIGQUIT
 * forwarded to the child; SIGTERM -> SIGHUP to the child; SIGHUP or a
 * terminal that ends -> SIGHUP to the child, its output discarded; after a
 * grace SIGKILL.  *status is the child's wait status (as waitpid gives it).
 * Returns 0, or -1 with err.  The master is not closed. */
int berth_join_relay(int master, int child_pidfd, int *status, berth_error_t *err);

#endif
