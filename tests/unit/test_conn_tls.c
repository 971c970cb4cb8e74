/* test_conn_tls.c - the TLS connection (conn_tls.c) against an OpenSSL
 * server in a child process on 127.0.0.1: bytes OpenSSL holds that poll()
 * cannot see (berth_conn_pending), the half-close (close_notify) after which
 * the peer still answers, a vanished peer without SIGPIPE, the server's
 * name checked, a client certificate the server refuses. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/conn.h"
#include "berth/util.h"
#include "../lib/testlib.h"

#define BIG 40000 /* more than two TLS records */

static char dir[] = "/tmp/berth-test-tls.XXXXXX";
static char ca[300], srv_cert[300], srv_key[300], cli_cert[300], cli_key[300];
static char foreign_cert[300], foreign_key[300];

static int
setup(void **state)
{
  char cmd[4096];

  if (mkdtemp(dir) == NULL)
    return -1;
  snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
  snprintf(srv_cert, sizeof(srv_cert), "%s/server.pem", dir);
  snprintf(srv_key, sizeof(srv_key), "%s/server-key.pem", dir);
  snprintf(cli_cert, sizeof(cli_cert), "%s/client.pem", dir);
  snprintf(cli_key, sizeof(cli_key), "%s/client-key.pem", dir);
  snprintf(foreign_cert, sizeof(foreign_cert), "%s/foreign.pem", dir);
  snprintf(foreign_key, sizeof(foreign_key), "%s/foreign-key.pem", dir);
  snprintf(cmd, sizeof(cmd),
           "(cd %s && K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes' && "
           "openssl req -x509 $K -days 2 -subj /CN=ca -keyout ca-key.pem -out ca.pem && "
           "openssl req -x509 $K -days 2 -subj /CN=other -keyout o-key.pem -out o.pem && "
           "leaf() { openssl req -new $K -subj /CN=$1 -keyout $1-key.pem -out $1.csr && "
           "printf '%%s\\n' \"$3\" > $1.ext && openssl x509 -req -in $1.csr -CA $2.pem "
           "-CAkey $2-key.pem -CAcreateserial -days 2 -extfile $1.ext -out $1.pem; } && "
           "leaf server ca subjectAltName=IP:127.0.0.1 && leaf client ca "
           "extendedKeyUsage=clientAuth && leaf foreign o extendedKeyUsage=clientAuth) "
           ">/dev/null 2>&1",
           dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
  char cmd[400];

  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- the server */

enum serve { SERVE_BIG_THEN_COUNT, SERVE_VANISH };

static void
serve_one(int lfd, enum serve how)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  SSL *ssl;
  int fd;
  char buf[4096];
  static char big[BIG];
  size_t got = 0, n;

  SSL_CTX_use_certificate_chain_file(ctx, srv_cert);
  SSL_CTX_use_PrivateKey_file(ctx, srv_key, SSL_FILETYPE_PEM);
  SSL_CTX_load_verify_locations(ctx, ca, NULL);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  fd = accept(lfd, NULL, NULL);
  ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) != 1)
    _exit(3);
  if (how == SERVE_VANISH) {
    /* gone without close_notify: what the client sends next meets an RST */
    close(fd);
    _exit(0);
  }
  memset(big, 'b', sizeof(big));
  if (SSL_write_ex(ssl, big, sizeof(big), &n) != 1)
    _exit(4);
  /* count what arrives until the client's close_notify, then answer */
  while (SSL_read_ex(ssl, buf, sizeof(buf), &n) == 1)
    got += n;
  if (SSL_get_error(ssl, 0) != SSL_ERROR_ZERO_RETURN && got == 0)
    _exit(5);
  n = (size_t) snprintf(buf, sizeof(buf), "got %zu", got);
  SSL_write_ex(ssl, buf, n, &n);
  SSL_shutdown(ssl);
  _exit(0);
}

/* A server doing HOW on a free loopback port, reached as HOST with the
 * client's CERT and KEY through *ep; its pid. */
static pid_t
server(enum serve how, const char *host, const char *cert, const char *key,
       struct berth_endpoint *ep)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t sl = sizeof(sa);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  pid_t pid;

  assert_true(lfd >= 0);
  assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
  assert_int_equal(listen(lfd, 4), 0);
  assert_int_equal(getsockname(lfd, (struct sockaddr *) &sa, &sl), 0);
  *ep = (struct berth_endpoint){
    .host = host, .port = ntohs(sa.sin_port), .ca = ca, .cert = cert, .key = key
  };
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    serve_one(lfd, how);
  close(lfd);
  return pid;
}

