/* gc.c - berthctl gc: stop or remove containers idle longer than their
 * idle_timeout (lib/lifecycle.c decides, under each user's lock), then
 * sweep the leftovers of killed logins. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/box.h"
#include "berth/image.h"
#include "berth/spec.h"
#include "berth/home.h"
#include "berth/lifecycle.h"
#include "berth/listing.h"
#include "berth/user.h"
#include "berth/util.h"
#include "ctl.h"

/* Leftovers gc sweeps (docs/security.md "Logging, homes and leftovers"): a
 * first login's home temporary unchanged this long is dead (a skel copy
 * takes seconds); a scratch container berth cannot ask about (another
 * host's) this old is too (one lives for a few archive reads). */
#define GC_HOME_TEMP_AGE_S 600
#define GC_SCRATCH_AGE_S 3600

/* The home temporaries next to the home of u, once per parent directory
 * (parents: the ones swept so far, np of them). */
static int
sweep_home(const struct berth_user *u, char **parents, size_t *np, time_t now)
{
  berth_error_t err = NULL;
  cleanup_free char *dir = u->home ? strdup(u->home) : NULL;
  char *slash;
  int removed;

  if (dir != NULL && (slash = strrchr(dir, '/')) != NULL)
    slash[slash == dir ? 1 : 0] = '\0';
  for (size_t j = 0; dir != NULL && j < *np; j++)
    if (strcmp(parents[j], dir) == 0)
      return EXIT_OK;
  if (dir == NULL)
    return EXIT_OK;
  parents[(*np)++] = steal_pointer(&dir);
  if (berth_home_sweep(u->home, now, GC_HOME_TEMP_AGE_S, &removed, &err) < 0) {
    ctl_warn_err(u->home, err);
    berth_error_release(&err);
    return EXIT_PROBLEM;
  }
  if (removed > 0)
    printf("removed %d leftover home temporar%s in %s\n", removed, removed == 1 ? "y" : "ies",
           parents[*np - 1]);
  return EXIT_OK;
}

/* The leftovers of killed logins: home temporaries next to the homes of the
 * users berth has containers for, and scratch containers.  By the real
 * clock, never --now: what is in progress stays. */
static int
gc_sweep(struct ctl *c, const struct berth_row *rows, size_t n)
{
  berth_error_t err = NULL;
  char **parents = calloc(n + 1, sizeof(char *));
  size_t np = 0;
  time_t now = time(NULL);
  int rc = EXIT_OK, removed;

  if (parents == NULL) {
    ctl_warn("out of memory");
    return EXIT_PROBLEM;
  }
  for (size_t i = 0; i < n; i++) {
    struct berth_user *u = NULL;
    if (*rows[i].user == '\0' || berth_user_lookup(rows[i].user, &u, &err) < 0) {
      berth_error_release(&err); /* gone accounts: the plan already said so */
      continue;
    }
    if (sweep_home(u, parents, &np, now) != EXIT_OK)
      rc = EXIT_PROBLEM;
    berth_user_free(u);
  }
  for (size_t j = 0; j < np; j++)
    free(parents[j]);
  free(parents);
  if (berth_box_sweep_scratch(c->engine, now, GC_SCRATCH_AGE_S, &removed, &err) < 0) {
    ctl_warn_err("scratch containers", err);
    berth_error_release(&err);
    rc = EXIT_PROBLEM;
  } else if (removed > 0) {
    printf("removed %d leftover scratch container%s\n", removed, removed == 1 ? "" : "s");
  }
  return rc;
}

/* One row: planned, then (not --dry-run) applied.  *acted counts it. */
static int
gc_row(struct ctl *c, struct berth_row *r, time_t now, int *acted)
{
  berth_error_t err = NULL;
  struct berth_gc_plan p;
  enum berth_lc_outcome out = BERTH_LC_DONE;
  char idle_s[32], tmo_s[32];
  bool rm;

  if (berth_gc_plan(c->cfg, r, now, &p, &err) < 0) {
    ctl_warn_err(r->user, err);
    berth_error_release(&err);
    return EXIT_PROBLEM;
  }
  if (!p.act) {
    if (c->o.verbose)
      printf("skip %s (user %s): %s\n", r->name, r->user, p.skip);
    return EXIT_OK;
  }
  rm = p.op == BERTH_LC_RM;
  ctl_fmt_duration(p.idle, idle_s, sizeof(idle_s));
  ctl_fmt_duration(p.idle_timeout, tmo_s, sizeof(tmo_s));
  if (c->o.dry_run) {
    printf("would %s %s (user %s%s, idle %s > idle_timeout %s)\n", rm ? "remove" : "stop", r->name,
           r->user, p.gone ? ", account gone" : "", idle_s, tmo_s);
    (*acted)++;
    return EXIT_OK;
  }
  if (berth_gc_apply(c->engine, c->cfg, r, now, &p, &out, &err) < 0) {
    ctl_warn_err(r->name, err);
    berth_error_release(&err);
    return EXIT_PROBLEM;
  }
  if (out == BERTH_LC_BUSY)
    printf("skip %s (user %s): user busy, skipped: %s\n", r->name, r->user, p.busy);
  if (out != BERTH_LC_DONE)
    return EXIT_OK;
  printf("%s %s (user %s%s, idle %s > idle_timeout %s)\n", rm ? "removed" : "stopped", r->name,
         r->user, p.gone ? ", account gone" : "", idle_s, tmo_s);
  (*acted)++;
  return EXIT_OK;
}

int
ctl_gc(struct ctl *c, const char *arg)
{
  struct berth_row *rows = NULL;
  size_t n = 0;
  int rc = EXIT_OK, acted = 0;
  time_t now = c->o.have_now ? c->o.now : time(NULL);

  (void) arg;
  if (ctl_setup_rows(c, NULL, &rows, &n) < 0)
    return EXIT_PROBLEM;
  for (size_t i = 0; i < n; i++)
    if (gc_row(c, &rows[i], now, &acted) != EXIT_OK)
      rc = EXIT_PROBLEM;
  if (!c->o.dry_run && gc_sweep(c, rows, n) != EXIT_OK)
    rc = EXIT_PROBLEM;
  if (c->o.verbose && acted == 0)
    printf("nothing to do\n");
  berth_listing_free(rows, n);
  return rc;
}
