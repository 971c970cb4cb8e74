/* policy.c - who is berthed: policy.only_groups, exclude_users and
 * exclude_groups decided against the user's groups, failing closed when a
 * membership that decides cannot be read. */
#include "config.h"

#include <errno.h>
#include <stddef.h>

#include "berth/config.h"
#include "berth/policy.h"
#include "berth/user.h"
#include "berth/util.h"

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
keep_first(const char *key, berth_error_t *e, berth_error_t *first)
{
  if (*first == NULL) {
    berth_error_wrap(e, "%s", key);
    *first = *e;
    *e = NULL;
  }
  berth_error_release(e);
}

/* Whether u is in one of groups (the list named key).  One group found
 * with the user in it decides, whatever the others say, and what could not
 * be read no longer matters; otherwise *unread keeps the first group that
 * could not be read, since it might have. */
static bool
in_any(const struct berth_user *u, char *const *groups, const char *key, berth_error_t *unread)
{
  for (size_t i = 0; groups && groups[i]; i++) {
    berth_error_t e = NULL;
    int r = berth_user_member_of(u, groups[i], &e);
    if (r == 1) {
      berth_error_release(unread);
      return true;
    }
    if (r < 0)
      keep_first(key, &e, unread);
  }
  return false;
}

static enum berth_policy
denied(berth_error_t *first, const char **why, const char *reason, berth_error_t *err)
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
  /* A group that cannot be read might have excluded: nothing else decides. */
  if (in_any(u, cfg->policy.exclude_groups, "policy.exclude_groups", &unread)) {
    *why = "user is in a group listed in policy.exclude_groups";
    return BERTH_POLICY_EXCLUDED;
  }
  if (unread != NULL)
    return denied(&unread, why, "a group in policy.exclude_groups could not be read", err);
  if (berth_strv_len(cfg->policy.only_groups) == 0) {
    *why = "no policy rule excludes the user";
    return BERTH_POLICY_BERTHED;
  }
  if (in_any(u, cfg->policy.only_groups, "policy.only_groups", &unread)) {
    *why = "user is in a group listed in policy.only_groups";
    return BERTH_POLICY_BERTHED;
  }
  if (unread != NULL)
    return denied(&unread, why, "a group in policy.only_groups could not be read", err);
  /* "Not a member" is the one conclusion drawn from absence: a gid without
   * a group entry says NSS did not answer everything. */
  for (size_t i = 0; i < u->n_groups; i++)
    if (u->groups[i].name == NULL) {
      berth_error_make(&unread, BERTH_E_USER, ENOENT,
                       "policy.only_groups: gid %u of user %s has no group entry (no such "
                       "group, or its source is unreachable)",
                       (unsigned) u->groups[i].gid, u->name);
      return denied(&unread, why, "a group of the user could not be read", err);
    }
  *why = "user is in none of the groups in policy.only_groups";
  return BERTH_POLICY_EXCLUDED;
}
