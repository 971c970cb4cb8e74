/* hijack.c - the raw, hijacked engine connection used by interactive exec,
 * and the strict HTTP response-head parser it relies on. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "berth/engine.h"
#include "berth/util.h"

/* The whole response head must fit here; the engine's are a few hundred bytes. */
#define HEAD_MAX (16 * 1024)
/* An error reply's body is one short JSON object; more is not worth reading. */
#define ERROR_BODY_MAX (64 * 1024)

/* ---------------------------------------------------------------- HTTP head */

static bool
is_tchar(unsigned char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* "HTTP/1.x NNN[ reason]" */
static int
parse_status_line(const char *l, size_t n, int *status, berth_error_t *err)
{
  if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' || l[7] > '9' || l[8] != ' ' ||
      l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9' ||
      (n > 12 && l[12] != ' '))
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "malformed HTTP status line from the engine: %.*s", (int) (n > 80 ? 80 : n),
                            l);
  for (size_t i = 13; i < n; i++)
    if ((unsigned char) l[i] < 0x20 && l[i] != '\t')
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                              "control character in the engine's HTTP status line");
  *status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  return 0;
}

static int
check_header_line(const char *l, size_t n, berth_error_t *err)
{
  size_t i = 0;

  /* obsolete line folding (a leading blank) and empty names are refused */
  while (i < n && is_tchar((unsigned char) l[i]))
    i++;
  if (i == 0 || i == n || l[i] != ':')
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "malformed HTTP header line from the engine: %.*s", (int) (n > 80 ? 80 : n),
                            l);
  for (i++; i < n; i++)
    if (((unsigned char) l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                              "control character in an HTTP header from the engine");
  return 0;
}

long
berth_http_parse_head(const char *buf, size_t len, int *status, berth_error_t *err)
{
  size_t scan = len < HEAD_MAX ? len : HEAD_MAX;
  size_t start = 0;
  bool first = true;

  /* refuse garbage as soon as it shows, not only once a full line arrived */
  if (memcmp(buf, "HTTP/1.", scan < 7 ? scan : 7) != 0)
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "the engine's reply does not start with an HTTP/1 status line");
  for (size_t i = 0; i < scan; i++) {
    if (buf[i] == '\0')
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "NUL byte in the engine's HTTP head");
    if (buf[i] == '\r') {
      if (i + 1 < scan && buf[i + 1] != '\n')
        return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "bare CR in the engine's HTTP head");
      continue;
    }
    if (buf[i] != '\n')
      continue;
    if (i == 0 || buf[i - 1] != '\r')
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "bare LF in the engine's HTTP head");
    size_t n = i - 1 - start; /* line without CRLF */
    if (first) {
      if (parse_status_line(buf + start, n, status, err) < 0)
        return -1;
      first = false;
    } else if (n == 0) {
      return (long) (i + 1);
    } else if (check_header_line(buf + start, n, err) < 0) {
      return -1;
    }
    start = i + 1;
  }
  if (len >= HEAD_MAX)
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EMSGSIZE,
                            "the engine's HTTP head is larger than %d bytes", HEAD_MAX);
  return 0;
}

/* Value of header `name` in a head already accepted by berth_http_parse_head,
 * trimmed, into out.  false when absent (or too long for out). */
static bool
head_header(const char *head, size_t head_len, const char *name, char *out, size_t outsz)
{
  size_t nlen = strlen(name);
  const char *p = memchr(head, '\n', head_len); /* skip the status line */

  while (p != NULL && (size_t) (p + 1 - head) < head_len) {
    const char *line = p + 1;
    const char *eol = memchr(line, '\r', head_len - (size_t) (line - head));
    if (eol == NULL || eol == line)
      break;
    if ((size_t) (eol - line) > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
      const char *v = line + nlen + 1, *e = eol;
      while (v < e && (*v == ' ' || *v == '\t'))
        v++;
      while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
      if ((size_t) (e - v) >= outsz)
        return false;
      memcpy(out, v, (size_t) (e - v));
      out[e - v] = '\0';
      return true;
    }
    p = eol + 1;
  }
  return false;
}

/* Chunked framing (RFC 9112 7.1): each chunk is HEX[;ext]CRLF, the data,
 * and CRLF; a zero-size chunk, trailer lines and an empty line end it.  A
 * chunk whose data is not followed by exactly CRLF is malformed: accepting
 * it would let the bytes there be read as the next chunk's size by us and
 * as data by anyone else. */
