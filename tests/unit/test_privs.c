/* test_privs.c - the permanent privilege drop, in forked children (a drop
 * cannot be undone in the test process).  Needs root: exits 77 (skip)
 * without it, and fails under CI=true. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/privs.h"
#include "../lib/testlib.h"

/* Run fn in a child; it returns NULL on success or a failure description. */
static void
in_child(const char *(*fn)(void) )
{
  int p[2], st;
  char msg[512] = "";
  pid_t pid;
  ssize_t n;

  assert_int_equal(pipe(p), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    const char *why;
    close(p[0]);
    why = fn();
    if (why != NULL) {
      (void) !write(p[1], why, strlen(why));
      _exit(1);
    }
    _exit(0);
  }
  close(p[1]);
  n = read(p[0], msg, sizeof(msg) - 1);
  msg[n > 0 ? n : 0] = '\0';
  close(p[0]);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("child: %s", msg[0] ? msg : "died");
}

static char why[512];

/* The failure description "what: the error's message". */
static const char *
failed(const char *what, berth_error_t err)
{
  snprintf(why, sizeof(why), "%s: %s", what, err->msg);
  return why;
}

/* Drop to nobody (65534) with the supplementary groups given, and check
 * that every uid and gid is 65534 and the groups are exactly those. */
static const char *
drop_to_nobody(const gid_t *groups, size_t n_groups)
{
  berth_error_t err = NULL;
  uid_t r, e, s;
  gid_t rg, eg, sg, have[8];
  int n;

  if (berth_privs_drop(65534, 65534, groups, n_groups, &err) < 0)
    return failed("drop", err);
  if (getresuid(&r, &e, &s) < 0 || r != 65534 || e != 65534 || s != 65534)
    return "uids not all 65534";
  if (getresgid(&rg, &eg, &sg) < 0 || rg != 65534 || eg != 65534 || sg != 65534)
    return "gids not all 65534";
  n = getgroups(8, have);
  if (n < 0 || (size_t) n != n_groups)
    return "wrong number of supplementary groups";
  for (int i = 0; i < n; i++) {
    size_t j = 0;
    while (j < n_groups && groups[j] != have[i])
      j++;
    if (j == n_groups)
      return "unexpected supplementary group";
  }
  return NULL;
}

static const char *
drop_nobody(void)
{
  const gid_t groups[] = { 65534, 4242431, 4242430 };
  berth_error_t err = NULL;
  const char *bad = drop_to_nobody(groups, 3);

  if (bad != NULL)
    return bad;
  /* what an attacker would try next */
  if (setuid(0) == 0 || seteuid(0) == 0 || setreuid((uid_t) -1, 0) == 0 || setgid(0) == 0
      || setgroups(0, NULL) == 0)
    return "root regained";
  if (errno != EPERM)
    return "unexpected errno from setgroups";
  if (berth_privs_harden(&err) < 0)
    return failed("harden", err);
  if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
    return "still dumpable";
  /* a second drop back to root must fail, as a permission error */
  if (berth_privs_drop(0, 0, NULL, 0, &err) == 0)
    return "second drop to root succeeded";
  if (err->kind != BERTH_E_PERM)
    return "second drop: not a permission error";
  berth_error_release(&err);
  return NULL;
}

TEST(test_drop)
{
  in_child(drop_nobody);
}

/* no supplementary group at all */
static const char *
drop_no_groups(void)
{
  return drop_to_nobody(NULL, 0);
}

TEST(test_drop_no_groups)
{
  in_child(drop_no_groups);
}

/* With PR_SET_KEEPCAPS the kernel keeps the permitted capabilities across
 * setresuid: the drop must notice and fail. */
static const char *
drop_keepcaps(void)
{
  const gid_t g = 65534;
  berth_error_t err = NULL;

  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return "prctl(PR_SET_KEEPCAPS)";
  if (berth_privs_drop(65534, 65534, &g, 1, &err) == 0)
    return "drop succeeded although capabilities were kept";
  if (strstr(err->msg, "capabilit") == NULL)
    return failed("unexpected error", err);
  berth_error_release(&err);
  return NULL;
}

TEST(test_drop_detects_kept_caps)
{
  in_child(drop_keepcaps);
}

static const char *
harden_only(void)
{
  berth_error_t err = NULL;
  if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
    return "test process not dumpable to begin with";
  if (berth_privs_harden(&err) < 0)
    return "harden failed";
  if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
    return "still dumpable";
  return NULL;
}

TEST(test_harden)
{
  in_child(harden_only);
}

int
main(void)
{
  if (geteuid() != 0)
    die_skip("test_privs: needs root");
  return testlib_run();
}
