/* box.c - the user's container ("box") as a whole: the object (effective
 * settings, names), ensure (image, inspect, spec, create or reuse, /etc
 * files, start) as a list of named steps, and the login/logout flow the
 * front ends share (lock, home, session, on_logout), plus the out-of-memory
 * check after a killed entry.  The top of the box modules: it orchestrates
 * spec.c (what the container should be), image.c (image id and facts),
 * etcfiles.c (the user's /etc entries, host state) and binds.c (bind source
 * trust), and none of them calls back up here. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "berth/agent.h"
#include "berth/home.h"
#include "berth/hoststate.h"
#include "berth/live.h"
#include "berth/log.h"
#include "berth/netns.h"
#include "berth/session.h"
#include "berth/util.h"
#include "binds-internal.h"
#include "box-internal.h"
#include "etcfiles-internal.h"
#include "image-internal.h"
#include "spec-internal.h"

/* Grace period for `docker stop` at logout (the keeper exits on SIGTERM at
 * once; the rest of the container gets this long). */
#define LOGOUT_STOP_S 5

/* The action line of something done to b's container (berth_log_action);
 * fmt (or NULL): printf-style "key=value" pairs from ids and hashes. */
static void __attribute__((format(printf, 5, 6)))
box_action(int priority, const char *action, const struct berth_box *b, const char *trigger,
           const char *fmt, ...)
{
  char extra[128] = "";
  va_list ap;

  if (fmt != NULL) {
    va_start(ap, fmt);
    vsnprintf(extra, sizeof(extra), fmt, ap);
    va_end(ap);
  }
  berth_log_action(priority, action,
                   &(struct berth_action){ .user = b->user->name,
                                           .container = b->name,
                                           .trigger = trigger,
                                           .extra = extra,
                                           .outcome = "ok" });
}

static int
oom(berth_error_t *err)
{
  return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
}

/* ---------------------------------------------------------------- the object */

int
berth_box_new(const struct berth_config *cfg, const struct berth_user *u, struct berth_box **out,
              berth_error_t *err)
{
  struct berth_box *b = berth_malloc0(sizeof(*b), err);
  cleanup_free char *name = NULL;
  cleanup_free char *host = NULL;

  if (b == NULL)
    return -1;
  b->cfg = cfg;
  b->user = u;
  b->keeper_path = BERTH_KEEPER_PATH;
  if (berth_config_resolve(cfg, u, &b->conf, err) < 0)
    goto fail;
  name = berth_expand_template(b->conf->name, u, err);
  if (name == NULL || (b->name = berth_sanitize_name(name, err)) == NULL) {
    berth_error_wrap(err, "container.name");
    goto fail;
  }
  host = berth_expand_template(b->conf->hostname, u, err);
  if (host == NULL || (b->hostname = berth_sanitize_hostname(host, err)) == NULL) {
    berth_error_wrap(err, "container.hostname");
    goto fail;
  }
  *out = b;
  return 0;
fail:
  berth_box_free(b);
  return -1;
}

void
berth_box_free(struct berth_box *b)
{
  if (b == NULL)
    return;
  berth_container_conf_free(b->conf);
  free(b->name);
  free(b->hostname);
  free(b->image_id);
  free(b->spec_hash);
  free(b->id);
  free(b->shell);
  free(b);
}

/* An engine's refusal becomes "the container could not be started";
 * transport problems keep their own kind. */
static int
as_container_error(berth_error_t *err)
{
  if (err && *err && ((*err)->kind == BERTH_E_ENGINE))
    (*err)->kind = BERTH_E_CONTAINER;
  return -1;
}

/* The same, and a home the engine's host lacks said so (binds.c). */
static int
refused(const struct berth_box *b, berth_error_t *err)
{
  as_container_error(err);
  return berth_binds_engine_home(b, err);
}

/* ---------------------------------------------------------------- ensure */

/* State.Pid of a running container: its init process on this host. */
static void
note_init_pid(struct berth_box *b, json_t *state)
{
  json_int_t pid = json_integer_value(json_object_get(state, "Pid"));

  b->init_pid = pid > 1 && pid < (json_int_t) 1 << 30 ? (pid_t) pid : 0;
}

