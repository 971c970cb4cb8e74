/* config.c - berth.conf: defaults first, then filled from the file with
 * libconfig, then validated as a whole; policy decisions and the per-user
 * effective container settings (global, then group, then user override). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/config.h"
#include "berth/user.h"
#include "berth/util.h"

/* Docker refuses memory limits below 6 MiB ("Minimum memory limit allowed is
 * 6MB"); checking here turns a login-time engine error into a config error. */
#define MIN_MEMORY (6LL * 1024 * 1024)
/* More CPUs than any host berth runs on: a bound that catches typos
 * (1e12) before they reach the float-to-integer conversion of NanoCpus. */
#define MAX_CPUS 1024
/* berth mounts its own files (the keeper) under this directory. */
#define RESERVED_DIR "/.berth"

struct ctx {
  const char *path;
  const char *dir; /* of path: where relative @include files live */
  berth_error_t *err;
};

/* ------------------------------------------------------------------ errors */

static void
src_file(const struct ctx *c, const config_setting_t *s, char *buf, size_t n)
{
  const char *f = config_setting_source_file(s);
  if (f == NULL)
    snprintf(buf, n, "%s", c->path);
  else if (f[0] != '/' && c->dir != NULL)
    snprintf(buf, n, "%s/%s", c->dir, f);
  else
    snprintf(buf, n, "%s", f);
}

/* "container.mounts[1].target": list and array elements by index. */
static void
setting_key(const config_setting_t *s, char *buf, size_t n)
{
  const config_setting_t *chain[32];
  size_t depth = 0, used = 0;

  for (const config_setting_t *p = s; p && !config_setting_is_root(p) && depth < 32;
       p = config_setting_parent(p))
    chain[depth++] = p;
  buf[0] = '\0';
  while (depth-- > 0 && used < n) {
    const config_setting_t *x = chain[depth];
    if (config_setting_name(x))
      snprintf(buf + used, n - used, "%s%s", used ? "." : "", config_setting_name(x));
    else
      snprintf(buf + used, n - used, "[%d]", config_setting_index(x));
    used = strlen(buf);
  }
}

/* Every config error reads "FILE:LINE: KEY: problem". */
static int __attribute__((format(printf, 3, 4)))
fail(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
  char key[256], file[PATH_MAX];
  char *msg = NULL;
  va_list ap;

  setting_key(s, key, sizeof(key));
  src_file(c, s, file, sizeof(file));
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  berth_error_make(c->err, BERTH_E_CONFIG, EINVAL, "%s:%u: %s: %s", file,
                   config_setting_source_line(s), key[0] ? key : "(top level)",
                   msg ? msg : "invalid value");
  free(msg);
  return -1;
}

static const char *
type_name(const config_setting_t *s)
{
  switch (config_setting_type(s)) {
  case CONFIG_TYPE_GROUP:
    return "a group { ... }";
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_INT64:
    return "an integer";
  case CONFIG_TYPE_FLOAT:
    return "a decimal number";
  case CONFIG_TYPE_STRING:
    return "a string";
  case CONFIG_TYPE_BOOL:
    return "true/false";
  case CONFIG_TYPE_ARRAY:
    return "an array [ ... ]";
  case CONFIG_TYPE_LIST:
    return "a list ( ... )";
  default:
    return "nothing";
  }
}

static int
fail_type(struct ctx *c, const config_setting_t *s, const char *expected)
{
  return fail(c, s, "expected %s, found %s", expected, type_name(s));
}

/* ------------------------------------------------------------------ typed getters */

static int
get_group(struct ctx *c, const config_setting_t *s)
{
  if (!config_setting_is_group(s))
    return fail_type(c, s, "a group { ... }");
  return 0;
}

static int
get_string(struct ctx *c, const config_setting_t *s, char **out)
{
  char *v;

  if (config_setting_type(s) != CONFIG_TYPE_STRING)
    return fail_type(c, s, "a string");
  v = berth_strdup(config_setting_get_string(s), c->err);
  if (v == NULL)
    return -1;
  free(*out);
  *out = v;
  return 0;
}

static int
get_bool(struct ctx *c, const config_setting_t *s, bool *out)
{
  if (config_setting_type(s) != CONFIG_TYPE_BOOL)
    return fail_type(c, s, "true or false");
  *out = config_setting_get_bool(s) != 0;
  return 0;
}

static int
get_int(struct ctx *c, const config_setting_t *s, int64_t *out)
{
  if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
    return fail_type(c, s, "an integer");
  *out = config_setting_get_int64(s);
  return 0;
}

/* Lists of strings may be written as arrays [ ... ] or lists ( ... ). */
static int
get_strv(struct ctx *c, const config_setting_t *s, char ***out)
{
  cleanup_strv char **v = NULL;
  int n;

  if (!config_setting_is_array(s) && !config_setting_is_list(s))
    return fail_type(c, s, "a list of strings [ \"...\", ... ]");
  n = config_setting_length(s);
  v = berth_malloc0(((size_t)n + 1) * sizeof(char *), c->err);
  if (v == NULL)
    return -1;
  for (int i = 0; i < n; i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    if (get_string(c, e, &v[i]) < 0)
      return -1;
  }
  berth_strv_free(*out);
  *out = steal_pointer(&v);
  return 0;
}

static int
get_enum(struct ctx *c, const config_setting_t *s, const char *const *names, int *out)
{
  const char *v;
  char allowed[128] = "";

  if (config_setting_type(s) != CONFIG_TYPE_STRING)
    return fail_type(c, s, "a string");
  v = config_setting_get_string(s);
  for (int i = 0; names[i]; i++) {
    if (strcmp(v, names[i]) == 0) {
      *out = i;
      return 0;
    }
    snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s%s", i ? ", " : "",
             names[i]);
  }
  return fail(c, s, "\"%s\" is not one of: %s", v, allowed);
}

static const char *const pull_names[] = { "never", "missing", "always", NULL };
static const char *const entry_names[] = { "exec", "join", NULL };
static const char *const logout_names[] = { "keep", "stop", "remove", NULL };

const char *
berth_pull_name(enum berth_pull p)
{
  return (unsigned)p < 3 ? pull_names[p] : "?";
}

const char *
berth_on_logout_name(enum berth_on_logout o)
{
  return (unsigned)o < 3 ? logout_names[o] : "?";
}

/* ------------------------------------------------------------------ value checks */

static bool
has_dotdot(const char *p)
{
  for (const char *q = p; (q = strstr(q, "..")) != NULL; q += 2)
    if ((q == p || q[-1] == '/') && (q[2] == '\0' || q[2] == '/'))
      return true;
  return false;
}

static bool
has_space(const char *p)
{
  for (; *p; p++)
    if (*p <= ' ' || *p == 0x7f)
      return true;
  return false;
}

static int
check_abs_path(struct ctx *c, const config_setting_t *s, const char *v)
{
  if (v[0] != '/')
    return fail(c, s, "\"%s\" is not an absolute path", v);
  if (has_dotdot(v))
    return fail(c, s, "\"%s\" must not contain \"..\"", v);
  return 0;
}

/* Only the escapes berth_expand_template() knows. */
static int
check_template(struct ctx *c, const config_setting_t *s, const char *v)
{
  for (const char *p = v; *p; p++) {
    if (*p != '%')
      continue;
    p++;
    if (*p == '\0')
      return fail(c, s, "\"%s\" ends with a lone %%", v);
    if (strchr("uUgGh%", *p) == NULL)
      return fail(c, s,
                  "unknown template escape \"%%%c\" in \"%s\" (allowed: %%u %%U %%g %%G %%h %%%%)",
                  *p, v);
  }
  return 0;
}

