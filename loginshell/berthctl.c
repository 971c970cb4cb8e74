/* berthctl.c - the admin CLI: check, list, status, stop, rm, gc.
 *
 * Root only: it drives the engine socket, which is root-equivalent.  Unlike
 * lib/ it prints: results on stdout, one line per problem on stderr, and one
 * syslog line (authpriv, ident "berthctl") per lifecycle action it takes.
 * Exit codes are part of the interface (berthctl(8)). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "berth/audit.h"
#include "berth/config.h"
#include "berth/container.h"
#include "berth/engine.h"
#include "berth/error.h"
#include "berth/home.h"
#include "berth/log.h"
#include "berth/session.h"
#include "berth/user.h"
#include "berth/util.h"

#ifndef BERTH_KEEPER_PATH
#define BERTH_KEEPER_PATH "/usr/libexec/berth/berth-keeper"
#endif

enum {
  EXIT_OK = 0,       /* done; for check: every check passed */
  EXIT_PROBLEM = 1,  /* a check failed, an operation failed or was refused */
  EXIT_USAGE = 2,    /* bad command line */
  EXIT_NOTFOUND = 3, /* no such user and no container for it */
  EXIT_PERM = 4,     /* not run as root */
};

/* Seconds the engine gives the keeper between SIGTERM and SIGKILL.  The
 * keeper exits on SIGTERM at once; the bound only matters for a custom one. */
#define STOP_TIMEOUT_S 10
/* How long gc waits for a user's lock before it skips the user for this run
 * (a login holds it for a container create and start). */
#define GC_LOCK_WAIT_MS 5000L
/* Leftovers gc sweeps (docs/security.md "Logging, homes and leftovers"): a
 * first login's home temporary unchanged this long is dead (a skel copy
 * takes seconds); a scratch container berth cannot ask about (another
 * host's) this old is too (one lives for a few archive reads). */
#define GC_HOME_TEMP_AGE_S 600
#define GC_SCRATCH_AGE_S 3600

static const char *prog = "berthctl";

struct opts {
  const char *config_path;
  bool json;
  bool force;
  bool dry_run;
  bool verbose;
  bool have_now;
  time_t now;
  bool no_audit;           /* check: config, keeper, engine, images only */
  const char *sshd_config; /* check: sshd -f FILE */
  const char *pam_dir;     /* check: the sshd PAM stack is DIR/sshd */
};

struct ctl {
  struct opts o;
  struct berth_config *cfg;
  struct berth_engine *engine;
};

/* One berth container as `list` and `gc` see it. */
struct row {
  char *user;
  char *name;
  char *id;
  char *state;
  char *image;      /* a tag of the image when it has one, else its short id */
  char *image_id;
  time_t created;
  int sessions;      /* -1 when the count failed */
  time_t idle_since; /* 0: no session recorded since boot */
};

/* jansson ships json_decrefp for exactly this */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* ---------------------------------------------------------------- output */

static void __attribute__((format(printf, 1, 0)))
vwarn(const char *fmt, va_list ap)
{
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

static void __attribute__((format(printf, 1, 2)))
warn(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vwarn(fmt, ap);
  va_end(ap);
}

/* "what: reason (detail)", one line, for an error from the core.  Config
 * errors already read "file:line: key: problem", the reason adds nothing. */
static void
warn_err(const char *what, berth_error_t err)
{
  if (err == NULL)
    warn("%s: %s", what, "an internal error occurred");
  else if (err->kind == BERTH_E_CONFIG)
    warn("%s: %s", what, err->msg);
  else
    warn("%s: %s (%s)", what, berth_error_reason(err), err->msg);
}

static bool log_to_stderr;

/* The core's sink: syslog; with --debug every line is mirrored on stderr so
 * an admin sees what the core did without reading the journal. */
static void
log_sink(void *ctx, int priority, const char *msg)
{
  syslog(LOG_AUTHPRIV | priority, "%s", msg);
  if (log_to_stderr)
    fprintf(stderr, "%s: log: %s\n", prog, msg);
}

/* The one syslog line per lifecycle action (docs/logging.md). */
static void
log_action(const char *action, const char *user, const char *container, const char *trigger,
           const char *extra, berth_error_t err)
{
  /* user and container come from the engine's labels: escaped like any
   * value (docs/logging.md); extra is ours, numbers and words */
  if (err == NULL)
    berth_log(LOG_NOTICE, "action=%s user=%s container=%s trigger=%s%s%s outcome=ok", action,
              BERTH_LOG_VAL(user), BERTH_LOG_VAL(container), trigger, extra ? " " : "",
              extra ? extra : "");
  else
    berth_log(LOG_ERR, "action=%s user=%s container=%s trigger=%s%s%s outcome=failed error=%s: %s",
              action, BERTH_LOG_VAL(user), BERTH_LOG_VAL(container), trigger, extra ? " " : "",
              extra ? extra : "", berth_error_kind_name(err->kind), BERTH_LOG_TEXT(err->msg));
}

static void
fmt_time_utc(time_t t, char *buf, size_t len)
{
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, len, "@%lld", (long long) t);
}

static void
fmt_time_local(time_t t, char *buf, size_t len)
{
  struct tm tm;
  if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
    snprintf(buf, len, "@%lld", (long long) t);
}

