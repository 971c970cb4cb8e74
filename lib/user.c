/* user.c - resolve a user and all of their groups through NSS only
 * (getpwnam_r/getpwuid_r, getgrouplist, getgrgid_r), so local, LDAP and
 * SSSD/AD accounts behave the same. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/user.h"
#include "berth/util.h"

/* NSS buffers grow on ERANGE up to these caps; AD groups with thousands of
 * members need large group buffers. */
#define PW_BUF_MAX ((size_t) 1 << 20)
#define GR_BUF_MAX ((size_t) 1 << 26)
#define GROUPS_MAX 65536

/* getpwnam_r and friends report "no such entry" as 0 with a NULL result, but
 * some NSS modules return ENOENT or ESRCH instead (getpwnam_r(3)). */
static bool
nss_not_found(int r)
{
  return r == 0 || r == ENOENT || r == ESRCH;
}

static bool
has_bad_char(const char *s, const char *bad)
{
  return s != NULL && strpbrk(s, bad) != NULL;
}

void
berth_user_free(struct berth_user *u)
{
  if (u == NULL)
    return;
  free(u->name);
  free(u->gecos);
  free(u->home);
  free(u->shell);
  free(u->group);
  for (size_t i = 0; i < u->n_groups; i++)
    free(u->groups[i].name);
  free(u->groups);
  free(u);
}

static void
user_freep(struct berth_user **u)
{
  berth_user_free(*u);
}
#define cleanup_user __attribute__((cleanup(user_freep)))

/* getgrnam_r (name != NULL) or getgrgid_r into gr, whose strings live in
 * *buf (the caller frees it).  1 found, 0 no such group, -1 an NSS error. */
