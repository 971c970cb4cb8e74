/* rm.c - berthctl rm USER: remove the user's containers and every piece of
 * host state that goes with them (RUNDIR/etc, session records, the lock
 * file: berth_host_state_remove).  The loop is stop's. */
#include "config.h"

#include "berth/lifecycle.h"
#include "ctl.h"

int
ctl_rm(struct ctl *c, const char *user)
{
  return ctl_stop_or_rm(c, user, BERTH_LC_RM);
}