/* 7260 -> "2h01m" */
static void
fmt_duration(long long s, char *buf, size_t len)
{
  if (s < 0)
    s = 0;
  if (s < 60)
    snprintf(buf, len, "%llds", s);
  else if (s < 3600)
    snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400)
    snprintf(buf, len, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  else
    snprintf(buf, len, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
}

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

/* ---------------------------------------------------------------- setup */

static int
load_config(struct ctl *c)
{
  berth_error_t err = NULL;
  if (berth_config_load(c->o.config_path, &c->cfg, &err) < 0) {
    warn_err("config", err);
    berth_error_release(&err);
    return -1;
  }
  berth_log_set_debug(log_to_stderr || c->cfg->debug);
  return 0;
}

static int
connect_engine(struct ctl *c)
{
  berth_error_t err = NULL;
  if (berth_engine_global_init(&err) < 0 ||
      berth_engine_new(c->cfg->engine.socket, c->cfg->engine.timeout_ms, &c->engine, &err) < 0 ||
      berth_engine_ping(c->engine, &err) < 0) {
    warn_err("engine", err);
    berth_error_release(&err);
    return -1;
  }
  return 0;
}

/* Load the config and reach the engine: what every verb but check needs. */
static int
setup(struct ctl *c)
{
  if (load_config(c) < 0 || connect_engine(c) < 0)
    return -1;
  return 0;
}

/* ---------------------------------------------------------------- rows */

static void
row_clear(struct row *r)
{
  free(r->user);
  free(r->name);
  free(r->id);
  free(r->state);
  free(r->image);
  free(r->image_id);
  memset(r, 0, sizeof(*r));
}

static void
rows_free(struct row *rows, size_t n)
{
  for (size_t i = 0; rows && i < n; i++)
    row_clear(&rows[i]);
  free(rows);
}

static const char *
jstr(json_t *o, const char *key)
{
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

/* Session count and idle time are derived from the records under
 * BERTH_RUNDIR, keyed by the container name. */
static void
row_sessions(struct row *r)
{
  berth_error_t err = NULL;
  r->sessions = berth_session_count(r->name, 0, &err);
  if (r->sessions < 0) {
    warn_err(r->name, err);
    berth_error_release(&err);
  }
  r->idle_since = 0;
  if (berth_session_idle_since(r->name, &r->idle_since, &err) < 0) {
    warn_err(r->name, err);
    berth_error_release(&err);
    r->idle_since = 0;
  }
}

static int
row_from_json(json_t *item, struct row *r)
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
  r->user = strdup(jstr(labels, BERTH_LABEL_USER));
  r->name = strdup(name);
  r->id = strdup(jstr(item, "Id"));
  r->state = strdup(jstr(item, "State"));
  r->image = strdup(jstr(item, "Image"));
  r->image_id = strdup(jstr(item, "ImageID"));
  r->created = (time_t) created;
  if (!r->user || !r->name || !r->id || !r->state || !r->image || !r->image_id) {
    row_clear(r);
    return -1;
  }
  row_sessions(r);
  return 0;
}

/* berth creates containers from the image ID (so the spec hash pins it),
 * which is all the engine reports back: show a tag of that image instead,
 * or its short ID once no tag points at it any more (the image was
 * upgraded and this container is on the old one). */
static char *
image_display_name(struct ctl *c, const char *image_id)
{
  berth_error_t err = NULL;
  cleanup_free char *q = NULL, *path = NULL;
  cleanup_json json_t *reply = NULL;
  long status = 0;
  const char *tag = NULL;
  const char *short_id = strncmp(image_id, "sha256:", 7) == 0 ? image_id + 7 : image_id;

  q = berth_engine_escape(image_id, &err);
  path = q ? berth_asprintf(&err, "/images/%s/json", q) : NULL;
  if (path != NULL && berth_engine_request(c->engine, "GET", path, NULL, &status, &reply, &err) == 0
      && status == 200)
    tag = json_string_value(json_array_get(json_object_get(reply, "RepoTags"), 0));
  berth_error_release(&err);
  if (tag != NULL && strcmp(tag, "<none>:<none>") != 0)
    return strdup(tag);
  return berth_asprintf(NULL, "%.12s (untagged)", short_id);
}

static void
rows_name_images(struct ctl *c, struct row *rows, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char *name = NULL;
    if (strncmp(rows[i].image, "sha256:", 7) != 0)
      continue; /* created from a name: keep it */
    for (size_t j = 0; j < i && name == NULL; j++)
      if (strcmp(rows[j].image_id, rows[i].image_id) == 0)
        name = strdup(rows[j].image);
    if (name == NULL)
      name = image_display_name(c, rows[i].image_id[0] ? rows[i].image_id : rows[i].image);
    if (name != NULL) {
      free(rows[i].image);
      rows[i].image = name;
    }
  }
}

static int
row_cmp(const void *a, const void *b)
{
  const struct row *x = a, *y = b;
  int d = strcmp(x->user, y->user);
  return d ? d : strcmp(x->name, y->name);
}

/* Containers carrying the berth.user label; with user, only that user's
 * (label "berth.user=USER": found even when the name template changed or the
 * account is gone from NSS). */
