/* config.c - berth.conf: defaults first, then filled from the file with
 * libconfig (the file and its @includes checked for ownership first), key
 * by key through the tables below, then validated as a whole
 * (config_check.c).  Policy is policy.c, per-user settings resolve.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/config.h"
#include "berth/util.h"
#include "config-internal.h"

/* More CPUs than any host berth runs on: a bound that catches typos
 * (1e12) before they reach the float-to-integer conversion of NanoCpus. */
#define MAX_CPUS 1024

static const char *const pull_names[] = { "never", "missing", "always", NULL };
static const char *const entry_names[] = { "exec", "join", NULL };
static const char *const logout_names[] = { "keep", "stop", "remove", NULL };

const char *
berth_pull_name(enum berth_pull p)
{
  return (unsigned) p < 3 ? pull_names[p] : "?";
}

const char *
berth_on_logout_name(enum berth_on_logout o)
{
  return (unsigned) o < 3 ? logout_names[o] : "?";
}

/* ------------------------------------------------------------------ container keys */

enum ck {
  CK_IMAGE,
  CK_PULL,
  CK_NAME,
  CK_HOSTNAME,
  CK_KEEPER,
  CK_MEMORY,
  CK_CPUS,
  CK_PIDS,
  CK_NETWORK,
  CK_READONLY_ROOTFS,
  CK_TMPFS,
  CK_NO_NEW_PRIVILEGES,
  CK_MOUNTS,
  CK_ENV,
  CK_ON_LOGOUT,
  CK_IDLE_TIMEOUT,
};

static const struct ckey {
  const char *name;
  enum ck id;
  bool in_container; /* allowed in the global `container` group */
  bool overridable;  /* allowed in `groups` / `users` entries */
  size_t has;        /* there, the has_* flag of struct berth_override it sets */
} ckeys[] = {
  { "image", CK_IMAGE, false, true, offsetof(struct berth_override, has_image) },
  { "pull", CK_PULL, false, true, offsetof(struct berth_override, has_pull) },
  { "name", CK_NAME, true, false, 0 },
  { "hostname", CK_HOSTNAME, true, false, 0 },
  { "keeper", CK_KEEPER, true, true, offsetof(struct berth_override, has_keeper) },
  { "memory", CK_MEMORY, true, true, offsetof(struct berth_override, has_memory) },
  { "cpus", CK_CPUS, true, true, offsetof(struct berth_override, has_cpus) },
  { "pids", CK_PIDS, true, true, offsetof(struct berth_override, has_pids) },
  { "network", CK_NETWORK, true, true, offsetof(struct berth_override, has_network) },
  { "readonly_rootfs", CK_READONLY_ROOTFS, true, true,
    offsetof(struct berth_override, has_readonly_rootfs) },
  { "tmpfs", CK_TMPFS, true, true, offsetof(struct berth_override, has_tmpfs) },
  { "no_new_privileges", CK_NO_NEW_PRIVILEGES, true, false, 0 },
  { "mounts", CK_MOUNTS, true, true, offsetof(struct berth_override, has_mounts) },
  { "env", CK_ENV, true, true, offsetof(struct berth_override, has_env) },
  { "on_logout", CK_ON_LOGOUT, true, true, offsetof(struct berth_override, has_on_logout) },
  { "idle_timeout", CK_IDLE_TIMEOUT, true, true,
    offsetof(struct berth_override, has_idle_timeout) },
};

static const struct ckey *
ckey_find(const char *name)
{
  for (size_t i = 0; i < sizeof(ckeys) / sizeof(ckeys[0]); i++)
    if (strcmp(ckeys[i].name, name) == 0)
      return &ckeys[i];
  return NULL;
}
static int
get_cpus(struct cfg_ctx *c, const config_setting_t *s, double *out)
{
  double d;
  if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
    d = config_setting_get_float(s);
  else if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64)
    d = (double) config_setting_get_int64(s);
  else
    return cfg_fail_type(c, s, "a number such as 1.5");
  /* The engine takes NanoCpus, an integer: a huge value would not
   * convert, and the engine refuses less than 0.01 CPU. */
  if (!isfinite(d) || d < 0 || d > MAX_CPUS)
    return cfg_fail(c, s, "%g is not a CPU count (0 means unlimited, at most %d)", d, MAX_CPUS);
  if (d > 0 && d < 0.01)
    return cfg_fail(c, s, "%g is below the smallest CPU limit, 0.01 (0 means unlimited)", d);
  *out = d;
  return 0;
}

