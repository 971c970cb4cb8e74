/* proxy.c - the stdio proxy (proxy.h): buffers, one poll() round at a time,
 * input to the engine, the engine's stream to stdout/stderr. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/log.h"
#include "berth/proxy.h"
#include "berth/signals.h"
#include "berth/util.h"

#define MAX_HELD_TEXT 1024

/* ------------------------------------------------------------ buffers */

static size_t
buf_room(const struct berth_proxy_buf *b)
{
  return BERTH_PROXY_BUF - b->len;
}

static void
buf_append(struct berth_proxy_buf *b, const char *p, size_t n)
{
  /* callers never exceed buf_room(): the stream is read at most that much */
  if (b->off + b->len + n > BERTH_PROXY_BUF) {
    memmove(b->data, b->data + b->off, b->len);
    b->off = 0;
  }
  memcpy(b->data + b->off + b->len, p, n);
  b->len += n;
}

static void
buf_consume(struct berth_proxy_buf *b, size_t n)
{
  b->off += n;
  b->len -= n;
  if (b->len == 0)
    b->off = 0;
}

/* How much the stream may give now: both output buffers must take it. */
static size_t
stream_room(const struct berth_proxy *p)
{
  size_t o = buf_room(&p->out), e = buf_room(&p->errb);
  return p->tty || o < e ? o : e;
}

/* ------------------------------------------------------------ set up */

static int
set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
    return fl;
  return -1;
}

int
berth_proxy_init(struct berth_proxy *p, int in_fd, int out_fd, int err_fd, struct berth_conn *conn,
                 bool tty, berth_error_t *err)
{
  memset(p, 0, sizeof(*p));
  p->in_fd = in_fd;
  p->out_fd = out_fd;
  p->err_fd = err_fd;
  p->sig_fd = -1;
  p->conn = conn;
  p->tty = tty;
  p->fl_saved[0] = p->fl_saved[1] = p->fl_saved[2] = -1;
  p->in.data = malloc(BERTH_PROXY_BUF);
  p->out.data = malloc(BERTH_PROXY_BUF);
  p->errb.data = malloc(BERTH_PROXY_BUF);
  if (p->in.data == NULL || p->out.data == NULL || p->errb.data == NULL) {
    berth_proxy_release(p);
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  }
  berth_demux_init(&p->demux);
  p->stdin_open = p->wr_open = p->rd_open = true;
  p->out_ok = p->err_ok = true;
  p->verified = true;
  p->fl_saved[0] = set_nonblock(in_fd);
  p->fl_saved[1] = set_nonblock(out_fd);
  p->fl_saved[2] = set_nonblock(err_fd);
  return 0;
}

void
berth_proxy_release(struct berth_proxy *p)
{
  int fds[3] = { p->in_fd, p->out_fd, p->err_fd };

  for (int i = 0; i < 3; i++)
    if (p->fl_saved[i] >= 0)
      fcntl(fds[i], F_SETFL, p->fl_saved[i]);
  p->fl_saved[0] = p->fl_saved[1] = p->fl_saved[2] = -1;
  free(p->in.data);
  free(p->out.data);
  free(p->errb.data);
  p->in.data = p->out.data = p->errb.data = NULL;
}

/* ------------------------------------------------------------ endings */

static void
ask_end(struct berth_proxy *p, int sig)
{
  if (p->ops != NULL && p->ops->end != NULL)
    p->ops->end(p->ctx, sig);
}

void
berth_proxy_hangup(struct berth_proxy *p, int sig)
{
  p->stdin_open = false;
  p->out_ok = false;
  p->err_ok = false;
  p->in.len = 0;
  p->out.len = 0;
  p->errb.len = 0;
  ask_end(p, sig);
}

