/* container.c - the user's container ("box"): effective settings, the create
 * spec and its hash, ensure (image, create, passwd/group, start) and the
 * login/logout flow shared by pam_berth, berth-shell and berthctl. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/container.h"
#include "berth/home.h"
#include "berth/log.h"
#include "berth/session.h"
#include "berth/sha256.h"
#include "berth/util.h"

#ifndef BERTH_KEEPER_PATH
#define BERTH_KEEPER_PATH "/usr/local/libexec/berth/berth-keeper"
#endif

/* /etc/passwd and /etc/group of an image are small; anything bigger is not
 * a file berth should copy around. */
#define ETC_FILE_MAX (4 * 1024 * 1024)
/* Bound for fetching the shell just to learn that it exists: no shell is
 * this big, and an overflow still proves existence. */
#define SHELL_PROBE_MAX (32 * 1024 * 1024)
/* Grace period for `docker stop` at logout (the keeper exits on SIGTERM at
 * once; the rest of the container gets this long). */
#define LOGOUT_STOP_S 5

static void
box_json_decrefp(json_t **j)
{
  json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(box_json_decrefp)))

static int
oom(berth_error_t *err)
{
  return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
}

/* ---------------------------------------------------------------- box */

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

/* ---------------------------------------------------------------- spec */

/* v NULL: the builder of v failed (its error stands) or jansson ran out of
 * memory. */
static int
set_new(json_t *obj, const char *key, json_t *v, berth_error_t *err)
{
  if (v == NULL)
    return err && *err ? -1 : oom(err);
  if (json_object_set_new(obj, key, v) < 0)
    return oom(err);
  return 0;
}

static int
append_new(json_t *arr, json_t *v, berth_error_t *err)
{
  if (v == NULL)
    return err && *err ? -1 : oom(err);
  if (json_array_append_new(arr, v) < 0)
    return oom(err);
  return 0;
}

static json_t *
bind_mount(const char *source, const char *target, bool readonly)
{
  return json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", source, "Target", target,
                   "ReadOnly", readonly);
}

/* A mount path after template expansion: absolute, and no ".." that a
 * user-derived value (%u, %h) could smuggle in. */
static char *
expand_path(const char *tmpl, const struct berth_user *u, const char *what, berth_error_t *err)
{
  char *p = berth_expand_template(tmpl, u, err);
  if (p == NULL) {
    berth_error_wrap(err, "container.mounts %s '%s'", what, tmpl);
    return NULL;
  }
  if (p[0] != '/' || strstr(p, "/../") != NULL
      || (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0)) {
    berth_error_make(err, BERTH_E_CONFIG, EINVAL,
                     "container.mounts %s '%s' expands to '%s', which is not a clean absolute path",
                     what, tmpl, p);
    free(p);
    return NULL;
  }
  return p;
}

static bool
env_is_ours(const char *kv)
{
  static const char *const ours[] = { "HOME=", "USER=", "LOGNAME=" };
  for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
    if (strncmp(kv, ours[i], strlen(ours[i])) == 0)
      return true;
  return false;
}

/* How /etc/passwd and /etc/group reach the container.  The archive API
 * (written into the container before start) is the default; a read-only
 * rootfs refuses it, so there they are generated on the host and
 * bind-mounted.  Binding is also the faster way on Docker 20.10, where one
 * archive PUT costs ~65 ms of a cold login. */
static bool
etc_by_bind(const struct berth_container_conf *c)
{
  return c->readonly_rootfs;
}

static json_t *
host_config(const struct berth_box *b, const char *keeper_path, berth_error_t *err)
{
  const struct berth_container_conf *c = b->conf;
  const struct berth_user *u = b->user;
  cleanup_json json_t *hc = json_object();
  json_t *mounts, *groups, *tmpfs;

  if (hc == NULL)
    return oom(err), NULL;

  /* Mounts, never Binds: Binds silently creates a missing source as a
   * root-owned directory, Mounts fails instead. */
  if (set_new(hc, "Mounts", mounts = json_array(), err) < 0)
    return NULL;
  if (b->cfg->home.mount && append_new(mounts, bind_mount(u->home, u->home, false), err) < 0)
    return NULL;
  if (berth_strv_len(c->keeper) == 0
      && append_new(mounts, bind_mount(keeper_path, BERTH_KEEPER_TARGET, true), err) < 0)
    return NULL;
  if (etc_by_bind(c)) {
    const char *rd = berth_session_rundir();
    cleanup_free char *pw = berth_asprintf(err, "%s/etc/%s/passwd", rd, b->name);
    cleanup_free char *gr = berth_asprintf(err, "%s/etc/%s/group", rd, b->name);
    if (pw == NULL || gr == NULL)
      return NULL;
    if (append_new(mounts, bind_mount(pw, "/etc/passwd", true), err) < 0
        || append_new(mounts, bind_mount(gr, "/etc/group", true), err) < 0)
      return NULL;
  }
  for (size_t i = 0; i < c->n_mounts; i++) {
    cleanup_free char *src = expand_path(c->mounts[i].source, u, "source", err);
    cleanup_free char *dst = src ? expand_path(c->mounts[i].target, u, "target", err) : NULL;
    if (dst == NULL || append_new(mounts, bind_mount(src, dst, c->mounts[i].readonly), err) < 0)
      return NULL;
  }

  /* Supplementary groups exactly as host NSS has them; the primary one is
   * already in User. */
  if (set_new(hc, "GroupAdd", groups = json_array(), err) < 0)
    return NULL;
  for (size_t i = 0; i < u->n_groups; i++) {
    gid_t g = u->groups[i].gid;
    bool seen = g == u->gid;
    for (size_t j = 0; j < i && !seen; j++)
      seen = u->groups[j].gid == g;
    if (!seen) {
      char s[16];
      snprintf(s, sizeof(s), "%u", (unsigned) g);
      if (append_new(groups, json_string(s), err) < 0)
        return NULL;
    }
  }

  if (set_new(hc, "CapDrop", json_pack("[s]", "ALL"), err) < 0)
    return NULL;
  if (c->no_new_privileges
      && set_new(hc, "SecurityOpt", json_pack("[s]", "no-new-privileges"), err) < 0)
    return NULL;
  if (c->memory > 0 && set_new(hc, "Memory", json_integer(c->memory), err) < 0)
    return NULL;
  if (c->cpus > 0
      && set_new(hc, "NanoCpus", json_integer((json_int_t) (c->cpus * 1e9 + 0.5)), err) < 0)
    return NULL;
  if (c->pids > 0 && set_new(hc, "PidsLimit", json_integer(c->pids), err) < 0)
    return NULL;
  if (c->network && *c->network && set_new(hc, "NetworkMode", json_string(c->network), err) < 0)
    return NULL;
  if (set_new(hc, "ReadonlyRootfs", json_boolean(c->readonly_rootfs), err) < 0)
    return NULL;
  if (set_new(hc, "Tmpfs", tmpfs = json_object(), err) < 0)
    return NULL;
  for (size_t i = 0; c->tmpfs && c->tmpfs[i]; i++) {
    const char *colon = strchr(c->tmpfs[i], ':');
    cleanup_free char *path
        = colon ? strndup(c->tmpfs[i], (size_t) (colon - c->tmpfs[i])) : strdup(c->tmpfs[i]);
    if (path == NULL)
      return oom(err), NULL;
    if (set_new(tmpfs, path, json_string(colon ? colon + 1 : ""), err) < 0)
      return NULL;
  }
  if (set_new(hc, "Init", json_false(), err) < 0
      || set_new(hc, "RestartPolicy", json_pack("{s:s}", "Name", "no"), err) < 0)
    return NULL;
  /* With userns-remap, uid 1000 inside would be 101000 outside and the
   * home would belong to someone else: opt this container out. */
  if (b->userns_host && set_new(hc, "UsernsMode", json_string("host"), err) < 0)
    return NULL;
  return steal_pointer(&hc);
}

