/* spec.c - what the user's container should be: the create body (identity,
 * groups, mounts, confinement, limits, labels), its hash, and the readers
 * of an existing container's inspect reply (owner labels, access it grants
 * beyond the wanted spec).  Pure JSON: no engine traffic, so the unit tests
 * and the inspect fuzzer drive all of it.  Calls down only: etcfiles (how
 * /etc reaches the container) and binds (which binds are berth's own). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/agent.h"
#include "berth/netns.h"
#include "berth/sha256.h"
#include "berth/util.h"
#include "binds-internal.h"
#include "etcfiles-internal.h"
#include "spec-internal.h"

static int
oom(berth_error_t *err)
{
  return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
}

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
  if (berth_etc_by_bind(b)) {
    cleanup_free char *pw = berth_etc_host_path(b->name, "passwd", err);
    cleanup_free char *gr = pw ? berth_etc_host_path(b->name, "group", err) : NULL;
    if (pw == NULL || gr == NULL)
      return NULL;
    if (append_new(mounts, bind_mount(pw, "/etc/passwd", true), err) < 0
        || append_new(mounts, bind_mount(gr, "/etc/group", true), err) < 0)
      return NULL;
  }
  /* the forwarded agent's sockets (agent.h); only a local engine sees RUNDIR */
  if (berth_config_engine_local(b->cfg)) {
    cleanup_free char *ad = berth_agent_dir(b->name, err);
    if (ad == NULL || append_new(mounts, bind_mount(ad, BERTH_AGENT_TARGET, true), err) < 0)
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
   * home would belong to someone else: opt this container out.  Asked for
   * always, because without remap "host" is what a container gets anyway
   * (Docker and Podman accept it), and knowing the daemon's mode would
   * cost a GET /info (~7 ms) on every cold login. */
  if (set_new(hc, "UsernsMode", json_string("host"), err) < 0)
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

/* ---------------------------------------------------------------- inspect readers */

const char *
berth_box_label(json_t *info, const char *label)
{
  return json_string_value(
      json_object_get(json_object_get(json_object_get(info, "Config"), "Labels"), label));
}

/* The name may have been taken by something else (or by another user whose
 * name sanitizes the same way, which the hash suffix should prevent). */
int
berth_box_check_owner(const struct berth_box *b, json_t *info, berth_error_t *err)
{
  const char *user = berth_box_label(info, BERTH_LABEL_USER);
  const char *uid = berth_box_label(info, BERTH_LABEL_UID);
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
    const char *s, *d;
    if (berth_mount_bind(m, &s, &d) && s && d && strcmp(s, src) == 0 && strcmp(d, dst) == 0)
      return m;
  }
  return NULL;
}

bool
berth_box_grants_more(const struct berth_box *b, json_t *info, json_t *spec, char *what, size_t n)
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
    const char *src, *dst;
    json_t *now;

    if (!berth_mount_bind(v, &src, &dst))
      continue;
    if (src == NULL || dst == NULL) {
      snprintf(what, n, "has a bind mount berth cannot read");
      return true;
    }
    if (berth_binds_is_ours(b, src, dst))
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

bool
berth_box_has_etc_bind(json_t *info)
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

/* For the fuzzer (tests/fuzz/fuzz_inspect.c): the owner labels, then what
 * it grants beyond spec. */
int
berth_box_inspect_check(const struct berth_box *b, json_t *info, json_t *spec, char *what, size_t n,
                        berth_error_t *err)
{
  if (berth_box_check_owner(b, info, err) < 0)
    return -1;
  (void) berth_box_has_etc_bind(info);
  return berth_box_grants_more(b, info, spec, what, n) ? 1 : 0;
}