/* A mount path: absolute, or starting with the (absolute) home "%h". */
static int
check_template_path(struct ctx *c, const config_setting_t *s, const char *v)
{
  if (check_template(c, s, v) < 0)
    return -1;
  if (v[0] != '/' && !(strncmp(v, "%h", 2) == 0 && (v[2] == '\0' || v[2] == '/')))
    return fail(c, s, "\"%s\" is not an absolute path (start with / or %%h)", v);
  if (has_dotdot(v))
    return fail(c, s, "\"%s\" must not contain \"..\"", v);
  return 0;
}

/* "%h/something": the user owns the home and so every name in it. */
static bool
below_home(const char *src)
{
  if (strncmp(src, "%h/", 3) != 0)
    return false;
  return src[strspn(src + 2, "/") + 2] != '\0';
}

static bool
is_reserved_target(const char *t)
{
  size_t n = strlen(RESERVED_DIR);
  return strcmp(t, "/") == 0 || (strncmp(t, RESERVED_DIR, n) == 0 && (t[n] == '\0' || t[n] == '/'));
}

/* Paths compare equal regardless of trailing slashes ("/tmp/" is "/tmp"). */
static bool
same_path(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  while (la > 1 && a[la - 1] == '/')
    la--;
  while (lb > 1 && b[lb - 1] == '/')
    lb--;
  return la == lb && strncmp(a, b, la) == 0;
}

static size_t
tmpfs_path_len(const char *t)
{
  const char *colon = strchr(t, ':');
  return colon ? (size_t)(colon - t) : strlen(t);
}

static bool
tmpfs_is(const char *tmpfs, const char *path)
{
  char buf[PATH_MAX];
  size_t n = tmpfs_path_len(tmpfs);
  if (n >= sizeof(buf))
    return false;
  memcpy(buf, tmpfs, n);
  buf[n] = '\0';
  return same_path(buf, path);
}

/* Environment variables berth sets from the user's account (SPEC). */
static const char *const controlled_env[] = { "HOME", "USER", "LOGNAME", "SHELL", NULL };

static size_t
env_key_len(const char *e)
{
  const char *eq = strchr(e, '=');
  return eq ? (size_t)(eq - e) : strlen(e);
}

static int
check_env(struct ctx *c, const config_setting_t *s, char **env)
{
  for (size_t i = 0; env && env[i]; i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    const char *v = env[i];
    size_t klen = env_key_len(v);

    if (v[klen] != '=')
      return fail(c, e, "\"%s\" is not of the form NAME=VALUE", v);
    if (klen == 0 || !(v[0] == '_' || (v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= 'a' && v[0] <= 'z')))
      return fail(c, e, "\"%s\": variable names start with a letter or _", v);
    for (size_t k = 0; k < klen; k++)
      if (!(v[k] == '_' || (v[k] >= 'A' && v[k] <= 'Z') || (v[k] >= 'a' && v[k] <= 'z')
            || (v[k] >= '0' && v[k] <= '9')))
        return fail(c, e, "\"%.*s\" is not a valid variable name", (int)klen, v);
    for (size_t k = 0; controlled_env[k]; k++)
      if (strlen(controlled_env[k]) == klen && strncmp(v, controlled_env[k], klen) == 0)
        return fail(c, e, "%s is set by berth from the user's account and cannot be configured",
                    controlled_env[k]);
    for (size_t j = 0; j < i; j++)
      if (env_key_len(env[j]) == klen && strncmp(env[j], v, klen) == 0)
        return fail(c, e, "%.*s is set twice in this list", (int)klen, v);
  }
  return 0;
}

static int
check_tmpfs(struct ctx *c, const config_setting_t *s, char **tmpfs)
{
  for (size_t i = 0; tmpfs && tmpfs[i]; i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    const char *v = tmpfs[i];
    size_t n = tmpfs_path_len(v);
    char path[PATH_MAX];

    if (n >= sizeof(path))
      return fail(c, e, "path is too long");
    memcpy(path, v, n);
    path[n] = '\0';
    if (path[0] != '/')
      return fail(c, e, "\"%s\": the tmpfs path must be absolute (\"PATH[:OPTIONS]\")", v);
    if (has_dotdot(path))
      return fail(c, e, "\"%s\" must not contain \"..\"", v);
    if (is_reserved_target(path))
      return fail(c, e, "\"%s\": %s is reserved", v, strcmp(path, "/") ? RESERVED_DIR : "/");
    if (v[n] == ':' && (v[n + 1] == '\0' || has_space(v + n + 1)))
      return fail(
          c, e, "\"%s\": options after ':' must be non-empty, without spaces (e.g. size=512m)", v);
    for (size_t j = 0; j < i; j++)
      if (tmpfs_is(tmpfs[j], path))
        return fail(c, e, "%s is listed twice", path);
  }
  return 0;
}

/* memory: "2g" or an integer number of bytes. */
static int
get_size(struct ctx *c, const config_setting_t *s, int64_t *out)
{
  int64_t v = 0;

  if (config_setting_type(s) == CONFIG_TYPE_STRING) {
    const char *str = config_setting_get_string(s);
    if (berth_parse_size(str, &v) < 0)
      return fail(c, s,
                  "\"%s\" is not a size (bytes, or a number with a k, m or g suffix, e.g. \"2g\")",
                  str);
  } else if (config_setting_type(s) == CONFIG_TYPE_INT
             || config_setting_type(s) == CONFIG_TYPE_INT64) {
    v = config_setting_get_int64(s);
    if (v < 0)
      return fail(c, s, "%lld is negative (0 means unlimited)", (long long)v);
  } else {
    return fail_type(c, s, "a size such as \"2g\" or a number of bytes");
  }
  if (v != 0 && v < MIN_MEMORY)
    return fail(c, s, "%lld bytes is below the engine's minimum of 6m (0 means unlimited)",
                (long long)v);
  *out = v;
  return 0;
}

/* home.mode.  libconfig 1.5 reads 0700 as decimal 700 (it has no octal
 * literals), so a decimal integer is read digit by digit as octal, like
 * chmod; hex (0x1C0) and strings ("0700") are taken as written. */