json_t *
berth_box_spec(const struct berth_box *b, const char *image_id, const char *keeper_path,
               berth_error_t *err)
{
  const struct berth_user *u = b->user;
  const struct berth_container_conf *c = b->conf;
  cleanup_json json_t *spec = json_object();
  json_t *ep, *env, *labels;
  char s[64];
  char hash[65];

  if (spec == NULL)
    return oom(err), NULL;
  if (u->uid == 0) {
    berth_error_make(err, BERTH_E_USER, EPERM, "berth never runs uid 0 in a container (user %s)",
                     u->name);
    return NULL;
  }
  if (image_id == NULL || *image_id == '\0') {
    berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "no image id for the container spec");
    return NULL;
  }
  if (berth_strv_len(c->keeper) == 0 && (keeper_path == NULL || *keeper_path != '/')) {
    berth_error_make(err, BERTH_E_CONFIG, EINVAL, "no host path for berth-keeper");
    return NULL;
  }

  if (set_new(spec, "Image", json_string(image_id), err) < 0)
    return NULL;
  /* The engine refuses a hostname in another container's UTS namespace and
   * ignores it on the host's. */
  if (!(c->network
        && (strcmp(c->network, "host") == 0 || strncmp(c->network, "container:", 10) == 0))
      && set_new(spec, "Hostname", json_string(b->hostname), err) < 0)
    return NULL;
  snprintf(s, sizeof(s), "%u:%u", (unsigned) u->uid, (unsigned) u->gid);
  if (set_new(spec, "User", json_string(s), err) < 0)
    return NULL;
  /* An Entrypoint in the request makes the engine drop the image's CMD as
   * well, and Cmd null keeps it empty: the image's own idea of a main
   * process never runs. */
  if (set_new(spec, "Entrypoint", ep = json_array(), err) < 0)
    return NULL;
  if (berth_strv_len(c->keeper) == 0) {
    if (append_new(ep, json_string(BERTH_KEEPER_TARGET), err) < 0)
      return NULL;
  } else {
    for (size_t i = 0; c->keeper[i]; i++)
      if (append_new(ep, json_string(c->keeper[i]), err) < 0)
        return NULL;
  }
  if (set_new(spec, "Cmd", json_null(), err) < 0)
    return NULL;
  /* The keeper's environment; exec sessions set their own (SHELL there,
   * since the shell is only known once the container exists). */
  if (set_new(spec, "Env", env = json_array(), err) < 0)
    return NULL;
  for (size_t i = 0; c->env && c->env[i]; i++)
    if (!env_is_ours(c->env[i]) && append_new(env, json_string(c->env[i]), err) < 0)
      return NULL;
  {
    cleanup_free char *h = berth_asprintf(err, "HOME=%s", u->home);
    cleanup_free char *us = berth_asprintf(err, "USER=%s", u->name);
    cleanup_free char *ln = berth_asprintf(err, "LOGNAME=%s", u->name);
    if (h == NULL || us == NULL || ln == NULL || append_new(env, json_string(h), err) < 0
        || append_new(env, json_string(us), err) < 0 || append_new(env, json_string(ln), err) < 0)
      return NULL;
  }
  if (set_new(spec, "WorkingDir", json_string(b->cfg->home.mount ? u->home : "/"), err) < 0)
    return NULL;
  if (set_new(spec, "Labels", labels = json_object(), err) < 0)
    return NULL;
  snprintf(s, sizeof(s), "%u", (unsigned) u->uid);
  if (set_new(labels, BERTH_LABEL_USER, json_string(u->name), err) < 0
      || set_new(labels, BERTH_LABEL_UID, json_string(s), err) < 0)
    return NULL;
  if (set_new(spec, "Tty", json_false(), err) < 0
      || set_new(spec, "OpenStdin", json_false(), err) < 0
      || set_new(spec, "AttachStdin", json_false(), err) < 0
      || set_new(spec, "AttachStdout", json_false(), err) < 0
      || set_new(spec, "AttachStderr", json_false(), err) < 0)
    return NULL;
  if (set_new(spec, "HostConfig", host_config(b, keeper_path, err), err) < 0)
    return NULL;

  if (berth_box_spec_hash(spec, hash) < 0)
    return oom(err), NULL;
  if (set_new(labels, BERTH_LABEL_SPEC, json_string(hash), err) < 0)
    return NULL;
  return steal_pointer(&spec);
}

int
berth_box_spec_hash(json_t *spec, char out[65])
{
  cleanup_json json_t *copy = json_deep_copy(spec);
  cleanup_free char *text = NULL;
  json_t *labels;

  if (copy == NULL)
    return -1;
  /* The hash is of the spec without its own label, so hashing a finished
   * spec gives the value it carries. */
  labels = json_object_get(copy, "Labels");
  if (json_is_object(labels))
    json_object_del(labels, BERTH_LABEL_SPEC);
  text = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
  if (text == NULL)
    return -1;
  berth_sha256_hex(text, strlen(text), out);
  return 0;
}

/* ---------------------------------------------------------------- engine helpers */

static const char *
jstr(json_t *j, const char *a, const char *b)
{
  json_t *v = json_object_get(j, a);
  if (b != NULL)
    v = json_object_get(v, b);
  return json_string_value(v);
}

static const char *
label_of(json_t *info, const char *label)
{
  return json_string_value(json_object_get(json_object_get(json_object_get(info, "Config"),
                                                            "Labels"),
                                           label));
}

/* Never act on a container that is not labelled for this very user: the
 * name may have been taken by something else (or by another user whose
 * name sanitizes the same way, which the hash suffix should prevent). */
