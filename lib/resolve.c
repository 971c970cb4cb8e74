/* resolve.c - one user's effective container settings: the global
 * `container` group, then the first matching group override, then the
 * user's own override (scalars replace, env and mounts merge by name). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/config.h"
#include "berth/user.h"
#include "berth/util.h"
#include "config-internal.h"

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
      cfg_mounts_free(c, n);
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
    size_t klen = cfg_env_key_len(add[i]), n = berth_strv_len(*dst), j;
    char *v = berth_strdup(add[i], err);
    char **nv;

    if (v == NULL)
      return -1;
    for (j = 0; j < n; j++)
      if (cfg_env_key_len((*dst)[j]) == klen && strncmp((*dst)[j], add[i], klen) == 0)
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
      if (cfg_same_path(dst->mounts[j].target, m.target))
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
  cfg_conf_clear(c);
  free(c);
}