static int
start_checked(struct berth_engine *e, struct berth_box *b, const char *id, berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  int started = berth_engine_container_start(e, id, err);
  berth_error_t ierr = NULL;
  int r;

  /* Whether start failed or the keeper died at once, the state says why. */
  r = berth_engine_container_inspect(e, id, &info, started < 0 ? &ierr : err);
  berth_error_release(&ierr);
  if (started < 0) {
    json_t *st = json_object_get(info, "State");
    const char *serr = json_string_value(json_object_get(st, "Error"));
    json_int_t code = json_integer_value(json_object_get(st, "ExitCode"));
    if (code != 0)
      berth_error_wrap(err, "container %s exited with code %lld%s%s", b->name, (long long) code,
                       serr && *serr ? ": " : "", serr && *serr ? serr : "");
    return refused(b, err);
  }
  if (r < 0)
    return -1;
  if (r == 1)
    return berth_error_make(err, BERTH_E_CONTAINER, ENOENT, "container %s vanished while starting",
                            b->name);
  json_t *st = json_object_get(info, "State");
  b->init_pid = (pid_t) json_integer_value(json_object_get(st, "Pid"));
  if (!json_is_true(json_object_get(st, "Running"))) {
    const char *serr = json_string_value(json_object_get(st, "Error"));
    return berth_error_make(err, BERTH_E_CONTAINER, ECHILD,
                            "container %s exited immediately after start with code %lld%s%s",
                            b->name,
                            (long long) json_integer_value(json_object_get(st, "ExitCode")),
                            serr && *serr ? ": " : "", serr && *serr ? serr : "");
  }
  note_init_pid(b, st);
  return 0;
}

/* The image's /etc files for the merge, and b->shell first: the user's
 * passwd line names it. */
static int
image_etc_for(struct berth_image_source *s, struct berth_box *b, char **pw, char **gr,
              berth_error_t *err)
{
  if (b->shell == NULL && berth_image_shell(s, b, err) < 0)
    return -1;
  return berth_image_etc(s, pw, gr, err);
}

/* Into the just-created container id, before its start: its own /etc
 * files are still the image's, so they are read from it. */
static int
inject_etc(struct berth_engine *e, struct berth_box *b, const char *id, berth_error_t *err)
{
  struct berth_image_source src = { e, b, b->image_id, id, NULL };
  cleanup_free char *pw = NULL, *gr = NULL;

  if (image_etc_for(&src, b, &pw, &gr, err) < 0)
    return -1;
  return berth_etc_inject(e, b, id, pw, gr, err);
}

/* The host files bound as /etc/passwd and /etc/group, from image_id's own
 * (the cache or a scratch container: they must exist before create). */
static int
write_host_etc(struct berth_engine *e, struct berth_box *b, const char *image_id,
               berth_error_t *err)
{
  struct berth_image_source src = { e, b, image_id, NULL, NULL };
  cleanup_free char *pw = NULL, *gr = NULL;
  int r;

  r = image_etc_for(&src, b, &pw, &gr, err);
  berth_image_source_done(&src);
  if (r < 0)
    return -1;
  return berth_etc_write_host(b, pw, gr, err);
}

/* Bring an existing container (already checked to be this user's) up. */
static int
use_existing(struct berth_engine *e, struct berth_box *b, json_t *info_in, berth_error_t *err)
{
  cleanup_json json_t *info = json_incref(info_in);
  const char *id;
  json_t *st;

  if (berth_live_wait_created(e, b->name, &info, err) < 0
      || berth_box_check_owner(b, info, err) < 0)
    return -1;
  id = json_string_value(json_object_get(info, "Id"));
  st = json_object_get(info, "State");

  if (id == NULL || *id == '\0')
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "container %s has no Id", b->name);
  free(b->id);
  if ((b->id = berth_strdup(id, err)) == NULL)
    return -1;
  if (json_is_true(json_object_get(st, "Running"))) {
    note_init_pid(b, st);
    if (json_is_true(json_object_get(st, "Paused"))) {
      cleanup_free char *path = berth_asprintf(err, "/containers/%s/unpause", id);
      cleanup_json json_t *reply = NULL;
      long status = 0;
      if (path == NULL || berth_engine_request(e, "POST", path, NULL, &status, &reply, err) < 0
          || berth_engine_check(status, reply, BERTH_E_CONTAINER, "unpausing container", err) < 0)
        return berth_error_wrap(err, "%s", b->name);
    }
    return 0;
  }
  if (berth_binds_check(b, json_object_get(json_object_get(info, "HostConfig"), "Mounts"), err) < 0)
    return -1;
  /* Generated again at every start: the user's entry as NSS has it now
   * (a changed gecos or shell, groups renamed), and after a reboot, which
   * empties the /run tmpfs, the bind sources are back.  A running
   * container keeps the files it started with: a bind holds the inode,
   * and the rename leaves that one as it was. */
  if (berth_box_has_etc_bind(info)) {
    const char *image = json_string_value(json_object_get(info, "Image"));
    if (write_host_etc(e, b, image ? image : b->image_id, err) < 0)
      return -1;
  }
  if (start_checked(e, b, id, err) < 0)
    return -1;
  /* stopped at logout, by gc, or killed from outside: worth a line */
  box_action(LOG_INFO, "start", b, NULL, "id=%.12s", id);
  return 0;
}

