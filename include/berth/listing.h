/* listing.h - berth's containers as an admin sees them (berthctl list,
 * status, check): rows built inside the core from the engine's list and
 * inspect replies, so no front end reads an engine's JSON. */
#ifndef BERTH_LISTING_H
#define BERTH_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "berth/box.h"
#include "berth/image.h"
#include "berth/spec.h"
#include "berth/engine.h"
#include "berth/error.h"

/* One container carrying the berth.user label. */
struct berth_row {
  char *user;
  char *name;
  char *id;
  char *state;
  char *image; /* a tag of the image when it has one, else its short id */
  char *image_id;
  time_t created;
  int sessions;      /* -1 when the count failed (logged) */
  time_t idle_since; /* 0: no session recorded since boot */
};

/* berth's containers, sorted by user and name; with user, only that user's
 * (by the label: found even when the name template changed or the account
 * is gone from NSS).  Session counts and idle clocks from RUNDIR and the
 * engine (berth_listing_engine_sessions). */
int berth_listing_rows(struct berth_engine *e, const char *user, struct berth_row **out,
                       size_t *n_out, berth_error_t *err);
void berth_listing_free(struct berth_row *rows, size_t n);
/* Count r's sessions and read its idle clock again (after taking its lock). */
void berth_listing_sessions(struct berth_row *r);
/* Add the engine's view (live.h), the same from every bastion: sessions
 * become at least the running execs (other bastions' sessions among them),
 * idle_since the later of the local clock and the container's idle mark.
 * Returns the running execs, or -1 with sessions -1 ("unknown": gc never
 * acts on it), logged. */
int berth_listing_engine_sessions(struct berth_engine *e, struct berth_row *r);
/* Whether a state means processes run inside. */
bool berth_listing_running(const char *state);

/* What status shows of one container beyond its row. */
struct berth_row_detail {
  char *status; /* State.Status */
  char *spec;   /* its berth.spec label */
};
/* 0 and *d filled, 1 when the container is gone since the list, -1 on error
 * (engine.h's found/not-found convention). */
int berth_listing_detail(struct berth_engine *e, const struct berth_row *r,
                         struct berth_row_detail *d, berth_error_t *err);
void berth_listing_detail_clear(struct berth_row_detail *d);
/* Whether the container's spec label matches what a login would create
 * now: "current", "stale" or a reason it cannot tell. */
const char *berth_listing_spec_state(struct berth_engine *e, struct berth_box *b,
                                     const struct berth_row_detail *d);

/* Whether image is present: 0 (*id its id), 1 absent, -1 on error. */
int berth_listing_image(struct berth_engine *e, const char *image, char **id, berth_error_t *err);
/* Ensure berth's own network (as the first login would) and read back
 * whether the engine keeps traffic between its containers off. */
int berth_listing_network(struct berth_engine *e, bool *isolated, berth_error_t *err);

#endif
