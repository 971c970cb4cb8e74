/* etcfiles.h - the host state berth keeps for a user's container: the
 * generated /etc/passwd and /etc/group under RUNDIR/etc/NAME that a
 * read-only rootfs bind-mounts.  Whoever removes a container removes this
 * with it. */
#ifndef BERTH_ETCFILES_H
#define BERTH_ETCFILES_H

/* Remove RUNDIR/etc/NAME and the files in it, if any; never fails (what
 * cannot be removed stays, and the next create rewrites it). */
void berth_etc_remove_host_state(const char *name);

#endif
