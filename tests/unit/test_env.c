/* test_env.c - the environment whitelist of a berthed session: what passes
 * into the container, and the edits pam_berth makes to the PAM environment
 * so that nothing the user planted (~/.pam_environment) reaches the host
 * processes sshd starts. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/env.h"
#include "berth/util.h"
#include "../lib/testlib.h"
#include "../lib/fixture_users.h"

static bool
passes(const char *name)
{
  return berth_env_passes(name, strlen(name));
}

TEST(test_passes)
{
  const char *yes[] = {
    "TERM",     "LANG",      "TZ", "SSH_CONNECTION", "SSH_CLIENT", "SSH_ORIGINAL_COMMAND", "LC_ALL",
    "LC_CTYPE", "LC_MY_OWN", NULL
  };
  const char *no[] = { "LD_PRELOAD",
                       "LD_LIBRARY_PATH",
                       "BASH_ENV",
                       "ENV",
                       "PATH",
                       "HOME",
                       "LC_",
                       "LC_all",
                       "LC_X1",
                       "TERMINFO",
                       "TER",
                       "TERMX",
                       "LANGUAGE",
                       "SSH_TTY",
                       "SSH_AUTH_SOCK",
                       "GCONV_PATH",
                       "LOCPATH",
                       "TZDIR",
                       "BERTH_CONTAINER",
                       "",
                       NULL };
  for (size_t i = 0; yes[i]; i++)
    assert_true(passes(yes[i]));
  for (size_t i = 0; no[i]; i++)
    if (passes(no[i]))
      fail_msg("%s must not pass", no[i]);
  /* only the first len bytes are the name: "KEY=VALUE" works as input */
  assert_true(berth_env_passes("TERM=xterm", 4));
  assert_false(berth_env_passes("TERM=xterm", 3));
  assert_false(berth_env_passes("LD_PRELOAD=/x/TERM", 10));
}

static struct berth_user alice
    = TEST_USER_NO_GROUPS("alice", 1000, 1000, "/home/alice", "/usr/bin/berth-shell", NULL);

static char **
edits(char *const *env, const struct berth_user *u)
{
  berth_error_t err = NULL;
  char **e = berth_env_session_edits(env, u, &err);
  if (e == NULL)
    fail_msg("berth_env_session_edits: %s", err->msg);
  assert_null(err);
  return e;
}

/* Apply the edits the way pam_putenv does, to check the end result. */
static char **
apply(char *const *env, char *const *ed)
{
  size_t n = berth_strv_len(env), m = 0;
  char **out = calloc(n + berth_strv_len(ed) + 1, sizeof(char *));
  assert_non_null(out);
  for (size_t i = 0; i < n; i++)
    out[m++] = strdup(env[i]);
  for (size_t j = 0; ed[j]; j++) {
    const char *eq = strchr(ed[j], '=');
    size_t len = eq ? (size_t) (eq - ed[j]) : strlen(ed[j]);
    size_t i;
    for (i = 0; i < m; i++)
      if (strncmp(out[i], ed[j], len) == 0 && out[i][len] == '=')
        break;
    if (i == m)
      fail_msg("edit %s names a variable that is not there", ed[j]);
    free(out[i]);
    if (eq) {
      out[i] = strdup(ed[j]);
    } else {
      out[i] = out[m - 1];
      out[--m] = NULL;
    }
  }
  return out;
}

static void
assert_env(char *const *got, const char *const *want)
{
  size_t n = 0;
  for (; want[n]; n++)
    if (!berth_strv_contains(got, want[n]))
      fail_msg("missing %s", want[n]);
  assert_int_equal(berth_strv_len(got), n);
}

/* What Debian's stack leaves after pam_env user_readenv=1 read a hostile
 * ~/.pam_environment, plus what other modules add. */
static char *hostile[] = {
  (char *) "LANG=C.UTF-8",
  (char *) "LD_PRELOAD=/home/alice/e.so",
  (char *) "LD_LIBRARY_PATH=/home/alice",
  (char *) "BASH_ENV=/home/alice/x.sh",
  (char *) "ENV=/home/alice/x.sh",
  (char *) "PATH=/home/alice/bin:/usr/bin",
  (char *) "HOME=/tmp/elsewhere",
  (char *) "USER=root",
  (char *) "SHELL=/bin/bash",
  (char *) "TERM=$(touch /tmp/x)",
  (char *) "LC_ALL=../../../home/alice/loc",
  (char *) "TZ=:/home/alice/tz",
  (char *) "MOTD_SHOWN=pam",
  (char *) "XDG_RUNTIME_DIR=/run/user/1000",
  (char *) "SSH_AUTH_INFO_0=publickey ssh-ed25519 AAAA",
  (char *) "BERTH_CONTAINER=berth-root",
  (char *) "LC_=x",
  NULL,
};

TEST(test_hostile_env)
{
  cleanup_strv char **e = edits(hostile, &alice);
  cleanup_strv char **result = apply(hostile, e);
  const char *want[] = {
    "LANG=C.UTF-8",
    "PATH=" BERTH_ENV_HOST_PATH,
    "HOME=/home/alice",
    "USER=alice",
    "SHELL=/usr/bin/berth-shell",
    /* whitelisted values are opaque data, kept byte for byte */
    "TERM=$(touch /tmp/x)",
    "LC_ALL=../../../home/alice/loc",
    "TZ=:/home/alice/tz",
    NULL,
  };
  assert_env(result, want);
}

TEST(test_nothing_to_do)
{
  char *clean[] = { (char *) "LANG=C.UTF-8", (char *) "TERM=xterm", (char *) "HOME=/home/alice",
                    (char *) "PATH=" BERTH_ENV_HOST_PATH, NULL };
  char *empty[] = { NULL };
  cleanup_strv char **e1 = edits(clean, &alice);
  cleanup_strv char **e2 = edits(empty, &alice);
  assert_int_equal(berth_strv_len(e1), 0);
  assert_int_equal(berth_strv_len(e2), 0);
}

/* The user could not be resolved (fail closed): identity variables are
 * deleted so sshd sets its own from the passwd entry; nothing is added. */
TEST(test_unknown_user)
{
  cleanup_strv char **e = edits(hostile, NULL);
  cleanup_strv char **result = apply(hostile, e);
  const char *want[] = {
    "LANG=C.UTF-8",         "PATH=" BERTH_ENV_HOST_PATH,
    "TERM=$(touch /tmp/x)", "LC_ALL=../../../home/alice/loc",
    "TZ=:/home/alice/tz",   NULL,
  };
  assert_env(result, want);

  struct berth_user nohome = alice;
  nohome.home = NULL;
  char *env[] = { (char *) "HOME=/tmp", (char *) "USER=alice", NULL };
  cleanup_strv char **e2 = edits(env, &nohome);
  cleanup_strv char **r2 = apply(env, e2);
  const char *want2[] = { "USER=alice", NULL };
  assert_env(r2, want2);
}

/* An entry without '=' (pam_getenvlist never returns one, but be total)
 * is deleted by its whole text. */
TEST(test_no_equals)
{
  char *env[] = { (char *) "LD_PRELOAD", (char *) "TERM", NULL };
  cleanup_strv char **e = edits(env, &alice);
  assert_int_equal(berth_strv_len(e), 1);
  assert_string_equal(e[0], "LD_PRELOAD");
}
