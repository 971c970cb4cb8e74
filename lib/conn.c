/* conn.c - the engine connection object (conn.h): a unix stream socket,
 * or (c->tls set) TCP + TLS whose side of every call is conn_tls.c's
 * berth_conn_tls_ops.  That table is linked in where OpenSSL is (the
 * plugin, libberth_testing); the core libberth takes it from the engine
 * plugin (backend_load.c), loaded for the first TLS endpoint only: a unix
 * socket never touches the plugin. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "berth/conn.h"
#include "berth/util.h"
#include "conn-internal.h"
#if !defined(BERTH_BACKEND_BUILTIN) && !defined(BERTH_BACKEND_PLUGIN)
#include "backend-internal.h"
#endif

/* The TLS side: conn_tls.c's table where it is linked in, else the engine
 * plugin's (loaded now if no engine has been opened yet). */
static const struct berth_conn_tls_ops *
tls_ops(berth_error_t *err)
{
#if defined(BERTH_BACKEND_BUILTIN) || defined(BERTH_BACKEND_PLUGIN)
  (void) err;
  return &berth_conn_tls_ops;
#else
  const struct berth_backend_plugin *p;

  if (berth_backend_get(&p, err) < 0)
    return NULL;
  return p->conn_tls;
#endif
}

static int
conn_wrap(int fd, struct berth_conn **out, berth_error_t *err)
{
  struct berth_conn *c = berth_malloc0(sizeof(*c), err);

  if (c == NULL) {
    close(fd);
    return -1;
  }
  c->fd = fd;
  *out = c;
  return 0;
}

int
berth_conn_open_unix(const char *path, long timeout_ms, struct berth_conn **out, berth_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
  struct timeval none = { 0, 0 };
  cleanup_close int fd = -1;

  *out = NULL;
  if (path == NULL || *path == '\0' || strlen(path) >= sizeof(sa.sun_path))
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ENAMETOOLONG,
                            "invalid engine socket path '%s'", path ? path : "");
  memcpy(sa.sun_path, path, strlen(path) + 1);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "socket");
  /* A blocking connect() on a unix socket waits while the listener's accept
   * queue is full, bounded only by SO_SNDTIMEO: bound it, then clear it so
   * later writes are not affected. */
  if (timeout_ms > 0)
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  while (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
    if (errno == EINTR)
      continue;
    if (errno == EISCONN)
      break;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS)
      return berth_error_make(err, BERTH_E_ENGINE_TIMEOUT, ETIMEDOUT,
                              "the engine at %s did not accept a connection within %ld ms", path,
                              timeout_ms);
    return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno,
                             "cannot connect to the engine at %s", path);
  }
  (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
  return conn_wrap(berth_steal_fd(&fd), out, err);
}

/* Both opens: the unix socket, or TCP + TLS (verdict: the TLS open's). */
static int
conn_open(const struct berth_endpoint *ep, long timeout_ms, bool verdict, struct berth_conn **out,
          berth_error_t *err)
{
  struct berth_conn tmp = { .fd = -1 };
  const struct berth_conn_tls_ops *tls;

  *out = NULL;
  if (ep->socket != NULL)
    return berth_conn_open_unix(ep->socket, timeout_ms, out, err);
  if ((tls = tls_ops(err)) == NULL || tls->open(ep, timeout_ms, verdict, &tmp, err) < 0)
    return -1;
  if (conn_wrap(tmp.fd, out, err) < 0) {
    tls->free(&tmp);
    return -1;
  }
  (*out)->tls = tls;
  (*out)->ssl = tmp.ssl; /* transferred */
  return 0;
}

int
berth_conn_open(const struct berth_endpoint *ep, long timeout_ms, struct berth_conn **out,
                berth_error_t *err)
{
  return conn_open(ep, timeout_ms, false, out, err);
}

int
berth_conn_open_checked(const struct berth_endpoint *ep, long timeout_ms, struct berth_conn **out,
                        berth_error_t *err)
{
  return conn_open(ep, timeout_ms, true, out, err);
}

const char *
berth_endpoint_name(const struct berth_endpoint *ep, char *buf, size_t len)
{
  if (ep->socket != NULL)
    snprintf(buf, len, "%s", ep->socket);
  else if (strchr(ep->host ? ep->host : "", ':') != NULL)
    snprintf(buf, len, "tcp://[%s]:%u", ep->host, ep->port);
  else
    snprintf(buf, len, "tcp://%s:%u", ep->host ? ep->host : "", ep->port);
  return buf;
}