/* One word, such as an image reference or a network: not empty, no
 * blanks; what says what it is in the error. */
static int
get_word(struct cfg_ctx *c, const config_setting_t *s, char **out, const char *what)
{
  if (cfg_get_string(c, s, out) < 0)
    return -1;
  if ((*out)[0] == '\0' || cfg_has_space(*out))
    return cfg_fail(c, s, "\"%s\" is not %s", *out, what);
  return 0;
}

/* An integer of at least 0; unit says what it counts in the error. */
static int
get_count(struct cfg_ctx *c, const config_setting_t *s, int64_t *out, const char *unit)
{
  int64_t v = 0;

  if (cfg_get_int(c, s, &v) < 0)
    return -1;
  if (v < 0)
    return cfg_fail(c, s, "%lld is negative (%s)", (long long) v, unit);
  *out = v;
  return 0;
}

static int
get_container_key(struct cfg_ctx *c, const config_setting_t *s, enum ck id,
                  struct berth_container_conf *conf)
{
  int e;

  switch (id) {
  case CK_IMAGE:
    return get_word(c, s, &conf->image, "an image reference (e.g. \"debian:bookworm\")");
  case CK_PULL:
    if (cfg_get_enum(c, s, pull_names, &e) < 0)
      return -1;
    conf->pull = (enum berth_pull) e;
    return 0;
  case CK_NAME:
    if (cfg_get_string(c, s, &conf->name) < 0 || cfg_check_template(c, s, conf->name) < 0)
      return -1;
    /* Without the user in it every user would share one container. */
    if (strstr(conf->name, "%u") == NULL && strstr(conf->name, "%U") == NULL)
      return cfg_fail(c, s,
                      "\"%s\" must contain %%u or %%U: each user needs a container of their own",
                      conf->name);
    return 0;
  case CK_HOSTNAME:
    if (cfg_get_string(c, s, &conf->hostname) < 0 || cfg_check_template(c, s, conf->hostname) < 0)
      return -1;
    if (conf->hostname[0] == '\0')
      return cfg_fail(c, s, "must not be empty");
    return 0;
  case CK_KEEPER:
    if (cfg_get_strv(c, s, &conf->keeper) < 0)
      return -1;
    if (conf->keeper[0] && conf->keeper[0][0] != '/')
      return cfg_fail(
          c, config_setting_get_elem(s, 0),
          "\"%s\": the keeper program must be an absolute path ([] = built-in berth-keeper)",
          conf->keeper[0]);
    return 0;
  case CK_MEMORY: return cfg_get_size(c, s, &conf->memory);
  case CK_CPUS: return get_cpus(c, s, &conf->cpus);
  case CK_PIDS: return get_count(c, s, &conf->pids, "0 means unlimited");
  case CK_NETWORK:
    return get_word(c, s, &conf->network, "a network mode (bridge, none, host or a network name)");
  case CK_READONLY_ROOTFS: return cfg_get_bool(c, s, &conf->readonly_rootfs);
  case CK_TMPFS: return cfg_get_strv_ruled(c, s, &conf->tmpfs, cfg_check_tmpfs);
  case CK_NO_NEW_PRIVILEGES: return cfg_get_bool(c, s, &conf->no_new_privileges);
  case CK_MOUNTS: return cfg_get_mounts(c, s, &conf->mounts, &conf->n_mounts);
  case CK_ENV: return cfg_get_strv_ruled(c, s, &conf->env, cfg_check_env);
  case CK_ON_LOGOUT:
    if (cfg_get_enum(c, s, logout_names, &e) < 0)
      return -1;
    conf->on_logout = (enum berth_on_logout) e;
    return 0;
  case CK_IDLE_TIMEOUT: return get_count(c, s, &conf->idle_timeout, "seconds; 0 means never");
  }
  return cfg_fail(c, s, "unknown key");
}

