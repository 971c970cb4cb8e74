/* pam_berth.c - the PAM session module: parse arguments, call the core
 * (identity, policy, home, container, session record) and map its errors to
 * PAM codes.  Only pam_sm_open_session and pam_sm_close_session are exported
 * (pam_berth.map); everything else, the core included, is hidden.
 *
 * Where this runs (OpenSSH 9.x with UsePAM yes): after authentication the
 * per-connection sshd, which becomes the privileged monitor, calls
 * pam_setcred and then pam_open_session, still as root, before it forks the
 * unprivileged child that serves the connection; the user's shell is a child
 * of that child, a grandchild of the monitor.  The monitor lives until the
 * connection ends and then calls pam_close_session (with PAM_SILENT).  So the
 * session is recorded as owned by getpid(), the monitor: it counts while the
 * monitor lives, even if close_session never runs.  sshd only logs a failed
 * open_session and lets the login go on; berth-shell is what refuses entry.
 *
 * Each hook logs one line for a berthed user, ok or failed (docs/logging.md):
 * action=login at open, action=logout at close, session= being the monitor's
 * pid, the owner of the session record. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "berth/config.h"
#include "berth/box.h"
#include "berth/env.h"
#include "berth/error.h"
#include "berth/live.h"
#include "berth/log.h"
#include "berth/login.h"
#include "berth/netns.h"
#include "berth/session.h"
#include "berth/user.h"
#include "berth/util.h"
#include "berth/warm.h"

#define PAM_BERTH_EXPORT __attribute__((visibility("default")))
#define DATA_KEY "pam_berth_opened"

struct args {
  bool debug, quiet;
  const char *config; /* the PAM file is root's, so this is admin-controlled */
  long timeout_ms;    /* 0 = engine.timeout_ms from berth.conf */
};

/* What open_session recorded, kept with pam_set_data for close_session. */
struct opened {
  char *user;
  char *container;
  int64_t opened_ms;            /* berth_now_ms() at open, for the logout line's duration */
  struct berth_live_hold *hold; /* the session holder (live.h), or NULL */
};

static void
parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
  *a = (struct args){ .config = BERTH_CONFIG_PATH };
  for (int i = 0; i < argc; i++) {
    char *end = NULL;
    long ms;

    if (strcmp(argv[i], "debug") == 0)
      a->debug = true;
    else if (strcmp(argv[i], "quiet") == 0)
      a->quiet = true;
    else if (strncmp(argv[i], "config=", 7) == 0 && argv[i][7] == '/')
      a->config = argv[i] + 7;
    else if (strncmp(argv[i], "timeout=", 8) == 0 && argv[i][8] != '\0'
             && (ms = strtol(argv[i] + 8, &end, 10)) > 0 && *end == '\0' && ms <= 3600000)
      a->timeout_ms = ms;
    else
      pam_syslog(pamh, LOG_ERR, "ignoring unknown or invalid option: %s", BERTH_LOG_VAL(argv[i]));
  }
}

/* The core's log sink while a hook runs: pam_syslog, tagged with the service.
 * Reset before returning: its context is this call's handle. */
static void
pam_sink(void *ctx, int priority, const char *msg)
{
  pam_syslog((pam_handle_t *) ctx, priority, "%s", msg);
}

static void
opened_free(pam_handle_t *pamh, void *data, int status)
{
  struct opened *o = data;
  free(o->user);
  free(o->container);
  berth_live_hold_free(o->hold); /* a close only: also in a process that merely inherited it */
  free(o);
}

/* The host side of a berthed session.  sshd copies the PAM environment into
 * every host process it starts for the session: the `sh -c` running the
 * login shell or ForceCommand, `~/.ssh/rc` (popen), xauth.  pam_env may have
 * filled it from `~/.pam_environment`, which the user writes from inside the
 * container (LD_PRELOAD=~/e.so would run the user's code on the host), and
 * any module may have added to it.  Cut it down to the whitelist
 * (berth_env_session_edits); pam_putenv("NAME") deletes.  Only modules
 * stacked after this one, and pam_setcred in sshd's child (the auth stack),
 * can still add to it: docs/pam.md.  Best effort on failure: every edit is
 * tried, the first failure reported. */