int
berth_http_dechunk(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
                   size_t *consumed)
{
  size_t pos = 0, o = 0;

  for (;;) {
    const char *eol = memchr(in + pos, '\n', len - pos);
    size_t i = pos, digits;
    unsigned long sz = 0;

    if (eol == NULL)
      return len - pos > 32 ? -1 : 0;
    while (in + i < eol && isxdigit((unsigned char) in[i])) {
      if (sz > (ULONG_MAX >> 4))
        return -1;
      sz = sz * 16 + (unsigned long) (isdigit((unsigned char) in[i]) ? in[i] - '0'
                                                                      : (in[i] | 0x20) - 'a' + 10);
      i++;
    }
    digits = i - pos;
    /* HEX CRLF, or HEX ;extension CRLF */
    if (digits == 0 || (in[i] != '\r' && in[i] != ';') || eol == in + pos || eol[-1] != '\r' ||
        (in[i] == '\r' && in + i + 1 != eol))
      return -1;
    pos = (size_t) (eol - in) + 1;
    if (sz == 0) {
      *outlen = o;
      if (consumed == NULL)
        return 1; /* trailers, if any, do not matter */
      for (;;) { /* trailer lines, then the empty line */
        const char *l = memchr(in + pos, '\n', len - pos);
        if (l == NULL)
          return len - pos > HEAD_MAX ? -1 : 0;
        bool empty = l == in + pos || (l == in + pos + 1 && in[pos] == '\r');
        pos = (size_t) (l - in) + 1;
        if (empty) {
          *consumed = pos;
          return 1;
        }
      }
    }
    if (sz > len - pos || len - pos - sz < 2)
      return 0;
    if (in[pos + sz] != '\r' || in[pos + sz + 1] != '\n')
      return -1;
    size_t take = sz < outsz - o ? sz : outsz - o;
    if (out != NULL) /* memmove: decoding in place is allowed */
      memmove(out + o, in + pos, take);
    o += take;
    pos += sz + 2;
  }
}

/* ---------------------------------------------------------------- socket I/O */

static int
remaining_ms(int64_t deadline)
{
  int64_t left;
  if (deadline < 0)
    return -1;
  left = deadline - berth_now_ms();
  return left <= 0 ? 0 : left > 1000000 ? 1000000 : (int) left;
}

static int
wait_fd(int fd, short events, int64_t deadline, berth_error_t *err)
{
  for (;;) {
    struct pollfd p = { .fd = fd, .events = events };
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

static int
send_all(int fd, const char *buf, size_t len, int64_t deadline, berth_error_t *err)
{
  while (len > 0) {
    /* MSG_NOSIGNAL: a vanished engine must not kill the caller with SIGPIPE */
    ssize_t w = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (wait_fd(fd, POLLOUT, deadline, err) < 0)
          return -1;
        continue;
      }
      return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno, "sending to the engine");
    }
    buf += w;
    len -= (size_t) w;
  }
  return 0;
}

/* One read with the deadline.  Returns bytes read, 0 at EOF, -1 on error. */
static ssize_t
recv_some(int fd, char *buf, size_t len, int64_t deadline, berth_error_t *err)
{
  for (;;) {
    ssize_t r = recv(fd, buf, len, MSG_DONTWAIT);
    if (r >= 0)
      return r;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno, "reading from the engine");
    if (wait_fd(fd, POLLIN, deadline, err) < 0)
      return -1;
  }
}

int
berth_engine_hijack_connect(const char *socket_path, berth_error_t *err)
{
  return berth_engine_hijack_connect_timeout(socket_path, BERTH_HIJACK_CONNECT_TIMEOUT_MS, err);
}

int
berth_engine_hijack_connect_timeout(const char *socket_path, long timeout_ms, berth_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;

  if (socket_path == NULL || *socket_path == '\0' || strlen(socket_path) >= sizeof(sa.sun_path))
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ENAMETOOLONG,
                            "invalid engine socket path '%s'", socket_path ? socket_path : "");
  memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "socket");
  /* A blocking connect() on a unix socket waits while the listener's
   * accept queue is full (a hung engine), bounded only by SO_SNDTIMEO:
   * bound it, then clear it so the stream's writes are not affected. */
  struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
  struct timeval none = { 0, 0 };
  if (timeout_ms > 0)
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  while (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
    if (errno == EINTR)
      continue;
    if (errno == EISCONN)
      break;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS)
      return berth_error_make(err, BERTH_E_ENGINE_TIMEOUT, ETIMEDOUT,
                              "the engine at %s did not accept a connection within %ld ms",
                              socket_path, timeout_ms);
    return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno,
                             "cannot connect to the engine at %s", socket_path);
  }
  (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
  int ret = fd;
  fd = -1; /* transferred */
  return ret;
}

/* ---------------------------------------------------------------- exec start */