static int
check_owner(const struct berth_box *b, json_t *info, berth_error_t *err)
{
  const char *user = label_of(info, BERTH_LABEL_USER);
  const char *uid = label_of(info, BERTH_LABEL_UID);
  char s[16];

  snprintf(s, sizeof(s), "%u", (unsigned) b->user->uid);
  if (user == NULL || uid == NULL || strcmp(user, b->user->name) != 0 || strcmp(uid, s) != 0)
    return berth_error_make(err, BERTH_E_CONTAINER, EEXIST,
                            "the name %s is taken by a container that is not labelled for "
                            "user %s (uid %s) (%s=%s %s=%s); not touching it",
                            b->name, b->user->name, s, BERTH_LABEL_USER, user ? user : "(none)",
                            BERTH_LABEL_UID, uid ? uid : "(none)");
  return 0;
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

static int
resolve_image(struct berth_engine *e, const struct berth_container_conf *c, char **id,
              berth_error_t *err)
{
  int r;

  if (c->image == NULL || *c->image == '\0')
    return berth_error_make(err, BERTH_E_CONFIG, EINVAL, "no image configured");
  if (c->pull == BERTH_PULL_ALWAYS && berth_engine_image_pull(e, c->image, err) < 0)
    return -1;
  r = berth_engine_image_inspect(e, c->image, id, err);
  if (r < 0)
    return -1;
  if (r == 0 && c->pull == BERTH_PULL_MISSING) {
    if (berth_engine_image_pull(e, c->image, err) < 0)
      return -1;
    r = berth_engine_image_inspect(e, c->image, id, err);
    if (r < 0)
      return -1;
  }
  if (r == 0)
    return berth_error_make(err, BERTH_E_IMAGE_MISSING, ENOENT,
                            "image %s is not present on the engine (pull = %s)", c->image,
                            berth_pull_name(c->pull));
  if (*id == NULL || **id == '\0')
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "image %s has no id", c->image);
  return 0;
}

/* GET /info: the daemon runs with userns-remap when SecurityOptions holds
 * "name=userns". */
static int
daemon_userns(struct berth_engine *e, bool *on, berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  json_t *opts, *v;
  long status = 0;
  size_t i;

  *on = false;
  if (berth_engine_request(e, "GET", "/info", NULL, &status, &info, err) < 0)
    return -1;
  if (berth_engine_check(status, info, BERTH_E_ENGINE, "engine info", err) < 0)
    return -1;
  opts = json_object_get(info, "SecurityOptions");
  json_array_foreach(opts, i, v)
  {
    const char *s = json_string_value(v);
    if (s && strstr(s, "name=userns") != NULL)
      *on = true;
  }
  return 0;
}

/* One file out of a container: 1 and *data (NUL-terminated), 0 when absent. */
static int
get_file(struct berth_engine *e, const char *id, const char *path, char **data,
         berth_error_t *err)
{
  cleanup_free char *tar = NULL;
  size_t len = 0;
  int r;

  *data = NULL;
  r = berth_engine_archive_get(e, id, path, ETC_FILE_MAX, &tar, &len, err);
  if (r < 0)
    return -1;
  if (r == 1)
    return 0;
  if (berth_tar_first_file(tar, len, data, NULL, err) < 0) {
    if ((*err)->status == EINVAL) { /* a link or device: start from nothing */
      berth_log(LOG_WARNING, "container=%s file=%s is not a regular file; replacing it", id, path);
      berth_error_release(err);
      return 0;
    }
    return berth_error_wrap(err, "reading %s from container %s", path, id);
  }
  return 1;
}

/* Write dfd/name atomically (0644, owned by us), never through a link. */
static int
write_host_file(int dfd, const char *name, const char *data, berth_error_t *err)
{
  cleanup_free char *tmp = berth_asprintf(err, ".%s.%ld.tmp", name, (long) getpid());
  cleanup_close int fd = -1;

  if (tmp == NULL)
    return -1;
  unlinkat(dfd, tmp, 0);
  fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
  if (fd < 0)
    return berth_error_errno(err, BERTH_E_CONTAINER, errno, "creating %s", name);
  if (fchmod(fd, 0644) < 0) {
    int saved = errno;
    unlinkat(dfd, tmp, 0);
    return berth_error_errno(err, BERTH_E_CONTAINER, saved, "chmod %s", name);
  }
  if (berth_write_all(fd, data, strlen(data), err) < 0) {
    unlinkat(dfd, tmp, 0);
    return -1;
  }
  if (renameat(dfd, tmp, dfd, name) < 0) {
    int saved = errno;
    unlinkat(dfd, tmp, 0);
    return berth_error_errno(err, BERTH_E_CONTAINER, saved, "renaming %s", name);
  }
  return 0;
}

/* dfd/name written by write_host_file, or NULL. */
static char *
read_host_file(int dfd, const char *name)
{
  cleanup_close int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  struct stat st;
  size_t used = 0;

  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()
      || st.st_size < 0 || st.st_size > ETC_FILE_MAX)
    return NULL;
  buf = malloc((size_t) st.st_size + 1);
  if (buf == NULL)
    return NULL;
  while (used < (size_t) st.st_size) {
    ssize_t n = read(fd, buf + used, (size_t) st.st_size - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return NULL;
    used += (size_t) n;
  }
  buf[used] = '\0';
  return steal_pointer(&buf);
}

/* ---------------------------------------------------------------- image facts
 * What berth needs from an image (its /etc/passwd and /etc/group, whether a
 * login shell exists) never changes for one image id, while every read
 * through the archive API costs tens of milliseconds (Docker 20.10 re-execs
 * itself into a chroot for each copy).  So each fact is read once per image
 * (and boot) into RUNDIR/images/<id>/, always from a container nothing has
 * run in yet: a used one may hold another user's entries or files. */

struct source {
  struct berth_engine *e;
  const struct berth_box *b;
  const char *image_id;
  const char *fresh;  /* a just-created container of image_id, or NULL */
  char *scratch;      /* made on demand when fresh is NULL, never started */
};

/* "HOST:PID-STARTTIME" of this process. */
static int
scratch_owner(char *buf, size_t len)
{
  char host[256], id[64];

  if (gethostname(host, sizeof(host)) < 0)
    return -1;
  host[sizeof(host) - 1] = '\0';
  if (berth_session_proc_id(getpid(), id, sizeof(id)) < 0)
    return -1;
  snprintf(buf, len, "%s:%s", host, id);
  return 0;
}

static const char *
source_container(struct source *s, berth_error_t *err)
{
  cleanup_json json_t *spec = NULL;
  char owner[320];

  if (s->fresh != NULL)
    return s->fresh;
  if (s->scratch != NULL)
    return s->scratch;
  /* who made it (host and process), so that berthctl gc can tell one left
   * behind by a killed login from one in use (berth_box_sweep_scratch) */
  if (scratch_owner(owner, sizeof(owner)) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "naming this process"), NULL;
  spec = json_pack("{s:s, s:[s], s:{s:s, s:s}, s:b, s:{s:s}}", "Image", s->image_id,
                   "Entrypoint", BERTH_KEEPER_TARGET, "Labels", BERTH_LABEL_SCRATCH,
                   s->b->user->name, BERTH_LABEL_SCRATCH_OWNER, owner, "NetworkDisabled", 1,
                   "HostConfig", "NetworkMode", "none");
  if (spec == NULL)
    return oom(err), NULL;
  if (berth_engine_container_create(s->e, NULL, spec, &s->scratch, err) < 0) {
    berth_error_wrap(err, "reading image %s", s->image_id);
    return NULL;
  }
  return s->scratch;
}