/* ------------------------------------------------------------------ sections */

/* Each section's keys go through cfg_each_key(), one *_key function a
 * section, data the config (or the part) it fills. */

static int
home_key(struct cfg_ctx *c, const config_setting_t *f, const char *name, void *data)
{
  struct berth_config *cfg = data;

  if (strcmp(name, "mount") == 0)
    return cfg_get_bool(c, f, &cfg->home.mount);
  if (strcmp(name, "create") == 0)
    return cfg_get_bool(c, f, &cfg->home.create);
  if (strcmp(name, "skel") == 0) {
    if (cfg_get_string(c, f, &cfg->home.skel) < 0)
      return -1;
    /* "" = create homes empty */
    return cfg->home.skel[0] != '\0' ? cfg_check_abs_path(c, f, cfg->home.skel) : 0;
  }
  if (strcmp(name, "mode") == 0)
    return cfg_get_mode(c, f, &cfg->home.mode);
  return cfg_fail(c, f, "unknown key (home has mount, create, skel and mode)");
}

static int
shell_key(struct cfg_ctx *c, const config_setting_t *f, const char *name, void *data)
{
  struct berth_config *cfg = data;
  char **dst;

  if (strcmp(name, "fallback") == 0)
    dst = &cfg->shell.fallback;
  else if (strcmp(name, "host") == 0)
    dst = &cfg->shell.host;
  else
    return cfg_fail(c, f, "unknown key (shell has fallback and host)");
  if (cfg_get_string(c, f, dst) < 0 || cfg_check_abs_path(c, f, *dst) < 0)
    return -1;
  return 0;
}

static int
container_key(struct cfg_ctx *c, const config_setting_t *f, const char *name, void *data)
{
  const struct ckey *k = ckey_find(name);

  if (k == NULL)
    return cfg_fail(c, f, "unknown key");
  if (!k->in_container)
    return cfg_fail(c, f, "is a top-level setting, not part of container");
  return get_container_key(c, f, k->id, data);
}

/* A user or group name in a policy list. */
static int
check_name(struct cfg_ctx *c, const config_setting_t *e, char *const *v, size_t i)
{
  return v[i][0] == '\0' ? cfg_fail(c, e, "empty name") : 0;
}

static int
policy_key(struct cfg_ctx *c, const config_setting_t *f, const char *name, void *data)
{
  struct berth_config *cfg = data;
  char ***dst;

  if (strcmp(name, "only_groups") == 0)
    dst = &cfg->policy.only_groups;
  else if (strcmp(name, "exclude_users") == 0)
    dst = &cfg->policy.exclude_users;
  else if (strcmp(name, "exclude_groups") == 0)
    dst = &cfg->policy.exclude_groups;
  else
    return cfg_fail(c, f, "unknown key (policy has only_groups, exclude_users and exclude_groups)");
  return cfg_get_strv_ruled(c, f, dst, check_name);
}

static void
overrides_free(struct berth_override *o, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(o[i].match);
    cfg_conf_clear(&o[i].c);
  }
  free(o);
}

/* One entry of `groups` or `users` being read. */
struct override_read {
  struct berth_override *o;
  const config_setting_t *list; /* the `groups` or `users` setting */
  const char *match_key;        /* "group" in groups, "user" in users */
  const char *other_key;
  const config_setting_t *match_s; /* where match_key stands, once read */
};

static int
override_key(struct cfg_ctx *c, const config_setting_t *f, const char *name, void *data)
{
  struct override_read *r = data;
  const struct ckey *ck;

  if (strcmp(name, r->match_key) == 0) {
    if (cfg_get_string(c, f, &r->o->match) < 0)
      return -1;
    if (r->o->match[0] == '\0')
      return cfg_fail(c, f, "empty name");
    r->match_s = f;
    return 0;
  }
  if (strcmp(name, r->other_key) == 0)
    return cfg_fail(
        c, f, "unknown key (entries of %s match by \"%s\"; use %ss = ( ... ) for per-%s settings)",
        config_setting_name(r->list), r->match_key, r->other_key, r->other_key);
  ck = ckey_find(name);
  if (ck == NULL)
    return cfg_fail(c, f, "unknown key");
  if (!ck->overridable)
    return cfg_fail(c, f, "cannot be overridden per %s, only set in container", r->match_key);
  if (get_container_key(c, f, ck->id, &r->o->c) < 0)
    return -1;
  *(bool *) ((char *) r->o + ck->has) = true;
  return 0;
}

