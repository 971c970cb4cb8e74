/* env.h - the environment a berthed session may carry, in one list for both
 * places it is cut down: berth-shell, for the process it starts in the
 * container (exec mode), and pam_berth, for the host processes sshd starts
 * around the session (the `sh -c` running the login shell or ForceCommand,
 * `~/.ssh/rc`, xauth), which get the PAM environment. */
#ifndef BERTH_ENV_H
#define BERTH_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include "berth/error.h"
#include "berth/user.h"

/* PATH for host processes of a user, berthed or excluded: Debian's login
 * PATH (login.defs ENV_PATH).  Fixed, never the user's: a forced command or
 * a host helper named without a slash must not resolve into the home. */
#define BERTH_ENV_HOST_PATH "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games"

/* Whether the variable whose name is the first len bytes of name is passed
 * into a berthed session as opaque data: TERM LANG LC_[A-Z_]+ TZ
 * SSH_CONNECTION SSH_CLIENT SSH_ORIGINAL_COMMAND (SPEC, "exec mode").
 * name may go on past len ("NAME=VALUE"). */
bool berth_env_passes(const char *name, size_t len);

/* The edits that reduce env ("NAME=VALUE" strings, as pam_getenvlist
 * returns them) to what the host side of a berthed session may see: a
 * NULL-terminated list of pam_putenv(3) arguments, "NAME" to delete,
 * "NAME=VALUE" to set.  Passing variables stay as they are.  Of
 * HOME USER LOGNAME SHELL PATH, those present are reset (from u, PATH to
 * BERTH_ENV_HOST_PATH), or deleted when u is NULL or lacks the field, so
 * that sshd sets its own from the passwd entry.  Everything else is
 * deleted.  Nothing is added that env did not have.  An empty list when
 * nothing needs changing; NULL with *err set only when memory runs out. */
char **berth_env_session_edits(char *const *env, const struct berth_user *u, berth_error_t *err);

#endif