int
berth_conn_tls_info(const struct berth_conn *c, struct berth_tls_info *out)
{
  memset(out, 0, sizeof(*out));
  if (c == NULL || c->tls == NULL)
    return -1;
  return c->tls->info(c, out);
}

int
berth_conn_from_fd(int fd, struct berth_conn **out, berth_error_t *err)
{
  *out = NULL;
  if (fd < 0)
    return berth_error_make(err, BERTH_E_INTERNAL, EBADF, "no connection to wrap");
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    int e = errno;
    close(fd);
    return berth_error_errno(err, BERTH_E_INTERNAL, e, "fcntl(FD_CLOEXEC)");
  }
  return conn_wrap(fd, out, err);
}

/* One non-blocking send (out) or recv on the plain socket: the bytes moved,
 * BERTH_CONN_AGAIN, or -1 with err; conn_tls.c's for TLS. */
static ssize_t
sock_io(struct berth_conn *c, bool out, void *buf, size_t len, berth_error_t *err)
{
  for (;;) {
    /* MSG_NOSIGNAL: a vanished engine must not kill the caller with SIGPIPE */
    ssize_t n = out ? send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)
                    : recv(c->fd, buf, len, MSG_DONTWAIT);
    if (n >= 0)
      return n;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return BERTH_CONN_AGAIN;
    return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno,
                             out ? "sending to the engine" : "reading from the engine");
  }
}

ssize_t
berth_conn_send(struct berth_conn *c, const void *buf, size_t len, berth_error_t *err)
{
  if (c->tls != NULL)
    return c->tls->send(c, buf, len, err);
  return sock_io(c, true, (void *) buf, len, err);
}

ssize_t
berth_conn_recv(struct berth_conn *c, void *buf, size_t len, berth_error_t *err)
{
  if (c->tls != NULL)
    return c->tls->recv(c, buf, len, err);
  return sock_io(c, false, buf, len, err);
}

static int
remaining_ms(int64_t deadline)
{
  int64_t left;

  if (deadline < 0)
    return -1;
  left = deadline - berth_now_ms();
  return left <= 0 ? 0 : left > 1000000 ? 1000000 : (int) left;
}

int
berth_conn_wait(struct berth_conn *c, short events, int64_t deadline, berth_error_t *err)
{
  if ((events & POLLIN) && berth_conn_pending(c))
    return 0;
  for (;;) {
    struct pollfd p = { .fd = c->fd, .events = events };
    int r = poll(&p, 1, remaining_ms(deadline));
    if (r > 0)
      return 0;
    if (r == 0)
      return berth_error_make(err, BERTH_E_ENGINE_TIMEOUT, ETIMEDOUT,
                              "the engine did not answer in time");
    if (errno != EINTR)
      return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno, "poll on engine connection");
  }
}

int
berth_conn_send_all(struct berth_conn *c, const void *buf, size_t len, int64_t deadline,
                    berth_error_t *err)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t w = berth_conn_send(c, p, len, err);
    if (w == BERTH_CONN_AGAIN) {
      if (berth_conn_wait(c, POLLOUT, deadline, err) < 0)
        return -1;
      continue;
    }
    if (w < 0)
      return -1;
    p += w;
    len -= (size_t) w;
  }
  return 0;
}

ssize_t
berth_conn_recv_wait(struct berth_conn *c, void *buf, size_t len, int64_t deadline,
                     berth_error_t *err)
{
  for (;;) {
    ssize_t r = berth_conn_recv(c, buf, len, err);
    if (r != BERTH_CONN_AGAIN)
      return r;
    if (berth_conn_wait(c, POLLIN, deadline, err) < 0)
      return -1;
  }
}

int
berth_conn_shutdown_write(struct berth_conn *c, berth_error_t *err)
{
  if (c->tls != NULL && c->tls->shutdown_write(c, err) < 0)
    return -1;
  if (shutdown(c->fd, SHUT_WR) < 0 && errno != ENOTCONN)
    return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno,
                             "closing the stream to the engine");
  return 0;
}

int
berth_conn_pollfd(const struct berth_conn *c)
{
  return c->fd;
}

bool
berth_conn_pending(const struct berth_conn *c)
{
  /* a unix socket buffers nothing above the kernel; TLS may */
  return c->tls != NULL && c->tls->pending(c);
}

void
berth_conn_free(struct berth_conn *c)
{
  if (c == NULL)
    return;
  if (c->tls != NULL)
    c->tls->free(c);
  if (c->fd >= 0)
    close(c->fd);
  free(c);
}

void
berth_conn_freep(struct berth_conn **c)
{
  berth_conn_free(*c);
  *c = NULL;
}
