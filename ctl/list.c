/* list.c - berthctl list: one line (or JSON object) per berth container. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "berth/listing.h"
#include "ctl.h"

const char *
ctl_row_idle_text(const struct berth_row *r, char *buf, size_t len)
{
  if (r->sessions > 0)
    return "-";
  if (r->sessions < 0)
    return "?";
  if (r->idle_since == 0)
    return "never";
  ctl_fmt_time_local(r->idle_since, buf, len);
  return buf;
}

json_t *
ctl_row_json(const struct berth_row *r)
{
  char created[32], idle[32];
  json_t *o;

  ctl_fmt_time_utc(r->created, created, sizeof(created));
  ctl_fmt_time_utc(r->idle_since, idle, sizeof(idle));
  o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "user", r->user, "container", r->name, "id",
                r->id, "state", r->state, "image", r->image, "image_id", r->image_id, "created",
                created);
  if (o == NULL)
    return NULL;
  json_object_set_new(o, "sessions", r->sessions >= 0 ? json_integer(r->sessions) : json_null());
  /* null while sessions are live or when none was recorded since boot */
  json_object_set_new(o, "idle_since",
                      r->sessions == 0 && r->idle_since != 0 ? json_string(idle) : json_null());
  return o;
}

static int
list_json(const struct berth_row *rows, size_t n)
{
  cleanup_json json_t *arr = json_array();
  int rc = EXIT_OK;

  for (size_t i = 0; arr && i < n; i++)
    if (json_array_append_new(arr, ctl_row_json(&rows[i])) < 0)
      rc = EXIT_PROBLEM;
  if (arr == NULL || rc != EXIT_OK || ctl_print_json(arr) < 0)
    rc = EXIT_PROBLEM;
  return rc;
}

static void
list_table(const struct berth_row *rows, size_t n)
{
  int wu = 4, wc = 9, ws = 5, wi = 5;

  for (size_t i = 0; i < n; i++) {
    wu = (int) strlen(rows[i].user) > wu ? (int) strlen(rows[i].user) : wu;
    wc = (int) strlen(rows[i].name) > wc ? (int) strlen(rows[i].name) : wc;
    ws = (int) strlen(rows[i].state) > ws ? (int) strlen(rows[i].state) : ws;
    wi = (int) strlen(rows[i].image) > wi ? (int) strlen(rows[i].image) : wi;
  }
  printf("%-*s  %-*s  %-*s  %8s  %-*s  %-16s  %s\n", wu, "USER", wc, "CONTAINER", ws, "STATE",
         "SESSIONS", wi, "IMAGE", "CREATED", "IDLE-SINCE");
  for (size_t i = 0; i < n; i++) {
    char created[32], idle[32], sess[16];
    ctl_fmt_time_local(rows[i].created, created, sizeof(created));
    if (rows[i].sessions < 0)
      snprintf(sess, sizeof(sess), "?");
    else
      snprintf(sess, sizeof(sess), "%d", rows[i].sessions);
    printf("%-*s  %-*s  %-*s  %8s  %-*s  %-16s  %s\n", wu, rows[i].user, wc, rows[i].name, ws,
           rows[i].state, sess, wi, rows[i].image, created,
           ctl_row_idle_text(&rows[i], idle, sizeof(idle)));
  }
}

int
ctl_list(struct ctl *c, const char *arg)
{
  struct berth_row *rows = NULL;
  size_t n = 0;
  int rc = EXIT_OK;

  (void) arg;
  if (ctl_setup_rows(c, NULL, &rows, &n) < 0)
    return EXIT_PROBLEM;
  if (c->o.json)
    rc = list_json(rows, n);
  else
    list_table(rows, n);
  berth_listing_free(rows, n);
  return rc;
}