static void
source_done(struct source *s)
{
  berth_error_t err = NULL;
  if (s->scratch == NULL)
    return;
  if (berth_engine_container_remove(s->e, s->scratch, true, &err) < 0) {
    berth_log(LOG_WARNING, "container=%s error=\"removing scratch container: %s\"", s->scratch,
              err->msg);
    berth_error_release(&err);
  }
  free(s->scratch);
  s->scratch = NULL;
}

static int
image_dir(const char *image_id, berth_error_t *err)
{
  const char *colon = strchr(image_id, ':');
  const char *hex = colon ? colon + 1 : image_id; /* "sha256:<hex>" */
  char name[65];

  if (strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64)
    memcpy(name, hex, sizeof(name));
  else
    berth_sha256_hex(image_id, strlen(image_id), name);
  return berth_session_rundir_open("images", name, true, err);
}

/* The image's own /etc/passwd and /etc/group ("" when it has none). */
static int
image_etc(struct source *s, char **pw, char **gr, berth_error_t *err)
{
  cleanup_close int dfd = image_dir(s->image_id, err);
  const char *id;

  *pw = *gr = NULL;
  if (dfd < 0)
    return -1;
  *pw = read_host_file(dfd, "passwd");
  *gr = read_host_file(dfd, "group");
  if (*pw != NULL && *gr != NULL)
    return 0;
  free(*pw);
  free(*gr);
  *pw = *gr = NULL;
  if ((id = source_container(s, err)) == NULL)
    return -1;
  if (get_file(s->e, id, "/etc/passwd", pw, err) < 0
      || get_file(s->e, id, "/etc/group", gr, err) < 0)
    goto fail;
  if ((*pw == NULL && (*pw = berth_strdup("", err)) == NULL)
      || (*gr == NULL && (*gr = berth_strdup("", err)) == NULL))
    goto fail;
  if (write_host_file(dfd, "passwd", *pw, err) < 0 || write_host_file(dfd, "group", *gr, err) < 0)
    goto fail;
  return 0;
fail:
  free(*pw);
  free(*gr);
  *pw = *gr = NULL;
  return -1;
}

/* Sets b->shell: the user's passwd shell when the image has it, else the
 * configured fallback. */
static int
image_shell(struct source *s, struct berth_box *b, berth_error_t *err)
{
  const char *wanted = b->user->shell;
  const char *fallback = b->cfg->shell.fallback;
  cleanup_close int dfd = -1;
  cleanup_free char *cached = NULL, *line = NULL, *tar = NULL;
  char h[65], file[32];
  bool present = false;
  size_t len = 0;
  const char *id;
  int r;

  free(b->shell);
  b->shell = NULL;
  if (wanted == NULL || wanted[0] != '/' || strchr(wanted, '\n') != NULL)
    goto done;
  if ((dfd = image_dir(s->image_id, err)) < 0)
    return -1;
  berth_sha256_hex(wanted, strlen(wanted), h);
  snprintf(file, sizeof(file), "shell-%.16s", h);
  cached = read_host_file(dfd, file);
  if (cached != NULL && strncmp(cached, wanted, strlen(wanted)) == 0
      && cached[strlen(wanted)] == '\n') {
    present = strcmp(cached + strlen(wanted) + 1, "yes\n") == 0;
    goto done;
  }
  if ((id = source_container(s, err)) == NULL)
    return -1;
  /* No HEAD in the archive API that every engine answers alike: fetch the
   * file.  Bigger than any shell still proves it is there. */
  r = berth_engine_archive_get(s->e, id, wanted, SHELL_PROBE_MAX, &tar, &len, err);
  if (r < 0 && (*err)->status == EFBIG) {
    berth_error_release(err);
    r = 0;
  }
  if (r < 0)
    return berth_error_wrap(err, "looking for shell %s", wanted);
  present = r == 0;
  if (!present)
    berth_log(LOG_INFO, "user=%s image=%.19s shell=%s not in the image; using %s",
              BERTH_LOG_VAL(b->user->name), s->image_id, BERTH_LOG_VAL(wanted),
              BERTH_LOG_VAL(fallback));
  line = berth_asprintf(err, "%s\n%s\n", wanted, present ? "yes" : "no");
  if (line == NULL || write_host_file(dfd, file, line, err) < 0)
    return -1;
done:
  b->shell = berth_strdup(present ? wanted : fallback, err);
  return b->shell ? 0 : -1;
}

static int
merged_etc(struct source *s, struct berth_box *b, char **pw, char **gr, berth_error_t *err)
{
  cleanup_free char *pw_in = NULL, *gr_in = NULL;

  *pw = *gr = NULL;
  if (b->shell == NULL && image_shell(s, b, err) < 0)
    return -1;
  if (image_etc(s, &pw_in, &gr_in, err) < 0)
    return -1;
  *pw = berth_merge_passwd(pw_in, b->user, b->user->home, b->shell, err);
  if (*pw == NULL)
    return -1;
  *gr = berth_merge_group(gr_in, b->user, err);
  if (*gr == NULL) {
    free(*pw);
    *pw = NULL;
    return -1;
  }
  return 0;
}

/* Written before start through the archive API, so the very first exec
 * already resolves the user's name and groups. */
static int
inject_etc(struct berth_engine *e, struct berth_box *b, const char *id, berth_error_t *err)
{
  struct source src = { e, b, b->image_id, id, NULL };
  cleanup_free char *pw = NULL, *gr = NULL, *tar = NULL;
  size_t len = 0;

  if (merged_etc(&src, b, &pw, &gr, err) < 0)
    return -1;
  /* Extracted at "/" with "etc/..." names: the engine creates a missing
   * /etc (root, 0755) instead of failing the copy. */
  struct berth_tar_entry files[] = {
    { "etc/passwd", pw, strlen(pw), 0644 },
    { "etc/group", gr, strlen(gr), 0644 },
  };
  if (berth_tar_build(files, 2, &tar, &len, err) < 0)
    return -1;
  if (berth_engine_archive_put(e, id, "/", tar, len, err) < 0)
    return berth_error_wrap(err, "writing /etc/passwd and /etc/group");
  return 0;
}

/* Read-only rootfs: the archive API cannot write into it, so the files are
 * generated as RUNDIR/etc/NAME/{passwd,group} and bind-mounted read-only.
 * They must exist before create, and the new container would show them
 * instead of the image's: the image's own come from the cache or a scratch
 * container. */