static int
list_rows(struct ctl *c, const char *user, struct row **out, size_t *n_out)
{
  berth_error_t err = NULL;
  cleanup_json json_t *list = NULL;
  cleanup_free char *label = NULL;
  struct row *rows;
  size_t n = 0;

  label = user ? berth_asprintf(&err, "%s=%s", BERTH_LABEL_USER, user)
               : berth_strdup(BERTH_LABEL_USER, &err);
  if (label == NULL || berth_engine_container_list(c->engine, label, &list, &err) < 0) {
    warn_err("engine", err);
    berth_error_release(&err);
    return -1;
  }
  rows = calloc(json_array_size(list) + 1, sizeof(*rows));
  if (rows == NULL) {
    warn("out of memory");
    return -1;
  }
  for (size_t i = 0; i < json_array_size(list); i++) {
    if (row_from_json(json_array_get(list, i), &rows[n]) < 0)
      continue; /* a reply without a name cannot be acted on */
    n++;
  }
  qsort(rows, n, sizeof(*rows), row_cmp);
  rows_name_images(c, rows, n);
  *out = rows;
  *n_out = n;
  return 0;
}

/* ---------------------------------------------------------------- check */

/* check's lines on stdout; none with --json, whose stdout is the findings */
static bool check_quiet;

static void __attribute__((format(printf, 1, 2)))
info(const char *fmt, ...)
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
    warn("keeper: %s: %s (reinstall berth)", p, strerror(errno));
    return -1;
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
    warn("keeper: %s: not an executable file", p);
    return -1;
  }
  /* It is bind-mounted into every container: whoever can write it runs code
   * in every user's container. */
  if (st.st_uid != 0 || (st.st_mode & 0022) != 0) {
    warn("keeper: %s: writable by someone other than root (mode %04o, uid %u)", p,
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
    warn("out of memory");
    return -1;
  }
  r = berth_engine_image_inspect(c->engine, image, &id, &err);
  if (r < 0) {
    warn_err(label, err);
    berth_error_release(&err);
    return -1;
  }
  if (r == 1) {
    const char *short_id = id && strncmp(id, "sha256:", 7) == 0 ? id + 7 : (id ? id : "");
    info("%s: present (%.12s)%s\n", label, short_id,
           pull == BERTH_PULL_ALWAYS ? "; pulled again at every login (pull = always)" : "");
    return 0;
  }
  switch (pull) {
  case BERTH_PULL_NEVER:
    warn("%s: not present and pull = never: load it (docker pull / docker load) or set pull = "
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
    warn_err("audit", err);
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
      warn("out of memory");
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
        warn("%s: %s: logins it decides are denied until it resolves", key, err->msg);
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
  if (berth_engine_network_ensure(c->engine, BERTH_NETWORK, &isolated, &err) < 0) {
    warn_err("network: " BERTH_NETWORK, err);
    berth_error_release(&err);
    return -1;
  }
  if (!isolated) {
    warn("network: " BERTH_NETWORK ": the engine does not keep traffic between its containers "
         "off (no com.docker.network.bridge.enable_icc=false on it; Podman 4 ignores it): logins "
         "that would use it are refused; set container.network = \"bridge\" to accept that "
         "users' containers can reach each other, or \"none\"");
    return -1;
  }
  info("network: " BERTH_NETWORK ": ok (traffic between containers off)\n");
  return 0;
}

static int
cmd_check(struct ctl *c)
{
  int problems = 0;
  char where[300];

  check_quiet = c->o.json;
  if (load_config(c) < 0)
    return EXIT_PROBLEM;
  info("config: %s: ok\n", c->cfg->path ? c->cfg->path : c->o.config_path);
  if (check_keeper(c->cfg) < 0)
    problems++;
  /* The image checks need the engine; the audit does not, and the doors it
   * finds are open whether the engine runs or not. */
  if (connect_engine(c) < 0) {
    if (c->o.no_audit)
      return EXIT_PROBLEM;
    check_audit(c);
    return EXIT_PROBLEM;
  }
  info("engine: %s: ok (API %s)\n", c->cfg->engine.socket, berth_engine_api_version(c->engine));
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

/* ---------------------------------------------------------------- list */

static const char *
row_idle_text(const struct row *r, char *buf, size_t len)
{
  if (r->sessions > 0)
    return "-";
  if (r->sessions < 0)
    return "?";
  if (r->idle_since == 0)
    return "never";
  fmt_time_local(r->idle_since, buf, len);
  return buf;
}

static json_t *
row_json(const struct row *r)
{
  char created[32], idle[32];
  json_t *o;

  fmt_time_utc(r->created, created, sizeof(created));
  fmt_time_utc(r->idle_since, idle, sizeof(idle));
  o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "user", r->user, "container", r->name,
                "id", r->id, "state", r->state, "image", r->image, "image_id", r->image_id,
                "created", created);
  if (o == NULL)
    return NULL;
  json_object_set_new(o, "sessions", r->sessions >= 0 ? json_integer(r->sessions) : json_null());
  /* null while sessions are live or when none was recorded since boot */
  json_object_set_new(o, "idle_since", r->sessions == 0 && r->idle_since != 0 ? json_string(idle)
                                                                              : json_null());
  return o;
}

static int
print_json(json_t *j)
{
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s == NULL) {
    warn("out of memory");
    return -1;
  }
  puts(s);
  free(s);
  return 0;
}

static int
cmd_list(struct ctl *c)
{
  struct row *rows = NULL;
  size_t n = 0;
  int rc = EXIT_OK;

  if (setup(c) < 0)
    return EXIT_PROBLEM;
  if (list_rows(c, NULL, &rows, &n) < 0)
    return EXIT_PROBLEM;

  if (c->o.json) {
    cleanup_json json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
      if (json_array_append_new(arr, row_json(&rows[i])) < 0)
        rc = EXIT_PROBLEM;
    if (arr == NULL || rc != EXIT_OK || print_json(arr) < 0)
      rc = EXIT_PROBLEM;
  } else {
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
      fmt_time_local(rows[i].created, created, sizeof(created));
      if (rows[i].sessions < 0)
        snprintf(sess, sizeof(sess), "?");
      else
        snprintf(sess, sizeof(sess), "%d", rows[i].sessions);
      printf("%-*s  %-*s  %-*s  %8s  %-*s  %-16s  %s\n", wu, rows[i].user, wc, rows[i].name, ws,
             rows[i].state, sess, wi, rows[i].image, created,
             row_idle_text(&rows[i], idle, sizeof(idle)));
    }
  }
  rows_free(rows, n);
  return rc;
}

