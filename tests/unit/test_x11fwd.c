/* test_x11fwd.c - the X11 cookie berth-shell copies for the container from
 * ~/.Xauthority, a file the user writes: malformed, hostile and foreign
 * files are refused, and only the entry sshd's xauth made is copied. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../lib/testlib.h"

#include "berth/x11fwd.h"
#include "../../lib/session-internal.h"

static char top[] = "/tmp/berth-x11-XXXXXX";
static char home[64], run[64], xa[96];
static unsigned char buf[1024];
static size_t len;

static void
put16(unsigned v)
{
  buf[len++] = (unsigned char) (v >> 8);
  buf[len++] = (unsigned char) (v & 0xff);
}

static void
put_field(const void *p, size_t n)
{
  put16((unsigned) n);
  memcpy(buf + len, p, n);
  len += n;
}

/* family, address, display number, MIT-MAGIC-COOKIE-1, 16 bytes of fill */
static void
entry(unsigned family, const char *addr, const char *num, unsigned char fill)
{
  unsigned char cookie[16];

  memset(cookie, fill, sizeof(cookie));
  put16(family);
  put_field(addr, strlen(addr));
  put_field(num, strlen(num));
  put_field("MIT-MAGIC-COOKIE-1", 18);
  put_field(cookie, sizeof(cookie));
}

static void
write_xa(void)
{
  FILE *f;

  unlink(xa);
  f = fopen(xa, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
}

static int
start(const char *display, char *env[2])
{
  struct berth_config cfg = { .engine = { .socket = (char *) "/var/run/docker.sock" } };
  struct berth_container_conf c = { .network = (char *) "berth" };
  struct berth_user u = { .name = (char *) "alice", .home = home };
  struct berth_box b = { .cfg = &cfg, .conf = &c, .user = &u, .name = (char *) "berth-alice" };
  berth_error_t err = NULL;
  int r;

  env[0] = env[1] = NULL;
  r = berth_x11_start(&b, display, env, &err);
  if (r < 0) {
    assert_non_null(err);
    berth_error_release(&err);
  }
  return r;
}

static int
setup(void **state)
{
  char path[128];

  (void) state;
  assert_non_null(mkdtemp(top));
  snprintf(home, sizeof(home), "%s/home", top);
  snprintf(run, sizeof(run), "%s/run", top);
  snprintf(xa, sizeof(xa), "%s/.Xauthority", home);
  assert_int_equal(mkdir(home, 0700), 0);
  assert_int_equal(mkdir(run, 0755), 0);
  snprintf(path, sizeof(path), "%s/agent", run);
  assert_int_equal(mkdir(path, 0755), 0);
  snprintf(path, sizeof(path), "%s/agent/berth-alice", run);
  assert_int_equal(mkdir(path, 0700), 0);
  berth_session_set_rundir(run);
  return 0;
}

static int
teardown(void **state)
{
  char cmd[128];

  (void) state;
  snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", top);
  return system(cmd) == 0 ? 0 : -1;
}

TEST(refusals)
{
  char host[256], *env[2];

  assert_int_equal(gethostname(host, sizeof(host)), 0);
  /* nothing to do: no DISPLAY, not sshd's localhost form, odd screens */
  assert_int_equal(start(NULL, env), 1);
  assert_int_equal(start(":0", env), 1);
  assert_int_equal(start("otherhost:10.0", env), 1);
  assert_int_equal(start("localhost:10.0;rm -rf ~", env), 1);
  assert_int_equal(start("localhost:", env), 1);
  assert_int_equal(start("localhost:123456", env), 1);
  /* no file */
  assert_int_equal(start("localhost:10.0", env), -1);
  /* a cookie for another display, another host, another family: not copied */
  len = 0;
  entry(256, host, "11", 0x11);
  entry(256, "elsewhere", "10", 0x22);
  entry(0, host, "10", 0x33);
  write_xa();
  assert_int_equal(start("localhost:10.0", env), -1);
  /* truncated: a length that runs past the end */
  len = 0;
  entry(256, host, "10", 0x44);
  len -= 3;
  write_xa();
  assert_int_equal(start("localhost:10.0", env), -1);
  /* a link to another file is not followed */
  unlink(xa);
  assert_int_equal(symlink("/etc/passwd", xa), 0);
  assert_int_equal(start("localhost:10.0", env), -1);
  unlink(xa);
  /* a FIFO would block: O_NONBLOCK, and only regular files */
  assert_int_equal(mkfifo(xa, 0600), 0);
  assert_int_equal(start("localhost:10.0", env), -1);
  unlink(xa);
}

TEST(copies_sshds_cookie)
{
  char host[256], *env[2], path[160];
  unsigned char got[256];
  FILE *f;
  size_t n;

  assert_int_equal(gethostname(host, sizeof(host)), 0);
  len = 0;
  entry(256, host, "11", 0x11);
  entry(256, host, "10", 0x55); /* the one sshd's xauth added for display 10 */
  write_xa();
  assert_int_equal(start("localhost:10.0", env), 0);
  assert_string_equal(env[0], "DISPLAY=localhost:10.0");
  snprintf(path, sizeof(path), "XAUTHORITY=/.berth/agent/xauth.%ld", (long) getpid());
  assert_string_equal(env[1], path);
  snprintf(path, sizeof(path), "%s/agent/berth-alice/xauth.%ld", run, (long) getpid());
  f = fopen(path, "r");
  assert_non_null(f);
  n = fread(got, 1, sizeof(got), f);
  fclose(f);
  /* FamilyWild, no address, "10", the name, the 16 bytes of 0x55 */
  assert_int_equal(n, 2 + 2 + 4 + 20 + 18);
  assert_int_equal(got[0], 0xff);
  assert_int_equal(got[1], 0xff);
  assert_int_equal(got[2] | got[3], 0);
  assert_memory_equal(got + 4, "\0\00210", 4);
  assert_memory_equal(got + 8, "\0\022MIT-MAGIC-COOKIE-1", 20);
  assert_int_equal(got[28], 0);
  assert_int_equal(got[29], 16);
  for (size_t i = 30; i < n; i++)
    assert_int_equal(got[i], 0x55);
  free(env[0]);
  free(env[1]);
}

TEST_GROUP(setup, teardown);
