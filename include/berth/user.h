/* user.h - identity through NSS (works for local, LDAP, SSSD/AD users),
 * %-templates and container-name sanitizing. */
#ifndef BERTH_USER_H
#define BERTH_USER_H

#include <stdbool.h>
#include <sys/types.h>
#include "berth/error.h"

struct berth_group {
  gid_t gid;
  char *name; /* NULL when the gid has no name in NSS */
};

struct berth_user {
  char *name;
  uid_t uid;
  gid_t gid;
  char *gecos;
  char *home;
  char *shell;
  char *group;                /* primary group name (NULL when unnamed) */
  struct berth_group *groups; /* every group incl. the primary one, primary first */
  size_t n_groups;
};

/* Resolve by name / by uid with getpwnam_r/getpwuid_r, getgrouplist, getgrgid_r.
 * Unknown user: kind BERTH_E_USER, status ENOENT. */
int berth_user_lookup(const char *name, struct berth_user **out, berth_error_t *err);
int berth_user_lookup_uid(uid_t uid, struct berth_user **out, berth_error_t *err);
void berth_user_free(struct berth_user *u);
/* By the names in u->groups: for settings (overrides), never for policy. */
bool berth_user_in_group(const struct berth_user *u, const char *group);
/* Whether u belongs to `group`, read from the group's own NSS entry: its gid
 * is one of u's gids, or u is in its member list.  1 member, 0 not; -1 when
 * the group cannot be read: an NSS error, or not found (kind BERTH_E_USER,
 * status ENOENT), which an unreachable source looks like too. */
int berth_user_member_of(const struct berth_user *u, const char *group, berth_error_t *err);
/* gid of a group by name; -1 as for berth_user_member_of. */
int berth_group_resolve(const char *group, gid_t *gid, berth_error_t *err);

/* Expand %u (user) %U (uid) %g (primary group name, gid if unnamed) %G (gid)
 * %h (home) and %% in tmpl.  Unknown %x is an error (BERTH_E_CONFIG).  A path
 * component of the result that is "", "." or ".." because of a user-derived
 * value (%u %g %h: a user named "..") is refused (BERTH_E_USER, EINVAL). */
char *berth_expand_template(const char *tmpl, const struct berth_user *u, berth_error_t *err);

/* Sanitize an expanded container name to [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most
 * BERTH_NAME_MAX characters.  When sanitizing changed anything or truncation
 * was needed, a "-" and 8 hex digits of SHA-256(original) are appended so two
 * different inputs never map to the same name. */
#define BERTH_NAME_MAX 63
char *berth_sanitize_name(const char *name, berth_error_t *err);
/* The same for a hostname: [a-z0-9-], no leading/trailing '-', max 63. */
char *berth_sanitize_hostname(const char *name, berth_error_t *err);

#endif