/* `groups` (match_key "group") and `users` (match_key "user"). */
static int
load_overrides(struct cfg_ctx *c, const config_setting_t *s, const char *match_key,
               const char *other_key, struct berth_override **out, size_t *n_out)
{
  struct berth_override *o;
  int len = cfg_get_list(c, s, "a list of entries ( { ... }, ... )");
  size_t n;

  if (len < 0)
    return -1;
  n = (size_t) len;
  o = berth_malloc0(n * sizeof(*o), c->err);
  if (o == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned) i);
    struct override_read r = { &o[i], s, match_key, other_key, NULL };

    o[i].line = (int) config_setting_source_line(e);
    if (cfg_each_key(c, e, override_key, &r) < 0)
      goto fail;
    if (r.match_s == NULL) {
      cfg_fail(c, e, "entry has no \"%s\" key saying which %s it applies to", match_key, match_key);
      goto fail;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(o[j].match, o[i].match) == 0) {
        cfg_fail(c, r.match_s, "duplicate entry for %s \"%s\" (first at line %d)", match_key,
                 o[i].match, o[j].line);
        goto fail;
      }
  }
  overrides_free(*out, *n_out);
  *out = o;
  *n_out = n;
  return 0;
fail:
  overrides_free(o, n);
  return -1;
}

static int
root_key(struct cfg_ctx *c, const config_setting_t *s, const char *name, void *data)
{
  struct berth_config *cfg = data;
  const struct ckey *ck;
  int r, e;

  if (strcmp(name, "engine") == 0)
    return cfg_load_engine(c, s, cfg);
  if (strcmp(name, "image") == 0)
    return get_container_key(c, s, CK_IMAGE, &cfg->container);
  if (strcmp(name, "pull") == 0)
    return get_container_key(c, s, CK_PULL, &cfg->container);
  if (strcmp(name, "entry") == 0) {
    r = cfg_get_enum(c, s, entry_names, &e);
    cfg->entry = r < 0 ? cfg->entry : (enum berth_entry) e;
    return r;
  }
  if (strcmp(name, "debug") == 0)
    return cfg_get_bool(c, s, &cfg->debug);
  if (strcmp(name, "home") == 0)
    return cfg_each_key(c, s, home_key, cfg);
  if (strcmp(name, "shell") == 0)
    return cfg_each_key(c, s, shell_key, cfg);
  if (strcmp(name, "container") == 0)
    return cfg_each_key(c, s, container_key, &cfg->container);
  if (strcmp(name, "policy") == 0)
    return cfg_each_key(c, s, policy_key, cfg);
  if (strcmp(name, "groups") == 0)
    return load_overrides(c, s, "group", "user", &cfg->groups, &cfg->n_groups);
  if (strcmp(name, "users") == 0)
    return load_overrides(c, s, "user", "group", &cfg->users, &cfg->n_users);
  if ((ck = ckey_find(name)) != NULL && ck->in_container)
    return cfg_fail(c, s, "unknown key (did you mean container.%s?)", name);
  return cfg_fail(c, s, "unknown key");
}

/* A config anyone but root can write decides who gets a host shell.  Its
 * owner can always write it, so the owner must be root, or whoever runs
 * this (berthctl by an admin, unit tests). */
static int
check_file_mode(struct cfg_ctx *c, const char *path, const struct stat *st)
{
  if (!S_ISREG(st->st_mode))
    return berth_error_make(c->err, BERTH_E_CONFIG, EINVAL, "%s: not a regular file", path);
  if (st->st_uid != 0 && st->st_uid != geteuid())
    return berth_error_make(c->err, BERTH_E_CONFIG, EPERM,
                            "%s: refusing a configuration owned by uid %u (it must belong to "
                            "root); run chown root %s",
                            path, (unsigned) st->st_uid, path);
  if (st->st_mode & (S_IWGRP | S_IWOTH))
    return berth_error_make(c->err, BERTH_E_CONFIG, EPERM,
                            "%s: refusing a configuration writable by group or others (mode %04o); "
                            "run chmod go-w %s",
                            path, (unsigned) (st->st_mode & 07777), path);
  return 0;
}