static int
write_host_etc(struct berth_engine *e, struct berth_box *b, const char *image_id,
               berth_error_t *err)
{
  struct source src = { e, b, image_id, NULL, NULL };
  cleanup_close int dfd = -1;
  cleanup_free char *pw = NULL, *gr = NULL;
  int r;

  dfd = berth_session_rundir_open("etc", b->name, true, err);
  if (dfd < 0)
    return berth_error_wrap(err, "preparing /etc files for %s", b->name);
  r = merged_etc(&src, b, &pw, &gr, err);
  source_done(&src);
  if (r < 0)
    return -1;
  if (write_host_file(dfd, "passwd", pw, err) < 0 || write_host_file(dfd, "group", gr, err) < 0)
    return berth_error_wrap(err, "writing %s/etc/%s", berth_session_rundir(), b->name);
  return 0;
}

static bool
host_etc_present(const struct berth_box *b)
{
  berth_error_t err = NULL;
  cleanup_close int dfd = berth_session_rundir_open("etc", b->name, false, &err);
  struct stat st;

  berth_error_release(&err);
  return dfd >= 0 && fstatat(dfd, "passwd", &st, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISREG(st.st_mode) && fstatat(dfd, "group", &st, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISREG(st.st_mode);
}

/* What the host keeps for a container that is gone. */
static void
remove_host_state(const struct berth_box *b)
{
  berth_error_t err = NULL;
  cleanup_close int dfd = berth_session_rundir_open("etc", NULL, false, &err);
  berth_error_release(&err);
  if (dfd < 0)
    return;
  {
    cleanup_close int nfd = openat(dfd, b->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0)
      return;
    unlinkat(nfd, "passwd", 0);
    unlinkat(nfd, "group", 0);
  }
  unlinkat(dfd, b->name, AT_REMOVEDIR);
}

/* ---------------------------------------------------------------- bind sources
 * The engine resolves a bind source as root, following links, at every
 * start of the container, and the permissions of the source's parents do
 * not apply inside.  A source someone else can redirect (a directory of
 * theirs on the way, a link of theirs, a world-writable parent) would let
 * them mount anything they name: another user's files, /root.  So before
 * every create and every start each source is walked from "/" and has to
 * be one that only root can change, up to its last component (which may
 * be the user's own directory, e.g. /scratch/alice in a root-owned 0755
 * /scratch).  Only root can then swap a component between this check and
 * the engine's mount. */

/* berth's own binds: the keeper (a fixed path below the reserved /.berth)
 * and the generated /etc files under the run directory. */
static bool
bind_is_ours(const struct berth_box *b, const char *src, const char *dst)
{
  const char *rd = berth_session_rundir();
  size_t n = strlen(rd);

  if (strcmp(dst, BERTH_KEEPER_TARGET) == 0)
    return true;
  if (strcmp(dst, "/etc/passwd") != 0 && strcmp(dst, "/etc/group") != 0)
    return false;
  if (strncmp(src, rd, n) != 0 || strncmp(src + n, "/etc/", 5) != 0)
    return false;
  src += n + 5;
  n = strlen(b->name);
  return strncmp(src, b->name, n) == 0
         && (strcmp(src + n, "/passwd") == 0 || strcmp(src + n, "/group") == 0);
}

static bool
bind_is_home(const struct berth_box *b, const char *src, const char *dst)
{
  return b->cfg->home.mount && strcmp(src, b->user->home) == 0
         && strcmp(dst, b->user->home) == 0;
}

/* mounts: HostConfig.Mounts of a spec or of an inspected container. */
static int
check_bind_sources(const struct berth_box *b, json_t *mounts, berth_error_t *err)
{
  json_t *m;
  size_t i;

  json_array_foreach(mounts, i, m)
  {
    const char *type = json_string_value(json_object_get(m, "Type"));
    const char *src = json_string_value(json_object_get(m, "Source"));
    const char *dst = json_string_value(json_object_get(m, "Target"));
    bool home;
    int fd;

    if (type == NULL || strcmp(type, "bind") != 0)
      continue;
    if (src == NULL || dst == NULL)
      return berth_error_make(err, BERTH_E_CONTAINER, EINVAL,
                              "a bind mount of container %s has no source or target", b->name);
    if (bind_is_ours(b, src, dst))
      continue;
    home = bind_is_home(b, src, dst);
    fd = berth_path_open(src,
                         BERTH_PATH_TRUSTED | BERTH_PATH_DIR | (home ? 0 : BERTH_PATH_FILE),
                         BERTH_E_CONTAINER, NULL, err);
    if (fd < 0) {
      if (home)
        return berth_error_wrap(err, "refusing to mount the home directory %s", src);
      return berth_error_wrap(err, "refusing to mount %s at %s (container.mounts)", src, dst);
    }
    close(fd);
  }
  return 0;
}

/* ---------------------------------------------------------------- access changes
 * A container whose spec is out of date is kept while sessions are live in
 * it (recreating it would end them).  That is fine for limits or a new
 * image, but not when the user lost access: exec sessions inherit the
 * container's supplementary groups and see its mounts, so a revoked group
 * or mount would live on for as long as the user keeps any session open. */

static bool
json_str_in(json_t *arr, const char *s)
{
  json_t *v;
  size_t i;
  json_array_foreach(arr, i, v)
  {
    const char *x = json_string_value(v);
    if (x != NULL && strcmp(x, s) == 0)
      return true;
  }
  return false;
}

/* The bind in `mounts` with this source and target, or NULL. */
static json_t *
find_bind(json_t *mounts, const char *src, const char *dst)
{
  json_t *m;
  size_t i;
  json_array_foreach(mounts, i, m)
  {
    const char *s = json_string_value(json_object_get(m, "Source"));
    const char *d = json_string_value(json_object_get(m, "Target"));
    const char *t = json_string_value(json_object_get(m, "Type"));
    if (t && strcmp(t, "bind") == 0 && s && d && strcmp(s, src) == 0 && strcmp(d, dst) == 0)
      return m;
  }
  return NULL;
}

/* Whether the existing container (info) grants something the wanted spec
 * does not: another uid:gid, a supplementary group, a bind (or write access
 * to one), or lacks a security option.  *what says which, for the log. */
static bool
grants_more(const struct berth_box *b, json_t *info, json_t *spec, char *what, size_t n)
{
  json_t *ohc = json_object_get(info, "HostConfig");
  json_t *nhc = json_object_get(spec, "HostConfig");
  const char *ouser = jstr(info, "Config", "User");
  const char *nuser = json_string_value(json_object_get(spec, "User"));
  json_t *v;
  size_t i;

  if (ouser == NULL || nuser == NULL || strcmp(ouser, nuser) != 0) {
    snprintf(what, n, "runs as %s, not %s", ouser ? ouser : "(unknown)", nuser ? nuser : "?");
    return true;
  }
  json_array_foreach(json_object_get(ohc, "GroupAdd"), i, v)
  {
    const char *g = json_string_value(v);
    if (g == NULL || !json_str_in(json_object_get(nhc, "GroupAdd"), g)) {
      snprintf(what, n, "has supplementary group %s", g ? g : "(unknown)");
      return true;
    }
  }
  json_array_foreach(json_object_get(ohc, "Mounts"), i, v)
  {
    const char *t = json_string_value(json_object_get(v, "Type"));
    const char *src = json_string_value(json_object_get(v, "Source"));
    const char *dst = json_string_value(json_object_get(v, "Target"));
    json_t *now;

    if (t == NULL || strcmp(t, "bind") != 0)
      continue;
    if (src == NULL || dst == NULL) {
      snprintf(what, n, "has a bind mount berth cannot read");
      return true;
    }
    if (bind_is_ours(b, src, dst))
      continue;
    now = find_bind(json_object_get(nhc, "Mounts"), src, dst);
    if (now == NULL) {
      snprintf(what, n, "mounts %s at %s", src, dst);
      return true;
    }
    if (json_is_true(json_object_get(now, "ReadOnly"))
        && !json_is_true(json_object_get(v, "ReadOnly"))) {
      snprintf(what, n, "mounts %s at %s writable", src, dst);
      return true;
    }
  }
  json_array_foreach(json_object_get(nhc, "SecurityOpt"), i, v)
  {
    const char *o = json_string_value(v);
    if (o != NULL && !json_str_in(json_object_get(ohc, "SecurityOpt"), o)) {
      snprintf(what, n, "lacks security option %s", o);
      return true;
    }
  }
  return false;
}

/* ---------------------------------------------------------------- ensure */

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
    return as_container_error(err);
  }
  if (r < 0)
    return -1;
  if (r == 0)
    return berth_error_make(err, BERTH_E_CONTAINER, ENOENT,
                            "container %s vanished while starting", b->name);
  json_t *st = json_object_get(info, "State");
  if (!json_is_true(json_object_get(st, "Running"))) {
    const char *serr = json_string_value(json_object_get(st, "Error"));
    return berth_error_make(err, BERTH_E_CONTAINER, ECHILD,
                            "container %s exited immediately after start with code %lld%s%s",
                            b->name,
                            (long long) json_integer_value(json_object_get(st, "ExitCode")),
                            serr && *serr ? ": " : "", serr && *serr ? serr : "");
  }
  return 0;
}

