/* conn_tls.c - the TLS transport of conn.h: TCP to a remote engine
 * (engine.host = "tcp://HOST:PORT") and mutual TLS with OpenSSL.
 *
 * Linked into the engine plugin (engine-docker.so) and libberth_testing,
 * not into the core: conn.c reaches it through berth_conn_tls_ops, which
 * the core takes from the loaded plugin's descriptor (backend.h), so
 * berth-shell, berthctl and pam_berth.so do not map libssl/libcrypto.
 *
 * Why OpenSSL directly and not libcurl's CONNECT_ONLY: the hijacked exec
 * stream is opened as root and used after the privilege drop, and conn.h's
 * non-blocking send/recv/pending contract maps one to one onto SSL_read_ex /
 * SSL_write_ex on a non-blocking BIO.  libcurl (docker.c) speaks TLS for the
 * ordinary requests with the same three files.
 *
 * Protocol facts that cost time:
 * - TLS 1.3 finishes the client's handshake before the server has looked
 *   at the client certificate: an engine that rejects it says so with an
 *   alert on the first read, not in SSL_connect.  tls_failed() names both.
 * - OpenSSL's socket BIO writes with write(2): a vanished engine would raise
 *   SIGPIPE in the caller (sshd's monitor, berth-shell).  The BIO here sends
 *   with MSG_NOSIGNAL.
 * - Half-closing the stream (the user's stdin EOF) is close_notify; OpenSSL
 *   still reads after sending it, and Go's crypto/tls (dockerd) reads it as
 *   EOF and keeps writing the command's output.
 * - SSL_pending counts decrypted bytes of the current record not yet read:
 *   exactly what poll() cannot see (berth_conn_pending). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "berth/conn.h"
#include "berth/util.h"
#include "conn-internal.h"

/* ---------------------------------------------------------------- the BIO */

static int
bio_write(BIO *b, const char *buf, int len)
{
  int fd = BIO_get_fd(b, NULL);
  ssize_t w;

  BIO_clear_retry_flags(b);
  do
    w = send(fd, buf, (size_t) len, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (w < 0 && errno == EINTR);
  if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    BIO_set_retry_write(b);
  return (int) w;
}

static int
bio_read(BIO *b, char *buf, int len)
{
  int fd = BIO_get_fd(b, NULL);
  ssize_t r;

  BIO_clear_retry_flags(b);
  do
    r = recv(fd, buf, (size_t) len, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    BIO_set_retry_read(b);
  return (int) r;
}

static BIO_METHOD *
bio_method(void)
{
  static BIO_METHOD *m;
  const BIO_METHOD *sock = BIO_s_socket();

  if (m != NULL)
    return m;
  /* the socket BIO's ctrl (fd get/set, flush, EOF) and create/destroy, our
   * read and write */
  m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                   "berth engine socket");
  if (m == NULL || BIO_meth_set_write(m, bio_write) != 1 || BIO_meth_set_read(m, bio_read) != 1
      || BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock)) != 1
      || BIO_meth_set_create(m, BIO_meth_get_create(sock)) != 1
      || BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock)) != 1) {
    BIO_meth_free(m);
    m = NULL;
  }
  return m;
}

/* ---------------------------------------------------------------- errors */

/* OpenSSL's last error as text, the queue cleared. */
static const char *
ssl_reason(char *buf, size_t len)
{
  unsigned long e = ERR_peek_last_error();

  if (e == 0)
    snprintf(buf, len, "no detail from OpenSSL");
  else
    ERR_error_string_n(e, buf, len);
  ERR_clear_error();
  return buf;
}

/* An alert the engine sent about our certificate (any alert during or
 * right after the handshake is the engine refusing the client). */
static bool
peer_alert(unsigned long e)
{
  return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET;
}