static void
write_failed(struct berth_proxy *p, int fd, int e)
{
  if (p->tty || e == EIO) {
    /* a terminal that errors is a hangup */
    berth_proxy_hangup(p, SIGHUP);
    return;
  }
  /* A pipe reader went away (EPIPE): on the host the command would die of
   * SIGPIPE on its next write; give it the same fate so `cmd | head` ends. */
  if (fd == p->out_fd) {
    p->out_ok = false;
    p->out.len = 0;
  } else {
    p->err_ok = false;
    p->errb.len = 0;
  }
  ask_end(p, SIGPIPE);
}

/* Write what we can of b to fd (non-blocking). */
static void
flush_to(struct berth_proxy *p, int fd, struct berth_proxy_buf *b, bool *ok)
{
  while (*ok && b->len > 0) {
    ssize_t w = write(fd, b->data + b->off, b->len);
    if (w > 0) {
      buf_consume(b, (size_t) w);
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    write_failed(p, fd, w < 0 ? errno : EPIPE);
    return;
  }
}

static void
flush_outputs(struct berth_proxy *p)
{
  if (!p->verified)
    return;
  flush_to(p, p->out_fd, &p->out, &p->out_ok);
  flush_to(p, p->err_fd, &p->errb, &p->err_ok);
}

/* ------------------------------------------------------------ the stream */

static int
check_started(struct berth_proxy *p, berth_error_t *err)
{
  int r;

  if (p->ops == NULL || p->ops->started == NULL) {
    p->verified = true;
    return 0;
  }
  r = p->ops->started(p->ctx, err);
  if (r < 0)
    return -1;
  if (r > 0) {
    p->verified = true;
    p->start_failed = false;
  } else if (!p->start_failed) {
    /* Held until the stream ends (the caller's final look decides),
     * re-checked meanwhile in case the engine was merely slow to say so. */
    p->start_failed = true;
    p->recheck_until = berth_now_ms() + BERTH_PROXY_RECHECK_MS;
  }
  return 0;
}

static int
demux_cb(void *ctx, int stream, const char *data, size_t len)
{
  struct berth_proxy *p = ctx;

  if (stream == 2) {
    if (p->err_ok || !p->verified)
      buf_append(&p->errb, data, len);
  } else if (p->out_ok || !p->verified) {
    buf_append(&p->out, data, len);
  }
  return 0;
}

/* Bytes from the stream (handshake leftovers or a read). */
static int
stream_in(struct berth_proxy *p, const char *d, size_t n, berth_error_t *err)
{
  if (!p->verified && !p->start_failed && check_started(p, err) < 0)
    return -1;
  if (p->tty) {
    if (p->out_ok || !p->verified)
      buf_append(&p->out, d, n);
    return 0;
  }
  return berth_demux_feed(&p->demux, d, n, demux_cb, p, err);
}

static int
read_stream(struct berth_proxy *p, char *rbuf, size_t room, berth_error_t *err)
{
  berth_error_t rerr = NULL;
  ssize_t r = berth_conn_recv(p->conn, rbuf, room, &rerr);

  if (r > 0)
    return stream_in(p, rbuf, (size_t) r, err);
  if (r == 0) {
    p->rd_open = false;
  } else if (r != BERTH_CONN_AGAIN) {
    berth_log(LOG_WARNING, "stream read failed: %s", rerr->msg);
    berth_error_release(&rerr);
    p->rd_open = false;
  }
  return 0;
}

/* ------------------------------------------------------------ input */

static void
read_stdin(struct berth_proxy *p, char *rbuf)
{
  ssize_t r = read(p->in_fd, rbuf, buf_room(&p->in));

  if (r > 0) {
    buf_append(&p->in, rbuf, (size_t) r);
  } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
    /* In raw mode no key produces EOF: a terminal that ends is gone. */
    if (p->tty)
      berth_proxy_hangup(p, SIGHUP);
    else
      p->stdin_open = false;
  }
}

/* Send at once what stdin gave (EAGAIN waits for the next POLLOUT): waiting
 * for another poll round per chunk costs throughput.  Then, once input ended
 * and all of it went out, half-close: the command sees EOF and the engine
 * keeps sending output until it exits. */