static int
get_mode(struct ctx *c, const config_setting_t *s, mode_t *out)
{
  long long v;

  if (config_setting_type(s) == CONFIG_TYPE_STRING) {
    const char *str = config_setting_get_string(s);
    char *end = NULL;
    if (str[0] < '0' || str[0] > '7')
      return fail(c, s, "\"%s\" is not an octal mode such as 0700", str);
    errno = 0;
    v = strtoll(str, &end, 8);
    if (errno != 0 || *end != '\0')
      return fail(c, s, "\"%s\" is not an octal mode such as 0700", str);
  } else if (config_setting_type(s) == CONFIG_TYPE_INT
             || config_setting_type(s) == CONFIG_TYPE_INT64) {
    long long raw = config_setting_get_int64(s);
    if (config_setting_get_format(s) == CONFIG_FORMAT_HEX) {
      v = raw;
    } else {
      long long mul = 1;
      if (raw < 0)
        return fail(c, s, "%lld is not an octal mode such as 0700", raw);
      v = 0;
      for (long long d = raw; d > 0; d /= 10, mul *= 8) {
        if (d % 10 > 7 || mul > 010000)
          return fail(c, s, "%lld is not an octal mode such as 0700", raw);
        v += (d % 10) * mul;
      }
    }
  } else {
    return fail_type(c, s, "an octal mode such as 0700");
  }
  if (v < 0 || v > 07777)
    return fail(c, s, "0%llo is not a permission mode (at most 07777)", v);
  if (v & 022)
    return fail(c, s, "0%04llo would make homes writable by group or others", v);
  if ((v & 0700) != 0700)
    return fail(c, s, "0%04llo does not give the owner rwx on the home (0700 at least)", v);
  *out = (mode_t)v;
  return 0;
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
} ckeys[] = {
  { "image", CK_IMAGE, false, true },
  { "pull", CK_PULL, false, true },
  { "name", CK_NAME, true, false },
  { "hostname", CK_HOSTNAME, true, false },
  { "keeper", CK_KEEPER, true, true },
  { "memory", CK_MEMORY, true, true },
  { "cpus", CK_CPUS, true, true },
  { "pids", CK_PIDS, true, true },
  { "network", CK_NETWORK, true, true },
  { "readonly_rootfs", CK_READONLY_ROOTFS, true, true },
  { "tmpfs", CK_TMPFS, true, true },
  { "no_new_privileges", CK_NO_NEW_PRIVILEGES, true, false },
  { "mounts", CK_MOUNTS, true, true },
  { "env", CK_ENV, true, true },
  { "on_logout", CK_ON_LOGOUT, true, true },
  { "idle_timeout", CK_IDLE_TIMEOUT, true, true },
};

static const struct ckey *
ckey_find(const char *name)
{
  for (size_t i = 0; i < sizeof(ckeys) / sizeof(ckeys[0]); i++)
    if (strcmp(ckeys[i].name, name) == 0)
      return &ckeys[i];
  return NULL;
}

static void
mounts_free(struct berth_mount *m, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(m[i].source);
    free(m[i].target);
  }
  free(m);
}

static int
get_mounts(struct ctx *c, const config_setting_t *s, struct berth_mount **out, size_t *n_out)
{
  struct berth_mount *m = NULL;
  size_t n;

  /* `mounts = [];` reads as an empty array: accept it as "no mounts". */
  if (!config_setting_is_list(s) && !(config_setting_is_array(s) && config_setting_length(s) == 0))
    return fail_type(c, s, "a list of mounts ( { source = ...; target = ...; }, ... )");
  n = (size_t)config_setting_length(s);
  m = berth_malloc0(n * sizeof(*m), c->err);
  if (m == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    const config_setting_t *target_s = NULL;

    if (get_group(c, e) < 0)
      goto fail;
    for (int k = 0; k < config_setting_length(e); k++) {
      const config_setting_t *f = config_setting_get_elem(e, (unsigned)k);
      const char *name = config_setting_name(f);
      if (strcmp(name, "source") == 0) {
        if (get_string(c, f, &m[i].source) < 0 || check_template_path(c, f, m[i].source) < 0)
          goto fail;
        if (below_home(m[i].source)) {
          fail(c, f,
               "\"%s\" is inside the user's home, where the user can replace any directory "
               "with a link to files that are not theirs; berth refuses such sources at login "
               "(mount \"%%h\" itself, or a directory outside the home)",
               m[i].source);
          goto fail;
        }
      } else if (strcmp(name, "target") == 0) {
        if (get_string(c, f, &m[i].target) < 0 || check_template_path(c, f, m[i].target) < 0)
          goto fail;
        if (is_reserved_target(m[i].target)) {
          fail(c, f, "\"%s\" is reserved", m[i].target);
          goto fail;
        }
        target_s = f;
      } else if (strcmp(name, "readonly") == 0) {
        if (get_bool(c, f, &m[i].readonly) < 0)
          goto fail;
      } else {
        fail(c, f, "unknown key (a mount has source, target and readonly)");
        goto fail;
      }
    }
    if (m[i].source == NULL || m[i].target == NULL) {
      fail(c, e, "a mount needs both source and target");
      goto fail;
    }
    for (size_t j = 0; j < i; j++)
      if (same_path(m[j].target, m[i].target)) {
        fail(c, target_s, "\"%s\" is already the target of an earlier mount", m[i].target);
        goto fail;
      }
  }
  mounts_free(*out, *n_out);
  *out = m;
  *n_out = n;
  return 0;
fail:
  mounts_free(m, n);
  return -1;
}

static int
get_container_key(struct ctx *c, const config_setting_t *s, enum ck id,
                  struct berth_container_conf *conf)
{
  int e;
  int64_t v = 0;

  switch (id) {
  case CK_IMAGE:
    if (get_string(c, s, &conf->image) < 0)
      return -1;
    if (conf->image[0] == '\0' || has_space(conf->image))
      return fail(c, s, "\"%s\" is not an image reference (e.g. \"debian:bookworm\")", conf->image);
    return 0;
  case CK_PULL:
    if (get_enum(c, s, pull_names, &e) < 0)
      return -1;
    conf->pull = (enum berth_pull)e;
    return 0;
  case CK_NAME:
    if (get_string(c, s, &conf->name) < 0 || check_template(c, s, conf->name) < 0)
      return -1;
    /* Without the user in it every user would share one container. */
    if (strstr(conf->name, "%u") == NULL && strstr(conf->name, "%U") == NULL)
      return fail(c, s, "\"%s\" must contain %%u or %%U: each user needs a container of their own",
                  conf->name);
    return 0;
  case CK_HOSTNAME:
    if (get_string(c, s, &conf->hostname) < 0 || check_template(c, s, conf->hostname) < 0)
      return -1;
    if (conf->hostname[0] == '\0')
      return fail(c, s, "must not be empty");
    return 0;
  case CK_KEEPER:
    if (get_strv(c, s, &conf->keeper) < 0)
      return -1;
    if (conf->keeper[0] && conf->keeper[0][0] != '/')
      return fail(
          c, config_setting_get_elem(s, 0),
          "\"%s\": the keeper program must be an absolute path ([] = built-in berth-keeper)",
          conf->keeper[0]);
    return 0;
  case CK_MEMORY:
    return get_size(c, s, &conf->memory);
  case CK_CPUS: {
    double d;
    if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
      d = config_setting_get_float(s);
    else if (config_setting_type(s) == CONFIG_TYPE_INT
             || config_setting_type(s) == CONFIG_TYPE_INT64)
      d = (double)config_setting_get_int64(s);
    else
      return fail_type(c, s, "a number such as 1.5");
    /* The engine takes NanoCpus, an integer: a huge value would not
     * convert, and the engine refuses less than 0.01 CPU. */
    if (!isfinite(d) || d < 0 || d > MAX_CPUS)
      return fail(c, s, "%g is not a CPU count (0 means unlimited, at most %d)", d, MAX_CPUS);
    if (d > 0 && d < 0.01)
      return fail(c, s, "%g is below the smallest CPU limit, 0.01 (0 means unlimited)", d);
    conf->cpus = d;
    return 0;
  }
  case CK_PIDS:
    if (get_int(c, s, &v) < 0)
      return -1;
    if (v < 0)
      return fail(c, s, "%lld is negative (0 means unlimited)", (long long)v);
    conf->pids = v;
    return 0;
  case CK_NETWORK:
    if (get_string(c, s, &conf->network) < 0)
      return -1;
    if (conf->network[0] == '\0' || has_space(conf->network))
      return fail(c, s, "\"%s\" is not a network mode (bridge, none, host or a network name)",
                  conf->network);
    return 0;
  case CK_READONLY_ROOTFS:
    return get_bool(c, s, &conf->readonly_rootfs);
  case CK_TMPFS:
    if (get_strv(c, s, &conf->tmpfs) < 0)
      return -1;
    return check_tmpfs(c, s, conf->tmpfs);
  case CK_NO_NEW_PRIVILEGES:
    return get_bool(c, s, &conf->no_new_privileges);
  case CK_MOUNTS:
    return get_mounts(c, s, &conf->mounts, &conf->n_mounts);
  case CK_ENV:
    if (get_strv(c, s, &conf->env) < 0)
      return -1;
    return check_env(c, s, conf->env);
  case CK_ON_LOGOUT:
    if (get_enum(c, s, logout_names, &e) < 0)
      return -1;
    conf->on_logout = (enum berth_on_logout)e;
    return 0;
  case CK_IDLE_TIMEOUT:
    if (get_int(c, s, &v) < 0)
      return -1;
    if (v < 0)
      return fail(c, s, "%lld is negative (seconds; 0 means never)", (long long)v);
    conf->idle_timeout = v;
    return 0;
  }
  return fail(c, s, "unknown key");
}

