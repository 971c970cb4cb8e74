/* status.c - berthctl status USER: the user, the policy's decision, the
 * effective settings, and each of the user's containers with its spec
 * state and sessions. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "berth/box.h"
#include "berth/image.h"
#include "berth/spec.h"
#include "berth/listing.h"
#include "berth/entry.h"
#include "berth/login.h"
#include "ctl.h"

/* What status found for one user name. */
struct status {
  const char *name;
  struct berth_login l; /* l.u NULL: the account is gone from NSS */
  enum berth_policy pol;
  const char *why;
  berth_error_t pol_err;
  struct berth_row *rows;
  size_t n;
};

static void
fmt_size(int64_t b, char *buf, size_t len)
{
  static const char units[] = "kmg";
  int u = -1;
  if (b == 0) {
    snprintf(buf, len, "unlimited");
    return;
  }
  while (u < 2 && b % 1024 == 0) {
    b /= 1024;
    u++;
  }
  if (u < 0)
    snprintf(buf, len, "%" PRId64, b);
  else
    snprintf(buf, len, "%" PRId64 "%c", b, units[u]);
}

static void
print_limits(const struct berth_container_conf *cc)
{
  char mem[32];
  fmt_size(cc->memory, mem, sizeof(mem));
  printf("  memory:       %s\n", mem);
  if (cc->cpus > 0)
    printf("  cpus:         %g\n", cc->cpus);
  else
    printf("  cpus:         unlimited\n");
  if (cc->pids > 0)
    printf("  pids:         %" PRId64 "\n", cc->pids);
  else
    printf("  pids:         unlimited\n");
  printf("  network:      %s\n", cc->network ? cc->network : "");
  printf("  on_logout:    %s\n", berth_on_logout_name(cc->on_logout));
  if (cc->idle_timeout > 0)
    printf("  idle_timeout: %" PRId64 "s\n", cc->idle_timeout);
  else
    printf("  idle_timeout: 0 (gc never reaps it)\n");
}

static json_t *
conf_json(const struct berth_container_conf *cc)
{
  return json_pack("{s:s, s:s, s:I, s:f, s:I, s:s, s:s, s:I}", "image", cc->image ? cc->image : "",
                   "pull", berth_pull_name(cc->pull), "memory", (json_int_t) cc->memory, "cpus",
                   cc->cpus, "pids", (json_int_t) cc->pids, "network",
                   cc->network ? cc->network : "", "on_logout", berth_on_logout_name(cc->on_logout),
                   "idle_timeout", (json_int_t) cc->idle_timeout);
}

/* The user, the policy and the box: no engine traffic.  EXIT_OK, or the
 * exit status of a failure already reported. */
static int
status_user(struct ctl *c, struct status *s)
{
  berth_error_t err = NULL;

  if (berth_login_identify(&s->l, s->name, &err) < 0) {
    if (err->kind != BERTH_E_USER || err->status != ENOENT) {
      ctl_warn_err(s->name, err);
      berth_error_release(&err);
      return EXIT_PROBLEM;
    }
    berth_error_release(&err);
    return EXIT_OK;
  }
  s->pol = berth_config_policy(c->cfg, s->l.u, &s->why, &s->pol_err);
  if (berth_box_new(c->cfg, s->l.u, &s->l.box, &err) < 0) {
    ctl_warn_err(s->name, err);
    berth_error_release(&err);
    return EXIT_PROBLEM;
  }
  return EXIT_OK;
}

static void
user_json(const struct status *s, json_t *out)
{
  const struct berth_user *u = s->l.u;
  json_t *groups = json_array();
  const char *mode, *why;

  for (size_t i = 0; groups && i < u->n_groups; i++)
    json_array_append_new(groups, u->groups[i].name ? json_string(u->groups[i].name)
                                                    : json_integer(u->groups[i].gid));
  json_object_set_new(out, "exists", json_true());
  json_object_set_new(out, "uid", json_integer(u->uid));
  json_object_set_new(out, "gid", json_integer(u->gid));
  json_object_set_new(out, "home", json_string(u->home ? u->home : ""));
  json_object_set_new(out, "groups", groups ? groups : json_null());
  json_object_set_new(out, "policy", json_string(berth_policy_name(s->pol)));
  json_object_set_new(out, "policy_reason", s->why ? json_string(s->why) : json_null());
  if (s->pol_err != NULL)
    json_object_set_new(out, "policy_error", json_string(s->pol_err->msg));
  mode = berth_entry_chosen(s->l.box->cfg, &why);
  json_object_set_new(out, "entry", json_string(mode));
  json_object_set_new(out, "entry_reason", json_string(why));
  json_object_set_new(out, "settings", conf_json(s->l.box->conf));
  json_object_set_new(out, "expected_container", json_string(s->l.box->name));
}

