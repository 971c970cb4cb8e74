/* test_user.c - NSS lookups: root, unknown users, invalid names, and (as
 * root) a throw-away user with supplementary groups and an oversized passwd
 * entry, created with useradd and removed afterwards. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <cmocka.h>

#include "berth/user.h"
#include "../lib/testlib.h"

#define TUSER "bt-ident-u"
#define TPRIM "bt-ident-p"
#define TSUP1 "bt-ident-s1"
#define TSUP2 "bt-ident-s2"

TEST(test_root)
{
  struct berth_user *u = NULL;
  berth_error_t err = NULL;

  assert_int_equal(berth_user_lookup("root", &u, &err), 0);
  assert_null(err);
  assert_string_equal(u->name, "root");
  assert_int_equal(u->uid, 0);
  assert_int_equal(u->gid, 0);
  assert_string_equal(u->home, "/root");
  assert_non_null(u->shell);
  assert_string_equal(u->group, "root");
  assert_true(u->n_groups >= 1);
  assert_int_equal(u->groups[0].gid, 0);
  assert_string_equal(u->groups[0].name, "root");
  assert_true(berth_user_in_group(u, "root"));
  assert_false(berth_user_in_group(u, "no-such-group-bt"));
  assert_false(berth_user_in_group(u, NULL));
  berth_user_free(u);

  assert_int_equal(berth_user_lookup_uid(0, &u, &err), 0);
  assert_string_equal(u->name, "root");
  assert_string_equal(u->home, "/root");
  berth_user_free(u);
}

TEST(test_unknown)
{
  struct berth_user *u = (struct berth_user *) 0x1;
  berth_error_t err = NULL;

  assert_int_equal(berth_user_lookup("bt-no-such-user-xyz", &u, &err), -1);
  assert_null(u);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_USER);
  assert_int_equal(err->status, ENOENT);
  assert_non_null(strstr(err->msg, "bt-no-such-user-xyz"));
  berth_error_release(&err);

  assert_int_equal(berth_user_lookup_uid(3999999999u, &u, &err), -1);
  assert_int_equal(err->kind, BERTH_E_USER);
  assert_int_equal(err->status, ENOENT);
  berth_error_release(&err);
}

TEST(test_invalid_names)
{
  const char *bad[] = { "", "a/b", "../root", "root:x", "root\n", NULL };
  for (size_t i = 0; bad[i]; i++) {
    struct berth_user *u = NULL;
    berth_error_t err = NULL;
    assert_int_equal(berth_user_lookup(bad[i], &u, &err), -1);
    assert_null(u);
    assert_int_equal(err->kind, BERTH_E_USER);
    assert_int_equal(err->status, EINVAL);
    berth_error_release(&err);
  }
  {
    struct berth_user *u = NULL;
    berth_error_t err = NULL;
    assert_int_equal(berth_user_lookup(NULL, &u, &err), -1);
    berth_error_release(&err);
  }
}

static void
remove_temp_user(void)
{
  sh("(userdel " TUSER "; groupdel " TSUP1 "; groupdel " TSUP2 "; groupdel " TPRIM
     ") >/dev/null 2>&1");
}

static int
setup_temp_user(void **state)
{
  char cmd[4096], gecos[3001];

  if (geteuid() != 0)
    return 0;
  remove_temp_user(); /* leftovers of an interrupted run */
  /* a GECOS larger than the first NSS buffer makes getpwnam_r say ERANGE */
  memset(gecos, 'G', sizeof(gecos) - 1);
  gecos[sizeof(gecos) - 1] = '\0';
  snprintf(cmd, sizeof(cmd),
           "groupadd " TPRIM " && groupadd " TSUP1 " && groupadd " TSUP2 " && "
           "useradd -M -N -g " TPRIM " -G " TSUP1 "," TSUP2 "," TPRIM " -d /nonexistent/" TUSER
           " -s /bin/sh -c %s " TUSER,
           gecos);
  if (sh("(%s) >/dev/null 2>&1", cmd) != 0) {
    remove_temp_user();
    return -1;
  }
  return 0;
}

static int
teardown_temp_user(void **state)
{
  if (geteuid() == 0)
    remove_temp_user();
  return 0;
}

TEST_FIXTURE(test_temp_user, setup_temp_user, teardown_temp_user)
{
  struct berth_user *u = NULL, *v = NULL;
  berth_error_t err = NULL;
  struct group *gp, *g1, *g2;
  gid_t pgid, s1, s2;

  if (geteuid() != 0) {
    const char *ci = getenv("CI");
    if (ci != NULL && strcmp(ci, "true") == 0)
      fail_msg("needs root (useradd); a skip is a failure under CI=true");
    skip();
  }
  gp = getgrnam(TPRIM);
  assert_non_null(gp);
  pgid = gp->gr_gid;
  g1 = getgrnam(TSUP1);
  assert_non_null(g1);
  s1 = g1->gr_gid;
  g2 = getgrnam(TSUP2);
  assert_non_null(g2);
  s2 = g2->gr_gid;

  if (berth_user_lookup(TUSER, &u, &err) < 0)
    fail_msg("lookup: %s", err->msg);
  assert_string_equal(u->name, TUSER);
  assert_int_equal(u->gid, pgid);
  assert_string_equal(u->group, TPRIM);
  assert_string_equal(u->home, "/nonexistent/" TUSER);
  assert_string_equal(u->shell, "/bin/sh");
  assert_int_equal(strlen(u->gecos), 3000);

  /* primary first, each group once (the primary is also listed in -G) */
  assert_int_equal(u->n_groups, 3);
  assert_int_equal(u->groups[0].gid, pgid);
  assert_string_equal(u->groups[0].name, TPRIM);
  for (size_t i = 1; i < u->n_groups; i++) {
    if (u->groups[i].gid == s1)
      assert_string_equal(u->groups[i].name, TSUP1);
    else if (u->groups[i].gid == s2)
      assert_string_equal(u->groups[i].name, TSUP2);
    else
      fail_msg("unexpected gid %u", (unsigned) u->groups[i].gid);
  }
  assert_int_not_equal(u->groups[1].gid, u->groups[2].gid);
  assert_true(berth_user_in_group(u, TPRIM));
  assert_true(berth_user_in_group(u, TSUP1));
  assert_true(berth_user_in_group(u, TSUP2));
  assert_false(berth_user_in_group(u, "root"));

  /* the same user by uid */
  if (berth_user_lookup_uid(u->uid, &v, &err) < 0)
    fail_msg("lookup_uid: %s", err->msg);
  assert_string_equal(v->name, TUSER);
  assert_int_equal(v->n_groups, 3);
  berth_user_free(u);
  berth_user_free(v);
}