/* berth's own network, made on first use; never joined unless the engine
 * keeps traffic between its containers off (Podman 4 cannot) */
static int
network_ready(struct berth_engine *e, const struct berth_box *b, berth_error_t *err)
{
  bool isolated;

  if (b->conf->network == NULL || strcmp(b->conf->network, BERTH_NETWORK) != 0)
    return 0;
  if (berth_engine_network_ensure(e, BERTH_NETWORK, &isolated, err) < 0)
    return -1;
  if (!isolated)
    return berth_error_make(err, BERTH_E_ENGINE, EPERM,
                            "network %s: the engine does not keep traffic between its "
                            "containers off (no com.docker.network.bridge.enable_icc=false on "
                            "it), so users' containers could reach each other; set "
                            "container.network = \"bridge\" to accept that, or \"none\"",
                            BERTH_NETWORK);
  return 0;
}

/* Someone created it between our inspect and create (a login that did not
 * take our lock: another bastion's): use theirs if it is this user's. */
static int
adopt_concurrent(struct berth_engine *e, struct berth_box *b, berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  int r;

  berth_error_release(err);
  r = berth_engine_container_inspect(e, b->name, &info, err);
  if (r < 0 || (r == 1 && berth_live_wait_created(e, b->name, &info, err) < 0))
    return -1;
  if (berth_box_check_owner(b, info, err) < 0)
    return -1;
  return use_existing(e, b, info, err);
}

static int
create_new(struct berth_engine *e, struct berth_box *b, json_t *spec, bool *created,
           berth_error_t *err)
{
  cleanup_free char *id = NULL;
  berth_error_t rm_err = NULL;

  if (berth_binds_check(b, json_object_get(json_object_get(spec, "HostConfig"), "Mounts"), err) < 0)
    return -1;
  if (berth_etc_by_bind(b) && write_host_etc(e, b, b->image_id, err) < 0)
    return -1;
  if (network_ready(e, b, err) < 0)
    return -1;
  if (berth_engine_container_create(e, b->name, spec, &id, err) < 0) {
    if ((*err)->status != EEXIST)
      return refused(b, err);
    return adopt_concurrent(e, b, err);
  }
  box_action(LOG_INFO, "create", b, NULL, "id=%.12s", id);
  if (created)
    *created = true;
  free(b->id);
  b->id = steal_pointer(&id);
  if (!berth_etc_by_bind(b) && inject_etc(e, b, b->id, err) < 0) {
    /* Never leave a container without the user's entries behind: a later
     * login would reuse it as it is. */
    if (berth_engine_container_remove(e, b->id, true, &rm_err) < 0) {
      berth_log(LOG_WARNING, "container=%s error=\"removing half-made container: %s\"", b->name,
                rm_err->msg);
      berth_error_release(&rm_err);
    }
    return as_container_error(err);
  }
  return start_checked(e, b, b->id, err);
}

/* The image, present per the pull policy, into b->image_id.  Runs before
 * the user's lock is taken: a pull may take many times the engine timeout,
 * is idempotent, and must not hold up the user's other logins and logouts. */
static int
prepare_image(struct berth_engine *e, struct berth_box *b, berth_error_t *err)
{
  if (b->user->uid == 0)
    return berth_error_make(err, BERTH_E_USER, EPERM, "berth never runs uid 0 in a container");
  free(b->image_id);
  b->image_id = NULL;
  return berth_image_resolve(e, b->conf, &b->image_id, err);
}

/* The existing container, checked to be this user's: 1 and *info, or 0
 * when there is none. */
