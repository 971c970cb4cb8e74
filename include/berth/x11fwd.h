/* x11fwd.h - X11 forwarding into the user's container.  Once pam_berth has
 * moved the session into the container's network namespace, sshd's X11
 * listener (X11UseLocalhost yes: 127.0.0.1:6000+N) is the container's, so
 * DISPLAY=localhost:N works there as it is.  What is missing is the cookie:
 * sshd's xauth wrote it to ~/.Xauthority for the host's name ("HOST/unix:N"),
 * and X clients in the container look it up under the container's
 * hostname.  So berth-shell, as the user after its drop, copies that one
 * cookie into a per-session file of its own, RUNDIR/agent/NAME/xauth.PID
 * (seen read-only at BERTH_AGENT_TARGET inside), as an entry for any host
 * (FamilyWild) and display N, and passes DISPLAY and XAUTHORITY into the
 * container.  The home's ~/.Xauthority is only read, never written. */
#ifndef BERTH_X11FWD_H
#define BERTH_X11FWD_H

#include "berth/boxdef.h"
#include "berth/error.h"

/* display: the session's DISPLAY as sshd set it (NULL: no X11 forwarding).
 * 1 when there is nothing to do (no DISPLAY, not "localhost:N[.S]", the
 * session is not in the container's network); 0 with env[0] = "DISPLAY=..."
 * and env[1] = "XAUTHORITY=..." for the container; -1 with err (no cookie
 * for display N of this host in ~/.Xauthority, a file that is not a regular
 * file of at most 64 KiB, ...).  The file is removed at exit (atexit). */
int berth_x11_start(const struct berth_box *b, const char *display, char *env[2],
                    berth_error_t *err);

#endif