/* The hijack handshake, as the engines do it:
 * - The client sends POST /exec/{id}/start with "Connection: Upgrade" and
 *   "Upgrade: tcp" and the JSON body {"Detach":false,"Tty":...}; Tty must
 *   match the exec's create-time Tty or the stream format will not match.
 * - Docker answers "HTTP/1.1 101 UPGRADED" (Content-Type
 *   application/vnd.docker.raw-stream, or .multiplexed-stream from 1.42 on
 *   without a TTY) and from then on the socket is the process's stdio: raw
 *   bytes with a TTY, 8-byte framed stdout/stderr without (frame.c).
 *   Podman's compat service answers the same when asked to upgrade; older
 *   Docker and Podman without the Upgrade request answer "200 OK" and then
 *   stream the same way, so 200 is accepted too.
 * - Stream bytes can arrive in the very read that completes the head; they
 *   are kept in h->pending and must be consumed before reading the socket.
 * - Half-closing the write side (shutdown(SHUT_WR)) closes the process's
 *   stdin; the engine then still sends the remaining output and closes.
 * - When the exec cannot start (bad id, container stopped) the engine answers
 *   an ordinary error (404/409/500) with a JSON {"message":...} body.  A
 *   command that does not exist is not such an error: Docker has already
 *   answered 101, writes the runtime's error text into the stream and the
 *   exec's exit code (exec inspect) becomes 126/127. */

static int
read_error_body(int fd, const char *head, size_t head_len, char *buf, size_t have, int64_t deadline,
                char **body, size_t *body_len)
{
  char value[64];
  long clen = -1;
  bool chunked = false;
  size_t cap = ERROR_BODY_MAX;
  cleanup_free char *acc = malloc(cap + 1);
  cleanup_free char *out = malloc(cap + 1);
  size_t n = 0;
  berth_error_t ignored = NULL;

  if (acc == NULL || out == NULL)
    return -1;
  if (head_header(head, head_len, "Content-Length", value, sizeof(value))) {
    char *end;
    clen = strtol(value, &end, 10);
    if (*end != '\0' || clen < 0)
      clen = -1;
  }
  if (head_header(head, head_len, "Transfer-Encoding", value, sizeof(value)) &&
      strcasecmp(value, "chunked") == 0)
    chunked = true;
  if (have > cap)
    have = cap;
  memcpy(acc, buf, have);
  n = have;
  for (;;) {
    if (clen >= 0 && !chunked && n >= (size_t) clen) {
      n = (size_t) clen;
      break;
    }
    if (chunked) {
      size_t olen = 0;
      int r = berth_http_dechunk(acc, n, out, cap, &olen, NULL);
      if (r != 0) {
        if (r < 0)
          return -1;
        out[olen] = '\0';
        *body = steal_pointer(&out);
        *body_len = olen;
        return 0;
      }
    }
    if (n >= cap)
      break;
    ssize_t r = recv_some(fd, acc + n, cap - n, deadline, &ignored);
    if (r < 0) {
      berth_error_release(&ignored);
      break;
    }
    if (r == 0)
      break;
    n += (size_t) r;
  }
  if (chunked)
    return -1;
  acc[n] = '\0';
  *body = steal_pointer(&acc);
  *body_len = n;
  return 0;
}

static bool
valid_api_version(const char *v)
{
  size_t i = 0;
  if (v == NULL || v[0] < '0' || v[0] > '9')
    return false;
  while (v[i] >= '0' && v[i] <= '9')
    i++;
  if (v[i++] != '.' || v[i] < '0' || v[i] > '9')
    return false;
  while (v[i] >= '0' && v[i] <= '9')
    i++;
  return v[i] == '\0' && i < 12;
}

int
berth_engine_exec_attach(int fd, const char *api_version, const char *exec_id, bool tty,
                         long timeout_ms, struct berth_hijack *h, berth_error_t *err)
{
  return berth_engine_exec_attach_size(fd, api_version, exec_id, tty, 0, 0, timeout_ms, h, err);
}

/* The terminal's size goes into the start body as Podman's "h"/"w": Podman
 * sizes the terminal before the process starts, and answers 101 only once it
 * runs, so a resize after the handshake comes too late for a program that
 * reads its size at once (a login shell's first prompt, `stty size`).
 * Docker ignores the two fields (20.10 checked); its own way is ConsoleSize
 * at exec create, from API 1.42. */