static int
ensure_inspect(struct berth_engine *e, struct berth_box *b, json_t **info, berth_error_t *err)
{
  int r = berth_engine_container_inspect(e, b->name, info, err);

  if (r < 0)
    return -1;
  if (r == 1)
    return 0;
  if (berth_box_check_owner(b, *info, err) < 0)
    return -1;
  return 1;
}

/* The wanted spec into *spec (replacing one there), its hash into
 * b->spec_hash. */
static int
ensure_spec(struct berth_box *b, json_t **spec, berth_error_t *err)
{
  const char *hash;

  json_decref(*spec);
  *spec = berth_box_spec(b, b->image_id, b->keeper_path, err);
  if (*spec == NULL)
    return -1;
  hash = json_string_value(json_object_get(json_object_get(*spec, "Labels"), BERTH_LABEL_SPEC));
  free(b->spec_hash);
  b->spec_hash = berth_strdup(hash, err);
  return b->spec_hash ? 0 : -1;
}

/* An existing container (*info) whose spec is out of date, or that is
 * dead.  Sessions live in it (!may_recreate): refused when it grants more
 * than the spec, else kept.  None: removed, and *info becomes NULL. */
static int
ensure_stale(struct berth_engine *e, struct berth_box *b, bool may_recreate, json_t **info,
             json_t *spec, berth_error_t *err)
{
  const char *have = berth_box_label(*info, BERTH_LABEL_SPEC);
  const char *status
      = json_string_value(json_object_get(json_object_get(*info, "State"), "Status"));
  bool dead = status && (strcmp(status, "dead") == 0);
  const char *id;
  char what[512];

  if (have != NULL && strcmp(have, b->spec_hash) == 0 && !dead)
    return 0;
  /* No session on this host; one on another bastion (a running exec) is
   * live all the same, and a recreate would kill it. */
  if (may_recreate && !dead
      && json_is_true(json_object_get(json_object_get(*info, "State"), "Running"))) {
    int others = 0;
    if (berth_live_execs(e, *info, BERTH_LIVE_ANY, NULL, &others, err) < 0)
      return -1;
    may_recreate = others == 0;
  }
  if (!may_recreate && berth_box_grants_more(b, *info, spec, what, sizeof(what)))
    return berth_error_make(err, BERTH_E_CONTAINER, EACCES,
                            "your account's access changed; close your other sessions (or "
                            "ask an admin to run `berthctl rm --force %s`) to continue "
                            "(container %s %s, which the current settings do not give)",
                            b->user->name, b->name, what);
  if (!may_recreate) {
    berth_log(LOG_NOTICE,
              "user=%s container=%s spec=%.12s wanted=%.12s stale container kept: sessions "
              "are live in it",
              BERTH_LOG_VAL(b->user->name), b->name, have ? have : "none", b->spec_hash);
    return 0;
  }
  id = json_string_value(json_object_get(*info, "Id"));
  if (berth_engine_container_remove(e, id ? id : b->name, true, err) < 0)
    return as_container_error(err);
  box_action(LOG_INFO, "recreate", b, NULL, "spec=%.12s wanted=%.12s", have ? have : "none",
             b->spec_hash);
  json_decref(*info);
  *info = NULL;
  return 0;
}

/* An existing container: the image's answer, from the cache or a scratch
 * container of the image it was made from. */
static int
ensure_shell(struct berth_engine *e, struct berth_box *b, json_t *info, berth_error_t *err)
{
  const char *image = json_string_value(json_object_get(info, "Image"));
  struct berth_image_source src = { e, b, image ? image : b->image_id, NULL, NULL };
  int r;

  if (b->shell != NULL)
    return 0;
  r = berth_image_shell(&src, b, err);
  berth_image_source_done(&src);
  return r;
}

/* berth_box_ensure after prepare_image, under the user's lock. */
static int
ensure_container(struct berth_engine *e, struct berth_box *b, bool may_recreate, bool *created,
                 berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  cleanup_json json_t *spec = NULL;
  int r;

  if (created)
    *created = false;
  if (b->user->uid == 0)
    return berth_error_make(err, BERTH_E_USER, EPERM, "berth never runs uid 0 in a container");
  free(b->shell);
  b->shell = NULL;

  r = ensure_inspect(e, b, &info, err);
  if (r < 0 || ensure_spec(b, &spec, err) < 0)
    return -1;
  if (r == 1 && ensure_stale(e, b, may_recreate, &info, spec, err) < 0)
    return -1;
  /* a bind source (spec.c): before every create and start */
  if (berth_config_engine_local(b->cfg)
      && berth_agent_dir_ensure(b->name, b->user->uid, b->user->gid, err) < 0)
    return -1;
  if (info != NULL) {
    if (use_existing(e, b, info, err) < 0)
      return berth_error_wrap(err, "container %s", b->name);
  } else if (create_new(e, b, spec, created, err) < 0) {
    return berth_error_wrap(err, "container %s", b->name);
  }
  return ensure_shell(e, b, info, err);
}

