/* check.c - berthctl check: the config, the keeper, the engine, the images
 * and network logins need, and the audit of the deployment around berth
 * (sshd, PAM: lib/audit.c) printed one finding a line. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/audit.h"
#include "berth/conn.h"
#include "berth/listing.h"
#include "berth/login.h"
#include "berth/user.h"
#include "berth/util.h"
#include "ctl.h"

#ifndef BERTH_KEEPER_PATH
#define BERTH_KEEPER_PATH "/usr/libexec/berth/berth-keeper"
#endif

/* check's lines on stdout; none with --json, whose stdout is the findings */
static bool check_quiet;

static void __attribute__((format(printf, 1, 2))) info(const char *fmt, ...);

/* A tcp:// engine: what the TLS handshake showed, and the client
 * certificate's expiry (a warning within 30 days). */
static int
check_tls(struct ctl *c)
{
  struct berth_tls_info t;
  berth_error_t err = NULL;
  int r = berth_core_tls_probe(c->cfg, &t, &err);

  if (r < 0) {
    ctl_warn_err("engine", err);
    berth_error_release(&err);
    return -1;
  }
  if (r > 0)
    return 0;
  info("engine: tls: %s, server %s (SAN %s), issuer %s, valid until %s\n", t.protocol, t.subject,
       t.san[0] ? t.san : "none", t.issuer, t.server_not_after);
  info("engine: tls: client certificate %s valid until %s (%ld days)\n", c->cfg->engine.tls.cert,
       t.client_not_after, t.client_days_left);
  if (t.client_days_left < 30)
    ctl_warn("engine: the client certificate %s expires in %ld days: renew it",
             c->cfg->engine.tls.cert, t.client_days_left);
  return 0;
}

