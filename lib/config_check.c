/* config_check.c - the rules berth.conf values follow (paths, templates,
 * env, tmpfs, mounts), and the validation of the config as a whole: mount
 * targets against tmpfs paths and tmpfs sizes against memory limits, over
 * every combination of group and user override, in n log n. */
#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/util.h"
#include "config-internal.h"

/* berth mounts its own files (the keeper) under this directory. */
#define RESERVED_DIR "/.berth"

/* ------------------------------------------------------------------ value checks */

static bool
has_dotdot(const char *p)
{
  for (const char *q = p; (q = strstr(q, "..")) != NULL; q += 2)
    if ((q == p || q[-1] == '/') && (q[2] == '\0' || q[2] == '/'))
      return true;
  return false;
}

bool
cfg_has_space(const char *p)
{
  for (; *p; p++)
    if (*p <= ' ' || *p == 0x7f)
      return true;
  return false;
}

int
cfg_check_abs_path(struct cfg_ctx *c, const config_setting_t *s, const char *v)
{
  if (v[0] != '/')
    return cfg_fail(c, s, "\"%s\" is not an absolute path", v);
  if (has_dotdot(v))
    return cfg_fail(c, s, "\"%s\" must not contain \"..\"", v);
  return 0;
}

/* Only the escapes berth_expand_template() knows. */
int
cfg_check_template(struct cfg_ctx *c, const config_setting_t *s, const char *v)
{
  for (const char *p = v; *p; p++) {
    if (*p != '%')
      continue;
    p++;
    if (*p == '\0')
      return cfg_fail(c, s, "\"%s\" ends with a lone %%", v);
    if (strchr("uUgGh%", *p) == NULL)
      return cfg_fail(
          c, s, "unknown template escape \"%%%c\" in \"%s\" (allowed: %%u %%U %%g %%G %%h %%%%)",
          *p, v);
  }
  return 0;
}

/* A mount path: absolute, or starting with the (absolute) home "%h". */
static int
check_template_path(struct cfg_ctx *c, const config_setting_t *s, const char *v)
{
  if (cfg_check_template(c, s, v) < 0)
    return -1;
  if (v[0] != '/' && !(strncmp(v, "%h", 2) == 0 && (v[2] == '\0' || v[2] == '/')))
    return cfg_fail(c, s, "\"%s\" is not an absolute path (start with / or %%h)", v);
  if (has_dotdot(v))
    return cfg_fail(c, s, "\"%s\" must not contain \"..\"", v);
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
bool
cfg_same_path(const char *a, const char *b)
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
  return colon ? (size_t) (colon - t) : strlen(t);
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
  return cfg_same_path(buf, path);
}

/* Environment variables berth sets from the user's account (SPEC). */
static const char *const controlled_env[] = { "HOME", "USER", "LOGNAME", "SHELL", NULL };

size_t
cfg_env_key_len(const char *e)
{
  const char *eq = strchr(e, '=');
  return eq ? (size_t) (eq - e) : strlen(e);
}

int
cfg_check_env(struct cfg_ctx *c, const config_setting_t *e, char *const *env, size_t i)
{
  const char *v = env[i];
  size_t klen = cfg_env_key_len(v);

  if (v[klen] != '=')
    return cfg_fail(c, e, "\"%s\" is not of the form NAME=VALUE", v);
  if (klen == 0 || !(v[0] == '_' || (v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= 'a' && v[0] <= 'z')))
    return cfg_fail(c, e, "\"%s\": variable names start with a letter or _", v);
  for (size_t k = 0; k < klen; k++)
    if (!(v[k] == '_' || (v[k] >= 'A' && v[k] <= 'Z') || (v[k] >= 'a' && v[k] <= 'z')
          || (v[k] >= '0' && v[k] <= '9')))
      return cfg_fail(c, e, "\"%.*s\" is not a valid variable name", (int) klen, v);
  for (size_t k = 0; controlled_env[k]; k++)
    if (strlen(controlled_env[k]) == klen && strncmp(v, controlled_env[k], klen) == 0)
      return cfg_fail(c, e, "%s is set by berth from the user's account and cannot be configured",
                      controlled_env[k]);
  for (size_t j = 0; j < i; j++)
    if (cfg_env_key_len(env[j]) == klen && strncmp(env[j], v, klen) == 0)
      return cfg_fail(c, e, "%.*s is set twice in this list", (int) klen, v);
  return 0;
}

int
cfg_check_tmpfs(struct cfg_ctx *c, const config_setting_t *e, char *const *tmpfs, size_t i)
{
  const char *v = tmpfs[i];
  size_t n = tmpfs_path_len(v);
  char path[PATH_MAX];

  if (n >= sizeof(path))
    return cfg_fail(c, e, "path is too long");
  memcpy(path, v, n);
  path[n] = '\0';
  if (path[0] != '/')
    return cfg_fail(c, e, "\"%s\": the tmpfs path must be absolute (\"PATH[:OPTIONS]\")", v);
  if (has_dotdot(path))
    return cfg_fail(c, e, "\"%s\" must not contain \"..\"", v);
  if (is_reserved_target(path))
    return cfg_fail(c, e, "\"%s\": %s is reserved", v, strcmp(path, "/") ? RESERVED_DIR : "/");
  if (v[n] == ':' && (v[n + 1] == '\0' || cfg_has_space(v + n + 1)))
    return cfg_fail(
        c, e, "\"%s\": options after ':' must be non-empty, without spaces (e.g. size=512m)", v);
  for (size_t j = 0; j < i; j++)
    if (tmpfs_is(tmpfs[j], path))
      return cfg_fail(c, e, "%s is listed twice", path);
  return 0;
}