int
berth_box_ensure(struct berth_engine *e, struct berth_box *b, bool may_recreate, bool *created,
                 berth_error_t *err)
{
  if (created)
    *created = false;
  if (prepare_image(e, b, err) < 0)
    return -1;
  return ensure_container(e, b, may_recreate, created, err);
}

/* ---------------------------------------------------------------- open / close */

/* The most engine requests a lock holder makes: open's inspect, remove, a
 * scratch container (create, three archive reads, remove), network,
 * create, archive write (an engine that cannot bind our files), start and
 * inspect, and the retry path of a concurrent create (plus the wait for its
 * creator); close's inspect, an exec inspect per exec the engine still
 * lists (a handful: it forgets ended ones within minutes), the idle mark,
 * and stop or remove.  Rounded up. */
#define LOCK_HELD_REQUESTS 16

/* A waiter gives up only after the longest a holder can take: every request
 * is bounded by the engine timeout, a stop adds its grace period, and no
 * pull happens under the lock (prepare_image).  With the default 10 s that
 * is 165 s; holders normally take well under a second. */
long
berth_box_lock_timeout(const struct berth_config *cfg)
{
  long t = cfg->engine.timeout_ms > 0 ? cfg->engine.timeout_ms : 10000;
  return t * LOCK_HELD_REQUESTS + LOGOUT_STOP_S * 1000L + BERTH_LIVE_CREATED_WAIT_MS;
}

int
berth_box_open(struct berth_engine *e, struct berth_box *b, pid_t owner, berth_error_t *err)
{
  int lock, live, ret = -1;
  bool home_created = false;

  if (prepare_image(e, b, err) < 0)
    return -1;
  lock = berth_session_lock(b->name, berth_box_lock_timeout(b->cfg), err);
  if (lock < 0)
    return berth_error_wrap(err, "user %s", b->user->name);
  if ((b->cfg->home.mount || b->cfg->home.create)
      && berth_home_ensure(b->cfg, b->user, &home_created, err) < 0)
    goto out;
  if (home_created)
    berth_log(LOG_INFO, "user=%s home=%s created", BERTH_LOG_VAL(b->user->name),
              BERTH_LOG_VAL(b->user->home));
  live = berth_session_count(b->name, owner, err);
  if (live < 0)
    goto out;
  /* owner 0: an ancestor (sshd's monitor, through pam_berth) recorded this
   * very session, and it is among the live ones */
  b->others_live
      = live > 0 && owner == 0 && berth_session_owned_by_ancestor(b->name) ? live - 1 : live;
  if (ensure_container(e, b, live == 0, NULL, err) < 0)
    goto out;
  if (owner > 0 && berth_session_record(b->name, owner, err) < 0)
    goto out;
  ret = 0;
out:
  berth_session_unlock(lock);
  return ret;
}

/* ---------------------------------------------------------------- out of memory */

/* Less free memory than this in the container and a shell cannot start. */
#define OOM_HEADROOM (8LL * 1024 * 1024)
/* An OOM-killed login dies as it starts; a command killed later is the
 * user's business (kill -9, a job that outgrew the limit and freed it). */
#define OOM_QUICK_MS 3000
/* How often, and how far apart, a container is asked whether it still runs
 * after a session's command was killed. */
#define KILL_ASK 3
#define KILL_ASK_MS 100

static json_int_t
stat_of(json_t *mem, const char *key)
{
  return json_integer_value(json_object_get(json_object_get(mem, "stats"), key));
}

/* Whether the container was stopped or removed from outside (-1 with err,
 * status ESRCH): docker rm -f / stop kills every process in it.  The
 * engine may see the exec end before the container's own main process,
 * so a running container is asked again, briefly.  0 when it runs, or
 * when the engine cannot tell. */
