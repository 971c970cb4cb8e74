/* home.h - first-login home creation, safe against symlinks and
 * user-controlled paths (no root write ever follows a link). */
#ifndef BERTH_HOME_H
#define BERTH_HOME_H

#include <stdbool.h>
#include <time.h>
#include "berth/config.h"
#include "berth/user.h"

/* When u->home is missing and cfg->home.create: create parents (root-owned
 * 0755), the home (uid:gid, cfg->home.mode) and copy cfg->home.skel into it
 * (every entry owned by the user, links copied as links).  *created tells
 * whether it did.  A home that exists is left
 * alone.  Errors are BERTH_E_HOME. */
int berth_home_ensure(const struct berth_config *cfg, const struct berth_user *u, bool *created,
                      berth_error_t *err);

/* Remove the temporaries a killed first login left next to `home` (in its
 * parent directory): ".berth-newhome.<16 hex>" directories owned by root and
 * unchanged for min_age seconds before `now`.  *removed: how many.  A
 * missing parent is nothing to do.  Logs one line per removal. */
int berth_home_sweep(const char *home, time_t now, time_t min_age, int *removed,
                     berth_error_t *err);

#endif
