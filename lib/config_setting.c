/* config_setting.c - reading one libconfig setting as a typed value, and the
 * "FILE:LINE: KEY: problem" error every config message goes through. */
#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/util.h"
#include "config-internal.h"

/* Docker refuses memory limits below 6 MiB ("Minimum memory limit allowed is
 * 6MB"); checking here turns a login-time engine error into a config error. */
#define MIN_MEMORY (6LL * 1024 * 1024)

/* ------------------------------------------------------------------ errors */

static void
src_file(const struct cfg_ctx *c, const config_setting_t *s, char *buf, size_t n)
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
int __attribute__((format(printf, 3, 4)))
cfg_fail(struct cfg_ctx *c, const config_setting_t *s, const char *fmt, ...)
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
  case CONFIG_TYPE_GROUP: return "a group { ... }";
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_INT64: return "an integer";
  case CONFIG_TYPE_FLOAT: return "a decimal number";
  case CONFIG_TYPE_STRING: return "a string";
  case CONFIG_TYPE_BOOL: return "true/false";
  case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
  case CONFIG_TYPE_LIST: return "a list ( ... )";
  default: return "nothing";
  }
}

int
cfg_fail_type(struct cfg_ctx *c, const config_setting_t *s, const char *expected)
{
  return cfg_fail(c, s, "expected %s, found %s", expected, type_name(s));
}

/* ------------------------------------------------------------------ typed getters */

int
cfg_get_group(struct cfg_ctx *c, const config_setting_t *s)
{
  if (!config_setting_is_group(s))
    return cfg_fail_type(c, s, "a group { ... }");
  return 0;
}

int
cfg_each_key(struct cfg_ctx *c, const config_setting_t *s, cfg_key_fn fn, void *data)
{
  if (cfg_get_group(c, s) < 0)
    return -1;
  for (int i = 0; i < config_setting_length(s); i++) {
    const config_setting_t *f = config_setting_get_elem(s, (unsigned) i);
    if (fn(c, f, config_setting_name(f), data) < 0)
      return -1;
  }
  return 0;
}

int
cfg_get_list(struct cfg_ctx *c, const config_setting_t *s, const char *expected)
{
  if (!config_setting_is_list(s) && !(config_setting_is_array(s) && config_setting_length(s) == 0))
    return cfg_fail_type(c, s, expected);
  return config_setting_length(s);
}

int
cfg_get_string(struct cfg_ctx *c, const config_setting_t *s, char **out)
{
  char *v;

  if (config_setting_type(s) != CONFIG_TYPE_STRING)
    return cfg_fail_type(c, s, "a string");
  v = berth_strdup(config_setting_get_string(s), c->err);
  if (v == NULL)
    return -1;
  free(*out);
  *out = v;
  return 0;
}

int
cfg_get_bool(struct cfg_ctx *c, const config_setting_t *s, bool *out)
{
  if (config_setting_type(s) != CONFIG_TYPE_BOOL)
    return cfg_fail_type(c, s, "true or false");
  *out = config_setting_get_bool(s) != 0;
  return 0;
}

int
cfg_get_int(struct cfg_ctx *c, const config_setting_t *s, int64_t *out)
{
  if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
    return cfg_fail_type(c, s, "an integer");
  *out = config_setting_get_int64(s);
  return 0;
}

/* Lists of strings may be written as arrays [ ... ] or lists ( ... ). */
int
cfg_get_strv(struct cfg_ctx *c, const config_setting_t *s, char ***out)
{
  cleanup_strv char **v = NULL;
  int n;

  if (!config_setting_is_array(s) && !config_setting_is_list(s))
    return cfg_fail_type(c, s, "a list of strings [ \"...\", ... ]");
  n = config_setting_length(s);
  v = berth_malloc0(((size_t) n + 1) * sizeof(char *), c->err);
  if (v == NULL)
    return -1;
  for (int i = 0; i < n; i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned) i);
    if (cfg_get_string(c, e, &v[i]) < 0)
      return -1;
  }
  berth_strv_free(*out);
  *out = steal_pointer(&v);
  return 0;
}

int
cfg_get_strv_ruled(struct cfg_ctx *c, const config_setting_t *s, char ***out, cfg_str_rule rule)
{
  if (cfg_get_strv(c, s, out) < 0)
    return -1;
  for (size_t i = 0; (*out)[i]; i++)
    if (rule(c, config_setting_get_elem(s, (unsigned) i), *out, i) < 0)
      return -1;
  return 0;
}

