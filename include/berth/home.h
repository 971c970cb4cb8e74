/* home.h - first-login home creation, safe against symlinks and
 * user-controlled paths (no root write ever follows a link). */
#ifndef BERTH_HOME_H
#define BERTH_HOME_H

#include <stdbool.h>
#include "berth/config.h"
#include "berth/user.h"

/* When u->home is missing and cfg->home.create: create parents (root-owned
 * 0755), the home (uid:gid, cfg->home.mode) and copy cfg->home.skel into it
 * (every entry owned by the user, links copied as links).  *created tells
 * whether it did.  A home that exists is left
 * alone.  Errors are BERTH_E_HOME. */
int berth_home_ensure(const struct berth_config *cfg, const struct berth_user *u, bool *created,
                      berth_error_t *err);

#endif