static int
scrub_env(pam_handle_t *pamh, const struct berth_user *u, berth_error_t *err)
{
  cleanup_strv char **env = pam_getenvlist(pamh);
  cleanup_strv char **edits = NULL;
  const char *failed = NULL;
  int rc = 0;

  if (env == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, 0,
                            "cannot read the PAM environment to reduce it (pam_getenvlist)");
  edits = berth_env_session_edits(env, u, err);
  if (edits == NULL)
    return berth_error_wrap(err, "reducing the PAM environment");
  for (size_t i = 0; edits[i] != NULL; i++)
    if ((rc = pam_putenv(pamh, edits[i])) != PAM_SUCCESS && failed == NULL)
      failed = edits[i];
  if (failed != NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, 0, "pam_putenv %.*s failed: %s",
                            (int) strcspn(failed, "="), failed, pam_strerror(pamh, rc));
  berth_debug("user=%s session environment reduced to the whitelist (%zu edits)", u ? u->name : "-",
              berth_strv_len(edits));
  return 0;
}

/* The same when the policy cannot decide: the failure that left it
 * undecided is what the login line reports, so a failed reduction is a
 * line of its own. */
static void
scrub_env_undecided(pam_handle_t *pamh, const char *user, const struct berth_user *u)
{
  berth_error_t err = NULL;

  if (scrub_env(pamh, u, &err) < 0)
    berth_log_action(LOG_ERR, "login",
                     &(struct berth_action){ .user = user, .no_container = true, .err = err });
  berth_error_release(&err);
}

/* The login preparation (lib/login.c): user -> config and policy -> the
 * session environment -> box -> engine.  PAM_SUCCESS, PAM_IGNORE for
 * excluded users (uid 0 always), or PAM_SESSION_ERR with *err set.  With
 * scrub (session open) the PAM environment of every user who is not
 * positively excluded is reduced first thing, before any engine work, so
 * it is reduced even when the container cannot be started: an unknown
 * user or a broken berth.conf leaves the policy undecided, and undecided
 * fails closed. */
static int
prepare(pam_handle_t *pamh, const struct args *a, const char *user, struct berth_login *l,
        bool scrub, berth_error_t *err)
{
  if (berth_login_identify(l, user, err) < 0) {
    if (scrub)
      scrub_env_undecided(pamh, user, NULL);
    return PAM_SESSION_ERR;
  }
  switch (berth_login_decide(l, a->config, a->timeout_ms, err)) {
  case BERTH_POLICY_EXCLUDED:
    berth_debug("user=%s excluded: %s", BERTH_LOG_VAL(user), l->why ? l->why : "policy");
    return PAM_IGNORE;
  case BERTH_POLICY_BERTHED: break;
  case BERTH_POLICY_DENIED:
  default:
    /* a berthed user whose open fails; berth-shell denies the entry.  The
     * host processes sshd may still start get the reduced environment. */
    if (scrub)
      scrub_env_undecided(pamh, user, l->u);
    return PAM_SESSION_ERR;
  }
  if (scrub && scrub_env(pamh, l->u, err) < 0)
    return PAM_SESSION_ERR;
  if (geteuid() != 0) {
    berth_error_make(err, BERTH_E_PERM, 0, "pam_berth must run as root (euid %ld)",
                     (long) geteuid());
    return PAM_SESSION_ERR;
  }
  if (berth_login_box(l, err) < 0 || berth_login_connect(l, false, err) < 0)
    return PAM_SESSION_ERR;
  return PAM_SUCCESS;
}

/* The one syslog line of a hook for a berthed user.  extra: the keys between
 * session= and outcome= ("" for none; made here from numbers and names).
 * ok: outcome=ok at LOG_INFO; else outcome=failed at LOG_ERR with the engine
 * and the full error.  Through berth_log (the sink is pam_syslog while a hook
 * runs), so every value is escaped and the line scrubbed (docs/logging.md). */
