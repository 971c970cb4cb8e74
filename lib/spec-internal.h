/* spec-internal.h - the readers of spec.c that lib/box.c, the unit tests
 * and the inspect fuzzer use: the spec hash, and what an existing
 * container's inspect reply says (its owner labels, the access it grants
 * beyond a wanted spec). */
#ifndef BERTH_SPEC_INTERNAL_H
#define BERTH_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "berth/spec.h"

/* Hash of the effective spec (image id included): hex SHA-256 of the
 * canonical (sorted-keys, compact) JSON of the spec without its own
 * BERTH_LABEL_SPEC label.  -1 when out of memory. */
int berth_box_spec_hash(json_t *spec, char out[65]);

/* Config.Labels[label] of an inspect reply, or NULL. */
const char *berth_box_label(json_t *info, const char *label);
/* Never act on a container that is not labelled for this very user: -1
 * (BERTH_E_CONTAINER, EEXIST) when info's labels name someone else. */
int berth_box_check_owner(const struct berth_box *b, json_t *info, berth_error_t *err);
/* Whether the existing container (info) grants something the wanted spec
 * does not: another uid:gid, a supplementary group, a bind (or write access
 * to one), or lacks a security option.  *what says which, for the log. */
bool berth_box_grants_more(const struct berth_box *b, json_t *info, json_t *spec, char *what,
                           size_t n);
/* Whether info (an inspect reply) bind-mounts generated /etc files. */
bool berth_box_has_etc_bind(json_t *info);

/* An existing container's inspect reply (info) against the wanted spec:
 * -1 (BERTH_E_CONTAINER) when it is not labelled for b's user, 1 when it
 * grants more than spec (*what says what), else 0.  For the fuzzer. */
int berth_box_inspect_check(const struct berth_box *b, json_t *info, json_t *spec, char *what,
                            size_t n, berth_error_t *err);

#endif
