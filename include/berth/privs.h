/* privs.h - permanent privilege drop (setgroups -> setresgid -> setresuid,
 * then verify root cannot be regained) and process hardening. */
#ifndef BERTH_PRIVS_H
#define BERTH_PRIVS_H

#include <stddef.h>
#include <sys/types.h>
#include "berth/error.h"

int berth_privs_drop(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                     berth_error_t *err);
/* PR_SET_DUMPABLE 0; call again after every credential change. */
int berth_privs_harden(berth_error_t *err);

#endif
