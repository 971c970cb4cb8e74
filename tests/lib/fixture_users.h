/* fixture_users.h - a struct berth_user written as one row, for the C tests
 * and fuzzers that need a user without NSS:
 *
 *   static struct berth_group groups[] = { { 1000, (char *) "alice" }, ... };
 *   static struct berth_user alice
 *       = TEST_USER("alice", 1000, 1000, "Alice", "/home/alice", "/bin/sh", "alice", groups);
 *
 * TEST_USER_NO_GROUPS for a user whose groups the test does not read.  The
 * strings are the test's literals: the user is never freed. */
#ifndef BERTH_TESTS_FIXTURE_USERS_H
#define BERTH_TESTS_FIXTURE_USERS_H

#include "berth/user.h"

#define TEST_USER(name_, uid_, gid_, gecos_, home_, shell_, group_, groups_)            \
  {                                                                                     \
    .name = (char *) (name_), .uid = (uid_), .gid = (gid_), .gecos = (char *) (gecos_), \
    .home = (char *) (home_), .shell = (char *) (shell_), .group = (char *) (group_),   \
    .groups = (groups_), .n_groups = sizeof(groups_) / sizeof((groups_)[0]),            \
  }
#define TEST_USER_NO_GROUPS(name_, uid_, gid_, home_, shell_, group_)                 \
  {                                                                                   \
    .name = (char *) (name_), .uid = (uid_), .gid = (gid_), .home = (char *) (home_), \
    .shell = (char *) (shell_), .group = (char *) (group_),                           \
  }

#endif
