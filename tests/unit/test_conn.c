/* test_conn.c - the connection object over a socketpair and a unix socket:
 * non-blocking I/O, deadlines, half-close, a listener that never accepts. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/conn.h"
#include "berth/util.h"
#include "../lib/testlib.h"

static struct berth_conn *
pair(int *peer)
{
  berth_error_t err = NULL;
  struct berth_conn *c = NULL;
  int sv[2];

  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(berth_conn_from_fd(sv[0], &c, &err), 0);
  assert_null(err);
  *peer = sv[1];
  return c;
}

TEST(test_send_recv_again)
{
  berth_error_t err = NULL;
  char buf[16];
  int peer;
  struct berth_conn *c = pair(&peer);

  /* nothing to read yet: the call says so instead of blocking */
  assert_int_equal(berth_conn_recv(c, buf, sizeof(buf), &err), BERTH_CONN_AGAIN);
  assert_int_equal(berth_conn_send_all(c, "hello", 5, berth_now_ms() + 1000, &err), 0);
  assert_int_equal(read(peer, buf, sizeof(buf)), 5);
  assert_memory_equal(buf, "hello", 5);
  assert_int_equal(write(peer, "abc", 3), 3);
  assert_int_equal(berth_conn_recv_wait(c, buf, sizeof(buf), berth_now_ms() + 1000, &err), 3);
  assert_memory_equal(buf, "abc", 3);
  assert_false(berth_conn_pending(c));
  assert_true(berth_conn_pollfd(c) >= 0);
  close(peer);
  /* the peer is gone: end of stream, and sending fails without SIGPIPE */
  assert_int_equal(berth_conn_recv(c, buf, sizeof(buf), &err), 0);
  assert_int_equal(berth_conn_send(c, "x", 1, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_ENGINE_UNREACHABLE);
  berth_error_release(&err);
  berth_conn_free(c);
}

TEST(test_deadline)
{
  berth_error_t err = NULL;
  char buf[4];
  int peer;
  struct berth_conn *c = pair(&peer);

  assert_int_equal(berth_conn_recv_wait(c, buf, sizeof(buf), berth_now_ms() + 50, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_ENGINE_TIMEOUT);
  berth_error_release(&err);
  close(peer);
  berth_conn_free(c);
}

TEST(test_shutdown_write)
{
  berth_error_t err = NULL;
  char buf[4];
  int peer;
  cleanup_conn struct berth_conn *c = pair(&peer);

  assert_int_equal(berth_conn_shutdown_write(c, &err), 0);
  assert_int_equal(read(peer, buf, sizeof(buf)), 0); /* the peer sees EOF */
  /* and can still answer */
  assert_int_equal(write(peer, "ok", 2), 2);
  assert_int_equal(berth_conn_recv_wait(c, buf, sizeof(buf), berth_now_ms() + 1000, &err), 2);
  close(peer);
}

TEST(test_open_unix)
{
  berth_error_t err = NULL;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct berth_conn *c = NULL;
  char dir[] = "/tmp/berth-conn-XXXXXX";
  int lfd;

  assert_non_null(mkdtemp(dir));
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
  /* nobody listening */
  assert_int_equal(berth_conn_open_unix(sa.sun_path, 500, &c, &err), -1);
  assert_int_equal(err->kind, BERTH_E_ENGINE_UNREACHABLE);
  berth_error_release(&err);
  lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
  assert_int_equal(listen(lfd, 0), 0);
  assert_int_equal(berth_conn_open_unix(sa.sun_path, 500, &c, &err), 0);
  berth_conn_free(c);
  /* a listener that never accepts: once its queue is full, connect is
   * bounded by the timeout instead of hanging */
  {
    bool timed_out = false;
    for (int i = 0; i < 16 && !timed_out; i++) {
      struct berth_conn *k = NULL;
      if (berth_conn_open_unix(sa.sun_path, 200, &k, &err) < 0) {
        assert_int_equal(err->kind, BERTH_E_ENGINE_TIMEOUT);
        berth_error_release(&err);
        timed_out = true;
      }
      /* leaked on purpose until the listener closes: they fill the queue */
    }
    assert_true(timed_out);
  }
  /* a path that cannot be a socket address */
  {
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(berth_conn_open_unix(longp, 100, &c, &err), -1);
    berth_error_release(&err);
  }
  close(lfd);
  unlink(sa.sun_path);
  rmdir(dir);
}