int
berth_engine_exec_attach_size(int fd, const char *api_version, const char *exec_id, bool tty,
                              unsigned rows, unsigned cols, long timeout_ms,
                              struct berth_hijack *h, berth_error_t *err)
{
  int64_t deadline = timeout_ms > 0 ? berth_now_ms() + timeout_ms : -1;
  cleanup_free char *id = NULL;
  cleanup_free char *req = NULL;
  char buf[HEAD_MAX + 1];
  char body[96];
  size_t n = 0;
  long head_len = 0;
  int status = 0;

  h->fd = -1;
  h->pending = NULL;
  h->n_pending = 0;
  if (fd < 0)
    return berth_error_make(err, BERTH_E_INTERNAL, EBADF, "exec attach without a connection");
  if (!valid_api_version(api_version))
    return berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "invalid engine API version '%s'",
                            api_version ? api_version : "");
  if (exec_id == NULL || *exec_id == '\0')
    return berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "exec attach without an exec id");
  id = berth_engine_escape(exec_id, err);
  if (id == NULL)
    return -1;
  if (tty && rows > 0 && cols > 0 && rows <= 65535 && cols <= 65535)
    snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":true,\"h\":%u,\"w\":%u}", rows, cols);
  else
    snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":%s}", tty ? "true" : "false");
  req = berth_asprintf(err,
                       "POST /v%s/exec/%s/start HTTP/1.1\r\n"
                       "Host: localhost\r\n"
                       "User-Agent: berth/" PACKAGE_VERSION "\r\n"
                       "Content-Type: application/json\r\n"
                       "Connection: Upgrade\r\n"
                       "Upgrade: tcp\r\n"
                       "Content-Length: %zu\r\n"
                       "\r\n%s",
                       api_version, id, strlen(body), body);
  if (req == NULL)
    return -1;
  if (send_all(fd, req, strlen(req), deadline, err) < 0)
    return berth_error_wrap(err, "exec %s", exec_id);

  while (head_len == 0) {
    ssize_t r;
    if (n >= HEAD_MAX)
      break; /* parse_head below reports the oversized head */
    r = recv_some(fd, buf + n, HEAD_MAX - n, deadline, err);
    if (r < 0)
      return berth_error_wrap(err, "exec %s", exec_id);
    if (r == 0)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, ECONNRESET,
                              "exec %s: the engine closed the connection before answering", exec_id);
    n += (size_t) r;
    head_len = berth_http_parse_head(buf, n, &status, err);
    if (head_len < 0)
      return berth_error_wrap(err, "exec %s", exec_id);
  }
  if (head_len == 0 && berth_http_parse_head(buf, n, &status, err) <= 0)
    return berth_error_wrap(err, "exec %s", exec_id);

  if (status == 101 || status == 200) {
    size_t rest = n - (size_t) head_len;
    if (rest > 0) {
      h->pending = malloc(rest);
      if (h->pending == NULL)
        return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      memcpy(h->pending, buf + head_len, rest);
      h->n_pending = rest;
    }
    h->fd = fd; /* transferred */
    return 0;
  }

  /* An error reply: surface what the engine said. */
  {
    cleanup_free char *ebody = NULL;
    size_t elen = 0;
    json_t *j = NULL;
    const char *msg = NULL;

    if (read_error_body(fd, buf, (size_t) head_len, buf + head_len, n - (size_t) head_len, deadline,
                        &ebody, &elen) == 0)
      j = json_loadb(ebody, elen, 0, NULL);
    if (json_is_object(j))
      msg = json_string_value(json_object_get(j, "message"));
    if (msg != NULL)
      berth_error_make(err, BERTH_E_EXEC, status == 404 ? ENOENT : status == 409 ? EBUSY : EIO,
                       "starting exec %s: engine said: %s (HTTP %d)", exec_id, msg, status);
    else
      berth_error_make(err, BERTH_E_EXEC, status == 404 ? ENOENT : status == 409 ? EBUSY : EIO,
                       "starting exec %s: HTTP %d from the engine", exec_id, status);
    json_decref(j);
    return -1;
  }
}

/* ---------------------------------------------------------------- plain requests */

/* One ordinary request on a raw connection, for the pinned engine's spare
 * connections (engine.c explains why curl cannot use them).  Small and
 * strict: the head through berth_http_parse_head, then a body framed by
 * Content-Length, chunked, or (not reusable) by the end of the connection. */
