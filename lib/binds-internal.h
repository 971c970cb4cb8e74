/* binds-internal.h - the trust walk of a container's bind sources
 * (lib/binds.c), for lib/box.c and lib/spec.c. */
#ifndef BERTH_BINDS_INTERNAL_H
#define BERTH_BINDS_INTERNAL_H

#include <stdbool.h>
#include <jansson.h>
#include "berth/boxdef.h"
#include "berth/error.h"

/* Whether the HostConfig.Mounts entry m is a bind; if so its source and
 * target in *src and *dst (either may be NULL when the entry lacks it). */
bool berth_mount_bind(json_t *m, const char **src, const char **dst);
/* berth's own binds: the keeper (a fixed path below the reserved /.berth)
 * and the generated /etc files under the run directory. */
bool berth_binds_is_ours(const struct berth_box *b, const char *src, const char *dst);
/* mounts: HostConfig.Mounts of a spec or of an inspected container.  Every
 * bind source but berth's own has to be one only root can redirect
 * (berth_path_open with BERTH_PATH_TRUSTED), else -1 (BERTH_E_CONTAINER). */
int berth_binds_check(const struct berth_box *b, json_t *mounts, berth_error_t *err);
/* After a create or start the engine refused: when it says the user's
 * home does not exist (a bind source must exist on the engine's host, and
 * with a remote engine that is another host than this one), the kind
 * becomes BERTH_E_HOME_ENGINE and the message says what to fix.  Returns
 * -1, for `return berth_binds_engine_home(b, err);`. */
int berth_binds_engine_home(const struct berth_box *b, berth_error_t *err);

#endif
