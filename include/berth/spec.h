/* spec.h - the Docker create body of a user's container, as a login would
 * build it (berthctl compares it with what runs). */
#ifndef BERTH_SPEC_H
#define BERTH_SPEC_H

#include <jansson.h>
#include "berth/boxdef.h"
#include "berth/error.h"

/* Build the create body for image_id.  keeper_path is the host path of
 * berth-keeper (bind-mounted read-only) used when conf->keeper is empty.
 * Its Labels carry BERTH_LABEL_SPEC, the hash of the rest. */
json_t *berth_box_spec(const struct berth_box *b, const char *image_id, const char *keeper_path,
                       berth_error_t *err);

#endif