static int
killed_from_outside(struct berth_engine *e, const struct berth_box *b, const char *id,
                    berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  berth_error_t serr = NULL;
  const char *st;
  bool gone;
  int r;

  for (int i = 0; i < KILL_ASK; i++) {
    json_decref(info);
    info = NULL;
    r = berth_engine_container_inspect(e, id, &info, &serr);
    if (r < 0) {
      berth_log(LOG_NOTICE, "user=%s container=%s state=unknown: %s", BERTH_LOG_VAL(b->user->name),
                b->name, BERTH_LOG_TEXT(serr->msg));
      berth_error_release(&serr);
      return 0;
    }
    if (r == 1 || !json_is_true(json_object_get(json_object_get(info, "State"), "Running")))
      break;
    if (i + 1 < KILL_ASK)
      poll(NULL, 0, KILL_ASK_MS);
  }
  if (r == 0 && json_is_true(json_object_get(json_object_get(info, "State"), "Running")))
    return 0;
  /* `docker rm -f` kills first and removes after: in between the engine
   * still shows the container, with State.Status "removing" (or "dead"). */
  st = json_string_value(json_object_get(json_object_get(info, "State"), "Status"));
  gone = r == 1 || (st && (strcmp(st, "removing") == 0 || strcmp(st, "dead") == 0));
  return berth_error_make(err, BERTH_E_CONTAINER, ESRCH,
                          "container %s was %s during the "
                          "session",
                          b->name, gone ? "removed" : "stopped");
}

/* Whether the container's memory is exhausted: 1 with *used (usage less
 * reclaimable file cache) and *limit, 0 otherwise or when the engine
 * cannot tell, -1 only when out of memory here. */
static int
memory_exhausted(struct berth_engine *e, const struct berth_box *b, const char *id, long long *used,
                 long long *limit, berth_error_t *err)
{
  cleanup_json json_t *reply = NULL;
  cleanup_free char *path = NULL;
  berth_error_t serr = NULL;
  json_int_t usage, lim, cache;
  json_t *mem;
  long http = 0;

  /* one-shot: one sample, not the two a CPU figure needs (API 1.41) */
  if (asprintf(&path, "/containers/%s/stats?stream=false&one-shot=true", id) < 0)
    return oom(err);
  if (berth_engine_request(e, "GET", path, NULL, &http, &reply, &serr) < 0
      || berth_engine_check(http, reply, BERTH_E_ENGINE, "reading memory stats", &serr) < 0) {
    berth_log(LOG_NOTICE, "user=%s container=%s memory=unknown: %s", BERTH_LOG_VAL(b->user->name),
              b->name, BERTH_LOG_TEXT(serr->msg));
    berth_error_release(&serr);
    return 0;
  }
  mem = json_object_get(reply, "memory_stats");
  usage = json_integer_value(json_object_get(mem, "usage"));
  lim = json_integer_value(json_object_get(mem, "limit"));
  /* page cache of files on disk is reclaimable; shmem (tmpfs) is not.
   * cgroup v1 names it total_inactive_file, v2 inactive_file. */
  cache = stat_of(mem, "total_inactive_file");
  if (cache == 0)
    cache = stat_of(mem, "inactive_file");
  if (lim <= 0 || usage <= 0 || lim > b->conf->memory + OOM_HEADROOM
      || lim - (usage - cache) >= OOM_HEADROOM)
    return 0;
  *used = (long long) (usage - cache);
  *limit = (long long) lim;
  return 1;
}

int
berth_box_after_kill(struct berth_engine *e, struct berth_box *b, int status, long long elapsed_ms,
                     berth_error_t *err)
{
  const char *id = b->id ? b->id : b->name;
  long long used = 0, limit = 0;
  int r;

  if (status != 137)
    return 0;
  if (killed_from_outside(e, b, id, err) < 0)
    return -1;
  if (elapsed_ms > OOM_QUICK_MS || b->conf->memory <= 0)
    return 0;
  r = memory_exhausted(e, b, id, &used, &limit, err);
  if (r <= 0)
    return r;
  berth_log(LOG_WARNING,
            "user=%s container=%s memory=%lld limit=%lld sessions=%d out of memory: "
            "every new process is killed at once",
            BERTH_LOG_VAL(b->user->name), b->name, used, limit, b->others_live);
  if (b->others_live > 0)
    return berth_error_make(err, BERTH_E_CONTAINER, ENOMEM,
                            "container %s is out of memory (%lld of %lld bytes in use) and %d "
                            "other session(s) are live in it: not restarted",
                            b->name, used, limit, b->others_live);
  if (berth_engine_container_stop(e, id, 1, err) < 0 || start_checked(e, b, id, err) < 0)
    return berth_error_wrap(err, "restarting container %s, which is out of memory", b->name);
  box_action(LOG_NOTICE, "restart", b, "out-of-memory", NULL);
  return 1;
}