static void
log_line(const char *action, const char *user, const char *container, const struct berth_login *l,
         const char *extra, bool ok, berth_error_t err)
{
  struct berth_action x = { .user = user,
                            .container = container,
                            .session = (long) getpid(),
                            .extra = extra,
                            .outcome = ok ? "ok" : "failed" };
  if (!ok) {
    x.engine = l->cfg ? berth_config_engine_name(l->cfg) : "-";
    x.err = err;
  }
  berth_log_action(ok ? LOG_INFO : LOG_ERR, action, &x);
}

/* At open, one plain line for the user; the detail is in the log line. */
static void
tell_user(pam_handle_t *pamh, const struct args *a, int flags, bool network, berth_error_t err)
{
  if (a->quiet || (flags & PAM_SILENT))
    return;
  if (network)
    pam_error(pamh, "berth: your connection could not be moved into your container's network, "
                    "so forwarding is off for it; please contact your administrator");
  else
    pam_error(pamh,
              "berth: your container could not be started (%s); "
              "please contact your administrator",
              berth_error_reason(err));
}

/* Seconds since the session record owned by `owner` was made (its mtime:
 * records are created once and never written), or -1 without one.  How
 * close_session times a session it did not open in this process. */
static long
record_age(const char *name, pid_t owner)
{
  berth_error_t err = NULL;
  char prefix[32];
  struct dirent *de;
  long age = -1;
  DIR *d;
  int fd;

  fd = berth_session_rundir_open("sessions", name, false, &err);
  berth_error_release(&err);
  if (fd < 0 || (d = fdopendir(fd)) == NULL) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  snprintf(prefix, sizeof(prefix), "%ld-", (long) owner);
  while ((de = readdir(d)) != NULL) {
    struct stat st;
    if (strncmp(de->d_name, prefix, strlen(prefix)) == 0
        && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
      age = (long) (time(NULL) - st.st_mtime);
      if (age < 0)
        age = 0;
      break;
    }
  }
  closedir(d);
  return age;
}

/* Takes the user's lock, creates the home, ensures the container and
 * records the session as owned by this process (see the file comment).
 * *home_created: whether this login made the home. */
static int
open_container(struct berth_login *l, bool *home_created, berth_error_t *err)
{
  struct stat st;
  bool had_home = l->u->home == NULL || lstat(l->u->home, &st) == 0;

  if (berth_box_open(l->engine, l->box, getpid(), err) < 0)
    return PAM_SESSION_ERR;
  *home_created = !had_home && lstat(l->u->home, &st) == 0;
  return PAM_SUCCESS;
}

/* BERTH_CONTAINER in the PAM environment: berth-shell and the user see
 * which container the session went to.  Without it the session is released
 * again: the login fails as a whole. */
static int
export_container(pam_handle_t *pamh, const struct berth_login *l, berth_error_t *err)
{
  cleanup_free char *env = berth_asprintf(err, "BERTH_CONTAINER=%s", l->box->name);

  if (env != NULL && pam_putenv(pamh, env) == PAM_SUCCESS)
    return PAM_SUCCESS;
  if (*err == NULL)
    berth_error_make(err, BERTH_E_INTERNAL, 0, "pam_putenv BERTH_CONTAINER failed");
  berth_session_release(l->box->name, getpid(), NULL);
  return PAM_SESSION_ERR;
}

/* Last: the monitor moves into the container's network namespace, and
 * with it every forwarding the child it forks serves (lib/netns.c says why
 * that holds in sshd).  Skipped for network = "host" and a remote engine
 * (forwarding stays a host door there: berthctl check says so).  When it
 * cannot be done the open fails as a whole, which also makes sshd turn
 * every forwarding of the connection off. */
static int
enter_network(const struct berth_login *l, berth_error_t *err)
{
  char ns[64] = "-";

  if (!berth_netns_applies(l->box)) {
    berth_debug("user=%s container=%s network stays the host's (network=%s)", l->u->name,
                l->box->name, l->box->conf->network ? l->box->conf->network : "-");
    return PAM_SUCCESS;
  }
  if (berth_netns_enter(l->box, err) < 0) {
    berth_session_release(l->box->name, getpid(), NULL);
    return PAM_SESSION_ERR;
  }
  berth_netns_name(0, ns, sizeof(ns), NULL);
  berth_debug("user=%s container=%s session moved into %s", l->u->name, l->box->name, ns);
  return PAM_SUCCESS;
}

