/* stop.c - berthctl stop USER, and the loop rm shares: each of the user's
 * containers stopped (or removed) under the user's lock, refused while
 * sessions are live unless --force (lib/lifecycle.c decides). */
#include "config.h"

#include <stdio.h>

#include "berth/lifecycle.h"
#include "berth/listing.h"
#include "ctl.h"

static int
report(struct ctl *c, const struct berth_row *r, const char *user, bool rm, int live,
       enum berth_lc_outcome out)
{
  switch (out) {
  case BERTH_LC_REFUSED:
    ctl_warn("%s: %d live session%s in %s; not %s (--force ends them)", user, live,
             live == 1 ? "" : "s", r->name, rm ? "removing" : "stopping");
    return EXIT_PROBLEM;
  case BERTH_LC_GONE: printf("%s: already gone\n", r->name); return EXIT_OK;
  case BERTH_LC_ALREADY_STOPPED:
    printf("%s: already stopped (%s)\n", r->name, r->state);
    return EXIT_OK;
  default:
    printf("%s %s (user %s)\n", rm ? "removed" : "stopped", r->name, r->user);
    (void) c;
    return EXIT_OK;
  }
}

int
ctl_stop_or_rm(struct ctl *c, const char *user, enum berth_lc_op op)
{
  berth_error_t err = NULL;
  struct berth_row *rows = NULL;
  size_t n = 0;
  int rc = EXIT_OK;

  if (ctl_setup_rows(c, user, &rows, &n) < 0)
    return EXIT_PROBLEM;
  if (n == 0) {
    ctl_warn("%s: no berth container for this user", user);
    berth_listing_free(rows, n);
    return EXIT_NOTFOUND;
  }
  for (size_t i = 0; i < n; i++) {
    enum berth_lc_outcome out = BERTH_LC_DONE;
    int live = 0;

    if (berth_lifecycle_admin(c->engine, c->cfg, &rows[i], op, c->o.force, &live, &out, &err) < 0) {
      ctl_warn_err(rows[i].name, err);
      berth_error_release(&err);
      rc = EXIT_PROBLEM;
    } else if (report(c, &rows[i], user, op == BERTH_LC_RM, live, out) != EXIT_OK) {
      rc = EXIT_PROBLEM;
    }
  }
  berth_listing_free(rows, n);
  return rc;
}

int
ctl_stop(struct ctl *c, const char *user)
{
  return ctl_stop_or_rm(c, user, BERTH_LC_STOP);
}