/* libconfig 1.5 opens @include files itself, by name, and offers no hook.
 * So the file is opened again here, without following a link, and checked
 * on that fd; its directory must be writable only by its owner (root or
 * us), so that nobody else can have swapped the name between libconfig's
 * open and this one. */
static int
check_include(struct cfg_ctx *c, const char *full)
{
  cleanup_close int fd = -1;
  cleanup_close int dfd = -1;
  cleanup_free char *dir = berth_strdup(full, c->err);
  struct stat st;
  char *slash;

  if (dir == NULL)
    return -1;
  fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0 && errno == ELOOP)
    return berth_error_make(c->err, BERTH_E_CONFIG, ELOOP,
                            "%s: an included file must not be a symbolic link (include the file "
                            "it points to)",
                            full);
  if (fd < 0 || fstat(fd, &st) < 0)
    return berth_error_errno(c->err, BERTH_E_CONFIG, errno, "%s", full);
  if (check_file_mode(c, full, &st) < 0)
    return -1;
  slash = strrchr(dir, '/');
  if (slash == dir)
    slash[1] = '\0';
  else if (slash != NULL)
    *slash = '\0';
  else
    strcpy(dir, ".");
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fstat(dfd, &st) < 0)
    return berth_error_errno(c->err, BERTH_E_CONFIG, errno, "%s: directory %s", full, dir);
  if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return berth_error_make(c->err, BERTH_E_CONFIG, EPERM,
                            "%s: refusing an included file in %s, which is owned by uid %u with "
                            "mode %04o (it must be root's and not writable by group or others)",
                            full, dir, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
  return 0;
}

/* ------------------------------------------------------------------ public */

int
berth_config_defaults(struct berth_config **out, berth_error_t *err)
{
  struct berth_config *cfg = berth_malloc0(sizeof(*cfg), err);
  static const char *const exclude_users[] = { "root", NULL };

  if (cfg == NULL)
    return -1;
  cfg->engine.timeout_ms = 10000;
  cfg->entry = BERTH_ENTRY_EXEC;
  cfg->home.mount = true;
  cfg->home.create = true;
  cfg->home.mode = 0700;
  cfg->container.pull = BERTH_PULL_MISSING;
  cfg->container.memory = 0;
  cfg->container.cpus = 0;
  cfg->container.pids = BERTH_DEFAULT_PIDS;
  cfg->container.readonly_rootfs = false;
  cfg->container.no_new_privileges = true;
  cfg->container.on_logout = BERTH_LOGOUT_KEEP;
  cfg->container.idle_timeout = 3600;
  if ((cfg->engine.socket = berth_strdup("/var/run/docker.sock", err)) == NULL
      || (cfg->home.skel = berth_strdup("/etc/skel", err)) == NULL
      || (cfg->shell.fallback = berth_strdup("/bin/sh", err)) == NULL
      || (cfg->shell.host = berth_strdup("/bin/bash", err)) == NULL
      || (cfg->container.image = berth_strdup("debian:bookworm", err)) == NULL
      || (cfg->container.name = berth_strdup("berth-%u", err)) == NULL
      || (cfg->container.hostname = berth_strdup("%u-box", err)) == NULL
      || (cfg->container.network = berth_strdup(BERTH_NETWORK, err)) == NULL
      || (cfg->container.keeper = berth_strv_dup(NULL, err)) == NULL
      || (cfg->container.tmpfs = berth_strv_dup(NULL, err)) == NULL
      || (cfg->container.env = berth_strv_dup(NULL, err)) == NULL
      || (cfg->policy.only_groups = berth_strv_dup(NULL, err)) == NULL
      || (cfg->policy.exclude_users = berth_strv_dup((char *const *) exclude_users, err)) == NULL
      || (cfg->policy.exclude_groups = berth_strv_dup(NULL, err)) == NULL) {
    berth_config_free(cfg);
    return -1;
  }
  *out = cfg;
  return 0;
}