int
cfg_get_enum(struct cfg_ctx *c, const config_setting_t *s, const char *const *names, int *out)
{
  const char *v;
  char allowed[128] = "";

  if (config_setting_type(s) != CONFIG_TYPE_STRING)
    return cfg_fail_type(c, s, "a string");
  v = config_setting_get_string(s);
  for (int i = 0; names[i]; i++) {
    if (strcmp(v, names[i]) == 0) {
      *out = i;
      return 0;
    }
    snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s%s", i ? ", " : "",
             names[i]);
  }
  return cfg_fail(c, s, "\"%s\" is not one of: %s", v, allowed);
}

/* memory: "2g" or an integer number of bytes. */
int
cfg_get_size(struct cfg_ctx *c, const config_setting_t *s, int64_t *out)
{
  int64_t v = 0;

  if (config_setting_type(s) == CONFIG_TYPE_STRING) {
    const char *str = config_setting_get_string(s);
    if (berth_parse_size(str, &v) < 0)
      return cfg_fail(
          c, s, "\"%s\" is not a size (bytes, or a number with a k, m or g suffix, e.g. \"2g\")",
          str);
  } else if (config_setting_type(s) == CONFIG_TYPE_INT
             || config_setting_type(s) == CONFIG_TYPE_INT64) {
    v = config_setting_get_int64(s);
    if (v < 0)
      return cfg_fail(c, s, "%lld is negative (0 means unlimited)", (long long) v);
  } else {
    return cfg_fail_type(c, s, "a size such as \"2g\" or a number of bytes");
  }
  if (v != 0 && v < MIN_MEMORY)
    return cfg_fail(c, s, "%lld bytes is below the engine's minimum of 6m (0 means unlimited)",
                    (long long) v);
  *out = v;
  return 0;
}

/* home.mode.  libconfig 1.5 reads 0700 as decimal 700 (it has no octal
 * literals), so a decimal integer is read digit by digit as octal, like
 * chmod; hex (0x1C0) and strings ("0700") are taken as written. */
int
cfg_get_mode(struct cfg_ctx *c, const config_setting_t *s, mode_t *out)
{
  long long v;

  if (config_setting_type(s) == CONFIG_TYPE_STRING) {
    const char *str = config_setting_get_string(s);
    char *end = NULL;
    if (str[0] < '0' || str[0] > '7')
      return cfg_fail(c, s, "\"%s\" is not an octal mode such as 0700", str);
    errno = 0;
    v = strtoll(str, &end, 8);
    if (errno != 0 || *end != '\0')
      return cfg_fail(c, s, "\"%s\" is not an octal mode such as 0700", str);
  } else if (config_setting_type(s) == CONFIG_TYPE_INT
             || config_setting_type(s) == CONFIG_TYPE_INT64) {
    long long raw = config_setting_get_int64(s);
    if (config_setting_get_format(s) == CONFIG_FORMAT_HEX) {
      v = raw;
    } else {
      long long mul = 1;
      if (raw < 0)
        return cfg_fail(c, s, "%lld is not an octal mode such as 0700", raw);
      v = 0;
      for (long long d = raw; d > 0; d /= 10, mul *= 8) {
        if (d % 10 > 7 || mul > 010000)
          return cfg_fail(c, s, "%lld is not an octal mode such as 0700", raw);
        v += (d % 10) * mul;
      }
    }
  } else {
    return cfg_fail_type(c, s, "an octal mode such as 0700");
  }
  if (v < 0 || v > 07777)
    return cfg_fail(c, s, "0%llo is not a permission mode (at most 07777)", v);
  if (v & 022)
    return cfg_fail(c, s, "0%04llo would make homes writable by group or others", v);
  if ((v & 0700) != 0700)
    return cfg_fail(c, s, "0%04llo does not give the owner rwx on the home (0700 at least)", v);
  *out = (mode_t) v;
  return 0;
}

void
cfg_mounts_free(struct berth_mount *m, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(m[i].source);
    free(m[i].target);
  }
  free(m);
}

void
cfg_conf_clear(struct berth_container_conf *c)
{
  free(c->image);
  free(c->name);
  free(c->hostname);
  berth_strv_free(c->keeper);
  free(c->network);
  berth_strv_free(c->tmpfs);
  cfg_mounts_free(c->mounts, c->n_mounts);
  berth_strv_free(c->env);
  memset(c, 0, sizeof(*c));
}
