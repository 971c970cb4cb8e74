/* config-internal.h - what the berth.conf loader (config.c), the checks
 * (config_check.c) and the override merge (resolve.c) share: the load
 * context, the "FILE:LINE: KEY: problem" error, the typed getters of
 * config_setting.c and the path/env rules of config_check.c.  Not installed;
 * tests/unit/ includes it for berth_config_defaults(). */
#ifndef BERTH_CONFIG_INTERNAL_H
#define BERTH_CONFIG_INTERNAL_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/config.h"
#include "berth/error.h"

/* Fill defaults only (what an empty file yields). */
int berth_config_defaults(struct berth_config **out, berth_error_t *err);

struct cfg_ctx {
  const char *path;
  const char *dir; /* of path: where relative @include files live */
  berth_error_t *err;
};

/* ---- config_setting.c: one setting read as a type, errors with file:line */

/* Every config error reads "FILE:LINE: KEY: problem"; returns -1. */
int cfg_fail(struct cfg_ctx *c, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cfg_fail_type(struct cfg_ctx *c, const config_setting_t *s, const char *expected);
int cfg_get_group(struct cfg_ctx *c, const config_setting_t *s);
/* One member f of a group, named name, read into data; < 0 stops the walk. */
typedef int (*cfg_key_fn)(struct cfg_ctx *c, const config_setting_t *f, const char *name,
                          void *data);
/* s must be a group: fn reads each of its members, in file order. */
int cfg_each_key(struct cfg_ctx *c, const config_setting_t *s, cfg_key_fn fn, void *data);
/* s must be a list of entries `( { ... }, ... )`, or `[]` for none (libconfig
 * reads it as an empty array); expected names them in the error.  Returns
 * the number of entries, or -1. */
int cfg_get_list(struct cfg_ctx *c, const config_setting_t *s, const char *expected);
/* The getters replace *out (freeing the old value) only on success. */
int cfg_get_string(struct cfg_ctx *c, const config_setting_t *s, char **out);
int cfg_get_bool(struct cfg_ctx *c, const config_setting_t *s, bool *out);
int cfg_get_int(struct cfg_ctx *c, const config_setting_t *s, int64_t *out);
int cfg_get_strv(struct cfg_ctx *c, const config_setting_t *s, char ***out);
/* The rule string v[i] of a list follows (e is its setting, v[0..i) the
 * strings before it); < 0 refuses it. */
typedef int (*cfg_str_rule)(struct cfg_ctx *c, const config_setting_t *e, char *const *v, size_t i);
/* cfg_get_strv, then every string through rule. */
int cfg_get_strv_ruled(struct cfg_ctx *c, const config_setting_t *s, char ***out,
                       cfg_str_rule rule);
/* *out: the index of the value in the NULL-terminated names */
int cfg_get_enum(struct cfg_ctx *c, const config_setting_t *s, const char *const *names, int *out);
int cfg_get_size(struct cfg_ctx *c, const config_setting_t *s, int64_t *out);
int cfg_get_mode(struct cfg_ctx *c, const config_setting_t *s, mode_t *out);
void cfg_mounts_free(struct berth_mount *m, size_t n);
/* Free every field of c and zero it. */
void cfg_conf_clear(struct berth_container_conf *c);

/* ---- config_engine.c: the engine section (socket, host, tls, timeout_ms) */
int cfg_load_engine(struct cfg_ctx *c, const config_setting_t *s, struct berth_config *cfg);
void cfg_engine_clear(struct berth_config *cfg);

/* ---- config_check.c: value rules, and the config validated as a whole */

bool cfg_has_space(const char *p);
int cfg_check_abs_path(struct cfg_ctx *c, const config_setting_t *s, const char *v);
int cfg_check_template(struct cfg_ctx *c, const config_setting_t *s, const char *v);
/* Paths compare equal regardless of trailing slashes ("/tmp/" is "/tmp"). */
bool cfg_same_path(const char *a, const char *b);
/* The length of the NAME in "NAME=VALUE". */
size_t cfg_env_key_len(const char *e);
/* cfg_str_rule's for container.env ("NAME=VALUE") and container.tmpfs */
int cfg_check_env(struct cfg_ctx *c, const config_setting_t *e, char *const *env, size_t i);
int cfg_check_tmpfs(struct cfg_ctx *c, const config_setting_t *e, char *const *tmpfs, size_t i);
int cfg_get_mounts(struct cfg_ctx *c, const config_setting_t *s, struct berth_mount **out,
                   size_t *n_out);
/* The rules that span settings: mount/tmpfs conflicts and tmpfs sizes under
 * memory limits, over every combination of group and user override. */
int cfg_validate(struct cfg_ctx *c, const struct berth_config *cfg, config_t *lc);

#endif