static int
reap(pid_t pid)
{
  int st = 0;

  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ---------------------------------------------------------------- tests */

TEST(test_pending_and_half_close)
{
  berth_error_t err = NULL;
  struct berth_conn *c = NULL;
  struct berth_endpoint ep;
  pid_t pid = server(SERVE_BIG_THEN_COUNT, "127.0.0.1", cli_cert, cli_key, &ep);
  char buf[BIG];
  size_t got;
  ssize_t r;
  struct berth_tls_info info;

  if (berth_conn_open(&ep, 5000, &c, &err) < 0)
    fail_msg("open: %s", err->msg);
  assert_int_equal(berth_conn_tls_info(c, &info), 0);
  assert_string_equal(info.san, "IP:127.0.0.1");
  assert_non_null(strstr(info.issuer, "CN = ca"));
  /* a small read leaves the rest of the record inside OpenSSL: poll on the
   * fd would not wake for it, berth_conn_pending says it is there */
  r = berth_conn_recv_wait(c, buf, 10, berth_now_ms() + 5000, &err);
  assert_int_equal(r, 10);
  assert_true(berth_conn_pending(c));
  assert_int_equal(berth_conn_wait(c, POLLIN, berth_now_ms(), &err), 0);
  assert_true(berth_conn_recv(c, buf, 100, &err) > 0);
  for (got = 110; got < BIG; got += (size_t) r) {
    r = berth_conn_recv_wait(c, buf, sizeof(buf), berth_now_ms() + 5000, &err);
    assert_true(r > 0);
  }
  assert_int_equal(got, BIG);
  /* our half-close is the peer's end of input; it still answers after it */
  assert_int_equal(berth_conn_send_all(c, "hello", 5, berth_now_ms() + 5000, &err), 0);
  assert_int_equal(berth_conn_shutdown_write(c, &err), 0);
  r = berth_conn_recv_wait(c, buf, sizeof(buf), berth_now_ms() + 5000, &err);
  assert_int_equal(r, 5);
  assert_memory_equal(buf, "got 5", 5);
  assert_int_equal(berth_conn_recv_wait(c, buf, sizeof(buf), berth_now_ms() + 5000, &err), 0);
  berth_conn_free(c);
  assert_int_equal(reap(pid), 0);
}

TEST(test_vanished_peer_no_sigpipe)
{
  berth_error_t err = NULL;
  struct berth_conn *c = NULL;
  struct berth_endpoint ep;
  pid_t pid = server(SERVE_VANISH, "127.0.0.1", cli_cert, cli_key, &ep);
  static char chunk[65536];
  int r = 0;

  /* SIGPIPE at its default: a write(2) on the dead socket would kill us */
  signal(SIGPIPE, SIG_DFL);
  if (berth_conn_open(&ep, 5000, &c, &err) < 0)
    fail_msg("open: %s", err->msg);
  assert_int_equal(reap(pid), 0);
  for (int i = 0; i < 200 && r == 0; i++) {
    r = berth_conn_send_all(c, chunk, sizeof(chunk), berth_now_ms() + 2000, &err);
    usleep(1000);
  }
  must_fail(r, &err, BERTH_E_ENGINE_UNREACHABLE, 0, NULL);
  berth_conn_free(c);
}

/* Opening ep (checked: waiting for the server's verdict) fails with a
 * message holding want. */
static void
expect_open_fails(const char *host, const char *cert, const char *key, bool checked,
                  const char *want)
{
  berth_error_t err = NULL;
  struct berth_conn *c = NULL;
  struct berth_endpoint ep;
  pid_t pid = server(SERVE_BIG_THEN_COUNT, host, cert, key, &ep);
  int r = checked ? berth_conn_open_checked(&ep, 5000, &c, &err)
                  : berth_conn_open(&ep, 5000, &c, &err);

  must_fail(r, &err, BERTH_E_ENGINE_UNREACHABLE, 0, want);
  assert_null(c);
  reap(pid);
}

TEST(test_name_checked)
{
  /* the server's certificate names IP 127.0.0.1 only */
  expect_open_fails("localhost", cli_cert, cli_key, false, "name mismatch");
}

TEST(test_client_refused)
{
  /* TLS 1.3: the refusal comes after our handshake; the checked open waits
   * for it */
  expect_open_fails("127.0.0.1", foreign_cert, foreign_key, true, "the client certificate");
}

TEST(test_plain_tcp_refused)
{
  berth_error_t err = NULL;
  struct berth_conn *c = NULL;
  struct berth_endpoint ep = { .host = "127.0.0.1", .port = 9 };

  must_fail(berth_conn_open(&ep, 1000, &c, &err), &err, BERTH_E_CONFIG, 0, "plain TCP is refused");
}

TEST_GROUP(setup, teardown);
