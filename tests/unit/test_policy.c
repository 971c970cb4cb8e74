/* test_policy.c - berth_config_policy: who is berthed, excluded or denied,
 * failing closed when a group that decides cannot be read (NSS faked). */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "berth/config.h"
#include "berth/error.h"
#include "berth/policy.h"
#include "berth/user.h"
#include "conf_fixture.h"
#include "../lib/testlib.h"

/* The policy reads configured groups through getgrnam_r; the test links
 * with --wrap=getgrnam_r so this table is NSS, and a name can be made to
 * fail the way an unreachable source does (nslcd down: EIO from the lookup
 * or, as libnss-ldapd does when its socket is gone, plain "not found"). */
struct fake_group {
  const char *name;
  gid_t gid;
  const char *mem[4];
};
static struct fake_group fake_groups[] = {
  { "root", 0, { NULL } },
  { "wheel", 10, { "toor", NULL } },
  { "staff", 50, { "alice", "bob", NULL } },
  { "berth-users", 7001, { "alice", "erin", "frank", NULL } },
  { "admins", 7002, { "carol", NULL } },
  { "ldberthed", 7003, { "bob", NULL } },
  /* larger than the first buffer: the lookup must grow it on ERANGE */
  { "big", 7004, { "alice", NULL } },
};
/* the group whose source is "down", and how it fails: EIO or 0 (not found) */
static const char *fake_down;
static int fake_down_errno;

int __wrap_getgrnam_r(const char *name, struct group *grp, char *buf, size_t buflen,
                      struct group **result);

int
__wrap_getgrnam_r(const char *name, struct group *grp, char *buf, size_t buflen,
                  struct group **result)
{
  (void) buf;
  *result = NULL;
  if (fake_down != NULL && strcmp(name, fake_down) == 0)
    return fake_down_errno;
  for (size_t i = 0; i < sizeof(fake_groups) / sizeof(fake_groups[0]); i++) {
    if (strcmp(fake_groups[i].name, name) != 0)
      continue;
    if (strcmp(name, "big") == 0 && buflen < 100000)
      return ERANGE;
    grp->gr_name = (char *) fake_groups[i].name;
    grp->gr_passwd = (char *) "x";
    grp->gr_gid = fake_groups[i].gid;
    static char *mem[4];
    for (size_t j = 0; j < 4; j++)
      mem[j] = (char *) fake_groups[i].mem[j];
    grp->gr_mem = mem;
    *result = grp;
    return 0;
  }
  return 0;
}

/* A user as berth_user_lookup builds it: primary gid first, then the gids
 * getgrouplist gave (0-terminated), each named from the table or unnamed. */
static struct berth_user *
policy_user(const char *name, uid_t uid, gid_t gid, ...)
{
  struct berth_user *u = calloc(1, sizeof(*u));
  va_list ap;
  int g;

  assert_non_null(u);
  u->name = strdup(name);
  u->uid = uid;
  u->gid = gid;
  u->groups = calloc(16, sizeof(*u->groups));
  u->groups[0].gid = gid;
  u->n_groups = 1;
  va_start(ap, gid);
  while ((g = va_arg(ap, int)) != 0 && u->n_groups < 16)
    u->groups[u->n_groups++].gid = (gid_t) g;
  va_end(ap);
  for (size_t i = 0; i < u->n_groups; i++)
    for (size_t j = 0; j < sizeof(fake_groups) / sizeof(fake_groups[0]); j++)
      if (fake_groups[j].gid == u->groups[i].gid)
        u->groups[i].name = strdup(fake_groups[j].name);
  u->group = u->groups[0].name ? strdup(u->groups[0].name) : NULL;
  return u;
}

static void
expect_policy(const struct berth_config *cfg, const struct berth_user *u, enum berth_policy want,
              const char *why_part)
{
  berth_error_t err = NULL;
  const char *why = NULL;
  enum berth_policy got = berth_config_policy(cfg, u, &why, &err);
  if (got != want)
    fail_msg("user %s: expected %s, got %s (%s)", u->name, berth_policy_name(want),
             berth_policy_name(got), why ? why : "no reason");
  assert_non_null(why);
  if (strstr(why, why_part) == NULL)
    fail_msg("user %s: reason \"%s\" does not mention \"%s\"", u->name, why, why_part);
  /* a detail exactly when denied */
  if (got == BERTH_POLICY_DENIED)
    assert_non_null(err);
  else
    assert_null(err);
  berth_error_release(&err);
}

