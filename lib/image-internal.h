/* image-internal.h - lib/image.c's functions for lib/box.c: the image id
 * per pull policy, and the image facts (its
 * /etc/passwd and /etc/group, whether a login shell exists), cached per
 * image id and read from a container nothing has run in yet. */
#ifndef BERTH_IMAGE_INTERNAL_H
#define BERTH_IMAGE_INTERNAL_H

#include <stdbool.h>
#include "berth/boxdef.h"
#include "berth/engine.h"
#include "berth/image.h"

/* The image of c, present per the pull policy (pulled when it says so):
 * *id its id, or -1 (BERTH_E_IMAGE_MISSING when absent). */
int berth_image_resolve(struct berth_engine *e, const struct berth_container_conf *c, char **id,
                        berth_error_t *err);

/* Where image facts come from when the cache lacks them. */
struct berth_image_source {
  struct berth_engine *e;
  const struct berth_box *b;
  const char *image_id;
  const char *fresh; /* a just-created container of image_id, or NULL */
  char *scratch;     /* made on demand when fresh is NULL, never started */
};
/* Remove the scratch container, if one was made. */
void berth_image_source_done(struct berth_image_source *s);
/* The image's own /etc/passwd and /etc/group ("" when it has none). */
int berth_image_etc(struct berth_image_source *s, char **pw, char **gr, berth_error_t *err);
/* Sets b->shell: the user's passwd shell when the image has it, else the
 * configured fallback. */
int berth_image_shell(struct berth_image_source *s, struct berth_box *b, berth_error_t *err);

#endif