static int
read_group(const char *name, gid_t gid, struct group *gr, char **buf, berth_error_t *err)
{
  size_t cap = 4096;
  long hint = sysconf(_SC_GETGR_R_SIZE_MAX);

  if (hint > 0 && (size_t) hint > cap)
    cap = (size_t) hint;
  *buf = NULL;
  for (;;) {
    struct group *res = NULL;
    int r;

    free(*buf);
    *buf = malloc(cap);
    if (*buf == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    if (name != NULL)
      r = getgrnam_r(name, gr, *buf, cap, &res);
    else
      r = getgrgid_r(gid, gr, *buf, cap, &res);
    if (r == ERANGE) {
      if (cap >= GR_BUF_MAX)
        return name != NULL
                   ? berth_error_make(err, BERTH_E_USER, ERANGE,
                                      "group %s: entry larger than %zu bytes", name, GR_BUF_MAX)
                   : berth_error_make(err, BERTH_E_USER, ERANGE,
                                      "group %u: entry larger than %zu bytes", (unsigned) gid,
                                      GR_BUF_MAX);
      cap *= 2;
      continue;
    }
    if (res == NULL && nss_not_found(r))
      return 0;
    if (res == NULL)
      return name != NULL ? berth_error_errno(err, BERTH_E_USER, r, "group %s: lookup failed", name)
                          : berth_error_errno(err, BERTH_E_USER, r, "group %u: lookup failed",
                                              (unsigned) gid);
    return 1;
  }
}

/* Name of gid, or NULL in *out when NSS has none. */
static int
group_name(gid_t gid, char **out, berth_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct group gr;
  int r;

  *out = NULL;
  r = read_group(NULL, gid, &gr, &buf, err);
  if (r <= 0)
    return r;
  *out = berth_strdup(gr.gr_name, err);
  return *out == NULL ? -1 : 0;
}

/* Every gid of the user, primary first, without duplicates. */
static int
fill_groups(struct berth_user *u, berth_error_t *err)
{
  cleanup_free gid_t *list = NULL;
  int n = 64;

  for (;;) {
    int want = n;
    gid_t *nl = realloc(list, (size_t) want * sizeof(gid_t));
    if (nl == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    list = nl;
    if (getgrouplist(u->name, u->gid, list, &n) >= 0)
      break;
    /* glibc sets n to the needed size; grow at least by doubling in case a
     * module does not. */
    if (n <= want)
      n = want * 2;
    if (n > GROUPS_MAX)
      return berth_error_make(err, BERTH_E_USER, E2BIG, "user %s: more than %d groups", u->name,
                              GROUPS_MAX);
  }

  u->groups = berth_malloc0(((size_t) n + 1) * sizeof(*u->groups), err);
  if (u->groups == NULL)
    return -1;
  u->groups[0].gid = u->gid;
  u->n_groups = 1;
  for (int i = 0; i < n; i++) {
    bool seen = false;
    for (size_t j = 0; j < u->n_groups && !seen; j++)
      seen = u->groups[j].gid == list[i];
    if (!seen)
      u->groups[u->n_groups++].gid = list[i];
  }
  for (size_t i = 0; i < u->n_groups; i++)
    if (group_name(u->groups[i].gid, &u->groups[i].name, err) < 0)
      return berth_error_wrap(err, "user %s", u->name);
  if (u->groups[0].name != NULL) {
    u->group = berth_strdup(u->groups[0].name, err);
    if (u->group == NULL)
      return -1;
  }
  return 0;
}

/* Build a berth_user from a passwd entry, refusing entries berth could not
 * use safely: they end up in the container's /etc/passwd and in paths. */
static int
from_passwd(const struct passwd *pw, struct berth_user **out, berth_error_t *err)
{
  cleanup_user struct berth_user *u = NULL;

  if (pw->pw_name == NULL || pw->pw_name[0] == '\0' || has_bad_char(pw->pw_name, "/:\n"))
    return berth_error_make(err, BERTH_E_USER, EINVAL, "user %u: invalid user name in passwd entry",
                            (unsigned) pw->pw_uid);
  if (pw->pw_dir == NULL || pw->pw_dir[0] != '/')
    return berth_error_make(err, BERTH_E_USER, EINVAL,
                            "user %s: home directory \"%s\" is not an absolute path", pw->pw_name,
                            pw->pw_dir ? pw->pw_dir : "");
  if (has_bad_char(pw->pw_dir, ":\n") || has_bad_char(pw->pw_shell, ":\n"))
    return berth_error_make(err, BERTH_E_USER, EINVAL,
                            "user %s: home or shell contains ':' or a newline", pw->pw_name);

  u = berth_malloc0(sizeof(*u), err);
  if (u == NULL)
    return -1;
  u->uid = pw->pw_uid;
  u->gid = pw->pw_gid;
  if ((u->name = berth_strdup(pw->pw_name, err)) == NULL
      || (u->gecos = berth_strdup(pw->pw_gecos, err)) == NULL
      || (u->home = berth_strdup(pw->pw_dir, err)) == NULL
      || (u->shell = berth_strdup(pw->pw_shell, err)) == NULL)
    return -1;
  /* GECOS is informational; an LDAP value with ':' or a newline must not
   * break the container's /etc/passwd, and is not worth refusing a login. */
  for (char *p = u->gecos; *p; p++)
    if (*p == ':' || *p == '\n')
      *p = ' ';
  if (fill_groups(u, err) < 0)
    return -1;
  *out = steal_pointer(&u);
  return 0;
}

static size_t
pw_buf_start(void)
{
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  return hint > 1024 ? (size_t) hint : 1024;
}

/* getpwnam_r (name != NULL) or getpwuid_r, with a buffer that grows on
 * ERANGE (LDAP entries with long GECOS fields or many attributes). */
static int
lookup_passwd(const char *name, uid_t uid, struct berth_user **out, berth_error_t *err)
{
  size_t cap = pw_buf_start();

  *out = NULL;
  for (;;) {
    cleanup_free char *buf = malloc(cap);
    struct passwd pw, *res = NULL;
    int r;

    if (buf == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    if (name != NULL)
      r = getpwnam_r(name, &pw, buf, cap, &res);
    else
      r = getpwuid_r(uid, &pw, buf, cap, &res);
    if (r == ERANGE && cap < PW_BUF_MAX) {
      cap *= 2;
      continue;
    }
    if (res == NULL && nss_not_found(r))
      return name != NULL
                 ? berth_error_make(err, BERTH_E_USER, ENOENT, "user %s: no such user", name)
                 : berth_error_make(err, BERTH_E_USER, ENOENT, "uid %u: no such user",
                                    (unsigned) uid);
    if (res == NULL)
      return name != NULL
                 ? berth_error_errno(err, BERTH_E_USER, r, "looking up user %s", name)
                 : berth_error_errno(err, BERTH_E_USER, r, "looking up uid %u", (unsigned) uid);
    return from_passwd(&pw, out, err);
  }
}

int
berth_user_lookup(const char *name, struct berth_user **out, berth_error_t *err)
{
  *out = NULL;
  if (name == NULL || name[0] == '\0' || has_bad_char(name, "/:\n"))
    return berth_error_make(err, BERTH_E_USER, EINVAL, "invalid user name \"%s\"",
                            name ? name : "");
  return lookup_passwd(name, 0, out, err);
}

int
berth_user_lookup_uid(uid_t uid, struct berth_user **out, berth_error_t *err)
{
  return lookup_passwd(NULL, uid, out, err);
}

bool
berth_user_in_group(const struct berth_user *u, const char *group)
{
  if (u == NULL || group == NULL)
    return false;
  for (size_t i = 0; i < u->n_groups; i++)
    if (u->groups[i].name != NULL && strcmp(u->groups[i].name, group) == 0)
      return true;
  return false;
}

/* A group by name that must exist: not found is an error here, because an
 * unreachable NSS source looks exactly like it. */
static int
named_group(const char *group, struct group *gr, char **buf, berth_error_t *err)
{
  int r;

  if (group == NULL || group[0] == '\0')
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "empty group name");
  r = read_group(group, 0, gr, buf, err);
  if (r == 0)
    return berth_error_make(err, BERTH_E_USER, ENOENT,
                            "group %s: not found (no such group, or its source is unreachable)",
                            group);
  return r < 0 ? -1 : 0;
}

/* Decided from the group's own entry rather than from the names in
 * u->groups: getgrouplist skips an NSS source it cannot reach without a
 * word, so a missing name proves nothing, while a group that resolves
 * carries its gid and member list with it. */
int
berth_user_member_of(const struct berth_user *u, const char *group, berth_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct group gr;

  if (u == NULL || u->name == NULL)
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "no user to decide on");
  if (named_group(group, &gr, &buf, err) < 0)
    return -1;
  for (size_t i = 0; i < u->n_groups; i++)
    if (u->groups[i].gid == gr.gr_gid)
      return 1;
  for (char **m = gr.gr_mem; m != NULL && *m != NULL; m++)
    if (strcmp(*m, u->name) == 0)
      return 1;
  return 0;
}

int
berth_group_resolve(const char *group, gid_t *gid, berth_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct group gr;

  if (named_group(group, &gr, &buf, err) < 0)
    return -1;
  *gid = gr.gr_gid;
  return 0;
}