/* For close_session, which recomputes everything when this is missing
 * (another process, or memory ran out): it only pins the container name
 * and times the session. */
static void
remember_open(pam_handle_t *pamh, const char *user, const char *container, int64_t opened_ms,
              struct berth_live_hold *hold)
{
  struct opened *o = calloc(1, sizeof(*o));

  if (o != NULL && (o->user = strdup(user)) != NULL && (o->container = strdup(container)) != NULL) {
    o->opened_ms = opened_ms;
    o->hold = hold;
    if (pam_set_data(pamh, DATA_KEY, o, opened_free) == PAM_SUCCESS)
      return; /* transferred */
  }
  if (o != NULL)
    opened_free(pamh, o, 0);
  else
    berth_live_hold_free(hold);
}

/* The session holder (live.h): other bastions sharing the engine see this
 * session by it, until close_session ends it, or this process ends.  Kept
 * in this process, sshd's monitor, which lives exactly as long as the
 * session; the child sshd forks next inherits the fd but never uses it,
 * and closes it before it runs the user's shell.  Without a holder the
 * session still works, it is only invisible to other bastions: logged. */
static struct berth_live_hold *
hold_session(const struct berth_login *l)
{
  struct berth_live_hold *hold = NULL;
  berth_error_t err = NULL;

  if (berth_live_hold(l->engine, l->cfg, l->box->id, l->u->uid, l->u->gid,
                      l->cfg->engine.timeout_ms, &hold, &err)
      < 0) {
    berth_log(LOG_WARNING,
              "user=%s container=%s session=%ld other hosts sharing the engine cannot see this "
              "session: %s",
              BERTH_LOG_VAL(l->u->name), l->box->name, (long) getpid(), BERTH_LOG_TEXT(err->msg));
    berth_error_release(&err);
  }
  return hold;
}

/* Join mode: what berth-shell needs to join without the engine (warm.h).
 * Best effort: without it berth-shell asks the engine. */
static void
save_warm(const struct berth_login *l)
{
  berth_error_t err = NULL;

  if (berth_warm_save(l->engine, l->box, &err) < 0) {
    berth_log(LOG_WARNING, "user=%s container=%s no warm state for join mode: %s",
              BERTH_LOG_VAL(l->u->name), l->box->name, BERTH_LOG_TEXT(err->msg));
    berth_error_release(&err);
  }
}

static int
open_session(pam_handle_t *pamh, int flags, const struct args *a, const char *user)
{
  struct berth_login l = { 0 };
  berth_error_t err = NULL;
  int64_t opened_ms = 0;
  bool home_created = false, network = false;
  int rc;

  rc = prepare(pamh, a, user, &l, true, &err);
  opened_ms = berth_now_ms();
  if (rc == PAM_SUCCESS)
    rc = open_container(&l, &home_created, &err);
  if (rc == PAM_SUCCESS)
    rc = export_container(pamh, &l, &err);
  if (rc == PAM_SUCCESS && (rc = enter_network(&l, &err)) != PAM_SUCCESS) {
    pam_putenv(pamh, "BERTH_CONTAINER");
    network = true;
  }
  if (rc == PAM_SUCCESS && l.cfg->entry == BERTH_ENTRY_JOIN)
    save_warm(&l);
  if (rc == PAM_SUCCESS) {
    if (home_created && !a->quiet && !(flags & PAM_SILENT))
      pam_info(pamh, "berth: created home directory %s", l.u->home);
    log_line("login", user, l.box->name, &l, home_created ? "home=created" : "", true, NULL);
    remember_open(pamh, user, l.box->name, opened_ms, hold_session(&l));
  } else if (rc == PAM_SESSION_ERR) {
    log_line("login", user, l.box ? l.box->name : "-", &l, "", false, err);
    tell_user(pamh, a, flags, network, err);
  }
  berth_error_release(&err);
  berth_login_clear(&l);
  return rc;
}

/* A failed close must not hold up the logout: every engine request is bounded
 * by the engine timeout, failures are logged and PAM_SESSION_ERR returned at
 * once.  Nothing drifts: a record whose owner has exited no longer counts. */