static void
config_destroyp(config_t **lc)
{
  if (*lc)
    config_destroy(*lc);
}

int
berth_config_load(const char *path, struct berth_config **out, berth_error_t *err)
{
  struct cfg_ctx c = { path, NULL, err };
  config_t lcbuf;
  __attribute__((cleanup(config_destroyp))) config_t *lc = NULL;
  struct berth_config *cfg = NULL;
  cleanup_free char *dir = NULL;
  FILE *f;
  struct stat st;
  int fd, ok;

  /* O_NONBLOCK: a FIFO at the path must not hang a login; it is refused below. */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return berth_error_errno(err, BERTH_E_CONFIG, errno, "%s: cannot open the configuration file",
                             path);
  /* Check and parse the same open file. */
  if (fstat(fd, &st) < 0) {
    berth_error_errno(err, BERTH_E_CONFIG, errno, "%s: stat", path);
    close(fd);
    return -1;
  }
  if (check_file_mode(&c, path, &st) < 0) {
    close(fd);
    return -1;
  }
  f = fdopen(fd, "re");
  if (f == NULL) {
    berth_error_errno(err, BERTH_E_CONFIG, errno, "%s", path);
    close(fd);
    return -1;
  }

  config_init(&lcbuf);
  lc = &lcbuf;
  /* @include paths are relative to the file's directory, not to the cwd of
   * whatever process (sshd, berthctl) loads it. */
  dir = berth_strdup(path, err);
  if (dir == NULL) {
    fclose(f);
    return -1;
  }
  if (strrchr(dir, '/'))
    *strrchr(dir, '/') = '\0';
  else
    strcpy(dir, ".");
  if (dir[0] == '\0')
    strcpy(dir, "/");
  config_set_include_dir(lc, dir);
  c.dir = dir;
  ok = config_read(lc, f);
  fclose(f);
  if (!ok) {
    const char *efile = config_error_file(lc);
    if (efile == NULL)
      efile = path;
    return berth_error_make(err, BERTH_E_CONFIG, EINVAL, "%s%s%s:%d: %s",
                            efile[0] == '/' || efile == path ? "" : dir,
                            efile[0] == '/' || efile == path ? "" : "/", efile,
                            config_error_line(lc), config_error_text(lc));
  }
  for (unsigned i = 0; i < lc->num_filenames; i++) {
    const char *inc = lc->filenames[i];
    cleanup_free char *full
        = inc[0] == '/' ? berth_strdup(inc, err) : berth_asprintf(err, "%s/%s", dir, inc);
    if (full == NULL || check_include(&c, full) < 0)
      return -1;
  }

  if (berth_config_defaults(&cfg, err) < 0)
    return -1;
  if ((cfg->path = berth_strdup(path, err)) == NULL
      || cfg_each_key(&c, config_root_setting(lc), root_key, cfg) < 0
      || cfg_validate(&c, cfg, lc) < 0) {
    berth_config_free(cfg);
    return -1;
  }
  /* join mode needs the container's processes on this host */
  if (!berth_config_engine_local(cfg) && cfg->entry != BERTH_ENTRY_EXEC) {
    cfg->entry = BERTH_ENTRY_EXEC;
    cfg->entry_forced = true;
  }
  *out = cfg;
  return 0;
}

void
berth_config_free(struct berth_config *cfg)
{
  if (cfg == NULL)
    return;
  free(cfg->path);
  cfg_engine_clear(cfg);
  free(cfg->home.skel);
  free(cfg->shell.fallback);
  free(cfg->shell.host);
  cfg_conf_clear(&cfg->container);
  berth_strv_free(cfg->policy.only_groups);
  berth_strv_free(cfg->policy.exclude_users);
  berth_strv_free(cfg->policy.exclude_groups);
  overrides_free(cfg->groups, cfg->n_groups);
  overrides_free(cfg->users, cfg->n_users);
  free(cfg);
}