static void
send_stdin(struct berth_proxy *p)
{
  berth_error_t serr = NULL;

  if (p->wr_open && p->in.len > 0) {
    ssize_t w = berth_conn_send(p->conn, p->in.data + p->in.off, p->in.len, &serr);
    if (w > 0) {
      buf_consume(&p->in, (size_t) w);
    } else if (w != BERTH_CONN_AGAIN) {
      /* The engine stopped reading input; output may still come. */
      berth_error_release(&serr);
      p->wr_open = false;
      p->stdin_open = false;
      p->in.len = 0;
    }
  }
  if (!p->stdin_open && p->in.len == 0 && p->wr_open) {
    if (berth_conn_shutdown_write(p->conn, &serr) < 0)
      berth_error_release(&serr);
    p->wr_open = false;
  }
}

static void
read_signals(struct berth_proxy *p)
{
  berth_signals_dispatch(p->sig_fd, p->ops != NULL ? p->ops->signal : NULL, p->ctx);
}

/* ------------------------------------------------------------ the loop */

enum { I_SIG, I_IN, I_CONN, I_OUT, I_ERR, N_PFD };

/* The poll set of one round; an fd we have no interest in gets -1 (POLLHUP
 * would otherwise spin the loop while a slow reader keeps buffers full). */
static void
fill_pollfds(const struct berth_proxy *p, struct pollfd *pfd, size_t room, size_t n_pending)
{
  short ev = 0;

  for (int i = 0; i < N_PFD; i++)
    pfd[i] = (struct pollfd){ .fd = -1 };
  if (p->sig_fd >= 0)
    pfd[I_SIG] = (struct pollfd){ .fd = p->sig_fd, .events = POLLIN };
  if (p->stdin_open && buf_room(&p->in) > 0)
    pfd[I_IN] = (struct pollfd){ .fd = p->in_fd, .events = POLLIN };
  if (n_pending == 0 && room > 0)
    ev |= POLLIN;
  if (p->in.len > 0 && p->wr_open)
    ev |= POLLOUT;
  if (ev != 0)
    pfd[I_CONN] = (struct pollfd){ .fd = berth_conn_pollfd(p->conn), .events = ev };
  /* An open output is always watched: with nothing to write (events 0),
   * poll() still reports POLLERR/POLLHUP when its reader is gone. */
  if (p->out_ok)
    pfd[I_OUT]
        = (struct pollfd){ .fd = p->out_fd, .events = p->verified && p->out.len > 0 ? POLLOUT : 0 };
  if (p->err_ok)
    pfd[I_ERR] = (struct pollfd){ .fd = p->err_fd,
                                  .events = p->verified && p->errb.len > 0 ? POLLOUT : 0 };
}

/* An output whose reader went away while there was nothing to write to it:
 * sshd closes the session's pipes when its connection drops, and a command
 * that prints nothing would never learn it.  It gets the fate of a write
 * there (SIGPIPE), at once.  Once marked, the fd is no longer polled. */
static void
check_reader(struct berth_proxy *p, const struct pollfd *pfd, int fd, bool ok)
{
  if (ok && (pfd->revents & (POLLERR | POLLHUP)))
    write_failed(p, fd, EPIPE);
}

/* The timeout of one round: the mode's timers, the re-check of a held
 * start, and 0 when the connection holds bytes poll() cannot see. */
static int
round_timeout(struct berth_proxy *p, size_t room)
{
  int timeout = -1;

  if (p->ops != NULL && p->ops->tick != NULL)
    timeout = p->ops->tick(p->ctx);
  if (timeout == BERTH_PROXY_STOP)
    return timeout;
  if (p->start_failed && (timeout < 0 || timeout > BERTH_PROXY_RECHECK_EVERY_MS))
    timeout = BERTH_PROXY_RECHECK_EVERY_MS;
  if (room > 0 && berth_conn_pending(p->conn))
    timeout = 0;
  return timeout;
}