static int
close_session(pam_handle_t *pamh, const struct args *a, const char *user)
{
  const struct opened *o = NULL;
  struct berth_login c = { 0 };
  berth_error_t err = NULL;
  char extra[160], duration[24] = "unknown", remaining[16] = "unknown";
  const char *name;
  long age = -1;
  int left = -1;
  int rc;

  if (pam_get_data(pamh, DATA_KEY, (const void **) &o) == PAM_SUCCESS && o != NULL)
    user = o->user;
  rc = prepare(pamh, a, user, &c, false, &err);
  if (c.box != NULL && o != NULL && strcmp(o->container, c.box->name) != 0) {
    /* berth.conf changed the name template since open: release what was recorded */
    char *n = strdup(o->container);
    if (n != NULL) {
      free(c.box->name);
      c.box->name = n;
    }
  }
  if (rc == PAM_IGNORE)
    goto out;
  name = c.box != NULL ? c.box->name : o != NULL ? o->container : "-";
  /* Timed from open's data; without it (close in another process), from our
   * session record, read before the release removes it. */
  if (o != NULL)
    age = (long) ((berth_now_ms() - o->opened_ms) / 1000);
  else if (c.box != NULL)
    age = record_age(c.box->name, getpid());

  if (rc == PAM_SUCCESS && o != NULL && o->hold != NULL) {
    /* ended first, so that it is not counted as a session left */
    berth_live_unhold(c.engine, o->hold, BERTH_LIVE_SETTLE_MS);
    c.box->holder = berth_live_hold_id(o->hold);
  }
  if (rc == PAM_SESSION_ERR && c.box != NULL)
    berth_session_release(c.box->name, getpid(), NULL); /* engine down: drop the record now */
  else if (rc == PAM_SUCCESS && berth_box_close(c.engine, c.box, getpid(), &left, &err) < 0)
    rc = PAM_SESSION_ERR;
  /* After a failure the sessions left are counted again: close may have
   * stopped before counting (the lock), and our own record never counts. */
  if (rc == PAM_SESSION_ERR && strcmp(name, "-") != 0)
    left = berth_session_count(name, getpid(), NULL);

  if (age >= 0)
    snprintf(duration, sizeof(duration), "%ld", age);
  if (left >= 0)
    snprintf(remaining, sizeof(remaining), "%d", left);
  snprintf(extra, sizeof(extra), "duration=%s remaining=%s on_logout=%s", duration, remaining,
           c.box != NULL ? berth_on_logout_name(c.box->conf->on_logout) : "-");
  log_line("logout", user, name, &c, extra, rc == PAM_SUCCESS, err);
out:
  berth_error_release(&err);
  berth_login_clear(&c);
  if (o != NULL)
    pam_set_data(pamh, DATA_KEY, NULL, NULL);
  return rc;
}

static int
run(pam_handle_t *pamh, int flags, int argc, const char **argv, bool open)
{
  const char *user = NULL;
  struct args a;
  int rc;

  parse_args(pamh, argc, argv, &a);
  berth_log_set_sink(pam_sink, pamh);
  berth_log_set_debug(a.debug);
  if (pam_get_item(pamh, PAM_USER, (const void **) &user) != PAM_SUCCESS || user == NULL
      || *user == '\0') {
    berth_error_t err = NULL;
    berth_error_make(&err, BERTH_E_USER, 0, "PAM_USER is not set");
    berth_log_action(
        LOG_ERR, open ? "login" : "logout",
        &(struct berth_action){
            .session = (long) getpid(), .engine = "-", .outcome = "failed", .err = err });
    berth_error_release(&err);
    rc = PAM_SESSION_ERR;
  } else {
    rc = open ? open_session(pamh, flags, &a, user) : close_session(pamh, &a, user);
  }
  berth_log_set_debug(false);
  berth_log_set_sink(NULL, NULL);
  return rc;
}

PAM_BERTH_EXPORT int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
  return run(pamh, flags, argc, argv, true);
}

PAM_BERTH_EXPORT int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
  return run(pamh, flags, argc, argv, false);
}
