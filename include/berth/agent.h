/* agent.h - ssh agent forwarding into the user's container.  sshd makes
 * the forwarded agent's socket on the host (/tmp/ssh-XXXX/agent.N, the
 * session's SSH_AUTH_SOCK); the container sees none of the host's /tmp.
 * So every container of a local engine gets RUNDIR/agent/NAME (made by
 * root, owned by the user, 0700) bind-mounted read-only at
 * BERTH_AGENT_TARGET, and berth-shell, after its privilege drop, starts a
 * relay (as the user) that listens on a per-session socket there and
 * joins each connection to sshd's socket.  The relay and its socket end
 * with the session; hoststate.c removes the directory with the container.
 * Independent of the entry mode: berth-shell calls it around the entry. */
#ifndef BERTH_AGENT_H
#define BERTH_AGENT_H

#include <sys/types.h>
#include "berth/config.h"
#include "berth/error.h"

/* The directory's path inside the container (boxdef.h has the target). */
#include "berth/boxdef.h"

/* Root: RUNDIR/agent/NAME made if missing (the parent root's 0755),
 * owned uid:gid, mode 0700, never through a link.  At every box ensure:
 * /run is a tmpfs, and a bind source must exist for the container to
 * start. */
int berth_agent_dir_ensure(const char *name, uid_t uid, gid_t gid, berth_error_t *err);
/* "RUNDIR/agent/NAME", the bind source; NULL with err. */
char *berth_agent_dir(const char *name, berth_error_t *err);

/* As the user, after the privilege drop; once per process.  host_sock:
 * the session's SSH_AUTH_SOCK as sshd set it (NULL: no ssh -A).  1 when
 * there is nothing to relay (no host_sock, a remote engine).  host_sock is
 * used only when it is a socket owned by the caller in a directory of the
 * caller's that nobody else may enter (as sshd makes it), so the relay
 * never becomes a way to some other socket of the host.  Binds
 * RUNDIR/agent/NAME/agent.PID (0600) and forks the relay, which holds
 * nothing of its parent but that socket; 0 and *env = "SSH_AUTH_SOCK="
 * BERTH_AGENT_TARGET "/agent.PID" for the container.  The relay ends,
 * removing its socket, at the caller's exit (atexit) or death
 * (PR_SET_PDEATHSIG), or at berth_agent_stop. */
int berth_agent_start(const struct berth_config *cfg, const char *name, const char *host_sock,
                      char **env, berth_error_t *err);
void berth_agent_stop(void);

#endif