static int
recheck_start(struct berth_proxy *p, berth_error_t *err)
{
  if (!p->start_failed || !p->rd_open)
    return 0;
  if (berth_now_ms() >= p->recheck_until) {
    p->verified = true;
    p->start_failed = false;
    return 0;
  }
  return check_started(p, err);
}

int
berth_proxy_run(struct berth_proxy *p, const char *pending, size_t n_pending, berth_error_t *err)
{
  char rbuf[BERTH_PROXY_BUF];

  while (p->rd_open) {
    struct pollfd pfd[N_PFD];
    size_t room = stream_room(p);
    int timeout;

    /* Held output filling a buffer is no engine error message: a start
     * failure says one line. */
    if (!p->verified && room == 0)
      p->verified = true;
    /* Leftovers that came with the handshake go first. */
    if (n_pending > 0 && room > 0) {
      size_t take = n_pending < room ? n_pending : room;
      if (stream_in(p, pending, take, err) < 0)
        return -1;
      pending += take;
      n_pending -= take;
      continue;
    }
    fill_pollfds(p, pfd, room, n_pending);
    timeout = round_timeout(p, room);
    if (timeout == BERTH_PROXY_STOP)
      break;
    if (poll(pfd, N_PFD, timeout) < 0) {
      if (errno == EINTR)
        continue;
      return berth_error_errno(err, BERTH_E_INTERNAL, errno, "poll");
    }
    if (recheck_start(p, err) < 0)
      return -1;
    if (pfd[I_SIG].revents & POLLIN)
      read_signals(p);
    if (p->stdin_open && (pfd[I_IN].revents & (POLLIN | POLLHUP | POLLERR)))
      read_stdin(p, rbuf);
    send_stdin(p);
    if ((pfd[I_CONN].events & POLLIN)
        && ((pfd[I_CONN].revents & (POLLIN | POLLHUP | POLLERR)) || berth_conn_pending(p->conn))
        && read_stream(p, rbuf, room, err) < 0)
      return -1;
    /* Likewise write out at once what the stream just gave. */
    flush_outputs(p);
    check_reader(p, &pfd[I_OUT], p->out_fd, p->out_ok);
    check_reader(p, &pfd[I_ERR], p->err_fd, p->err_ok);
  }
  if (!p->tty && !berth_demux_idle(&p->demux))
    berth_debug("stream ended inside a frame");
  return 0;
}

void
berth_proxy_drain(struct berth_proxy *p)
{
  p->verified = true;
  while ((p->out_ok && p->out.len > 0) || (p->err_ok && p->errb.len > 0)) {
    struct pollfd pfd[3];
    int n = 0;
    unsigned char sigs[64];
    ssize_t got;

    if (p->sig_fd >= 0)
      pfd[n++] = (struct pollfd){ .fd = p->sig_fd, .events = POLLIN };
    if (p->out_ok && p->out.len > 0)
      pfd[n++] = (struct pollfd){ .fd = p->out_fd, .events = POLLOUT };
    if (p->err_ok && p->errb.len > 0)
      pfd[n++] = (struct pollfd){ .fd = p->err_fd, .events = POLLOUT };
    if (poll(pfd, (nfds_t) n, -1) < 0 && errno != EINTR)
      break;
    while (p->sig_fd >= 0 && (got = read(p->sig_fd, sigs, sizeof(sigs))) > 0) {
      for (ssize_t i = 0; i < got; i++)
        if (sigs[i] != SIGWINCH)
          return;
    }
    flush_outputs(p);
  }
}

char *
berth_proxy_held_text(const struct berth_proxy *p)
{
  const struct berth_proxy_buf *b = p->out.len > 0 ? &p->out : &p->errb;
  size_t n = b->len < MAX_HELD_TEXT ? b->len : MAX_HELD_TEXT;
  char *t = malloc(n + 1);

  if (t == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char) b->data[b->off + i];
    t[i] = (c == '\r' || c == '\n') ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char) c;
  }
  while (n > 0 && t[n - 1] == ' ')
    n--;
  t[n] = '\0';
  return t;
}