/* A logout that left no session on this host: 1 when sessions of other
 * bastions hold the container (*others: their holders, live.h), 0 to apply
 * on_logout, -1 when it cannot tell (nothing is stopped).  With "keep", the
 * idle mark tells every bastion's gc when the last session ended (a
 * read-only rootfs has none). */
static int
close_engine_view(struct berth_engine *e, struct berth_box *b, json_t *info, const char *id,
                  int *others, berth_error_t *err)
{
  berth_error_t merr = NULL;

  *others = 0;
  if (!json_is_true(json_object_get(json_object_get(info, "State"), "Running")))
    return 0;
  /* holders only: this session's own command may still be dying (sshd
   * closes the session before berth-shell has seen the hangup) */
  if (berth_live_execs(e, info, BERTH_LIVE_HOLDERS, b->holder, others, err) < 0)
    return -1;
  if (*others > 0) {
    berth_log(LOG_INFO,
              "user=%s container=%s sessions=%d on_logout=%s not applied: sessions of other "
              "hosts hold it (their session holders run in it)",
              BERTH_LOG_VAL(b->user->name), b->name, *others,
              berth_on_logout_name(b->conf->on_logout));
    return 1;
  }
  if (b->conf->on_logout == BERTH_LOGOUT_KEEP
      && berth_live_mark_idle(e, id, time(NULL), &merr) < 0) {
    berth_debug("container=%s no idle mark, gc uses this host's clock: %s", b->name,
                BERTH_LOG_TEXT(merr->msg));
    berth_error_release(&merr);
  }
  return 0;
}

/* Under the lock, no session left on this host: on_logout, unless the
 * engine shows sessions from elsewhere.  The engine is the truth about
 * live sessions when several bastions share it (live.h). */
static int
close_last(struct berth_engine *e, struct berth_box *b, int *remaining, berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  const char *id;
  int r, others = 0;

  r = berth_engine_container_inspect(e, b->name, &info, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  if (berth_box_check_owner(b, info, err) < 0)
    return -1;
  id = json_string_value(json_object_get(info, "Id"));
  if (id == NULL)
    id = b->name;
  r = close_engine_view(e, b, info, id, &others, err);
  if (r < 0)
    return -1;
  if (remaining)
    *remaining = others;
  if (r > 0 || b->conf->on_logout == BERTH_LOGOUT_KEEP)
    return 0;
  if (b->conf->on_logout == BERTH_LOGOUT_STOP) {
    /* the stop request lasts the grace period plus the engine timeout */
    int t = (int) (b->cfg->engine.timeout_ms / 2000);
    if (t > LOGOUT_STOP_S)
      t = LOGOUT_STOP_S;
    if (!json_is_true(json_object_get(json_object_get(info, "State"), "Running")))
      return 0;
    if (berth_engine_container_stop(e, id, t, err) < 0)
      return -1;
    box_action(LOG_INFO, "stop", b, "logout", NULL);
    return 0;
  }
  if (berth_engine_container_remove(e, id, true, err) < 0)
    return -1;
  berth_host_state_remove(b->name); /* etc files, session records, the lock file */
  box_action(LOG_INFO, "rm", b, "logout", NULL);
  return 0;
}

int
berth_box_close(struct berth_engine *e, struct berth_box *b, pid_t owner, int *remaining,
                berth_error_t *err)
{
  int lock, live, ret = -1;

  if (remaining)
    *remaining = 0;
  lock = berth_session_lock(b->name, berth_box_lock_timeout(b->cfg), err);
  if (lock < 0)
    return berth_error_wrap(err, "user %s", b->user->name);
  if (owner > 0 && berth_session_release(b->name, owner, err) < 0)
    goto out;
  live = berth_session_count(b->name, 0, err);
  if (live < 0)
    goto out;
  if (remaining)
    *remaining = live;
  ret = live > 0 ? 0 : close_last(e, b, remaining, err);
out:
  berth_session_unlock(lock);
  return ret;
}
