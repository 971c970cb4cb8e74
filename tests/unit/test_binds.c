/* test_binds.c - the rule for a container's bind sources (lib/binds.c):
 * berth_path_open with BERTH_PATH_TRUSTED, as the mount check calls it, on
 * a tree built as root; and the engine's "no such bind source" turned into
 * "your home is not on the container host".  No engine involved. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/boxdef.h"
#include "berth/error.h"
#include "berth/util.h"
#include "../lib/binds-internal.h"
#include "../lib/testlib.h"

/* ---------------------------------------------------------------- bind sources */

static char tree[64];

/* berth_path_open as the mount check calls it: 0 when `refusal` is NULL,
 * else -1 with the message holding `refusal`. */
struct source_case {
  const char *rel;
  unsigned types;
  const char *refusal;
};

static void
check_source(const struct source_case *c)
{
  char p[256];
  berth_error_t err = NULL;
  int fd;
  snprintf(p, sizeof(p), "%s/%s", tree, c->rel);
  fd = berth_path_open(p, BERTH_PATH_TRUSTED | c->types, BERTH_E_CONTAINER, NULL, &err);
  if (c->refusal == NULL) {
    if (fd < 0)
      fail_msg("%s refused: %s", p, err->msg);
    close(fd);
    return;
  }
  if (fd >= 0)
    fail_msg("%s accepted; expected a refusal mentioning \"%s\"", p, c->refusal);
  assert_int_equal(err->kind, BERTH_E_CONTAINER);
  if (strstr(err->msg, c->refusal) == NULL)
    fail_msg("%s: \"%s\" does not mention \"%s\"", p, err->msg, c->refusal);
  berth_error_release(&err);
}

#define ANY (BERTH_PATH_DIR | BERTH_PATH_FILE)

static int remove_tree(void **state);

