/* audit_findings.c - the findings list of the deployment audit: one line
 * per door, its users merged, and the severity names. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/audit.h"
#include "berth/user.h"
#include "berth/util.h"
#include "audit-internal.h"

/* ---------------------------------------------------------------- findings */

const char *
berth_audit_severity_name(enum berth_audit_severity s)
{
  switch (s) {
  case BERTH_AUDIT_OK: return "ok";
  case BERTH_AUDIT_NOTE: return "note";
  case BERTH_AUDIT_DOOR: return "door";
  case BERTH_AUDIT_PROBLEM: return "problem";
  }
  return "?";
}

int
berth_audit_new(struct berth_audit **out, berth_error_t *err)
{
  *out = berth_malloc0(sizeof(**out), err);
  return *out ? 0 : -1;
}

void
berth_audit_free(struct berth_audit *a)
{
  if (a == NULL)
    return;
  for (size_t i = 0; i < a->n; i++) {
    free(a->findings[i].id);
    free(a->findings[i].what);
    free(a->findings[i].risk);
    free(a->findings[i].fix);
    berth_strv_free(a->findings[i].users);
  }
  free(a->findings);
  berth_strv_free(a->audited);
  free(a);
}

bool
berth_audit_failed(const struct berth_audit *a)
{
  for (size_t i = 0; a && i < a->n; i++)
    if (a->findings[i].severity == BERTH_AUDIT_DOOR
        || a->findings[i].severity == BERTH_AUDIT_PROBLEM)
      return true;
  return false;
}

/* Append s to the NULL-terminated vector *v. */
int
audit_strv_push(char ***v, const char *s, berth_error_t *err)
{
  size_t n = berth_strv_len(*v);
  char **nv = realloc(*v, (n + 2) * sizeof(char *));
  if (nv == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  *v = nv;
  nv[n] = strdup(s);
  nv[n + 1] = NULL;
  if (nv[n] == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return 0;
}

int
berth_audit_add(struct berth_audit *a, enum berth_audit_severity sev, const char *id,
                const char *user, const char *what, const char *risk, const char *fix,
                berth_error_t *err)
{
  struct berth_audit_finding *f, *nf;

  for (size_t i = 0; i < a->n; i++) {
    f = &a->findings[i];
    if (strcmp(f->id, id) == 0 && strcmp(f->what, what) == 0 && f->severity == sev) {
      if (user == NULL || berth_strv_contains(f->users, user))
        return 0;
      return audit_strv_push(&f->users, user, err);
    }
  }
  nf = realloc(a->findings, (a->n + 1) * sizeof(*nf));
  if (nf == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  a->findings = nf;
  f = &nf[a->n];
  memset(f, 0, sizeof(*f));
  f->severity = sev;
  f->id = strdup(id);
  f->what = strdup(what);
  f->risk = strdup(risk ? risk : "");
  f->fix = strdup(fix ? fix : "");
  a->n++; /* counted now so berth_audit_free releases a partial finding */
  if (!f->id || !f->what || !f->risk || !f->fix)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return user ? audit_strv_push(&f->users, user, err) : 0;
}

/* berth_audit_add with a formatted what */
int __attribute__((format(printf, 7, 8)))
audit_add_fmt(struct berth_audit *a, enum berth_audit_severity sev, const char *id,
              const char *user, const char *risk, const char *fix, const char *fmt, ...)
{
  cleanup_free char *what = NULL;
  va_list ap;
  int r;

  va_start(ap, fmt);
  r = vasprintf(&what, fmt, ap);
  va_end(ap);
  if (r < 0) {
    what = NULL;
    return -1;
  }
  return berth_audit_add(a, sev, id, user, what, risk, fix, NULL);
}
