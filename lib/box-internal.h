/* box-internal.h - what lib/box.c offers beyond box.h to the unit tests
 * only: ensure without the lock and the session bookkeeping of open. */
#ifndef BERTH_BOX_INTERNAL_H
#define BERTH_BOX_INTERNAL_H

#include "berth/box.h"

/* Ensure the container exists, matches the current spec and runs.  The caller
 * holds the user's session lock (session.h).  may_recreate: when the existing
 * container's spec hash differs, remove and recreate it (true only when no
 * session is live in it); when false, an out-of-date container is reused
 * unless it grants more than the spec (another uid:gid, a supplementary
 * group, a bind or write access to one, a missing security option): that
 * fails with BERTH_E_CONTAINER, status EACCES.  Before every create and start
 * each bind source must be one only root can redirect (berth_path_open with
 * BERTH_PATH_TRUSTED), or it fails with BERTH_E_CONTAINER.  Fills b->id,
 * b->image_id, b->spec_hash, b->shell.  *created (may be NULL) tells whether
 * a new container was created. */
int berth_box_ensure(struct berth_engine *e, struct berth_box *b, bool may_recreate, bool *created,
                     berth_error_t *err);

#endif
