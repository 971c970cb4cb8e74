/* policy.h - who is berthed (policy.c): the policy section of berth.conf
 * decided against one user's account and groups. */
#ifndef BERTH_POLICY_H
#define BERTH_POLICY_H

#include "berth/error.h"

struct berth_config;
struct berth_user;

enum berth_policy { BERTH_POLICY_BERTHED, BERTH_POLICY_EXCLUDED, BERTH_POLICY_DENIED };
/* Decide whether u is berthed.  *why (static string or NULL) explains,
 * e.g. "user is listed in policy.exclude_users".  uid 0 is always excluded.
 * Fails closed: EXCLUDED (a host shell) only when positively established,
 * by uid 0, policy.exclude_users, or membership of an exclude_groups group
 * read from that group's entry.  When the membership that decides cannot be
 * read completely (a configured group that does not resolve, an NSS error,
 * under only_groups a gid of the user without a group entry) the answer is
 * DENIED: no container and no host shell, *err (may be NULL; kind
 * BERTH_E_POLICY) says why. */
enum berth_policy berth_config_policy(const struct berth_config *cfg, const struct berth_user *u,
                                      const char **why, berth_error_t *err);
/* "berthed", "excluded", "denied" */
const char *berth_policy_name(enum berth_policy p);

#endif