static void
override_mark(struct berth_override *o, enum ck id)
{
  switch (id) {
  case CK_IMAGE:
    o->has_image = true;
    break;
  case CK_PULL:
    o->has_pull = true;
    break;
  case CK_KEEPER:
    o->has_keeper = true;
    break;
  case CK_MEMORY:
    o->has_memory = true;
    break;
  case CK_CPUS:
    o->has_cpus = true;
    break;
  case CK_PIDS:
    o->has_pids = true;
    break;
  case CK_NETWORK:
    o->has_network = true;
    break;
  case CK_READONLY_ROOTFS:
    o->has_readonly_rootfs = true;
    break;
  case CK_TMPFS:
    o->has_tmpfs = true;
    break;
  case CK_MOUNTS:
    o->has_mounts = true;
    break;
  case CK_ENV:
    o->has_env = true;
    break;
  case CK_ON_LOGOUT:
    o->has_on_logout = true;
    break;
  case CK_IDLE_TIMEOUT:
    o->has_idle_timeout = true;
    break;
  default:
    break;
  }
}

/* ------------------------------------------------------------------ sections */

static int
load_engine(struct ctx *c, const config_setting_t *s, struct berth_config *cfg)
{
  if (get_group(c, s) < 0)
    return -1;
  for (int i = 0; i < config_setting_length(s); i++) {
    const config_setting_t *f = config_setting_get_elem(s, (unsigned)i);
    const char *name = config_setting_name(f);
    if (strcmp(name, "socket") == 0) {
      if (get_string(c, f, &cfg->engine.socket) < 0 || check_abs_path(c, f, cfg->engine.socket) < 0)
        return -1;
    } else if (strcmp(name, "timeout_ms") == 0) {
      int64_t v = 0;
      if (get_int(c, f, &v) < 0)
        return -1;
      if (v <= 0 || v > INT32_MAX)
        return fail(c, f, "%lld is not a timeout (milliseconds, greater than 0)", (long long)v);
      cfg->engine.timeout_ms = (long)v;
    } else {
      return fail(c, f, "unknown key (engine has socket and timeout_ms)");
    }
  }
  return 0;
}

static int
load_home(struct ctx *c, const config_setting_t *s, struct berth_config *cfg)
{
  if (get_group(c, s) < 0)
    return -1;
  for (int i = 0; i < config_setting_length(s); i++) {
    const config_setting_t *f = config_setting_get_elem(s, (unsigned)i);
    const char *name = config_setting_name(f);
    if (strcmp(name, "mount") == 0) {
      if (get_bool(c, f, &cfg->home.mount) < 0)
        return -1;
    } else if (strcmp(name, "create") == 0) {
      if (get_bool(c, f, &cfg->home.create) < 0)
        return -1;
    } else if (strcmp(name, "skel") == 0) {
      if (get_string(c, f, &cfg->home.skel) < 0)
        return -1;
      /* "" = create homes empty */
      if (cfg->home.skel[0] != '\0' && check_abs_path(c, f, cfg->home.skel) < 0)
        return -1;
    } else if (strcmp(name, "mode") == 0) {
      if (get_mode(c, f, &cfg->home.mode) < 0)
        return -1;
    } else {
      return fail(c, f, "unknown key (home has mount, create, skel and mode)");
    }
  }
  return 0;
}

static int
load_shell(struct ctx *c, const config_setting_t *s, struct berth_config *cfg)
{
  if (get_group(c, s) < 0)
    return -1;
  for (int i = 0; i < config_setting_length(s); i++) {
    const config_setting_t *f = config_setting_get_elem(s, (unsigned)i);
    const char *name = config_setting_name(f);
    char **dst;
    if (strcmp(name, "fallback") == 0)
      dst = &cfg->shell.fallback;
    else if (strcmp(name, "host") == 0)
      dst = &cfg->shell.host;
    else
      return fail(c, f, "unknown key (shell has fallback and host)");
    if (get_string(c, f, dst) < 0 || check_abs_path(c, f, *dst) < 0)
      return -1;
  }
  return 0;
}

static int
load_container(struct ctx *c, const config_setting_t *s, struct berth_config *cfg)
{
  if (get_group(c, s) < 0)
    return -1;
  for (int i = 0; i < config_setting_length(s); i++) {
    const config_setting_t *f = config_setting_get_elem(s, (unsigned)i);
    const struct ckey *k = ckey_find(config_setting_name(f));
    if (k == NULL)
      return fail(c, f, "unknown key");
    if (!k->in_container)
      return fail(c, f, "is a top-level setting, not part of container");
    if (get_container_key(c, f, k->id, &cfg->container) < 0)
      return -1;
  }
  return 0;
}

static int
load_policy(struct ctx *c, const config_setting_t *s, struct berth_config *cfg)
{
  if (get_group(c, s) < 0)
    return -1;
  for (int i = 0; i < config_setting_length(s); i++) {
    const config_setting_t *f = config_setting_get_elem(s, (unsigned)i);
    const char *name = config_setting_name(f);
    char ***dst;
    if (strcmp(name, "only_groups") == 0)
      dst = &cfg->policy.only_groups;
    else if (strcmp(name, "exclude_users") == 0)
      dst = &cfg->policy.exclude_users;
    else if (strcmp(name, "exclude_groups") == 0)
      dst = &cfg->policy.exclude_groups;
    else
      return fail(c, f, "unknown key (policy has only_groups, exclude_users and exclude_groups)");
    if (get_strv(c, f, dst) < 0)
      return -1;
    for (size_t j = 0; (*dst)[j]; j++)
      if ((*dst)[j][0] == '\0')
        return fail(c, config_setting_get_elem(f, (unsigned)j), "empty name");
  }
  return 0;
}

static void
conf_clear(struct berth_container_conf *c)
{
  free(c->image);
  free(c->name);
  free(c->hostname);
  berth_strv_free(c->keeper);
  free(c->network);
  berth_strv_free(c->tmpfs);
  mounts_free(c->mounts, c->n_mounts);
  berth_strv_free(c->env);
  memset(c, 0, sizeof(*c));
}

static void
overrides_free(struct berth_override *o, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(o[i].match);
    conf_clear(&o[i].c);
  }
  free(o);
}

