/* warm.h - join mode's warm state (docs/security.md "Join mode: the warm
 * state"): at a successful session open pam_berth records, as root, what
 * joining the user's container needs (its id, its init's pid and start
 * time, the shell, the parts of the inspect join reads, the init's oldest
 * seccomp filter) in
 * RUNDIR/warm/NAME (root's, 0600, written to a temporary file and renamed
 * into place).  berth-shell, in join mode and inside that very session,
 * reads it instead of asking the engine; the join then pins the init and
 * checks the start time and the cgroups against /proc. */
#ifndef BERTH_WARM_H
#define BERTH_WARM_H

#include <jansson.h>
#include <stdbool.h>

#include "berth/boxdef.h"
#include "berth/engine.h"
#include "berth/error.h"

struct berth_join_filter; /* lib/join-internal.h */

/* After berth_box_open: inspect b's container and record it. */
int berth_warm_save(struct berth_engine *e, const struct berth_box *b, berth_error_t *err);
/* 0 with *info (the recorded inspect subset, the caller's) and *start when
 * a record for b (this user, this container name) is there and sound; it
 * also sets b->id and b->shell, and *has_filter with *filter (its insns the
 * caller's) when the record carries the init's seccomp filter.  1 when
 * there is none or it is malformed (its filter too); -1 with err when one
 * is there but not trustworthy (owner, mode, type) or unreadable. */
int berth_warm_load(struct berth_box *b, json_t **info, unsigned long long *start,
                    struct berth_join_filter *filter, bool *has_filter, berth_error_t *err);
/* Remove b's record (a stale one); errors ignored. */
void berth_warm_forget(const struct berth_box *b);

#endif