static void
user_text(const struct status *s)
{
  const struct berth_user *u = s->l.u;
  const struct berth_box *b = s->l.box;
  const char *mode, *why;

  printf("user:         %s (uid %u, gid %u, home %s)\n", u->name, (unsigned) u->uid,
         (unsigned) u->gid, u->home ? u->home : "?");
  printf("groups:      ");
  for (size_t i = 0; i < u->n_groups; i++) {
    if (u->groups[i].name)
      printf(" %s", u->groups[i].name);
    else
      printf(" %u", (unsigned) u->groups[i].gid);
  }
  printf("\n");
  printf("policy:       %s%s%s%s\n", berth_policy_name(s->pol), s->why ? " (" : "",
         s->why ? s->why : "", s->why ? ")" : "");
  if (s->pol_err != NULL)
    printf("              logins are refused: %s\n", s->pol_err->msg);
  mode = berth_entry_chosen(b->cfg, &why);
  printf("entry:        %s (%s)\n", mode, why);
  printf("settings:\n");
  printf("  image:        %s (pull = %s)\n", b->conf->image, berth_pull_name(b->conf->pull));
  print_limits(b->conf);
}

static void
container_text(const struct berth_row *r, const struct berth_row_detail *d, const char *spec)
{
  char created[32], idle[32];

  printf("container:    %s\n", r->name);
  printf("  id:           %.12s\n", r->id);
  printf("  state:        %s\n", d->status);
  printf("  image:        %s\n", r->image);
  ctl_fmt_time_local(r->created, created, sizeof(created));
  printf("  created:      %s\n", created);
  printf("  spec:         %s%s\n", spec,
         strcmp(spec, "stale") == 0 ? ": recreated at the next login that finds no live session"
                                    : "");
  if (r->sessions < 0)
    printf("  sessions:     unknown\n");
  else
    printf("  sessions:     %d\n", r->sessions);
  printf("  idle since:   %s\n", ctl_row_idle_text(r, idle, sizeof(idle)));
}

/* Each container of the user; EXIT_PROBLEM when one could not be read. */
static int
status_containers(struct ctl *c, struct status *s, json_t *boxes)
{
  struct berth_box *b = s->l.box;
  int rc = EXIT_OK;

  if (s->n == 0 && !c->o.json)
    printf("container:    none (%s)\n", b ? b->name : "?");
  for (size_t i = 0; i < s->n; i++) {
    berth_error_t err = NULL;
    struct berth_row *r = &s->rows[i];
    struct berth_row_detail d;
    const char *spec = "unknown (the account is gone)";
    json_t *bj;
    int ir = berth_listing_detail(c->engine, r, &d, &err);

    if (ir < 0) {
      ctl_warn_err(r->name, err);
      berth_error_release(&err);
      rc = EXIT_PROBLEM;
      continue;
    }
    if (ir == 1)
      continue; /* removed since the list */
    if (b != NULL)
      spec = strcmp(b->name, r->name) != 0 ? "stale (its name no longer matches container.name)"
                                           : berth_listing_spec_state(c->engine, b, &d);
    bj = ctl_row_json(r);
    if (bj != NULL) {
      json_object_set_new(bj, "spec", json_string(d.spec));
      json_object_set_new(bj, "spec_state", json_string(spec));
      json_array_append_new(boxes, bj);
    }
    if (!c->o.json)
      container_text(r, &d, spec);
    berth_listing_detail_clear(&d);
  }
  return rc;
}

static int
status_print(struct ctl *c, struct status *s)
{
  cleanup_json json_t *out = json_object();
  json_t *boxes = json_array();
  int rc;

  if (out == NULL || boxes == NULL || json_object_set_new(out, "containers", boxes) < 0) {
    if (out == NULL)
      json_decref(boxes);
    ctl_warn("out of memory");
    return EXIT_PROBLEM;
  }
  json_object_set_new(out, "user", json_string(s->name));
  if (s->l.u == NULL) {
    json_object_set_new(out, "exists", json_false());
    if (!c->o.json) {
      printf("user:         %s (not found in NSS: the account is gone)\n", s->name);
      printf("policy:       unknown; gc applies the global settings to its container\n");
    }
  } else {
    user_json(s, out);
    if (!c->o.json)
      user_text(s);
  }
  rc = status_containers(c, s, boxes);
  if (c->o.json && ctl_print_json(out) < 0)
    rc = EXIT_PROBLEM;
  return rc;
}

int
ctl_status(struct ctl *c, const char *name)
{
  struct status s = { .name = name, .pol = BERTH_POLICY_EXCLUDED };
  berth_error_t err = NULL;
  int rc;

  if (ctl_setup(c) < 0)
    return EXIT_PROBLEM;
  rc = status_user(c, &s);
  if (rc == EXIT_OK && berth_listing_rows(c->engine, name, &s.rows, &s.n, &err) < 0) {
    ctl_warn_err("engine", err);
    berth_error_release(&err);
    rc = EXIT_PROBLEM;
  }
  if (rc == EXIT_OK && s.l.u == NULL && s.n == 0) {
    ctl_warn("%s: no such user and no berth container for it", name);
    rc = EXIT_NOTFOUND;
  }
  if (rc == EXIT_OK)
    rc = status_print(c, &s);
  berth_listing_free(s.rows, s.n);
  berth_login_clear(&s.l);
  berth_error_release(&s.pol_err);
  return rc;
}