static int
tls_failed(struct berth_conn *c, const char *what, const char *cert, berth_error_t *err)
{
  long vr = SSL_get_verify_result(c->ssl);
  unsigned long e = ERR_peek_last_error();
  char why[256];

  if (vr != X509_V_OK) {
    ERR_clear_error();
    if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
      return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPERM,
                              "%s: the engine's certificate does not name the engine host "
                              "(name mismatch)",
                              what);
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPERM,
                            "%s: the engine's certificate is not trusted by engine.tls.ca: %s",
                            what, X509_verify_cert_error_string(vr));
  }
  if (peer_alert(e))
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EACCES,
                            "%s: the engine rejected the client certificate %s: %s", what,
                            cert ? cert : "(engine.tls.cert)", ssl_reason(why, sizeof(why)));
  return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPROTO, "%s: TLS: %s", what,
                          ssl_reason(why, sizeof(why)));
}

/* ---------------------------------------------------------------- connect */

static int
wait_fd(int fd, short events, int64_t deadline)
{
  for (;;) {
    int64_t left = deadline - berth_now_ms();
    struct pollfd p = { .fd = fd, .events = events };
    int r;
    if (left <= 0)
      return 0;
    r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int) left);
    if (r >= 0 || errno != EINTR)
      return r;
  }
}

static int
tcp_try(const struct addrinfo *ai, int64_t deadline, int *out)
{
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  int one = 1, soerr = 0, r;
  socklen_t sl = sizeof(soerr);

  if (fd < 0)
    return -1;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
    goto done;
  if (errno != EINPROGRESS) {
    soerr = errno;
    goto fail;
  }
  r = wait_fd(fd, POLLOUT, deadline);
  if (r <= 0) {
    soerr = r == 0 ? ETIMEDOUT : errno;
    goto fail;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
    soerr = errno;
  if (soerr != 0)
    goto fail;
done:
  /* the exec stream carries keystrokes: no Nagle delay */
  (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  *out = fd;
  return 0;
fail:
  close(fd);
  errno = soerr;
  return -1;
}

static int
tcp_connect(const struct berth_endpoint *ep, int64_t deadline, const char *name, int *out,
            berth_error_t *err)
{
  struct addrinfo hints
      = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
  struct addrinfo *res = NULL;
  char port[8];
  int r, e = ECONNREFUSED;

  snprintf(port, sizeof(port), "%u", ep->port);
  r = getaddrinfo(ep->host, port, &hints, &res);
  if (r != 0)
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EHOSTUNREACH,
                            "cannot resolve the engine host %s: %s", ep->host, gai_strerror(r));
  for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    if (tcp_try(ai, deadline, out) == 0) {
      freeaddrinfo(res);
      return 0;
    }
    e = errno;
  }
  freeaddrinfo(res);
  if (e == ETIMEDOUT)
    return berth_error_make(err, BERTH_E_ENGINE_TIMEOUT, ETIMEDOUT,
                            "the engine at %s did not accept a connection in time", name);
  return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, e, "cannot connect to the engine at %s",
                           name);
}

/* The context: trust only engine.tls.ca (no system CA store), present the
 * client certificate and key. */
static SSL_CTX *
make_ctx(const struct berth_endpoint *ep, berth_error_t *err)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  char why[256];
  const char *bad = NULL;

  if (ctx == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "TLS: %s", ssl_reason(why, sizeof(why)));
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
                               | SSL_OP_IGNORE_UNEXPECTED_EOF);
  /* conn.h's callers retry a short send with the rest of their buffer */
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_load_verify_locations(ctx, ep->ca, NULL) != 1)
    bad = "engine.tls.ca";
  else if (SSL_CTX_use_certificate_chain_file(ctx, ep->cert) != 1)
    bad = "engine.tls.cert";
  else if (SSL_CTX_use_PrivateKey_file(ctx, ep->key, SSL_FILETYPE_PEM) != 1)
    bad = "engine.tls.key";
  else if (SSL_CTX_check_private_key(ctx) != 1)
    bad = "engine.tls.key (does not match engine.tls.cert)";
  if (bad != NULL) {
    berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EINVAL, "cannot use %s: %s", bad,
                     ssl_reason(why, sizeof(why)));
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

