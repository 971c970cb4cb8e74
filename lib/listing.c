/* listing.c - list and status rows from the engine's replies (listing.h).
 * The one place outside the engine that knows the list API's "Names" with
 * a leading '/', and the inspect fields berthctl shows. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "berth/listing.h"
#include "berth/live.h"
#include "berth/log.h"
#include "berth/session.h"
#include "berth/util.h"

static const char *
jstr_or_empty(json_t *o, const char *key)
{
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

static void
row_clear(struct berth_row *r)
{
  free(r->user);
  free(r->name);
  free(r->id);
  free(r->state);
  free(r->image);
  free(r->image_id);
  memset(r, 0, sizeof(*r));
}

void
berth_listing_free(struct berth_row *rows, size_t n)
{
  for (size_t i = 0; rows && i < n; i++)
    row_clear(&rows[i]);
  free(rows);
}

bool
berth_listing_running(const char *s)
{
  return strcmp(s, "running") == 0 || strcmp(s, "paused") == 0 || strcmp(s, "restarting") == 0;
}

/* Session count and idle time come from the records under BERTH_RUNDIR,
 * keyed by the container name.  A failure leaves the row "unknown" (gc
 * never acts on it) and is logged. */
void
berth_listing_sessions(struct berth_row *r)
{
  berth_error_t err = NULL;

  r->sessions = berth_session_count(r->name, 0, &err);
  if (r->sessions < 0) {
    berth_log(LOG_WARNING, "container=%s sessions unknown: %s", BERTH_LOG_VAL(r->name),
              BERTH_LOG_TEXT(err ? err->msg : "-"));
    berth_error_release(&err);
  }
  r->idle_since = 0;
  if (berth_session_idle_since(r->name, &r->idle_since, &err) < 0) {
    berth_log(LOG_WARNING, "container=%s idle time unknown: %s", BERTH_LOG_VAL(r->name),
              BERTH_LOG_TEXT(err ? err->msg : "-"));
    berth_error_release(&err);
    r->idle_since = 0;
  }
}

int
berth_listing_engine_sessions(struct berth_engine *e, struct berth_row *r)
{
  cleanup_json json_t *info = NULL;
  berth_error_t err = NULL;
  time_t mark = 0;
  int running = 0, ir;

  ir = berth_engine_container_inspect(e, r->id, &info, &err);
  if (ir == 1)
    return 0; /* gone since the list: the caller finds out */
  if (ir < 0
      || (json_is_true(json_object_get(json_object_get(info, "State"), "Running"))
          && berth_live_execs(e, info, BERTH_LIVE_ANY, NULL, &running, &err) < 0)) {
    berth_log(LOG_WARNING, "container=%s sessions on the engine unknown: %s",
              BERTH_LOG_VAL(r->name), BERTH_LOG_TEXT(err ? err->msg : "-"));
    berth_error_release(&err);
    r->sessions = -1;
    return -1;
  }
  if (r->sessions >= 0 && running > r->sessions)
    r->sessions = running;
  ir = berth_live_idle_mark(e, r->id, &mark, &err);
  if (ir < 0) {
    berth_debug("container=%s no idle mark: %s", BERTH_LOG_VAL(r->name), BERTH_LOG_TEXT(err->msg));
    berth_error_release(&err);
  } else if (ir == 0 && mark > r->idle_since) {
    r->idle_since = mark;
  }
  return running;
}

static int
row_from_json(json_t *item, struct berth_row *r)
{
  json_t *names = json_object_get(item, "Names");
  const char *name = json_string_value(json_array_get(names, 0));
  json_t *labels = json_object_get(item, "Labels");
  json_int_t created = json_integer_value(json_object_get(item, "Created"));

  memset(r, 0, sizeof(*r));
  if (name == NULL)
    return -1;
  if (*name == '/') /* the list API names containers "/name" */
    name++;
  r->user = strdup(jstr_or_empty(labels, BERTH_LABEL_USER));
  r->name = strdup(name);
  r->id = strdup(jstr_or_empty(item, "Id"));
  r->state = strdup(jstr_or_empty(item, "State"));
  r->image = strdup(jstr_or_empty(item, "Image"));
  r->image_id = strdup(jstr_or_empty(item, "ImageID"));
  r->created = (time_t) created;
  if (!r->user || !r->name || !r->id || !r->state || !r->image || !r->image_id) {
    row_clear(r);
    return -1;
  }
  berth_listing_sessions(r);
  return 0;
}

/* berth creates containers from the image ID (so the spec hash pins it),
 * which is all the engine reports back: show a tag of that image instead,
 * or its short ID once no tag points at it any more (the image was
 * upgraded and this container is on the old one). */