static void __attribute__((format(printf, 1, 2))) info(const char *fmt, ...)
{
  va_list ap;
  if (check_quiet)
    return;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

static bool
needs_builtin_keeper(const struct berth_config *cfg)
{
  if (berth_strv_len(cfg->container.keeper) == 0)
    return true;
  for (size_t i = 0; i < cfg->n_groups; i++)
    if (cfg->groups[i].has_keeper && berth_strv_len(cfg->groups[i].c.keeper) == 0)
      return true;
  for (size_t i = 0; i < cfg->n_users; i++)
    if (cfg->users[i].has_keeper && berth_strv_len(cfg->users[i].c.keeper) == 0)
      return true;
  return false;
}

static int
check_keeper(const struct berth_config *cfg)
{
  struct stat st;
  const char *p = BERTH_KEEPER_PATH;

  if (!needs_builtin_keeper(cfg)) {
    info("keeper: custom (container.keeper = %s ...): runs from the image\n",
         cfg->container.keeper[0]);
    return 0;
  }
  if (stat(p, &st) < 0) {
    ctl_warn("keeper: %s: %s (reinstall berth)", p, strerror(errno));
    return -1;
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
    ctl_warn("keeper: %s: not an executable file", p);
    return -1;
  }
  /* It is bind-mounted into every container: whoever can write it runs code
   * in every user's container. */
  if (st.st_uid != 0 || (st.st_mode & 0022) != 0) {
    ctl_warn("keeper: %s: writable by someone other than root (mode %04o, uid %u)", p,
             (unsigned) (st.st_mode & 07777), (unsigned) st.st_uid);
    return -1;
  }
  info("keeper: %s: ok\n", p);
  return 0;
}

static int
check_image(struct ctl *c, const char *image, enum berth_pull pull, const char *where)
{
  berth_error_t err = NULL;
  cleanup_free char *id = NULL;
  cleanup_free char *label = NULL;
  int r;

  label = where ? berth_asprintf(&err, "image: %s (%s)", image, where)
                : berth_asprintf(&err, "image: %s", image);
  if (label == NULL) {
    ctl_warn("out of memory");
    return -1;
  }
  r = berth_listing_image(c->engine, image, &id, &err);
  if (r < 0) {
    ctl_warn_err(label, err);
    berth_error_release(&err);
    return -1;
  }
  if (r == 0) {
    const char *short_id = id && strncmp(id, "sha256:", 7) == 0 ? id + 7 : (id ? id : "");
    info("%s: present (%.12s)%s\n", label, short_id,
         pull == BERTH_PULL_ALWAYS ? "; pulled again at every login (pull = always)" : "");
    return 0;
  }
  switch (pull) {
  case BERTH_PULL_NEVER:
    ctl_warn("%s: not present and pull = never: load it (docker pull / docker load) or set pull = "
             "\"missing\"",
             label);
    return -1;
  case BERTH_PULL_MISSING:
    info("%s: not present locally; will be pulled at first login (pull = missing)\n", label);
    return 0;
  case BERTH_PULL_ALWAYS:
  default:
    info("%s: not present locally; will be pulled at every login (pull = always)\n", label);
    return 0;
  }
}

static json_t *
finding_json(const struct berth_audit_finding *f)
{
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", f->id, "severity",
                        berth_audit_severity_name(f->severity), "what", f->what, "risk", f->risk,
                        "fix", f->fix);
  json_t *users = json_array();
  for (size_t i = 0; f->users && f->users[i]; i++)
    json_array_append_new(users, json_string(f->users[i]));
  if (o == NULL || users == NULL || json_object_set_new(o, "users", users) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* "what (for alice, bob)" */
static void
print_finding(FILE *f, const struct berth_audit_finding *x)
{
  fprintf(f, "%s", x->what);
  for (size_t i = 0; x->users && x->users[i]; i++)
    fprintf(f, "%s%s", i == 0 ? " (for " : ", ", x->users[i]);
  if (x->users && x->users[0])
    fputc(')', f);
}

/* The deployment around berth: sshd's effective settings and PAM stack for
 * berthed users, berth-shell's install, other services (lib/audit.c).
 * Doors and problems are one line each on stderr, with risk and fix. */
static int
check_audit(struct ctl *c)
{
  struct berth_audit_opts o = { .sshd_config = c->o.sshd_config, .pam_dir = c->o.pam_dir };
  struct berth_audit *a = NULL;
  berth_error_t err = NULL;
  int rc = 0;

  if (berth_audit_run(c->cfg, &o, &a, &err) < 0) {
    ctl_warn_err("audit", err);
    berth_error_release(&err);
    return -1;
  }
  for (size_t i = 0; a->audited && a->audited[i]; i++)
    info("audit: sshd and PAM as seen by %s\n", a->audited[i]);
  if (c->o.json) {
    cleanup_json json_t *list = json_array();
    for (size_t i = 0; list && i < a->n; i++)
      if (json_array_append_new(list, finding_json(&a->findings[i])) < 0)
        json_decref(steal_pointer(&list));
    if (list == NULL || json_dumpf(list, stdout, JSON_INDENT(2)) < 0) {
      ctl_warn("out of memory");
      rc = -1;
    }
    putchar('\n');
  }
  for (size_t i = 0; i < a->n; i++) {
    const struct berth_audit_finding *f = &a->findings[i];
    bool bad = f->severity == BERTH_AUDIT_DOOR || f->severity == BERTH_AUDIT_PROBLEM;
    FILE *out = bad ? stderr : stdout;
    if (!bad && check_quiet)
      continue;
    fflush(stdout); /* keep the order of the lines when both go to one file */
    fprintf(out, "%s%s: ", bad ? "berthctl: " : "", berth_audit_severity_name(f->severity));
    print_finding(out, f);
    if (f->severity == BERTH_AUDIT_OK)
      fprintf(out, ": %s\n", f->risk);
    else
      fprintf(out, ": risk: %s; fix: %s\n", f->risk, f->fix);
  }
  if (berth_audit_failed(a))
    rc = -1;
  else
    info("audit: no open door\n");
  berth_audit_free(a);
  return rc;
}

/* Every group the policy names must resolve: while one does not, the
 * policy cannot decide and every login that depends on it is denied. */
static int
check_policy_groups(const struct berth_config *cfg)
{
  int problems = 0;

  for (int pass = 0; pass < 2; pass++) {
    char **list = pass == 0 ? cfg->policy.only_groups : cfg->policy.exclude_groups;
    const char *key = pass == 0 ? "policy.only_groups" : "policy.exclude_groups";
    for (size_t i = 0; list && list[i]; i++) {
      berth_error_t err = NULL;
      gid_t gid;
      if (berth_group_resolve(list[i], &gid, &err) < 0) {
        ctl_warn("%s: %s: logins it decides are denied until it resolves", key, err->msg);
        berth_error_release(&err);
        problems++;
      }
    }
  }
  return problems;
}

/* berth's own network, when any user gets it: created here if missing (as
 * the first login would), and read back, because an engine may accept the
 * isolation option and drop it (Podman 4). */
static int
check_network(struct ctl *c)
{
  const struct berth_config *cfg = c->cfg;
  bool used = strcmp(cfg->container.network, BERTH_NETWORK) == 0, isolated = false;
  berth_error_t err = NULL;

  for (size_t i = 0; !used && i < cfg->n_groups + cfg->n_users; i++) {
    const struct berth_override *o
        = i < cfg->n_groups ? &cfg->groups[i] : &cfg->users[i - cfg->n_groups];
    used = o->has_network && strcmp(o->c.network, BERTH_NETWORK) == 0;
  }
  if (!used)
    return 0;
  if (berth_listing_network(c->engine, &isolated, &err) < 0) {
    ctl_warn_err("network: " BERTH_NETWORK, err);
    berth_error_release(&err);
    return -1;
  }
  if (!isolated) {
    ctl_warn(
        "network: " BERTH_NETWORK ": the engine does not keep traffic between its containers "
        "off (no com.docker.network.bridge.enable_icc=false on it; Podman 4 ignores it): logins "
        "that would use it are refused; set container.network = \"bridge\" to accept that "
        "users' containers can reach each other, or \"none\"");
    return -1;
  }
  info("network: " BERTH_NETWORK ": ok (traffic between containers off)\n");
  return 0;
}

int
ctl_check(struct ctl *c, const char *arg)
{
  int problems = 0;
  char where[300];

  (void) arg;
  check_quiet = c->o.json;
  if (ctl_load_config(c) < 0)
    return EXIT_PROBLEM;
  info("config: %s: ok\n", c->cfg->path ? c->cfg->path : c->o.config_path);
  if (check_keeper(c->cfg) < 0)
    problems++;
  /* The image checks need the engine; the audit does not, and the doors it
   * finds are open whether the engine runs or not. */
  if (ctl_connect(c) < 0) {
    if (c->o.no_audit)
      return EXIT_PROBLEM;
    check_audit(c);
    return EXIT_PROBLEM;
  }
  info("engine: %s: ok (API %s)\n", berth_config_engine_name(c->cfg),
       berth_core_api_version(c->engine));
  if (check_tls(c) < 0)
    return EXIT_PROBLEM;
  if (c->o.no_audit) /* the audit names unresolved policy groups itself */
    problems += check_policy_groups(c->cfg);
  if (check_network(c) < 0)
    problems++;

  if (check_image(c, c->cfg->container.image, c->cfg->container.pull, NULL) < 0)
    problems++;
  /* Overrides may name other images or pull policies; check each one once. */
  for (int pass = 0; pass < 2; pass++) {
    const struct berth_override *ov = pass == 0 ? c->cfg->groups : c->cfg->users;
    size_t n = pass == 0 ? c->cfg->n_groups : c->cfg->n_users;
    for (size_t i = 0; i < n; i++) {
      const char *img = ov[i].has_image ? ov[i].c.image : c->cfg->container.image;
      enum berth_pull pull = ov[i].has_pull ? ov[i].c.pull : c->cfg->container.pull;
      if (!ov[i].has_image && !ov[i].has_pull)
        continue;
      if (strcmp(img, c->cfg->container.image) == 0 && pull == c->cfg->container.pull)
        continue;
      snprintf(where, sizeof(where), "%s %s", pass == 0 ? "group" : "user", ov[i].match);
      if (check_image(c, img, pull, where) < 0)
        problems++;
    }
  }
  if (!c->o.no_audit && check_audit(c) < 0)
    problems++;
  if (problems)
    return EXIT_PROBLEM;
  info("ok\n");
  return EXIT_OK;
}