/* One entry of `mounts` being read. */
struct mount_read {
  struct berth_mount *m;
  const config_setting_t *target_s; /* where target stands, once read */
};

static int
mount_key(struct cfg_ctx *c, const config_setting_t *f, const char *name, void *data)
{
  struct mount_read *r = data;
  struct berth_mount *m = r->m;

  if (strcmp(name, "source") == 0) {
    if (cfg_get_string(c, f, &m->source) < 0 || check_template_path(c, f, m->source) < 0)
      return -1;
    if (below_home(m->source))
      return cfg_fail(c, f,
                      "\"%s\" is inside the user's home, where the user can replace any directory "
                      "with a link to files that are not theirs; berth refuses such sources at "
                      "login (mount \"%%h\" itself, or a directory outside the home)",
                      m->source);
    return 0;
  }
  if (strcmp(name, "target") == 0) {
    if (cfg_get_string(c, f, &m->target) < 0 || check_template_path(c, f, m->target) < 0)
      return -1;
    if (is_reserved_target(m->target))
      return cfg_fail(c, f, "\"%s\" is reserved", m->target);
    r->target_s = f;
    return 0;
  }
  if (strcmp(name, "readonly") == 0)
    return cfg_get_bool(c, f, &m->readonly);
  return cfg_fail(c, f, "unknown key (a mount has source, target and readonly)");
}

int
cfg_get_mounts(struct cfg_ctx *c, const config_setting_t *s, struct berth_mount **out,
               size_t *n_out)
{
  struct berth_mount *m = NULL;
  int len = cfg_get_list(c, s, "a list of mounts ( { source = ...; target = ...; }, ... )");
  size_t n;

  if (len < 0)
    return -1;
  n = (size_t) len;
  m = berth_malloc0(n * sizeof(*m), c->err);
  if (m == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const config_setting_t *e = config_setting_get_elem(s, (unsigned) i);
    struct mount_read r = { &m[i], NULL };

    if (cfg_each_key(c, e, mount_key, &r) < 0)
      goto fail;
    if (m[i].source == NULL || m[i].target == NULL) {
      cfg_fail(c, e, "a mount needs both source and target");
      goto fail;
    }
    for (size_t j = 0; j < i; j++)
      if (cfg_same_path(m[j].target, m[i].target)) {
        cfg_fail(c, r.target_s, "\"%s\" is already the target of an earlier mount", m[i].target);
        goto fail;
      }
  }
  cfg_mounts_free(*out, *n_out);
  *out = m;
  *n_out = n;
  return 0;
fail:
  cfg_mounts_free(m, n);
  return -1;
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
conflict(struct cfg_ctx *c, config_t *lc, const char *list, size_t idx, const char *path,
         size_t len, const struct berth_override *g)
{
  const config_setting_t *blame = config_lookup(lc, list);

  if (blame && strcmp(list, "container") != 0)
    blame = config_setting_get_elem(blame, (unsigned) idx);
  if (blame == NULL)
    blame
        = config_lookup(lc, "container") ? config_lookup(lc, "container") : config_root_setting(lc);
  if (g)
    return cfg_fail(c, blame, "%.*s is both a mount target and a tmpfs for members of group \"%s\"",
                    (int) len, path, g->match);
  return cfg_fail(c, blame, "%.*s is both a mount target and a tmpfs", (int) len, path);
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
check_mount_tmpfs_conflicts(struct cfg_ctx *c, const struct berth_config *cfg, config_t *lc)
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
      if ((hit = tmpfs_in(tmpfs, &own, &len, &owner)) != NULL
          || (o[i].has_tmpfs && (hit = tmpfs_in(tmpfs, &m0, &len, &owner)) != NULL)) {
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
check_tmpfs_fits(struct cfg_ctx *c, const config_setting_t *blame, const char *group,
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
      return cfg_fail(c, blame,
                      "tmpfs \"%s\"%s needs a size such as size=64m under the memory limit of "
                      "%lld bytes (a tmpfs is memory; filled, it leaves none for logins)",
                      tmpfs[i], who, (long long) memory);
    if (size > INT64_MAX - sum)
      size = INT64_MAX - sum;
    sum += size;
  }
  if (sum > memory / TMPFS_SHARE_DEN * TMPFS_SHARE_NUM)
    return cfg_fail(c, blame,
                    "the tmpfs sizes (%lld bytes together)%s exceed three quarters of the memory "
                    "limit of %lld bytes: filled, they would leave too little memory for logins",
                    (long long) sum, who, (long long) memory);
  return 0;
}

static const config_setting_t *
override_setting(config_t *lc, const char *list, size_t i)
{
  const config_setting_t *s = config_lookup(lc, list);
  if (s)
    s = config_setting_get_elem(s, (unsigned) i);
  return s ? s : config_root_setting(lc);
}

/* Every effective pair a user can get, in linear time: the global one, each
 * group's, and each user override against the strictest partner it can meet
 * (the largest tmpfs set, or the smallest memory limit, of the global
 * settings and every group). */
static int
check_tmpfs_memory(struct cfg_ctx *c, const struct berth_config *cfg, config_t *lc)
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

int
cfg_validate(struct cfg_ctx *c, const struct berth_config *cfg, config_t *lc)
{
  if (check_mount_tmpfs_conflicts(c, cfg, lc) < 0)
    return -1;
  return check_tmpfs_memory(c, cfg, lc);
}