/* Our own certificate out of date: said before any engine sees it (an
 * engine's alert would only say "bad certificate"). */
static int
check_dates(X509 *x, const char *cert, berth_error_t *err)
{
  if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EKEYEXPIRED,
                            "the client certificate %s (engine.tls.cert) has expired", cert);
  if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0)
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EKEYEXPIRED,
                            "the client certificate %s (engine.tls.cert) is not valid yet", cert);
  return 0;
}

static int
check_own_cert(SSL *ssl, const char *cert, berth_error_t *err)
{
  X509 *x = SSL_get_certificate(ssl);

  return x == NULL ? 0 : check_dates(x, cert, err);
}

int
berth_tls_client_cert_check(const char *cert, berth_error_t *err)
{
  FILE *f = fopen(cert, "re");
  X509 *x;
  int r;

  if (f == NULL)
    return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno,
                             "cannot read engine.tls.cert %s", cert);
  x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (x == NULL) {
    char why[256];
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EINVAL,
                            "engine.tls.cert %s is not a PEM certificate: %s", cert,
                            ssl_reason(why, sizeof(why)));
  }
  r = check_dates(x, cert, err);
  X509_free(x);
  return r;
}

static int
set_peer_name(SSL *ssl, const char *host)
{
  X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
  unsigned char addr[sizeof(struct in6_addr)];

  if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
    return X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1 ? 0 : -1;
  X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set_tlsext_host_name(ssl, host) != 1)
    return -1;
  return X509_VERIFY_PARAM_set1_host(vp, host, 0) == 1 ? 0 : -1;
}

static int
handshake(struct berth_conn *c, const struct berth_endpoint *ep, int64_t deadline, const char *name,
          berth_error_t *err)
{
  char what[360];

  snprintf(what, sizeof(what), "TLS handshake with the engine at %s", name);
  for (;;) {
    int r, e;
    ERR_clear_error();
    r = SSL_connect(c->ssl);
    if (r == 1)
      return 0;
    e = SSL_get_error(c->ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
      return tls_failed(c, what, ep->cert, err);
    r = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
    if (r == 0)
      return berth_error_make(err, BERTH_E_ENGINE_TIMEOUT, ETIMEDOUT, "%s: no answer in time",
                              what);
    if (r < 0)
      return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno, "%s", what);
  }
}

/* TLS 1.3: the engine's verdict on our certificate comes after our side
 * of the handshake is done: an alert when it refuses us, a session ticket
 * when it accepts us (Go's crypto/tls, so dockerd, sends one once it has
 * checked the client's certificate).  Wait for either, up to the deadline;
 * no verdict in time counts as accepted (an engine may send no tickets). */
static int
await_verdict(struct berth_conn *c, const struct berth_endpoint *ep, int64_t deadline,
              const char *name, berth_error_t *err)
{
  char what[360];

  if (SSL_version(c->ssl) < TLS1_3_VERSION)
    return 0; /* TLS 1.2 said it in the handshake */
  snprintf(what, sizeof(what), "TLS handshake with the engine at %s", name);
  for (;;) {
    char b;
    size_t n = 0;
    int r, e;
    ERR_clear_error();
    r = SSL_peek_ex(c->ssl, &b, 1, &n);
    if (r == 1)
      return 0;
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
      return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EACCES,
                              "%s: the engine closed the connection after the handshake "
                              "(it refused the client certificate %s?)",
                              what, ep->cert);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
      return tls_failed(c, what, ep->cert, err);
    if (SSL_SESSION_has_ticket(SSL_get0_session(c->ssl)))
      return 0;
    if (wait_fd(c->fd, POLLIN, deadline) <= 0)
      return 0;
  }
}