/* ---------------------------------------------------------------- status */

/* Whether the container's spec label matches what a login would create now
 * (the same berth_box_spec a login builds, with the label it would carry).
 * Returns "current", "stale" or a reason it cannot tell. */
static const char *
spec_state(struct ctl *c, struct berth_box *b, json_t *info)
{
  berth_error_t err = NULL;
  cleanup_free char *image_id = NULL;
  cleanup_json json_t *spec = NULL;
  json_t *cfg = json_object_get(info, "Config");
  const char *have = jstr(json_object_get(cfg, "Labels"), BERTH_LABEL_SPEC);
  const char *want, *userns;
  int r;

  r = berth_engine_image_inspect(c->engine, b->conf->image, &image_id, &err);
  if (r < 0) {
    berth_error_release(&err);
    return "unknown (the image could not be inspected)";
  }
  if (r == 0)
    return "unknown (the configured image is not present; a login pulls it)";
  /* A login reuses the existing container's user-namespace opt-out, which
   * is part of the spec. */
  userns = jstr(json_object_get(info, "HostConfig"), "UsernsMode");
  b->userns_host = strcmp(userns, "host") == 0;
  spec = berth_box_spec(b, image_id, b->keeper_path, &err);
  if (spec == NULL) {
    berth_error_release(&err);
    return "unknown (the spec could not be built)";
  }
  want = jstr(json_object_get(spec, "Labels"), BERTH_LABEL_SPEC);
  return strcmp(have, want) == 0 ? "current" : "stale";
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

static int
cmd_status(struct ctl *c, const char *name)
{
  berth_error_t err = NULL;
  struct berth_user *u = NULL;
  struct berth_box *b = NULL;
  struct row *rows = NULL;
  size_t n = 0;
  const char *why = NULL;
  enum berth_policy pol = BERTH_POLICY_EXCLUDED;
  berth_error_t pol_err = NULL;
  cleanup_json json_t *out = NULL;
  json_t *boxes = NULL;
  int rc = EXIT_OK;

  if (setup(c) < 0)
    return EXIT_PROBLEM;
  if (berth_user_lookup(name, &u, &err) < 0) {
    if (err->kind != BERTH_E_USER || err->status != ENOENT) {
      warn_err(name, err);
      berth_error_release(&err);
      return EXIT_PROBLEM;
    }
    berth_error_release(&err);
    u = NULL;
  }
  if (u != NULL) {
    pol = berth_config_policy(c->cfg, u, &why, &pol_err);
    if (berth_box_new(c->cfg, u, &b, &err) < 0) {
      warn_err(name, err);
      berth_error_release(&err);
      rc = EXIT_PROBLEM;
      goto out;
    }
  }
  if (list_rows(c, name, &rows, &n) < 0) {
    rc = EXIT_PROBLEM;
    goto out;
  }
  if (u == NULL && n == 0) {
    warn("%s: no such user and no berth container for it", name);
    rc = EXIT_NOTFOUND;
    goto out;
  }

  out = json_object();
  boxes = json_array();
  if (out == NULL) {
    json_decref(boxes);
    boxes = NULL;
  }
  if (out == NULL || boxes == NULL || json_object_set_new(out, "containers", boxes) < 0) {
    warn("out of memory");
    rc = EXIT_PROBLEM;
    goto out;
  }
  json_object_set_new(out, "user", json_string(name));
  if (u == NULL) {
    json_object_set_new(out, "exists", json_false());
    if (!c->o.json) {
      printf("user:         %s (not found in NSS: the account is gone)\n", name);
      printf("policy:       unknown; gc applies the global settings to its container\n");
    }
  } else {
    json_t *groups = json_array();
    for (size_t i = 0; groups && i < u->n_groups; i++)
      json_array_append_new(groups, u->groups[i].name ? json_string(u->groups[i].name)
                                                      : json_integer(u->groups[i].gid));
    json_object_set_new(out, "exists", json_true());
    json_object_set_new(out, "uid", json_integer(u->uid));
    json_object_set_new(out, "gid", json_integer(u->gid));
    json_object_set_new(out, "home", json_string(u->home ? u->home : ""));
    json_object_set_new(out, "groups", groups ? groups : json_null());
    json_object_set_new(out, "policy", json_string(berth_policy_name(pol)));
    json_object_set_new(out, "policy_reason", why ? json_string(why) : json_null());
    if (pol_err != NULL)
      json_object_set_new(out, "policy_error", json_string(pol_err->msg));
    json_object_set_new(out, "settings", conf_json(b->conf));
    json_object_set_new(out, "expected_container", json_string(b->name));
    if (!c->o.json) {
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
      printf("policy:       %s%s%s%s\n", berth_policy_name(pol), why ? " (" : "", why ? why : "",
             why ? ")" : "");
      if (pol_err != NULL)
        printf("              logins are refused: %s\n", pol_err->msg);
      printf("settings:\n");
      printf("  image:        %s (pull = %s)\n", b->conf->image, berth_pull_name(b->conf->pull));
      print_limits(b->conf);
    }
  }

  if (n == 0 && !c->o.json)
    printf("container:    none (%s)\n", b ? b->name : "?");
  for (size_t i = 0; i < n; i++) {
    struct row *r = &rows[i];
    cleanup_json json_t *info = NULL;
    const char *spec = "unknown (the account is gone)";
    const char *have_spec = "";
    char created[32], idle[32];
    json_t *bj;
    int ir;

    ir = berth_engine_container_inspect(c->engine, r->id, &info, &err);
    if (ir < 0) {
      warn_err(r->name, err);
      berth_error_release(&err);
      rc = EXIT_PROBLEM;
      continue;
    }
    if (ir == 0)
      continue; /* removed since the list */
    have_spec = jstr(json_object_get(json_object_get(info, "Config"), "Labels"), BERTH_LABEL_SPEC);
    if (b != NULL) {
      if (strcmp(b->name, r->name) != 0)
        spec = "stale (its name no longer matches container.name)";
      else
        spec = spec_state(c, b, info);
    }
    fmt_time_utc(r->created, created, sizeof(created));
    bj = row_json(r);
    if (bj != NULL) {
      json_object_set_new(bj, "spec", json_string(have_spec));
      json_object_set_new(bj, "spec_state", json_string(spec));
      json_array_append_new(boxes, bj);
    }
    if (!c->o.json) {
      printf("container:    %s\n", r->name);
      printf("  id:           %.12s\n", r->id);
      printf("  state:        %s\n", jstr(json_object_get(info, "State"), "Status"));
      printf("  image:        %s\n", r->image);
      fmt_time_local(r->created, created, sizeof(created));
      printf("  created:      %s\n", created);
      printf("  spec:         %s%s\n", spec,
             strcmp(spec, "stale") == 0 ? ": recreated at the next login that finds no live session"
                                        : "");
      if (r->sessions < 0)
        printf("  sessions:     unknown\n");
      else
        printf("  sessions:     %d\n", r->sessions);
      printf("  idle since:   %s\n", row_idle_text(r, idle, sizeof(idle)));
    }
  }
  if (c->o.json && print_json(out) < 0)
    rc = EXIT_PROBLEM;

out:
  rows_free(rows, n);
  berth_box_free(b);
  berth_user_free(u);
  berth_error_release(&pol_err);
  return rc;
}

/* ---------------------------------------------------------------- stop, rm */

/* Whether a state means processes run inside. */
static bool
state_running(const char *s)
{
  return strcmp(s, "running") == 0 || strcmp(s, "paused") == 0 || strcmp(s, "restarting") == 0;
}

static int
do_stop_rm(struct ctl *c, const char *verb, const char *user)
{
  struct row *rows = NULL;
  size_t n = 0;
  int rc = EXIT_OK;
  bool rm = strcmp(verb, "rm") == 0;

  if (setup(c) < 0)
    return EXIT_PROBLEM;
  if (list_rows(c, user, &rows, &n) < 0)
    return EXIT_PROBLEM;
  if (n == 0) {
    warn("%s: no berth container for this user", user);
    rows_free(rows, n);
    return EXIT_NOTFOUND;
  }
  for (size_t i = 0; i < n; i++) {
    berth_error_t err = NULL;
    cleanup_json json_t *info = NULL;
    struct row *r = &rows[i];
    char extra[64];
    int lock, live, ir;
    const char *state;

    /* The user's lock: a login that is creating or starting this container
     * finishes first, and none starts while we act. */
    lock = berth_session_lock(r->name, berth_box_lock_timeout(c->cfg), &err);
    if (lock < 0) {
      warn_err(r->name, err);
      berth_error_release(&err);
      rc = EXIT_PROBLEM;
      continue;
    }
    live = berth_session_count(r->name, 0, &err);
    if (live < 0) {
      warn_err(r->name, err);
      berth_error_release(&err);
      berth_session_unlock(lock);
      rc = EXIT_PROBLEM;
      continue;
    }
    if (live > 0 && !c->o.force) {
      warn("%s: %d live session%s in %s; not %s (--force ends them)", user, live,
           live == 1 ? "" : "s", r->name, rm ? "removing" : "stopping");
      berth_session_unlock(lock);
      rc = EXIT_PROBLEM;
      continue;
    }
    ir = berth_engine_container_inspect(c->engine, r->id, &info, &err);
    if (ir <= 0) {
      if (ir < 0) {
        warn_err(r->name, err);
        berth_error_release(&err);
        rc = EXIT_PROBLEM;
      } else {
        printf("%s: already gone\n", r->name);
      }
      berth_session_unlock(lock);
      continue;
    }
    state = jstr(json_object_get(info, "State"), "Status");
    snprintf(extra, sizeof(extra), "sessions=%d force=%s", live, c->o.force ? "yes" : "no");
    if (rm) {
      /* force: the engine kills a running container before removing it */
      if (berth_engine_container_remove(c->engine, r->id, true, &err) < 0) {
        log_action("rm", r->user, r->name, "admin", extra, err);
        warn_err(r->name, err);
        berth_error_release(&err);
        rc = EXIT_PROBLEM;
      } else {
        log_action("rm", r->user, r->name, "admin", extra, NULL);
        printf("removed %s (user %s)\n", r->name, r->user);
      }
    } else if (!state_running(state)) {
      printf("%s: already stopped (%s)\n", r->name, state);
    } else if (berth_engine_container_stop(c->engine, r->id, STOP_TIMEOUT_S, &err) < 0) {
      log_action("stop", r->user, r->name, "admin", extra, err);
      warn_err(r->name, err);
      berth_error_release(&err);
      rc = EXIT_PROBLEM;
    } else {
      log_action("stop", r->user, r->name, "admin", extra, NULL);
      printf("stopped %s (user %s)\n", r->name, r->user);
    }
    berth_session_unlock(lock);
  }
  rows_free(rows, n);
  return rc;
}

/* ---------------------------------------------------------------- gc */

/* The settings that apply to a labelled container: the user's effective
 * ones, or the global ones when the account no longer resolves. */
static int
gc_settings(struct ctl *c, const char *user, int64_t *idle_timeout, enum berth_on_logout *on_logout,
            bool *gone)
{
  berth_error_t err = NULL;
  struct berth_user *u = NULL;
  struct berth_container_conf *cc = NULL;

  *gone = false;
  if (*user == '\0' || berth_user_lookup(user, &u, &err) < 0) {
    if (err != NULL && !(err->kind == BERTH_E_USER && err->status == ENOENT)) {
      /* a lookup failure other than "no such user": do not guess */
      warn_err(user, err);
      berth_error_release(&err);
      return -1;
    }
    berth_error_release(&err);
    *gone = true;
    *idle_timeout = c->cfg->container.idle_timeout;
    *on_logout = c->cfg->container.on_logout;
    return 0;
  }
  if (berth_config_resolve(c->cfg, u, &cc, &err) < 0) {
    warn_err(user, err);
    berth_error_release(&err);
    berth_user_free(u);
    return -1;
  }
  *idle_timeout = cc->idle_timeout;
  *on_logout = cc->on_logout;
  berth_container_conf_free(cc);
  berth_user_free(u);
  return 0;
}

/* What gc does to an idle container: it exists to reclaim resources, so
 * "keep" (which only means "do not stop at logout") stops it too; "remove"
 * removes it.  NULL: nothing to do. */
static const char *
gc_action(enum berth_on_logout ol, const char *state)
{
  if (ol == BERTH_LOGOUT_REMOVE)
    return "rm";
  return state_running(state) ? "stop" : NULL;
}

/* Seconds idle, or -1 while sessions are live.  A container with no session
 * recorded since boot (the records live on a tmpfs) counts from creation. */
static long long
gc_idle(const struct row *r, time_t now)
{
  if (r->sessions != 0)
    return -1;
  return (long long) now - (long long) (r->idle_since ? r->idle_since : r->created);
}

/* The leftovers of killed logins: home temporaries next to the homes of the
 * users berth has containers for (each parent directory once), and scratch
 * containers.  By the real clock, never --now: what is in progress stays. */
static int
gc_sweep(struct ctl *c, const struct row *rows, size_t n)
{
  berth_error_t err = NULL;
  char **parents = calloc(n + 1, sizeof(char *));
  size_t np = 0;
  time_t now = time(NULL);
  int rc = EXIT_OK, removed;

  if (parents == NULL) {
    warn("out of memory");
    return EXIT_PROBLEM;
  }
  for (size_t i = 0; i < n; i++) {
    struct berth_user *u = NULL;
    char *slash;
    cleanup_free char *dir = NULL;
    bool seen = false;

    if (*rows[i].user == '\0' || berth_user_lookup(rows[i].user, &u, &err) < 0) {
      berth_error_release(&err); /* gone accounts: gc_settings already said so */
      continue;
    }
    dir = u->home ? strdup(u->home) : NULL;
    if (dir != NULL && (slash = strrchr(dir, '/')) != NULL)
      slash[slash == dir ? 1 : 0] = '\0';
    for (size_t j = 0; dir != NULL && j < np && !seen; j++)
      seen = strcmp(parents[j], dir) == 0;
    if (dir != NULL && !seen) {
      if (berth_home_sweep(u->home, now, GC_HOME_TEMP_AGE_S, &removed, &err) < 0) {
        warn_err(u->home, err);
        berth_error_release(&err);
        rc = EXIT_PROBLEM;
      } else if (removed > 0) {
        printf("removed %d leftover home temporar%s in %s\n", removed, removed == 1 ? "y" : "ies",
               dir);
      }
      parents[np++] = steal_pointer(&dir);
    }
    berth_user_free(u);
  }
  for (size_t j = 0; j < np; j++)
    free(parents[j]);
  free(parents);
  if (berth_box_sweep_scratch(c->engine, now, GC_SCRATCH_AGE_S, &removed, &err) < 0) {
    warn_err("scratch containers", err);
    berth_error_release(&err);
    rc = EXIT_PROBLEM;
  } else if (removed > 0) {
    printf("removed %d leftover scratch container%s\n", removed, removed == 1 ? "" : "s");
  }
  return rc;
}

static int
cmd_gc(struct ctl *c)
{
  struct row *rows = NULL;
  size_t n = 0;
  int rc = EXIT_OK, acted = 0;
  time_t now = c->o.have_now ? c->o.now : time(NULL);

  if (setup(c) < 0)
    return EXIT_PROBLEM;
  if (list_rows(c, NULL, &rows, &n) < 0)
    return EXIT_PROBLEM;
  for (size_t i = 0; i < n; i++) {
    berth_error_t err = NULL;
    struct row *r = &rows[i];
    int64_t timeout;
    enum berth_on_logout ol;
    bool gone;
    const char *act;
    long long idle;
    char idle_s[32], tmo_s[32], extra[128];
    long lock_ms;
    int lock;

    if (gc_settings(c, r->user, &timeout, &ol, &gone) < 0) {
      rc = EXIT_PROBLEM;
      continue;
    }
    idle = gc_idle(r, now);
    act = gc_action(ol, r->state);
    if (timeout <= 0 || idle < 0 || idle <= timeout || act == NULL) {
      if (c->o.verbose)
        printf("skip %s (user %s): %s\n", r->name, r->user,
               timeout <= 0  ? "idle_timeout = 0"
               : r->sessions > 0 ? "sessions are live"
               : r->sessions < 0 ? "session count unknown"
               : act == NULL     ? "already stopped"
                                 : "not idle long enough");
      continue;
    }
    fmt_duration(idle, idle_s, sizeof(idle_s));
    fmt_duration(timeout, tmo_s, sizeof(tmo_s));
    if (c->o.dry_run) {
      printf("would %s %s (user %s%s, idle %s > idle_timeout %s)\n",
             strcmp(act, "rm") == 0 ? "remove" : "stop", r->name, r->user,
             gone ? ", account gone" : "", idle_s, tmo_s);
      acted++;
      continue;
    }

    /* Decide again under the user's lock: a login may have come in since
     * the list was taken.  A short wait only: the holder may be a login
     * that is slow, or a berth-shell its user stopped (the lock then says
     * so at once).  Either way this user is skipped for this run, logged,
     * and the next run tries again; one busy user never holds up gc for
     * the others. */
    snprintf(extra, sizeof(extra), "idle=%lld idle_timeout=%" PRId64, idle, timeout);
    lock_ms = berth_box_lock_timeout(c->cfg);
    lock = berth_session_lock(r->name, lock_ms < GC_LOCK_WAIT_MS ? lock_ms : GC_LOCK_WAIT_MS,
                              &err);
    if (lock < 0) {
      if (err->kind == BERTH_E_SESSION && (err->status == EBUSY || err->status == ETIMEDOUT)) {
        berth_log(LOG_NOTICE, "action=%s user=%s container=%s trigger=gc %s outcome=skipped "
                  "reason=%s", act, BERTH_LOG_VAL(r->user), BERTH_LOG_VAL(r->name), extra,
                  BERTH_LOG_VAL(err->msg));
        printf("skip %s (user %s): user busy, skipped: %s\n", r->name, r->user, err->msg);
      } else {
        warn_err(r->name, err);
        rc = EXIT_PROBLEM;
      }
      berth_error_release(&err);
      continue;
    }
    row_sessions(r);
    idle = gc_idle(r, now);
    if (idle < 0 || idle <= timeout) {
      berth_session_unlock(lock);
      continue;
    }
    snprintf(extra, sizeof(extra), "idle=%lld idle_timeout=%" PRId64, idle, timeout);
    if (strcmp(act, "rm") == 0)
      berth_engine_container_remove(c->engine, r->id, true, &err);
    else
      berth_engine_container_stop(c->engine, r->id, STOP_TIMEOUT_S, &err);
    log_action(act, r->user, r->name, "gc", extra, err);
    if (err != NULL) {
      warn_err(r->name, err);
      berth_error_release(&err);
      rc = EXIT_PROBLEM;
    } else {
      printf("%s %s (user %s%s, idle %s > idle_timeout %s)\n",
             strcmp(act, "rm") == 0 ? "removed" : "stopped", r->name, r->user,
             gone ? ", account gone" : "", idle_s, tmo_s);
      acted++;
    }
    berth_session_unlock(lock);
  }
  if (!c->o.dry_run && gc_sweep(c, rows, n) != EXIT_OK)
    rc = EXIT_PROBLEM;
  if (c->o.verbose && acted == 0)
    printf("nothing to do\n");
  rows_free(rows, n);
  return rc;
}

/* ---------------------------------------------------------------- main */

static void
usage(FILE *f)
{
  fprintf(f,
          "Usage: berthctl [OPTIONS] COMMAND [ARGS]\n"
          "Manage berth, the per-user SSH containers.  Run as root.\n"
          "\n"
          "Commands:\n"
          "  check               validate the config, reach the engine, check images and keeper,\n"
          "                      and audit the deployment (sshd, PAM) for doors onto the host\n"
          "  list                list every user's container (--json for scripts)\n"
          "  status USER         policy, effective settings, container, spec and sessions\n"
          "  stop USER           stop USER's container (refused while sessions are live)\n"
          "  rm USER             remove USER's container (refused while sessions are live)\n"
          "  gc                  stop or remove containers idle longer than idle_timeout\n"
          "\n"
          "Options:\n"
          "  -c, --config PATH   read PATH instead of %s\n"
          "  -j, --json          JSON output (check: the audit's findings; list, status)\n"
          "  -f, --force         stop/rm: act even while sessions are live (ends them)\n"
          "  -n, --dry-run       gc: print what would be done, do nothing\n"
          "      --now EPOCH     gc: pretend the current time is EPOCH (seconds)\n"
          "  -v, --verbose       gc: also say why each container is left alone\n"
          "      --sshd-config FILE  check: audit sshd with -f FILE (default: sshd's own)\n"
          "      --pam-dir DIR   check: the sshd PAM stack is DIR/sshd (default /etc/pam.d)\n"
          "      --no-audit      check: config, keeper, engine and images only\n"
          "  -d, --debug         mirror the core's log lines on stderr\n"
          "  -h, --help          show this help\n"
          "  -V, --version       show the version\n"
          "\n"
          "Exit status: 0 ok; 1 a check failed or an operation failed or was refused;\n"
          "2 usage error; 3 no such user or container; 4 not run as root.\n"
          "See berthctl(8).\n",
          BERTH_CONFIG_PATH);
}

static int
usage_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vwarn(fmt, ap);
  va_end(ap);
  fprintf(stderr, "Try 'berthctl --help'.\n");
  return EXIT_USAGE;
}