/* `groups` (match_key "group") and `users` (match_key "user"). */
static int
load_overrides(struct ctx *c, const config_setting_t *s, const char *match_key,
               const char *other_key, struct berth_override **out, size_t *n_out)
{
  struct berth_override *o;
  size_t n;

  if (!config_setting_is_list(s) && !(config_setting_is_array(s) && config_setting_length(s) == 0))
    return fail_type(c, s, "a list of entries ( { ... }, ... )");
  n = (size_t)config_setting_length(s);
  o = berth_malloc0(n * sizeof(*o), c->err);
  if (o == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    const config_setting_t *match_s = NULL;

    if (get_group(c, e) < 0)
      goto fail;
    o[i].line = (int)config_setting_source_line(e);
    for (int k = 0; k < config_setting_length(e); k++) {
      const config_setting_t *f = config_setting_get_elem(e, (unsigned)k);
      const char *name = config_setting_name(f);
      const struct ckey *ck;

      if (strcmp(name, match_key) == 0) {
        if (get_string(c, f, &o[i].match) < 0)
          goto fail;
        if (o[i].match[0] == '\0') {
          fail(c, f, "empty name");
          goto fail;
        }
        match_s = f;
        continue;
      }
      if (strcmp(name, other_key) == 0) {
        fail(c, f,
             "unknown key (entries of %s match by \"%s\"; use %ss = ( ... ) for per-%s settings)",
             config_setting_name(s), match_key, other_key, other_key);
        goto fail;
      }
      ck = ckey_find(name);
      if (ck == NULL) {
        fail(c, f, "unknown key");
        goto fail;
      }
      if (!ck->overridable) {
        fail(c, f, "cannot be overridden per %s, only set in container", match_key);
        goto fail;
      }
      if (get_container_key(c, f, ck->id, &o[i].c) < 0)
        goto fail;
      override_mark(&o[i], ck->id);
    }
    if (match_s == NULL) {
      fail(c, e, "entry has no \"%s\" key saying which %s it applies to", match_key, match_key);
      goto fail;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(o[j].match, o[i].match) == 0) {
        fail(c, match_s, "duplicate entry for %s \"%s\" (first at line %d)", match_key, o[i].match,
             o[j].line);
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
load_root(struct ctx *c, const config_setting_t *root, struct berth_config *cfg)
{
  for (int i = 0; i < config_setting_length(root); i++) {
    const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
    const char *name = config_setting_name(s);
    const struct ckey *ck;
    int r, e;

    if (strcmp(name, "engine") == 0)
      r = load_engine(c, s, cfg);
    else if (strcmp(name, "image") == 0)
      r = get_container_key(c, s, CK_IMAGE, &cfg->container);
    else if (strcmp(name, "pull") == 0)
      r = get_container_key(c, s, CK_PULL, &cfg->container);
    else if (strcmp(name, "entry") == 0) {
      r = get_enum(c, s, entry_names, &e);
      /* Join mode is part of the contract but not built yet: refusing it
       * here (and in `berthctl check`) beats silently running exec mode. */
      if (r == 0 && e == BERTH_ENTRY_JOIN)
        r = fail(c, s, "\"join\" is not available in this version of berth; use \"exec\"");
      cfg->entry = r < 0 ? cfg->entry : (enum berth_entry)e;
    } else if (strcmp(name, "debug") == 0)
      r = get_bool(c, s, &cfg->debug);
    else if (strcmp(name, "home") == 0)
      r = load_home(c, s, cfg);
    else if (strcmp(name, "shell") == 0)
      r = load_shell(c, s, cfg);
    else if (strcmp(name, "container") == 0)
      r = load_container(c, s, cfg);
    else if (strcmp(name, "policy") == 0)
      r = load_policy(c, s, cfg);
    else if (strcmp(name, "groups") == 0)
      r = load_overrides(c, s, "group", "user", &cfg->groups, &cfg->n_groups);
    else if (strcmp(name, "users") == 0)
      r = load_overrides(c, s, "user", "group", &cfg->users, &cfg->n_users);
    else if ((ck = ckey_find(name)) != NULL && ck->in_container)
      r = fail(c, s, "unknown key (did you mean container.%s?)", name);
    else
      r = fail(c, s, "unknown key");
    if (r < 0)
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ whole-config checks */

/* A set of paths (compared as same_path does: trailing slashes do not
 * count), each with the index of the first override that brought it: sorted
 * once, then searched, so that checking every combination of group and user
 * override costs n log n instead of groups x users x tmpfs x mounts (a
 * config of 600 groups and 600 users took seconds at every login). */
struct path_ref {
  const char *p;
  size_t len;
  size_t owner;
};
struct path_set {
  struct path_ref *v;
  size_t n, cap;
};

static size_t
path_key_len(const char *p, size_t n)
{
  while (n > 1 && p[n - 1] == '/')
    n--;
  return n;
}

static int
path_ref_cmp(const void *a, const void *b)
{
  const struct path_ref *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int r = memcmp(x->p, y->p, n);
  if (r != 0)
    return r;
  if (x->len != y->len)
    return x->len < y->len ? -1 : 1;
  return x->owner < y->owner ? -1 : x->owner > y->owner;
}

static int
path_set_add(struct path_set *set, const char *p, size_t n, size_t owner, berth_error_t *err)
{
  if (set->n == set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 64;
    struct path_ref *v = realloc(set->v, cap * sizeof(*v));
    if (v == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    set->v = v;
    set->cap = cap;
  }
  set->v[set->n++] = (struct path_ref){ p, path_key_len(p, n), owner };
  return 0;
}

static void
path_set_sort(struct path_set *set)
{
  if (set->n > 1)
    qsort(set->v, set->n, sizeof(*set->v), path_ref_cmp);
}

/* The first owner of path p[0..n) in a sorted set; false when absent. */
static bool
path_set_find(const struct path_set *set, const char *p, size_t n, size_t *owner)
{
  struct path_ref key = { p, path_key_len(p, n), 0 };
  size_t lo = 0, hi = set->n;

  /* lower bound: owner 0 sorts before every entry of the same path */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (path_ref_cmp(&set->v[mid], &key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == set->n || set->v[lo].len != key.len || memcmp(set->v[lo].p, p, key.len) != 0)
    return false;
  *owner = set->v[lo].owner;
  return true;
}

static int
add_mounts(struct path_set *set, const struct berth_container_conf *c, size_t owner,
           berth_error_t *err)
{
  for (size_t i = 0; i < c->n_mounts; i++)
    if (path_set_add(set, c->mounts[i].target, strlen(c->mounts[i].target), owner, err) < 0)
      return -1;
  return 0;
}

static int
add_tmpfs(struct path_set *set, char *const *tmpfs, size_t owner, berth_error_t *err)
{
  for (size_t t = 0; tmpfs && tmpfs[t]; t++)
    if (path_set_add(set, tmpfs[t], tmpfs_path_len(tmpfs[t]), owner, err) < 0)
      return -1;
  return 0;
}

/* The first tmpfs of `tmpfs` that is also a target in `mounts`, or NULL. */
static const char *
tmpfs_in(char *const *tmpfs, const struct path_set *mounts, size_t *len, size_t *owner)
{
  for (size_t t = 0; tmpfs && tmpfs[t]; t++) {
    *len = tmpfs_path_len(tmpfs[t]);
    if (path_set_find(mounts, tmpfs[t], *len, owner))
      return tmpfs[t];
  }
  return NULL;
}

static int
conflict(struct ctx *c, config_t *lc, const char *list, size_t idx, const char *path, size_t len,
         const struct berth_override *g)
{
  const config_setting_t *blame = config_lookup(lc, list);

  if (blame && strcmp(list, "container") != 0)
    blame = config_setting_get_elem(blame, (unsigned)idx);
  if (blame == NULL)
    blame = config_lookup(lc, "container") ? config_lookup(lc, "container") : config_root_setting(lc);
  if (g)
    return fail(c, blame, "%.*s is both a mount target and a tmpfs for members of group \"%s\"",
                (int)len, path, g->match);
  return fail(c, blame, "%.*s is both a mount target and a tmpfs", (int)len, path);
}

/* The engine refuses a container whose tmpfs and mounts share a path.  Each
 * combination of group and user override (or none) yields one effective set:
 * tmpfs from the user, else the group, else `container`; mounts from all
 * three.  Check them all now rather than at some user's login, as:
 * container alone; each group with container; each user with container;
 * then what only a pair of a group and a user can bring together (a user's
 * own tmpfs over any group's mounts, a user's mounts under any group's
 * effective tmpfs). */
static int
check_mount_tmpfs_conflicts(struct ctx *c, const struct berth_config *cfg, config_t *lc)
{
  const struct berth_container_conf *top = &cfg->container;
  struct path_set m0 = { 0 }, own = { 0 }, group_mounts = { 0 }, group_tmpfs = { 0 };
  const char *hit;
  size_t len, owner;
  bool t0_added = false;
  int ret = -1;

  if (add_mounts(&m0, top, 0, c->err) < 0)
    goto out;
  path_set_sort(&m0);
  if ((hit = tmpfs_in(top->tmpfs, &m0, &len, &owner)) != NULL) {
    conflict(c, lc, "container", 0, hit, len, NULL);
    goto out;
  }
  /* each override with `container`, and the sets for the pairs */
  for (int pass = 0; pass < 2; pass++) {
    size_t n = pass == 0 ? cfg->n_groups : cfg->n_users;
    const struct berth_override *o = pass == 0 ? cfg->groups : cfg->users;
    for (size_t i = 0; i < n; i++) {
      char *const *tmpfs = o[i].has_tmpfs ? o[i].c.tmpfs : top->tmpfs;
      own.n = 0;
      if (add_mounts(&own, &o[i].c, 0, c->err) < 0)
        goto out;
      path_set_sort(&own);
      /* `container`'s tmpfs against its mounts was checked above */
      if ((hit = tmpfs_in(tmpfs, &own, &len, &owner)) != NULL ||
          (o[i].has_tmpfs && (hit = tmpfs_in(tmpfs, &m0, &len, &owner)) != NULL)) {
        conflict(c, lc, pass == 0 ? "groups" : "users", i, hit, len, NULL);
        goto out;
      }
      if (pass == 1)
        continue;
      if (add_mounts(&group_mounts, &o[i].c, i, c->err) < 0)
        goto out;
      if (o[i].has_tmpfs || !t0_added) {
        if (add_tmpfs(&group_tmpfs, tmpfs, i, c->err) < 0)
          goto out;
        t0_added |= !o[i].has_tmpfs;
      }
    }
  }
  path_set_sort(&group_mounts);
  path_set_sort(&group_tmpfs);
  for (size_t i = 0; i < cfg->n_users; i++) {
    const struct berth_override *u = &cfg->users[i];
    if (u->has_tmpfs) {
      if ((hit = tmpfs_in(u->c.tmpfs, &group_mounts, &len, &owner)) != NULL) {
        conflict(c, lc, "users", i, hit, len, &cfg->groups[owner]);
        goto out;
      }
      continue;
    }
    for (size_t k = 0; k < u->c.n_mounts; k++) {
      const char *t = u->c.mounts[k].target;
      if (path_set_find(&group_tmpfs, t, strlen(t), &owner)) {
        conflict(c, lc, "users", i, t, path_key_len(t, strlen(t)), &cfg->groups[owner]);
        goto out;
      }
    }
  }
  ret = 0;
out:
  free(m0.v);
  free(own.v);
  free(group_mounts.v);
  free(group_tmpfs.v);
  return ret;
}

/* A tmpfs is memory charged to the container: filled to the memory limit it
 * cannot be reclaimed, so every later process (each login, each exec) is
 * OOM-killed at once.  Under a memory limit every tmpfs needs its own size
 * (without one the kernel allows half of the host's RAM) and together they
 * may take at most TMPFS_SHARE_NUM/TMPFS_SHARE_DEN of the limit, leaving
 * the rest to processes.  The engine's own /dev/shm (64 MiB by default) is
 * not counted: entry recovers from that (docs/security.md "Faults"). */
#define TMPFS_SHARE_NUM 3
#define TMPFS_SHARE_DEN 4

/* The size= option of a tmpfs entry: 1 with *size, 0 when it has none, -1
 * when it is not a plain size (a percentage, a typo). */
static int
tmpfs_size(const char *t, int64_t *size)
{
  const char *o = strchr(t, ':');
  while (o != NULL) {
    o++;
    size_t n = strcspn(o, ",");
    if (n > 5 && strncmp(o, "size=", 5) == 0) {
      char v[32];
      if (n - 5 >= sizeof(v))
        return -1;
      memcpy(v, o + 5, n - 5);
      v[n - 5] = '\0';
      return berth_parse_size(v, size) < 0 ? -1 : 1;
    }
    o = o[n] == ',' ? o + n : NULL;
  }
  return 0;
}

/* One effective (memory, tmpfs) pair.  blame: where the pair comes from;
 * group: the group override the pair owes part of itself to, for the text. */
static int
check_tmpfs_fits(struct ctx *c, const config_setting_t *blame, const char *group,
                 int64_t memory, char *const *tmpfs)
{
  char who[300] = "";
  int64_t sum = 0, size;

  if (memory <= 0)
    return 0;
  if (group)
    snprintf(who, sizeof(who), " for members of group \"%s\"", group);
  for (size_t i = 0; tmpfs && tmpfs[i]; i++) {
    int r = tmpfs_size(tmpfs[i], &size);
    if (r <= 0)
      return fail(c, blame,
                  "tmpfs \"%s\"%s needs a size such as size=64m under the memory limit of "
                  "%lld bytes (a tmpfs is memory; filled, it leaves none for logins)",
                  tmpfs[i], who, (long long)memory);
    if (size > INT64_MAX - sum)
      size = INT64_MAX - sum;
    sum += size;
  }
  if (sum > memory / TMPFS_SHARE_DEN * TMPFS_SHARE_NUM)
    return fail(c, blame,
                "the tmpfs sizes (%lld bytes together)%s exceed three quarters of the memory "
                "limit of %lld bytes: filled, they would leave too little memory for logins",
                (long long)sum, who, (long long)memory);
  return 0;
}

static const config_setting_t *
override_setting(config_t *lc, const char *list, size_t i)
{
  const config_setting_t *s = config_lookup(lc, list);
  if (s)
    s = config_setting_get_elem(s, (unsigned)i);
  return s ? s : config_root_setting(lc);
}

/* Every effective pair a user can get, in linear time: the global one, each
 * group's, and each user override against the strictest partner it can meet
 * (the largest tmpfs set, or the smallest memory limit, of the global
 * settings and every group). */
static int
check_tmpfs_memory(struct ctx *c, const struct berth_config *cfg, config_t *lc)
{
  const struct berth_container_conf *g0 = &cfg->container;
  const config_setting_t *blame = config_lookup(lc, "container.tmpfs");
  char *const *worst_tmpfs = g0->tmpfs;
  const char *worst_tmpfs_group = NULL, *least_memory_group = NULL;
  int64_t worst_sum = -1, least_memory = g0->memory;

  if (blame == NULL)
    blame = config_lookup(lc, "container.memory");
  if (blame == NULL)
    blame = config_root_setting(lc);
  if (check_tmpfs_fits(c, blame, NULL, g0->memory, g0->tmpfs) < 0)
    return -1;
  for (size_t gi = 0; gi < cfg->n_groups; gi++) {
    const struct berth_override *g = &cfg->groups[gi];
    char *const *tmpfs = g->has_tmpfs ? g->c.tmpfs : g0->tmpfs;
    int64_t memory = g->has_memory ? g->c.memory : g0->memory;
    if ((g->has_tmpfs || g->has_memory)
        && check_tmpfs_fits(c, override_setting(lc, "groups", gi), NULL, memory, tmpfs) < 0)
      return -1;
    if (g->has_memory && g->c.memory > 0 && (least_memory <= 0 || g->c.memory < least_memory)) {
      least_memory = g->c.memory;
      least_memory_group = g->match;
    }
  }
  /* the largest tmpfs set, a sizeless one counting as the largest */
  for (size_t gi = 0; gi <= cfg->n_groups; gi++) {
    const struct berth_override *g = gi < cfg->n_groups ? &cfg->groups[gi] : NULL;
    char *const *tmpfs = g ? g->c.tmpfs : g0->tmpfs;
    int64_t sum = 0, size;
    if (g && !g->has_tmpfs)
      continue;
    for (size_t i = 0; tmpfs && tmpfs[i]; i++)
      sum = tmpfs_size(tmpfs[i], &size) <= 0 || size > INT64_MAX - sum ? INT64_MAX : sum + size;
    if (sum > worst_sum) {
      worst_sum = sum;
      worst_tmpfs = tmpfs;
      worst_tmpfs_group = g ? g->match : NULL;
    }
  }
  for (size_t ui = 0; ui < cfg->n_users; ui++) {
    const struct berth_override *u = &cfg->users[ui];
    const config_setting_t *s = override_setting(lc, "users", ui);
    int r = 0;
    if (u->has_tmpfs && u->has_memory)
      r = check_tmpfs_fits(c, s, NULL, u->c.memory, u->c.tmpfs);
    else if (u->has_memory)
      r = check_tmpfs_fits(c, s, worst_tmpfs_group, u->c.memory, worst_tmpfs);
    else if (u->has_tmpfs)
      r = check_tmpfs_fits(c, s, least_memory_group, least_memory, u->c.tmpfs);
    if (r < 0)
      return -1;
  }
  return 0;
}

static int
validate(struct ctx *c, const struct berth_config *cfg, config_t *lc)
{
  if (check_mount_tmpfs_conflicts(c, cfg, lc) < 0)
    return -1;
  return check_tmpfs_memory(c, cfg, lc);
}

/* A config anyone but root can write decides who gets a host shell.  Its
 * owner can always write it, so the owner must be root, or whoever runs
 * this (berthctl by an admin, unit tests). */
static int
check_file_mode(struct ctx *c, const char *path, const struct stat *st)
{
  if (!S_ISREG(st->st_mode))
    return berth_error_make(c->err, BERTH_E_CONFIG, EINVAL, "%s: not a regular file", path);
  if (st->st_uid != 0 && st->st_uid != geteuid())
    return berth_error_make(c->err, BERTH_E_CONFIG, EPERM,
                            "%s: refusing a configuration owned by uid %u (it must belong to "
                            "root); run chown root %s",
                            path, (unsigned)st->st_uid, path);
  if (st->st_mode & (S_IWGRP | S_IWOTH))
    return berth_error_make(c->err, BERTH_E_CONFIG, EPERM,
                            "%s: refusing a configuration writable by group or others (mode %04o); "
                            "run chmod go-w %s",
                            path, (unsigned)(st->st_mode & 07777), path);
  return 0;
}

/* libconfig 1.5 opens @include files itself, by name, and offers no hook.
 * So the file is opened again here, without following a link, and checked
 * on that fd; its directory must be writable only by its owner (root or
 * us), so that nobody else can have swapped the name between libconfig's
 * open and this one. */
static int
check_include(struct ctx *c, const char *full)
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
                            full, dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
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
      || (cfg->policy.exclude_users = berth_strv_dup((char *const *)exclude_users, err)) == NULL
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
  struct ctx c = { path, NULL, err };
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
      || load_root(&c, config_root_setting(lc), cfg) < 0 || validate(&c, cfg, lc) < 0) {
    berth_config_free(cfg);
    return -1;
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
  free(cfg->engine.socket);
  free(cfg->home.skel);
  free(cfg->shell.fallback);
  free(cfg->shell.host);
  conf_clear(&cfg->container);
  berth_strv_free(cfg->policy.only_groups);
  berth_strv_free(cfg->policy.exclude_users);
  berth_strv_free(cfg->policy.exclude_groups);
  overrides_free(cfg->groups, cfg->n_groups);
  overrides_free(cfg->users, cfg->n_users);
  free(cfg);
}

const char *
berth_policy_name(enum berth_policy p)
{
  switch (p) {
  case BERTH_POLICY_BERTHED: return "berthed";
  case BERTH_POLICY_EXCLUDED: return "excluded";
  case BERTH_POLICY_DENIED: return "denied";
  }
  return "denied";
}

/* Keep the first reason membership could not be read, drop the rest. */
static void
keep_first(berth_error_t *first, berth_error_t *e, const char *key)
{
  if (*first == NULL) {
    berth_error_wrap(e, "%s", key);
    *first = *e;
    *e = NULL;
  }
  berth_error_release(e);
}

static enum berth_policy
denied(berth_error_t *first, berth_error_t *err, const char **why, const char *reason)
{
  *why = reason;
  (*first)->kind = BERTH_E_POLICY;
  if (err != NULL)
    *err = *first;
  else
    berth_error_release(first);
  *first = NULL;
  return BERTH_POLICY_DENIED;
}

enum berth_policy
berth_config_policy(const struct berth_config *cfg, const struct berth_user *u, const char **why,
                    berth_error_t *err)
{
  berth_error_t unread = NULL;
  const char *dummy;

  if (why == NULL)
    why = &dummy;
  /* Fail closed: with nothing to decide on, nobody gets a host shell. */
  if (cfg == NULL || u == NULL) {
    *why = "no configuration or user to decide on";
    return BERTH_POLICY_BERTHED;
  }
  if (u->uid == 0) {
    *why = "uid 0 is never berthed";
    return BERTH_POLICY_EXCLUDED;
  }
  if (u->name && berth_strv_contains(cfg->policy.exclude_users, u->name)) {
    *why = "user is listed in policy.exclude_users";
    return BERTH_POLICY_EXCLUDED;
  }
  /* One group found with the user in it excludes, whatever the others say;
   * one that cannot be read might have, so nothing else decides. */
  for (size_t i = 0; cfg->policy.exclude_groups && cfg->policy.exclude_groups[i]; i++) {
    berth_error_t e = NULL;
    int r = berth_user_member_of(u, cfg->policy.exclude_groups[i], &e);
    if (r == 1) {
      berth_error_release(&unread);
      *why = "user is in a group listed in policy.exclude_groups";
      return BERTH_POLICY_EXCLUDED;
    }
    if (r < 0)
      keep_first(&unread, &e, "policy.exclude_groups");
  }
  if (unread != NULL)
    return denied(&unread, err, why, "a group in policy.exclude_groups could not be read");
  if (berth_strv_len(cfg->policy.only_groups) == 0) {
    *why = "no policy rule excludes the user";
    return BERTH_POLICY_BERTHED;
  }
  for (size_t i = 0; cfg->policy.only_groups[i]; i++) {
    berth_error_t e = NULL;
    int r = berth_user_member_of(u, cfg->policy.only_groups[i], &e);
    if (r == 1) {
      berth_error_release(&unread);
      *why = "user is in a group listed in policy.only_groups";
      return BERTH_POLICY_BERTHED;
    }
    if (r < 0)
      keep_first(&unread, &e, "policy.only_groups");
  }
  if (unread != NULL)
    return denied(&unread, err, why, "a group in policy.only_groups could not be read");
  /* "Not a member" is the one conclusion drawn from absence: a gid without
   * a group entry says NSS did not answer everything. */
  for (size_t i = 0; i < u->n_groups; i++)
    if (u->groups[i].name == NULL) {
      berth_error_make(&unread, BERTH_E_USER, ENOENT,
                       "policy.only_groups: gid %u of user %s has no group entry (no such "
                       "group, or its source is unreachable)",
                       (unsigned)u->groups[i].gid, u->name);
      return denied(&unread, err, why, "a group of the user could not be read");
    }
  *why = "user is in none of the groups in policy.only_groups";
  return BERTH_POLICY_EXCLUDED;
}

static int
mounts_copy(struct berth_mount **out, size_t *n_out, const struct berth_mount *m, size_t n,
            berth_error_t *err)
{
  struct berth_mount *c = berth_malloc0(n * sizeof(*c), err);
  if (c == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    c[i].readonly = m[i].readonly;
    if ((c[i].source = berth_strdup(m[i].source, err)) == NULL
        || (c[i].target = berth_strdup(m[i].target, err)) == NULL) {
      mounts_free(c, n);
      return -1;
    }
  }
  *out = c;
  *n_out = n;
  return 0;
}

static int
conf_copy(struct berth_container_conf *dst, const struct berth_container_conf *src,
          berth_error_t *err)
{
  *dst = *src;
  dst->image = dst->name = dst->hostname = dst->network = NULL;
  dst->keeper = dst->tmpfs = dst->env = NULL;
  dst->mounts = NULL;
  dst->n_mounts = 0;
  if ((dst->image = berth_strdup(src->image, err)) == NULL
      || (dst->name = berth_strdup(src->name, err)) == NULL
      || (dst->hostname = berth_strdup(src->hostname, err)) == NULL
      || (dst->network = berth_strdup(src->network, err)) == NULL
      || (dst->keeper = berth_strv_dup(src->keeper, err)) == NULL
      || (dst->tmpfs = berth_strv_dup(src->tmpfs, err)) == NULL
      || (dst->env = berth_strv_dup(src->env, err)) == NULL
      || mounts_copy(&dst->mounts, &dst->n_mounts, src->mounts, src->n_mounts, err) < 0)
    return -1;
  return 0;
}

static int
replace_str(char **dst, const char *src, berth_error_t *err)
{
  char *v = berth_strdup(src, err);
  if (v == NULL)
    return -1;
  free(*dst);
  *dst = v;
  return 0;
}

static int
replace_strv(char ***dst, char *const *src, berth_error_t *err)
{
  char **v = berth_strv_dup(src, err);
  if (v == NULL)
    return -1;
  berth_strv_free(*dst);
  *dst = v;
  return 0;
}

/* An override's variables replace inherited ones of the same name. */
static int
merge_env(char ***dst, char *const *add, berth_error_t *err)
{
  for (size_t i = 0; add && add[i]; i++) {
    size_t klen = env_key_len(add[i]), n = berth_strv_len(*dst), j;
    char *v = berth_strdup(add[i], err);
    char **nv;

    if (v == NULL)
      return -1;
    for (j = 0; j < n; j++)
      if (env_key_len((*dst)[j]) == klen && strncmp((*dst)[j], add[i], klen) == 0)
        break;
    if (j < n) {
      free((*dst)[j]);
      (*dst)[j] = v;
      continue;
    }
    nv = realloc(*dst, (n + 2) * sizeof(char *));
    if (nv == NULL) {
      free(v);
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    }
    nv[n] = v;
    nv[n + 1] = NULL;
    *dst = nv;
  }
  return 0;
}

/* An override's mounts are added; one with an inherited target replaces it. */
static int
merge_mounts(struct berth_container_conf *dst, const struct berth_mount *add, size_t n_add,
             berth_error_t *err)
{
  for (size_t i = 0; i < n_add; i++) {
    struct berth_mount m = { NULL, NULL, add[i].readonly };
    size_t j;

    if ((m.source = berth_strdup(add[i].source, err)) == NULL
        || (m.target = berth_strdup(add[i].target, err)) == NULL) {
      free(m.source);
      return -1;
    }
    for (j = 0; j < dst->n_mounts; j++)
      if (same_path(dst->mounts[j].target, m.target))
        break;
    if (j == dst->n_mounts) {
      struct berth_mount *nm = realloc(dst->mounts, (dst->n_mounts + 1) * sizeof(*nm));
      if (nm == NULL) {
        free(m.source);
        free(m.target);
        return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      }
      dst->mounts = nm;
      dst->n_mounts++;
    } else {
      free(dst->mounts[j].source);
      free(dst->mounts[j].target);
    }
    dst->mounts[j] = m;
  }
  return 0;
}

static int
apply_override(struct berth_container_conf *c, const struct berth_override *o, berth_error_t *err)
{
  if (o->has_image && replace_str(&c->image, o->c.image, err) < 0)
    return -1;
  if (o->has_pull)
    c->pull = o->c.pull;
  if (o->has_keeper && replace_strv(&c->keeper, o->c.keeper, err) < 0)
    return -1;
  if (o->has_memory)
    c->memory = o->c.memory;
  if (o->has_cpus)
    c->cpus = o->c.cpus;
  if (o->has_pids)
    c->pids = o->c.pids;
  if (o->has_network && replace_str(&c->network, o->c.network, err) < 0)
    return -1;
  if (o->has_readonly_rootfs)
    c->readonly_rootfs = o->c.readonly_rootfs;
  if (o->has_tmpfs && replace_strv(&c->tmpfs, o->c.tmpfs, err) < 0)
    return -1;
  if (o->has_mounts && merge_mounts(c, o->c.mounts, o->c.n_mounts, err) < 0)
    return -1;
  if (o->has_env && merge_env(&c->env, o->c.env, err) < 0)
    return -1;
  if (o->has_on_logout)
    c->on_logout = o->c.on_logout;
  if (o->has_idle_timeout)
    c->idle_timeout = o->c.idle_timeout;
  return 0;
}

int
berth_config_resolve(const struct berth_config *cfg, const struct berth_user *u,
                     struct berth_container_conf **out, berth_error_t *err)
{
  struct berth_container_conf *c = berth_malloc0(sizeof(*c), err);

  if (c == NULL)
    return -1;
  if (conf_copy(c, &cfg->container, err) < 0)
    goto fail;
  for (size_t i = 0; i < cfg->n_groups; i++)
    if (berth_user_in_group(u, cfg->groups[i].match)) {
      if (apply_override(c, &cfg->groups[i], err) < 0)
        goto fail;
      break;
    }
  for (size_t i = 0; u->name && i < cfg->n_users; i++)
    if (strcmp(u->name, cfg->users[i].match) == 0) {
      if (apply_override(c, &cfg->users[i], err) < 0)
        goto fail;
      break;
    }
  *out = c;
  return 0;
fail:
  berth_container_conf_free(c);
  return -1;
}

void
berth_container_conf_free(struct berth_container_conf *c)
{
  if (c == NULL)
    return;
  conf_clear(c);
  free(c);
}
