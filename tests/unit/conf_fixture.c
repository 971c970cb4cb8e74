/* conf_fixture.c - what test_config and test_policy share: berth.conf
 * texts written to a temporary directory and loaded, and users freed. */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/config.h"
#include "berth/error.h"
#include "berth/user.h"
#include "conf_fixture.h"
#include "../lib/testlib.h"

char tmpdir[] = "/tmp/berth-test-config.XXXXXX";

char *
write_conf_mode(const char *name, const char *text, mode_t mode)
{
  char *path = xasprintf("%s/%s", tmpdir, name);
  int fd;

  unlink(path);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
  return path;
}

char *
write_conf(const char *text)
{
  return write_conf_mode("berth.conf", text, 0644);
}

struct berth_config *
load_ok(const char *text)
{
  char *path = write_conf(text);
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;

  if (berth_config_load(path, &cfg, &err) < 0)
    fail_msg("config should load but failed: %s\n--- config ---\n%s", err->msg, text);
  assert_non_null(cfg);
  assert_string_equal(cfg->path, path);
  free(path);
  return cfg;
}

void
free_user(struct berth_user *u)
{
  berth_user_free(u);
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  return remove(p);
}

int
conf_fixture_setup(void **state)
{
  (void) state;
  return mkdtemp(tmpdir) ? 0 : -1;
}

int
conf_fixture_teardown(void **state)
{
  (void) state;
  return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