int
berth_http_raw_request(int fd, const char *head, const char *body, size_t body_len, size_t max,
                       long timeout_ms, int *status, char **reply, size_t *reply_len,
                       bool *reusable, berth_error_t *err)
{
  int64_t deadline = timeout_ms > 0 ? berth_now_ms() + timeout_ms : -1;
  struct pollfd p = { .fd = fd, .events = POLLIN };
  /* a chunked body carries framing overhead on top of max */
  size_t limit = max > (SIZE_MAX - 2 * HEAD_MAX) / 2 ? SIZE_MAX / 2 : max * 2 + 2 * HEAD_MAX;
  cleanup_free char *acc = NULL;
  size_t cap = 0, n = 0, end = 0;
  long head_len = 0, clen = -1;
  bool chunked = false, until_eof = false, close_after = false;
  char value[64];
  int st = 0;

  *reply = NULL;
  *reply_len = 0;
  *reusable = false;
  /* A kept connection the engine closed while idle reads EOF; one with
   * stray bytes is out of step.  Either way: not this one. */
  if (poll(&p, 1, 0) != 0)
    return 1;
  if (send_all(fd, head, strlen(head), deadline, err) < 0 ||
      (body_len > 0 && send_all(fd, body, body_len, deadline, err) < 0)) {
    if ((*err)->status == EPIPE || (*err)->status == ECONNRESET) {
      berth_error_release(err);
      return 1;
    }
    return -1;
  }
  for (;;) {
    ssize_t r;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16384;
      char *q;
      if (cap >= limit)
        return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                                "the engine's reply is larger than %zu bytes", max);
      if (ncap > limit)
        ncap = limit;
      q = realloc(acc, ncap + 1);
      if (q == NULL)
        return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      acc = q;
      cap = ncap;
    }
    r = recv_some(fd, acc + n, cap - n, deadline, err);
    if (r < 0) {
      if (n == 0 && (*err)->status == ECONNRESET) {
        berth_error_release(err);
        return 1;
      }
      return -1;
    }
    if (r == 0) {
      if (n == 0)
        return 1; /* closed unanswered: the request was not taken */
      if (until_eof) {
        end = n;
        break;
      }
      return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ECONNRESET,
                              "the engine closed the connection in the middle of its reply");
    }
    n += (size_t) r;
    if (head_len == 0) {
      head_len = berth_http_parse_head(acc, n, &st, err);
      if (head_len < 0)
        return -1;
      if (head_len == 0)
        continue;
      if (head_header(acc, (size_t) head_len, "Connection", value, sizeof(value)) &&
          strcasecmp(value, "close") == 0)
        close_after = true;
      if (head_header(acc, (size_t) head_len, "Transfer-Encoding", value, sizeof(value))) {
        if (strcasecmp(value, "chunked") != 0)
          return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                                  "unsupported transfer encoding '%s' from the engine", value);
        chunked = true;
      } else if (head_header(acc, (size_t) head_len, "Content-Length", value, sizeof(value))) {
        char *e;
        errno = 0;
        clen = strtol(value, &e, 10);
        if (errno != 0 || *e != '\0' || clen < 0)
          return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                                  "bad Content-Length '%s' from the engine", value);
        if ((unsigned long) clen > max)
          return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                                  "the engine's reply is larger than %zu bytes", max);
      } else if (st == 204 || st == 304 || st / 100 == 1) {
        clen = 0;
      } else {
        until_eof = true;
      }
    }
    if (chunked) {
      size_t olen = 0, used = 0, blen = n - (size_t) head_len;
      /* scan until complete, then decode in place (the output never
       * overtakes the input) */
      int d = berth_http_dechunk(acc + head_len, blen, NULL, blen, &olen, &used);
      if (d < 0)
        return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                                "malformed chunked reply from the engine");
      if (d == 1) {
        if (olen > max)
          return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                                  "the engine's reply is larger than %zu bytes", max);
        berth_http_dechunk(acc + head_len, blen, acc + head_len, blen, &olen, &used);
        if ((size_t) head_len + used != n)
          close_after = true; /* bytes beyond the reply: out of step */
        end = (size_t) head_len + olen;
        break;
      }
    } else if (clen >= 0 && n - (size_t) head_len >= (size_t) clen) {
      if (n - (size_t) head_len > (size_t) clen)
        close_after = true;
      end = (size_t) head_len + (size_t) clen;
      break;
    } else if (until_eof && n - (size_t) head_len > max) {
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                              "the engine's reply is larger than %zu bytes", max);
    }
  }
  *status = st;
  *reply_len = end - (size_t) head_len;
  memmove(acc, acc + head_len, *reply_len);
  acc[*reply_len] = '\0';
  *reply = steal_pointer(&acc);
  *reusable = !close_after && !until_eof;
  return 0;
}

void
berth_hijack_close(struct berth_hijack *h)
{
  if (h == NULL)
    return;
  if (h->fd >= 0)
    close(h->fd);
  free(h->pending);
  h->fd = -1;
  h->pending = NULL;
  h->n_pending = 0;
}
