/* image.h - the image side of a user's container, as berthctl sees it:
 * the scratch containers berth makes to read an image's files, and gc's
 * sweep of those left behind. */
#ifndef BERTH_IMAGE_H
#define BERTH_IMAGE_H

#include <time.h>
#include "berth/engine.h"
#include "berth/error.h"

/* A scratch container (read an image's files, never started): the user it
 * was made for, and "HOST:PID-STARTTIME" of the process that made it. */
#define BERTH_LABEL_SCRATCH "berth.scratch"
#define BERTH_LABEL_SCRATCH_OWNER "berth.scratch.owner"

/* Remove scratch containers left behind: made on this host by a process
 * that is gone, or older than max_age_s (another host's, or unlabelled).
 * now: the real time.  *removed: how many; one line logged for each. */
int berth_box_sweep_scratch(struct berth_engine *e, time_t now, time_t max_age_s, int *removed,
                            berth_error_t *err);

#endif
