/* test_hoststate.c - removing a container's host state under RUNDIR: all of
 * it for a name berth makes, nothing for a name that could leave RUNDIR. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/hoststate.h"
#include "berth/session.h"
#include "../../lib/session-internal.h"
#include "../lib/testlib.h"

static char top[] = "/tmp/berth-hoststate-XXXXXX";
static char run[sizeof(top) + 8];

/* a/b, as files under the test's directories */
static void
touch(const char *a, const char *b)
{
  char path[1100];
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", a, b);
  f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
}

static int
exists(const char *a, const char *b)
{
  char path[1100];
  struct stat st;

  snprintf(path, sizeof(path), "%s/%s", a, b);
  return lstat(path, &st) == 0;
}

static void
plant(const char *name)
{
  char path[512];

  snprintf(path, sizeof(path), "%s/etc/%s", run, name);
  assert_int_equal(mkdir(path, 0755), 0);
  snprintf(path, sizeof(path), "%s/sessions/%s", run, name);
  assert_int_equal(mkdir(path, 0755), 0);
  snprintf(path, sizeof(path), "%s/etc/%s", run, name);
  touch(path, "passwd");
  snprintf(path, sizeof(path), "%s/sessions/%s", run, name);
  touch(path, "1-2");
  snprintf(path, sizeof(path), "%s/lock", run);
  touch(path, "berth-alice.lock");
}

TEST(test_removes_all_of_it)
{
  char path[512];

  plant("berth-alice");
  snprintf(path, sizeof(path), "%s/lock", run);
  assert_true(exists(path, "berth-alice.lock"));
  berth_host_state_remove("berth-alice");
  snprintf(path, sizeof(path), "%s/etc", run);
  assert_false(exists(path, "berth-alice"));
  snprintf(path, sizeof(path), "%s/sessions", run);
  assert_false(exists(path, "berth-alice"));
  snprintf(path, sizeof(path), "%s/lock", run);
  assert_false(exists(path, "berth-alice.lock"));
}

TEST(test_never_leaves_rundir)
{
  char path[512];

  /* RUNDIR/etc/../../victim is top/victim: a name an engine reply could
   * carry, never one berth makes */
  snprintf(path, sizeof(path), "%s/victim", top);
  assert_int_equal(mkdir(path, 0755), 0);
  touch(path, "keep");
  berth_host_state_remove("../../victim");
  berth_host_state_remove("..");
  berth_host_state_remove("");
  berth_host_state_remove(NULL);
  berth_host_state_remove("a/b");
  assert_true(exists(path, "keep"));
}

int
main(void)
{
  char path[512];

  if (mkdtemp(top) == NULL)
    return 1;
  snprintf(run, sizeof(run), "%s/run", top);
  for (int i = 0; i < 4; i++) {
    static const char *const sub[] = { "", "/etc", "/sessions", "/lock" };
    snprintf(path, sizeof(path), "%s%s", run, sub[i]);
    if (mkdir(path, 0755) != 0)
      return 1;
  }
  berth_session_set_rundir(run);
  return testlib_run();
}