/* Denied, and the detail names the key and the group (or gid) at fault. */
static void
expect_denied(const struct berth_config *cfg, const struct berth_user *u, const char *detail)
{
  berth_error_t err = NULL;
  const char *why = NULL;
  enum berth_policy got = berth_config_policy(cfg, u, &why, &err);
  if (got != BERTH_POLICY_DENIED)
    fail_msg("user %s: expected denied, got %s (%s)", u->name, berth_policy_name(got),
             why ? why : "no reason");
  assert_non_null(why);
  assert_non_null(strstr(why, "could not be read"));
  assert_non_null(err);
  if (strstr(err->msg, detail) == NULL)
    fail_msg("user %s: detail \"%s\" does not mention \"%s\"", u->name, err->msg, detail);
  assert_int_equal(err->kind, BERTH_E_POLICY);
  berth_error_release(&err);
  /* without an error to fill, the answer is the same and nothing leaks */
  assert_int_equal(berth_config_policy(cfg, u, &why, NULL), BERTH_POLICY_DENIED);
}

TEST(test_policy)
{
  struct berth_config *cfg;
  struct berth_user *root = policy_user("root", 0, 0, 0);
  struct berth_user *toor = policy_user("toor", 0, 10, 50, 0);
  /* alice's getgrouplist lost berth-users (its source skipped): only the
   * group's member list says she is in it */
  struct berth_user *alice = policy_user("alice", 1000, 50, 0);
  struct berth_user *bob = policy_user("bob", 1001, 50, 0);
  struct berth_user *carol = policy_user("carol", 1002, 50, 7001, 0);
  struct berth_user *dave = policy_user("dave", 1003, 7001, 0); /* primary group */
  struct berth_user *erin = policy_user("erin", 1004, 50, 7001, 0);
  struct berth_user *frank = policy_user("frank", 1005, 50, 9999, 0); /* gid without a name */
  struct berth_user *gina = policy_user("gina", 1006, 50, 9999, 0);

  assert_string_equal(berth_policy_name(BERTH_POLICY_BERTHED), "berthed");
  assert_string_equal(berth_policy_name(BERTH_POLICY_EXCLUDED), "excluded");
  assert_string_equal(berth_policy_name(BERTH_POLICY_DENIED), "denied");

  /* defaults: everyone but root */
  cfg = load_ok("");
  expect_policy(cfg, root, BERTH_POLICY_EXCLUDED, "uid 0");
  expect_policy(cfg, alice, BERTH_POLICY_BERTHED, "no policy rule");
  expect_policy(cfg, bob, BERTH_POLICY_BERTHED, "no policy rule");
  /* no group rule: an unnamed gid decides nothing */
  expect_policy(cfg, frank, BERTH_POLICY_BERTHED, "no policy rule");
  berth_config_free(cfg);

  /* uid 0 is excluded whatever the lists say, under any name */
  cfg = load_ok("policy = { exclude_users = []; only_groups = [ \"wheel\" ]; };\n");
  expect_policy(cfg, root, BERTH_POLICY_EXCLUDED, "uid 0");
  expect_policy(cfg, toor, BERTH_POLICY_EXCLUDED, "uid 0");
  berth_config_free(cfg);

  cfg = load_ok("policy = {\n  exclude_users = [ \"root\", \"bob\" ];\n  exclude_groups = [ "
                "\"admins\" ];\n};\n");
  expect_policy(cfg, bob, BERTH_POLICY_EXCLUDED, "policy.exclude_users");
  expect_policy(cfg, carol, BERTH_POLICY_EXCLUDED, "policy.exclude_groups"); /* by gr_mem */
  expect_policy(cfg, alice, BERTH_POLICY_BERTHED, "no policy rule");
  berth_config_free(cfg);

  /* only_groups: members of a listed group (by gid, primary included, or by
   * the group's member list) are berthed; exclusions are checked first */
  cfg = load_ok("policy = {\n  only_groups = [ \"berth-users\" ];\n  exclude_users = [ \"root\", "
                "\"erin\" ];\n"
                "  exclude_groups = [ \"admins\" ];\n};\n");
  expect_policy(cfg, alice, BERTH_POLICY_BERTHED, "policy.only_groups");
  expect_policy(cfg, dave, BERTH_POLICY_BERTHED, "policy.only_groups");
  expect_policy(cfg, bob, BERTH_POLICY_EXCLUDED, "none of the groups in policy.only_groups");
  expect_policy(cfg, carol, BERTH_POLICY_EXCLUDED, "policy.exclude_groups");
  expect_policy(cfg, erin, BERTH_POLICY_EXCLUDED, "policy.exclude_users");
  /* a member despite the unnamed gid; a non-member with one is not known
   * to be outside: NSS did not answer everything */
  expect_policy(cfg, frank, BERTH_POLICY_BERTHED, "policy.only_groups");
  expect_denied(cfg, gina, "gid 9999");
  berth_config_free(cfg);

  /* a group entry larger than the first buffer still decides */
  cfg = load_ok("policy = { only_groups = [ \"big\" ]; };\n");
  expect_policy(cfg, alice, BERTH_POLICY_BERTHED, "policy.only_groups");
  expect_policy(cfg, bob, BERTH_POLICY_EXCLUDED, "none of the groups");
  berth_config_free(cfg);

  /* Fail closed: the only_groups group's source is down, in both ways it
   * shows.  Its member bob and the non-member alice are both denied: an
   * unread group must not look like "not a member" (a host shell). */
  for (int way = 0; way < 2; way++) {
    fake_down = "ldberthed";
    fake_down_errno = way == 0 ? EIO : 0;
    cfg = load_ok("policy = { only_groups = [ \"ldberthed\" ]; };\n");
    expect_denied(cfg, bob, "policy.only_groups: group ldberthed");
    expect_denied(cfg, alice, "ldberthed");
    /* positively established exclusions still hold */
    expect_policy(cfg, root, BERTH_POLICY_EXCLUDED, "uid 0");
    berth_config_free(cfg);
    cfg = load_ok("policy = { only_groups = [ \"ldberthed\" ]; exclude_users = [ \"bob\" ]; };\n");
    expect_policy(cfg, bob, BERTH_POLICY_EXCLUDED, "policy.exclude_users");
    berth_config_free(cfg);
    /* a listed group that does resolve and has the user still berths */
    cfg = load_ok("policy = { only_groups = [ \"ldberthed\", \"berth-users\" ]; };\n");
    expect_policy(cfg, alice, BERTH_POLICY_BERTHED, "policy.only_groups");
    expect_denied(cfg, bob, "ldberthed");
    berth_config_free(cfg);
  }

  /* an exclude_groups group that cannot be read: nobody is known to be
   * outside it, so nobody is berthed or excluded by the rest ... */
  fake_down = "admins";
  fake_down_errno = EIO;
  cfg = load_ok("policy = { exclude_groups = [ \"admins\" ]; };\n");
  expect_denied(cfg, alice, "policy.exclude_groups: group admins");
  expect_denied(cfg, carol, "Input/output error");
  berth_config_free(cfg);
  /* ... except that membership of another, readable one excludes */
  cfg = load_ok("policy = { exclude_groups = [ \"admins\", \"staff\" ]; };\n");
  expect_policy(cfg, bob, BERTH_POLICY_EXCLUDED, "policy.exclude_groups");
  berth_config_free(cfg);
  fake_down = NULL;

  /* a listed group that does not exist at all (a typo) denies as well */
  cfg = load_ok("policy = { only_groups = [ \"no-such-group\" ]; };\n");
  expect_denied(cfg, alice, "group no-such-group: not found");
  berth_config_free(cfg);

  free_user(root);
  free_user(toor);
  free_user(alice);
  free_user(bob);
  free_user(carol);
  free_user(dave);
  free_user(erin);
  free_user(frank);
  free_user(gina);
}

TEST_GROUP(conf_fixture_setup, conf_fixture_teardown);