TEST_FIXTURE(test_bind_source_rule, NULL, remove_tree)
{
  char cmd[2048];
  berth_error_t err = NULL;

  if (geteuid() != 0)
    skip(); /* the tree needs root-owned and other-owned entries */
  snprintf(tree, sizeof(tree), "/tmp/bt-container-src-XXXXXX");
  assert_non_null(mkdtemp(tree));
  assert_int_equal(chmod(tree, 0755), 0);
  /* uid 4242 plays the user */
  snprintf(cmd, sizeof(cmd),
           "set -e; cd '%s'; "
           "mkdir -m 0755 scratch var var/home secret; chmod 0700 secret; "
           "mkdir -m 0700 scratch/alice; chown 4242:4242 scratch/alice; echo x > file; "
           "ln -s var/home home; ln -s '%s/home' abs; ln -s home chain; "
           "mkdir -m 0700 var/home/alice var/home/alice/sub; chown -R 4242 var/home/alice; "
           "mkdir -m 1777 sticky; mkdir -m 0755 sticky/rootdir; "
           "mkdir -m 0755 sticky/alice; chown 4242 sticky/alice; "
           "ln -s ../var sticky/rootlink; "
           "ln -s ../secret sticky/userlink; chown -h 4242 sticky/userlink; "
           "mkdir -m 0775 gw; mkdir gw/x; chmod 0775 gw; "
           "mkdir -m 0755 theirs; chown 4242 theirs; mkdir theirs/x; ln -s ../secret theirs/link; "
           "ln -s secret userlink; chown -h 4242 userlink; "
           "mkfifo fifo; ln -s /proc/self/root proc",
           tree, tree);
  assert_int_equal(sh("%s", cmd), 0);

  /* rel, types, refusal (NULL: accepted) */
  static const struct source_case cases[] = {
    /* the user's own directory in a root-owned 0755 one, a root file */
    { "scratch/alice", ANY, NULL },
    { "file", ANY, NULL },
    { "file", BERTH_PATH_FILE, NULL },
    { "file", BERTH_PATH_DIR, "is not a directory" },
    { "scratch", BERTH_PATH_FILE, "not a regular file" },
    { "fifo", ANY, "not a directory or regular file" },
    { "missing", ANY, "No such file" },
    /* root's links in root-only directories: absolute, relative, chained,
     * also as the last component, and ".." */
    { "home/alice", BERTH_PATH_DIR, NULL },
    { "abs/alice", BERTH_PATH_DIR, NULL },
    { "chain/alice", BERTH_PATH_DIR, NULL },
    { "chain", BERTH_PATH_DIR, NULL },
    { "scratch/../chain/./alice", BERTH_PATH_DIR, NULL },
    /* below the user's own directory: they can replace anything there */
    { "home/alice/sub", ANY, "owned by uid 4242, not root" },
    /* ".." goes to the real parent, whatever the user does in theirs */
    { "scratch/alice/../alice", ANY, NULL },
    /* world-writable sticky directory: root's entries are safe there, the
     * user's are not, and neither is the user's link */
    { "sticky/rootdir", ANY, NULL },
    { "sticky/rootlink/home", ANY, NULL },
    { "sticky/alice", ANY, "owned by uid 4242 in" },
    { "sticky/userlink", ANY, "symbolic link owned by uid 4242" },
    /* group-writable or user-owned directories, and links in them */
    { "gw/x", ANY, "writable by group or others (mode 0775)" },
    { "theirs/x", ANY, "owned by uid 4242, not root" },
    { "theirs/link", ANY, "others could replace" },
    { "userlink", ANY, "symbolic link owned by uid 4242" },
    /* /proc links do not go where their text says */
    { "proc/etc", ANY, "/proc" },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_source(&cases[i]);
  /* not absolute */
  assert_int_equal(
      berth_path_open("relative/x", BERTH_PATH_TRUSTED | ANY, BERTH_E_CONTAINER, NULL, &err), -1);
  berth_error_release(&err);
}

static int
remove_tree(void **state)
{
  if (tree[0] == '\0')
    return 0;
  return sh("rm -rf '%s'", tree) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- the engine host's home */

/* What the engine says when a bind source is missing on its host, and
 * whether berth_binds_engine_home makes it "your home is not available on
 * the container host" (BERTH_E_HOME_ENGINE) or leaves it alone. */
struct engine_home_case {
  const char *engine_said;
  bool home_mount;
  bool is_home;
};

static void
check_engine_home(const struct engine_home_case *c)
{
  struct berth_config cfg = { .home = { .mount = c->home_mount } };
  char name[] = "alice", home[] = "/home/alice";
  struct berth_user u = { .name = name, .home = home };
  struct berth_box b = { .cfg = &cfg, .user = &u };
  berth_error_t err = NULL;

  berth_error_make(&err, BERTH_E_CONTAINER, 0, "creating container berth-alice: engine said: %s",
                   c->engine_said);
  assert_int_equal(berth_binds_engine_home(&b, &err), -1);
  if (c->is_home != (err->kind == BERTH_E_HOME_ENGINE))
    fail_msg("\"%s\": kind %s", c->engine_said, berth_error_kind_name(err->kind));
  if (c->is_home) {
    assert_non_null(strstr(err->msg, "the engine's host has no home directory /home/alice"));
    assert_non_null(strstr(err->msg, c->engine_said)); /* the engine's own words stay */
    assert_string_equal(berth_error_reason(err),
                        "your home directory is not available on the container host");
  }
  berth_error_release(&err);
}

TEST(test_engine_home)
{
  static const struct engine_home_case cases[] = {
    { "invalid mount config for type \"bind\": bind source path does not exist: /home/alice "
      "(HTTP 400)",
      true, true },
    { "statfs /home/alice: no such file or directory (HTTP 500)", true, true },
    /* another user's home, a longer path, another bind's source */
    { "bind source path does not exist: /home/alice2 (HTTP 400)", true, false },
    { "bind source path does not exist: /srv/data (HTTP 400)", true, false },
    /* the home exists there, something else failed */
    { "/home/alice: permission denied (HTTP 500)", true, false },
    /* home.mount off: the home is not a bind */
    { "bind source path does not exist: /home/alice (HTTP 400)", false, false },
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_engine_home(&cases[i]);
}