static int
conn_tls_open(const struct berth_endpoint *ep, long timeout_ms, bool verdict, struct berth_conn *c,
              berth_error_t *err)
{
  int64_t deadline = berth_now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
  SSL_CTX *ctx;
  BIO *bio;
  char name[300];

  c->fd = -1;
  c->ssl = NULL;
  berth_endpoint_name(ep, name, sizeof(name));
  if (ep->host == NULL || ep->ca == NULL || ep->cert == NULL || ep->key == NULL)
    return berth_error_make(err, BERTH_E_CONFIG, EINVAL,
                            "the engine at %s has no TLS files: plain TCP is refused", name);
  if ((ctx = make_ctx(ep, err)) == NULL)
    return -1;
  if (tcp_connect(ep, deadline, name, &c->fd, err) < 0) {
    SSL_CTX_free(ctx);
    return -1;
  }
  c->ssl = SSL_new(ctx);
  SSL_CTX_free(ctx); /* the SSL holds its own reference */
  bio = bio_method() != NULL ? BIO_new(bio_method()) : NULL;
  if (c->ssl == NULL || bio == NULL) {
    BIO_free(bio);
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "TLS: out of memory");
    goto fail;
  }
  BIO_set_fd(bio, c->fd, BIO_NOCLOSE);
  SSL_set_bio(c->ssl, bio, bio);
  if (check_own_cert(c->ssl, ep->cert, err) < 0 || set_peer_name(c->ssl, ep->host) < 0
      || handshake(c, ep, deadline, name, err) < 0
      || (verdict && await_verdict(c, ep, deadline, name, err) < 0)) {
    if (*err == NULL)
      berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "TLS: cannot set the engine's name %s",
                       ep->host);
    goto fail;
  }
  return 0;

fail:
  SSL_free(c->ssl);
  c->ssl = NULL;
  close(c->fd);
  c->fd = -1;
  return -1;
}

/* ---------------------------------------------------------------- I/O */

/* One SSL_write_ex (send) or SSL_read_ex, in conn.h's terms. */
static ssize_t
tls_io(struct berth_conn *c, bool send, void *buf, size_t len, berth_error_t *err)
{
  const char *what = send ? "sending to the engine" : "reading from the engine";
  size_t n = 0;
  int r;

  if (len > INT_MAX)
    len = INT_MAX;
  ERR_clear_error();
  r = send ? SSL_write_ex(c->ssl, buf, len, &n) : SSL_read_ex(c->ssl, buf, len, &n);
  if (r == 1)
    return (ssize_t) n;
  switch (SSL_get_error(c->ssl, r)) {
  case SSL_ERROR_WANT_READ:
  case SSL_ERROR_WANT_WRITE: return BERTH_CONN_AGAIN;
  case SSL_ERROR_ZERO_RETURN: /* close_notify (or EOF: IGNORE_UNEXPECTED_EOF) */
    if (!send)
      return 0;
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPIPE, "%s: the stream is closed",
                            what);
  case SSL_ERROR_SYSCALL:
    if (errno == 0 && !send)
      return 0;
    return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno ? errno : EPIPE, "%s", what);
  default: return tls_failed(c, what, NULL, err);
  }
}

static ssize_t
conn_tls_send(struct berth_conn *c, const void *buf, size_t len, berth_error_t *err)
{
  return tls_io(c, true, (void *) buf, len, err);
}

static ssize_t
conn_tls_recv(struct berth_conn *c, void *buf, size_t len, berth_error_t *err)
{
  return tls_io(c, false, buf, len, err);
}

static int
conn_tls_shutdown_write(struct berth_conn *c, berth_error_t *err)
{
  int64_t deadline = berth_now_ms() + 5000;

  for (;;) {
    int r, e;
    ERR_clear_error();
    r = SSL_shutdown(c->ssl); /* 0: close_notify sent; reading goes on */
    if (r >= 0)
      break;
    e = SSL_get_error(c->ssl, r);
    if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
      return tls_failed(c, "closing the stream to the engine", NULL, err);
    if (wait_fd(c->fd, POLLOUT, deadline) <= 0)
      return berth_error_make(err, BERTH_E_ENGINE_TIMEOUT, ETIMEDOUT,
                              "closing the stream to the engine: no room in time");
  }
  return 0;
}