static bool
has_etc_bind(json_t *info)
{
  json_t *m;
  size_t i;
  json_array_foreach(json_object_get(info, "Mounts"), i, m)
  {
    const char *dst = json_string_value(json_object_get(m, "Destination"));
    if (dst != NULL && strcmp(dst, "/etc/passwd") == 0)
      return true;
  }
  return false;
}

/* Bring an existing container (already checked to be this user's) up. */
static int
use_existing(struct berth_engine *e, struct berth_box *b, json_t *info, berth_error_t *err)
{
  const char *id = json_string_value(json_object_get(info, "Id"));
  json_t *st = json_object_get(info, "State");

  if (id == NULL || *id == '\0')
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "container %s has no Id", b->name);
  free(b->id);
  if ((b->id = berth_strdup(id, err)) == NULL)
    return -1;
  if (json_is_true(json_object_get(st, "Running"))) {
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
  if (check_bind_sources(b, json_object_get(json_object_get(info, "HostConfig"), "Mounts"), err)
      < 0)
    return -1;
  /* /run is a tmpfs: after a reboot the bind sources of the generated
   * files are gone and the container would not start. */
  if (has_etc_bind(info) && !host_etc_present(b)) {
    const char *image = json_string_value(json_object_get(info, "Image"));
    if (write_host_etc(e, b, image ? image : b->image_id, err) < 0)
      return -1;
  }
  if (start_checked(e, b, id, err) < 0)
    return -1;
  /* stopped at logout, by gc, or killed from outside: worth a line */
  berth_log(LOG_INFO, "action=start user=%s container=%s id=%.12s outcome=ok",
            BERTH_LOG_VAL(b->user->name), b->name, id);
  return 0;
}