static char *
image_display_name(struct berth_engine *e, const char *image_id)
{
  berth_error_t err = NULL;
  cleanup_free char *q = NULL, *path = NULL;
  cleanup_json json_t *reply = NULL;
  long status = 0;
  const char *tag = NULL;
  const char *short_id = strncmp(image_id, "sha256:", 7) == 0 ? image_id + 7 : image_id;

  q = berth_engine_escape(image_id, &err);
  path = q ? berth_asprintf(&err, "/images/%s/json", q) : NULL;
  if (path != NULL && berth_engine_request(e, "GET", path, NULL, &status, &reply, &err) == 0
      && status == 200)
    tag = json_string_value(json_array_get(json_object_get(reply, "RepoTags"), 0));
  berth_error_release(&err);
  if (tag != NULL && strcmp(tag, "<none>:<none>") != 0)
    return strdup(tag);
  return berth_asprintf(NULL, "%.12s (untagged)", short_id);
}

static void
rows_name_images(struct berth_engine *e, struct berth_row *rows, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char *name = NULL;
    if (strncmp(rows[i].image, "sha256:", 7) != 0)
      continue; /* created from a name: keep it */
    for (size_t j = 0; j < i && name == NULL; j++)
      if (strcmp(rows[j].image_id, rows[i].image_id) == 0)
        name = strdup(rows[j].image);
    if (name == NULL)
      name = image_display_name(e, rows[i].image_id[0] ? rows[i].image_id : rows[i].image);
    if (name != NULL) {
      free(rows[i].image);
      rows[i].image = name;
    }
  }
}

static int
row_cmp(const void *a, const void *b)
{
  const struct berth_row *x = a, *y = b;
  int d = strcmp(x->user, y->user);
  return d ? d : strcmp(x->name, y->name);
}

int
berth_listing_rows(struct berth_engine *e, const char *user, struct berth_row **out, size_t *n_out,
                   berth_error_t *err)
{
  cleanup_json json_t *list = NULL;
  cleanup_free char *label = NULL;
  struct berth_row *rows;
  size_t n = 0;

  label = user ? berth_asprintf(err, "%s=%s", BERTH_LABEL_USER, user)
               : berth_strdup(BERTH_LABEL_USER, err);
  if (label == NULL || berth_engine_container_list(e, label, &list, err) < 0)
    return -1;
  rows = calloc(json_array_size(list) + 1, sizeof(*rows));
  if (rows == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  for (size_t i = 0; i < json_array_size(list); i++) {
    if (row_from_json(json_array_get(list, i), &rows[n]) < 0)
      continue; /* a reply without a name cannot be acted on */
    n++;
  }
  qsort(rows, n, sizeof(*rows), row_cmp);
  for (size_t i = 0; i < n; i++)
    berth_listing_engine_sessions(e, &rows[i]);
  rows_name_images(e, rows, n);
  *out = rows;
  *n_out = n;
  return 0;
}

/* ---------------------------------------------------------------- status */

void
berth_listing_detail_clear(struct berth_row_detail *d)
{
  free(d->status);
  free(d->spec);
  memset(d, 0, sizeof(*d));
}

int
berth_listing_detail(struct berth_engine *e, const struct berth_row *r, struct berth_row_detail *d,
                     berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  int ir;

  memset(d, 0, sizeof(*d));
  ir = berth_engine_container_inspect(e, r->id, &info, err);
  if (ir != 0)
    return ir;
  d->status = strdup(jstr_or_empty(json_object_get(info, "State"), "Status"));
  d->spec = strdup(
      jstr_or_empty(json_object_get(json_object_get(info, "Config"), "Labels"), BERTH_LABEL_SPEC));
  if (d->status == NULL || d->spec == NULL) {
    berth_listing_detail_clear(d);
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  }
  return 0;
}

/* The same berth_box_spec a login builds, with the label it would carry. */
const char *
berth_listing_spec_state(struct berth_engine *e, struct berth_box *b,
                         const struct berth_row_detail *d)
{
  berth_error_t err = NULL;
  cleanup_free char *image_id = NULL;
  cleanup_json json_t *spec = NULL;
  const char *want;
  int r;

  r = berth_engine_image_inspect(e, b->conf->image, &image_id, &err);
  if (r < 0) {
    berth_error_release(&err);
    return "unknown (the image could not be inspected)";
  }
  if (r == 1)
    return "unknown (the configured image is not present; a login pulls it)";
  spec = berth_box_spec(b, image_id, b->keeper_path, &err);
  if (spec == NULL) {
    berth_error_release(&err);
    return "unknown (the spec could not be built)";
  }
  want = jstr_or_empty(json_object_get(spec, "Labels"), BERTH_LABEL_SPEC);
  return strcmp(d->spec, want) == 0 ? "current" : "stale";
}

/* ---------------------------------------------------------------- check */

int
berth_listing_image(struct berth_engine *e, const char *image, char **id, berth_error_t *err)
{
  return berth_engine_image_inspect(e, image, id, err);
}

int
berth_listing_network(struct berth_engine *e, bool *isolated, berth_error_t *err)
{
  return berth_engine_network_ensure(e, BERTH_NETWORK, isolated, err);
}