static bool
conn_tls_pending(const struct berth_conn *c)
{
  return SSL_pending(c->ssl) > 0;
}

static void
conn_tls_free(struct berth_conn *c)
{
  SSL_free(c->ssl); /* frees the BIO; the fd is conn.c's */
  c->ssl = NULL;
}

/* ---------------------------------------------------------------- berthctl check */

/* What one OpenSSL printer wrote into a memory BIO, as a string in buf:
 * kind 'n' an X509_NAME, 't' an ASN1_TIME. */
static void
print_text(char kind, const void *what, char *buf, size_t len)
{
  BIO *m = BIO_new(BIO_s_mem());
  int ok, got = 0;

  buf[0] = '\0';
  if (m == NULL)
    return;
  if (kind == 'n')
    ok = X509_NAME_print_ex(m, what, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0;
  else
    ok = ASN1_TIME_print(m, what) == 1;
  if (ok)
    got = BIO_read(m, buf, (int) len - 1);
  buf[got > 0 ? got : 0] = '\0';
  BIO_free(m);
}

static void
san_text(X509 *x, char *buf, size_t len)
{
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  size_t used = 0;

  buf[0] = '\0';
  for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    char one[INET6_ADDRSTRLEN + 16] = "";
    if (g->type == GEN_DNS)
      snprintf(one, sizeof(one), "DNS:%.*s", ASN1_STRING_length(g->d.dNSName),
               (const char *) ASN1_STRING_get0_data(g->d.dNSName));
    else if (g->type == GEN_IPADD) {
      char ip[INET6_ADDRSTRLEN] = "?";
      int l = ASN1_STRING_length(g->d.iPAddress);
      const unsigned char *p = ASN1_STRING_get0_data(g->d.iPAddress);
      if (l == 4 || l == 16)
        inet_ntop(l == 4 ? AF_INET : AF_INET6, p, ip, sizeof(ip));
      snprintf(one, sizeof(one), "IP:%s", ip);
    }
    if (one[0] != '\0' && used < len)
      used += (size_t) snprintf(buf + used, len - used, "%s%s", used ? ", " : "", one);
  }
  GENERAL_NAMES_free(gens);
}

static int
conn_tls_info(const struct berth_conn *c, struct berth_tls_info *out)
{
  X509 *peer, *own;
  int days = 0, secs = 0;

  memset(out, 0, sizeof(*out));
  if (c == NULL || c->ssl == NULL)
    return -1;
  snprintf(out->protocol, sizeof(out->protocol), "%s", SSL_get_version(c->ssl));
  peer = SSL_get1_peer_certificate(c->ssl);
  if (peer != NULL) {
    print_text('n', X509_get_subject_name(peer), out->subject, sizeof(out->subject));
    print_text('n', X509_get_issuer_name(peer), out->issuer, sizeof(out->issuer));
    san_text(peer, out->san, sizeof(out->san));
    print_text('t', X509_get0_notAfter(peer), out->server_not_after, sizeof(out->server_not_after));
    X509_free(peer);
  }
  own = SSL_get_certificate(c->ssl);
  if (own != NULL) {
    print_text('t', X509_get0_notAfter(own), out->client_not_after, sizeof(out->client_not_after));
    if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(own)) == 1)
      out->client_days_left = days;
  }
  return 0;
}

/* What conn.c calls for a TLS connection (conn-internal.h); the plugin's
 * descriptor lends it to the core (backend.h). */
const struct berth_conn_tls_ops berth_conn_tls_ops = {
  .open = conn_tls_open,
  .send = conn_tls_send,
  .recv = conn_tls_recv,
  .shutdown_write = conn_tls_shutdown_write,
  .pending = conn_tls_pending,
  .free = conn_tls_free,
  .info = conn_tls_info,
};