static int
create_new(struct berth_engine *e, struct berth_box *b, json_t *spec, bool *created,
           berth_error_t *err)
{
  cleanup_free char *id = NULL;
  berth_error_t rm_err = NULL;

  if (check_bind_sources(b, json_object_get(json_object_get(spec, "HostConfig"), "Mounts"), err)
      < 0)
    return -1;
  if (etc_by_bind(b->conf) && write_host_etc(e, b, b->image_id, err) < 0)
    return -1;
  /* berth's own network, made on first use; never joined unless the engine
   * keeps traffic between its containers off (Podman 4 cannot) */
  if (b->conf->network && strcmp(b->conf->network, BERTH_NETWORK) == 0) {
    bool isolated;
    if (berth_engine_network_ensure(e, BERTH_NETWORK, &isolated, err) < 0)
      return -1;
    if (!isolated)
      return berth_error_make(err, BERTH_E_ENGINE, EPERM,
                              "network %s: the engine does not keep traffic between its "
                              "containers off (no com.docker.network.bridge.enable_icc=false on "
                              "it), so users' containers could reach each other; set "
                              "container.network = \"bridge\" to accept that, or \"none\"",
                              BERTH_NETWORK);
  }
  if (berth_engine_container_create(e, b->name, spec, &id, err) < 0) {
    cleanup_json json_t *info = NULL;
    int r;
    if ((*err)->status != EEXIST)
      return as_container_error(err);
    /* Someone created it between our inspect and create (a login that did
     * not take our lock, e.g. berthctl): use theirs if it is this user's. */
    berth_error_release(err);
    r = berth_engine_container_inspect(e, b->name, &info, err);
    if (r < 0)
      return -1;
    if (r == 0)
      return berth_error_make(err, BERTH_E_CONTAINER, EAGAIN,
                              "container %s was created and removed concurrently", b->name);
    if (check_owner(b, info, err) < 0)
      return -1;
    return use_existing(e, b, info, err);
  }
  berth_log(LOG_INFO, "action=create user=%s container=%s id=%.12s outcome=ok",
            BERTH_LOG_VAL(b->user->name), b->name, id);
  if (created)
    *created = true;
  free(b->id);
  b->id = steal_pointer(&id);
  if (!etc_by_bind(b->conf) && inject_etc(e, b, b->id, err) < 0) {
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
  return resolve_image(e, b->conf, &b->image_id, err);
}

/* berth_box_ensure after prepare_image, under the user's lock. */
static int
ensure_container(struct berth_engine *e, struct berth_box *b, bool may_recreate, bool *created,
                 berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  cleanup_json json_t *spec = NULL;
  const char *hash;
  int r;

  if (created)
    *created = false;
  if (b->user->uid == 0)
    return berth_error_make(err, BERTH_E_USER, EPERM, "berth never runs uid 0 in a container");
  free(b->shell);
  b->shell = NULL;

  r = berth_engine_container_inspect(e, b->name, &info, err);
  if (r < 0)
    return -1;
  if (r == 1) {
    if (check_owner(b, info, err) < 0)
      return -1;
    /* Containers live in a data root per remap setting, so an existing one
     * tells the daemon's mode without a GET /info on the warm path. */
    const char *um = jstr(info, "HostConfig", "UsernsMode");
    b->userns_host = um != NULL && strcmp(um, "host") == 0;
  } else if (daemon_userns(e, &b->userns_host, err) < 0) {
    return -1;
  }

  spec = berth_box_spec(b, b->image_id, b->keeper_path, err);
  if (spec == NULL)
    return -1;
  hash = json_string_value(json_object_get(json_object_get(spec, "Labels"), BERTH_LABEL_SPEC));
  free(b->spec_hash);
  if ((b->spec_hash = berth_strdup(hash, err)) == NULL)
    return -1;

  if (r == 1) {
    const char *have = label_of(info, BERTH_LABEL_SPEC);
    const char *status = jstr(info, "State", "Status");
    bool dead = status && (strcmp(status, "dead") == 0);
    if (have == NULL || strcmp(have, hash) != 0 || dead) {
      char what[512];
      if (!may_recreate && grants_more(b, info, spec, what, sizeof(what))) {
        return berth_error_make(err, BERTH_E_CONTAINER, EACCES,
                                "your account's access changed; close your other sessions (or "
                                "ask an admin to run `berthctl rm --force %s`) to continue "
                                "(container %s %s, which the current settings do not give)",
                                b->user->name, b->name, what);
      } else if (!may_recreate) {
        berth_log(LOG_NOTICE,
                  "user=%s container=%s spec=%.12s wanted=%.12s stale container kept: sessions "
                  "are live in it",
                  BERTH_LOG_VAL(b->user->name), b->name, have ? have : "none", hash);
      } else {
        const char *id = json_string_value(json_object_get(info, "Id"));
        if (berth_engine_container_remove(e, id ? id : b->name, true, err) < 0)
          return as_container_error(err);
        berth_log(LOG_INFO,
                  "action=recreate user=%s container=%s spec=%.12s wanted=%.12s outcome=ok",
                  BERTH_LOG_VAL(b->user->name), b->name, have ? have : "none", hash);
        json_decref(info);
        info = NULL;
        r = 0;
        if (daemon_userns(e, &b->userns_host, err) < 0)
          return -1;
        json_decref(spec);
        spec = berth_box_spec(b, b->image_id, b->keeper_path, err);
        if (spec == NULL)
          return -1;
        hash = json_string_value(
            json_object_get(json_object_get(spec, "Labels"), BERTH_LABEL_SPEC));
        free(b->spec_hash);
        if ((b->spec_hash = berth_strdup(hash, err)) == NULL)
          return -1;
      }
    }
  }

  if (r == 1) {
    if (use_existing(e, b, info, err) < 0)
      return berth_error_wrap(err, "container %s", b->name);
  } else if (create_new(e, b, spec, created, err) < 0) {
    return berth_error_wrap(err, "container %s", b->name);
  }
  if (b->shell == NULL) {
    /* an existing container: the image's answer, from the cache or a
     * scratch container of the image it was made from */
    const char *image = b->image_id;
    struct source src = { e, b, NULL, NULL, NULL };
    if (info != NULL && json_string_value(json_object_get(info, "Image")) != NULL)
      image = json_string_value(json_object_get(info, "Image"));
    src.image_id = image;
    r = image_shell(&src, b, err);
    source_done(&src);
    if (r < 0)
      return -1;
  }
  return 0;
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

/* The most engine requests a lock holder makes: open's inspect, info,
 * remove and info again, a scratch container (create, three archive reads,
 * remove), create, archive write, start and inspect, and the retry path of
 * a concurrent create; close's inspect and stop or remove.  Rounded up. */
#define LOCK_HELD_REQUESTS 16

/* A waiter gives up only after the longest a holder can take: every request
 * is bounded by the engine timeout, a stop adds its grace period, and no
 * pull happens under the lock (prepare_image).  With the default 10 s that
 * is 165 s; holders normally take well under a second. */
long
berth_box_lock_timeout(const struct berth_config *cfg)
{
  long t = cfg->engine.timeout_ms > 0 ? cfg->engine.timeout_ms : 10000;
  return t * LOCK_HELD_REQUESTS + LOGOUT_STOP_S * 1000L;
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
  b->others_live = live > 0 && owner == 0 && berth_session_owned_by_ancestor(b->name) ? live - 1
                                                                                     : live;
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

int
berth_box_after_kill(struct berth_engine *e, struct berth_box *b, int status,
                     long long elapsed_ms, berth_error_t *err)
{
  cleanup_json json_t *reply = NULL;
  cleanup_json json_t *info = NULL;
  cleanup_free char *path = NULL;
  berth_error_t serr = NULL;
  const char *id = b->id ? b->id : b->name;
  json_int_t usage, limit, cache;
  json_t *mem;
  long http = 0;
  int r;

  if (status != 137)
    return 0;
  /* docker rm -f / stop from outside kills every process in it.  The
   * engine may see the exec end before the container's own main process,
   * so a running container is asked again, briefly. */
  for (int i = 0; i < KILL_ASK; i++) {
    json_decref(info);
    info = NULL;
    r = berth_engine_container_inspect(e, id, &info, &serr);
    if (r < 0) {
      berth_log(LOG_NOTICE, "user=%s container=%s state=unknown: %s",
                BERTH_LOG_VAL(b->user->name), b->name, BERTH_LOG_TEXT(serr->msg));
      berth_error_release(&serr);
      return 0;
    }
    if (r == 0 || !json_is_true(json_object_get(json_object_get(info, "State"), "Running")))
      break;
    if (i + 1 < KILL_ASK)
      poll(NULL, 0, KILL_ASK_MS);
  }
  if (r == 0 || !json_is_true(json_object_get(json_object_get(info, "State"), "Running"))) {
    /* `docker rm -f` kills first and removes after: in between the engine
     * still shows the container, with State.Status "removing" (or "dead"). */
    const char *st = json_string_value(json_object_get(json_object_get(info, "State"), "Status"));
    bool gone = r == 0 || (st && (strcmp(st, "removing") == 0 || strcmp(st, "dead") == 0));
    return berth_error_make(err, BERTH_E_CONTAINER, ESRCH, "container %s was %s during the "
                            "session", b->name, gone ? "removed" : "stopped");
  }
  if (elapsed_ms > OOM_QUICK_MS || b->conf->memory <= 0)
    return 0;
  /* one-shot: one sample, not the two a CPU figure needs (API 1.41) */
  if (asprintf(&path, "/containers/%s/stats?stream=false&one-shot=true", id) < 0)
    return oom(err);
  if (berth_engine_request(e, "GET", path, NULL, &http, &reply, &serr) < 0
      || berth_engine_check(http, reply, BERTH_E_ENGINE, "reading memory stats", &serr) < 0) {
    berth_log(LOG_NOTICE, "user=%s container=%s memory=unknown: %s",
              BERTH_LOG_VAL(b->user->name), b->name, BERTH_LOG_TEXT(serr->msg));
    berth_error_release(&serr);
    return 0;
  }
  mem = json_object_get(reply, "memory_stats");
  usage = json_integer_value(json_object_get(mem, "usage"));
  limit = json_integer_value(json_object_get(mem, "limit"));
  /* page cache of files on disk is reclaimable; shmem (tmpfs) is not.
   * cgroup v1 names it total_inactive_file, v2 inactive_file. */
  cache = stat_of(mem, "total_inactive_file");
  if (cache == 0)
    cache = stat_of(mem, "inactive_file");
  if (limit <= 0 || usage <= 0 || limit > b->conf->memory + OOM_HEADROOM
      || limit - (usage - cache) >= OOM_HEADROOM)
    return 0;

  berth_log(LOG_WARNING, "user=%s container=%s memory=%lld limit=%lld sessions=%d out of memory: "
            "every new process is killed at once", BERTH_LOG_VAL(b->user->name), b->name,
            (long long) (usage - cache), (long long) limit, b->others_live);
  if (b->others_live > 0)
    return berth_error_make(err, BERTH_E_CONTAINER, ENOMEM,
                            "container %s is out of memory (%lld of %lld bytes in use) and %d "
                            "other session(s) are live in it: not restarted",
                            b->name, (long long) (usage - cache), (long long) limit,
                            b->others_live);
  if (berth_engine_container_stop(e, id, 1, err) < 0 || start_checked(e, b, id, err) < 0)
    return berth_error_wrap(err, "restarting container %s, which is out of memory", b->name);
  berth_log(LOG_NOTICE, "action=restart user=%s container=%s trigger=out-of-memory outcome=ok",
            BERTH_LOG_VAL(b->user->name), b->name);
  return 1;
}

int
berth_box_close(struct berth_engine *e, struct berth_box *b, pid_t owner, int *remaining,
                berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  int lock, live, r, ret = -1;
  const char *id;

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
  ret = 0;
  if (live > 0 || b->conf->on_logout == BERTH_LOGOUT_KEEP)
    goto out;

  ret = -1;
  r = berth_engine_container_inspect(e, b->name, &info, err);
  if (r < 0)
    goto out;
  if (r == 0) {
    ret = 0;
    goto out;
  }
  if (check_owner(b, info, err) < 0)
    goto out;
  id = json_string_value(json_object_get(info, "Id"));
  if (id == NULL)
    id = b->name;
  if (b->conf->on_logout == BERTH_LOGOUT_STOP) {
    /* the stop request lasts the grace period plus the engine timeout */
    int t = (int) (b->cfg->engine.timeout_ms / 2000);
    if (t > LOGOUT_STOP_S)
      t = LOGOUT_STOP_S;
    if (!json_is_true(json_object_get(json_object_get(info, "State"), "Running"))) {
      ret = 0;
      goto out;
    }
    if (berth_engine_container_stop(e, id, t, err) < 0)
      goto out;
    berth_log(LOG_INFO, "action=stop user=%s container=%s trigger=logout outcome=ok",
              BERTH_LOG_VAL(b->user->name), b->name);
  } else {
    if (berth_engine_container_remove(e, id, true, err) < 0)
      goto out;
    remove_host_state(b);
    berth_log(LOG_INFO, "action=rm user=%s container=%s trigger=logout outcome=ok",
              BERTH_LOG_VAL(b->user->name), b->name);
  }
  ret = 0;
out:
  berth_session_unlock(lock);
  return ret;
}

/* ---------------------------------------------------------------- leftovers
 * A scratch container lives for the few archive reads of source_done; one
 * that outlives its maker (SIGKILL between create and remove, an engine
 * that failed the remove) stays forever, never started.  gc removes those
 * whose maker on this host is gone, and those of other hosts (or from a
 * berth without the owner label) once they are older than max_age_s: a
 * live scratch container is never that old. */
int
berth_box_sweep_scratch(struct berth_engine *e, time_t now, time_t max_age_s, int *removed,
                        berth_error_t *err)
{
  cleanup_json json_t *list = NULL;
  char host[256];
  size_t i;
  json_t *item;

  *removed = 0;
  if (gethostname(host, sizeof(host)) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "gethostname");
  host[sizeof(host) - 1] = '\0';
  if (berth_engine_container_list(e, BERTH_LABEL_SCRATCH, &list, err) < 0)
    return -1;
  json_array_foreach(list, i, item) {
    json_t *labels = json_object_get(item, "Labels");
    const char *id = json_string_value(json_object_get(item, "Id"));
    const char *state = json_string_value(json_object_get(item, "State"));
    const char *owner = json_string_value(json_object_get(labels, BERTH_LABEL_SCRATCH_OWNER));
    const char *user = json_string_value(json_object_get(labels, BERTH_LABEL_SCRATCH));
    json_int_t created = json_integer_value(json_object_get(item, "Created"));
    const char *colon = owner ? strrchr(owner, ':') : NULL;
    bool ours = colon && (size_t)(colon - owner) == strlen(host)
                && strncmp(owner, host, strlen(host)) == 0;
    const char *why;
    berth_error_t rm_err = NULL;

    if (id == NULL || state == NULL || strcmp(state, "created") != 0)
      continue; /* never started; anything else is not one of ours */
    if (ours && !berth_session_proc_id_live(colon + 1))
      why = "maker-gone";
    else if (!ours && created > 0 && now - (time_t)created > max_age_s)
      why = "old";
    else
      continue;
    if (berth_engine_container_remove(e, id, true, &rm_err) < 0) {
      berth_log(LOG_WARNING, "action=sweep leftover=scratch container=%.12s user=%s "
                "outcome=failed error=%s: %s", id, BERTH_LOG_VAL(user),
                berth_error_kind_name(rm_err->kind), BERTH_LOG_TEXT(rm_err->msg));
      berth_error_release(&rm_err);
      continue;
    }
    berth_log(LOG_NOTICE, "action=sweep leftover=scratch container=%.12s user=%s why=%s "
              "age=%lld outcome=ok", id, BERTH_LOG_VAL(user), why,
              (long long)(now - (time_t)created));
    (*removed)++;
  }
  return 0;
}

/* The pure readers of an existing container's inspect reply, for the
 * fuzzer (tests/fuzz/fuzz_inspect.c): the owner labels, then what it grants
 * beyond spec. */
int
berth_box_inspect_check(const struct berth_box *b, json_t *info, json_t *spec, char *what,
                        size_t n, berth_error_t *err)
{
  if (check_owner(b, info, err) < 0)
    return -1;
  (void) has_etc_bind(info);
  return grants_more(b, info, spec, what, n) ? 1 : 0;
}