enum { OPT_NOW = 0x100, OPT_SSHD_CONFIG, OPT_PAM_DIR, OPT_NO_AUDIT };

int
main(int argc, char **argv)
{
  static const struct option longopts[] = {
    { "config", required_argument, NULL, 'c' },
    { "json", no_argument, NULL, 'j' },
    { "force", no_argument, NULL, 'f' },
    { "dry-run", no_argument, NULL, 'n' },
    { "now", required_argument, NULL, OPT_NOW },
    { "sshd-config", required_argument, NULL, OPT_SSHD_CONFIG },
    { "pam-dir", required_argument, NULL, OPT_PAM_DIR },
    { "no-audit", no_argument, NULL, OPT_NO_AUDIT },
    { "verbose", no_argument, NULL, 'v' },
    { "debug", no_argument, NULL, 'd' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  struct ctl c = { .o = { .config_path = BERTH_CONFIG_PATH } };
  const char *verb;
  int opt, nargs, rc;

  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":c:jfnvdhV", longopts, NULL)) != -1) {
    switch (opt) {
    case 'c': c.o.config_path = optarg; break;
    case 'j': c.o.json = true; break;
    case 'f': c.o.force = true; break;
    case 'n': c.o.dry_run = true; break;
    case 'v': c.o.verbose = true; break;
    case 'd': log_to_stderr = true; break;
    case OPT_SSHD_CONFIG: c.o.sshd_config = optarg; break;
    case OPT_PAM_DIR: c.o.pam_dir = optarg; break;
    case OPT_NO_AUDIT: c.o.no_audit = true; break;
    case 'h': usage(stdout); return EXIT_OK;
    case 'V': printf("berthctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION); return EXIT_OK;
    case OPT_NOW: {
      char *end = NULL;
      long long v;
      errno = 0;
      v = strtoll(optarg, &end, 10);
      if (errno != 0 || end == optarg || *end != '\0' || v < 0)
        return usage_error("--now: not a time in seconds since the epoch: '%s'", optarg);
      c.o.now = (time_t) v;
      c.o.have_now = true;
      break;
    }
    case ':': return usage_error("option '%s' needs an argument", argv[optind - 1]);
    default:
      if (optopt)
        return usage_error("unknown option '-%c'", optopt);
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc)
    return usage_error("no command given");
  verb = argv[optind];
  nargs = argc - optind - 1;

  /* Options that mean something only to some verbs are errors elsewhere, so
   * a typo like `berthctl stop --dry-run alice` never acts for real. */
  if ((c.o.dry_run || c.o.have_now || c.o.verbose) && strcmp(verb, "gc") != 0)
    return usage_error("--dry-run, --now and --verbose are options of gc only");
  if (c.o.force && strcmp(verb, "stop") != 0 && strcmp(verb, "rm") != 0)
    return usage_error("--force is an option of stop and rm only");
  if (c.o.json && strcmp(verb, "list") != 0 && strcmp(verb, "status") != 0 &&
      strcmp(verb, "check") != 0)
    return usage_error("--json is an option of check, list and status only");
  if ((c.o.sshd_config || c.o.pam_dir || c.o.no_audit) && strcmp(verb, "check") != 0)
    return usage_error("--sshd-config, --pam-dir and --no-audit are options of check only");
  if (c.o.json && c.o.no_audit)
    return usage_error("check --json prints the audit's findings: not with --no-audit");

  bool one_user = strcmp(verb, "status") == 0 || strcmp(verb, "stop") == 0 ||
                  strcmp(verb, "rm") == 0;
  if (one_user) {
    if (nargs != 1)
      return usage_error("%s takes exactly one USER", verb);
    if (argv[optind + 1][0] == '\0')
      return usage_error("%s: empty user name", verb);
  } else if (strcmp(verb, "check") == 0 || strcmp(verb, "list") == 0 ||
             strcmp(verb, "gc") == 0) {
    if (nargs != 0)
      return usage_error("%s takes no arguments", verb);
  } else {
    return usage_error("unknown command '%s'", verb);
  }

  if (geteuid() != 0) {
    warn("must be run as root");
    return EXIT_PERM;
  }

  openlog("berthctl", LOG_PID, LOG_AUTHPRIV);
  berth_log_set_sink(log_sink, NULL);
  berth_log_set_debug(log_to_stderr);

  if (strcmp(verb, "check") == 0)
    rc = cmd_check(&c);
  else if (strcmp(verb, "list") == 0)
    rc = cmd_list(&c);
  else if (strcmp(verb, "status") == 0)
    rc = cmd_status(&c, argv[optind + 1]);
  else if (strcmp(verb, "stop") == 0 || strcmp(verb, "rm") == 0)
    rc = do_stop_rm(&c, verb, argv[optind + 1]);
  else
    rc = cmd_gc(&c);

  if (c.engine)
    berth_engine_free(c.engine);
  if (c.cfg)
    berth_config_free(c.cfg);
  if (fflush(stdout) != 0 && rc == EXIT_OK)
    rc = EXIT_PROBLEM;
  closelog();
  return rc;
}
