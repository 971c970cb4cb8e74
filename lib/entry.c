/* entry.c - exec mode: one session into the user's container.  Exec create on
 * the control connection, start on the hijacked connection, then a poll()
 * proxy between fds 0/1/2 and the stream (raw in TTY mode, demultiplexed
 * otherwise), with TTY raw mode, resize, signal forwarding and hangup. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "berth/entry.h"
#include "berth/log.h"
#include "berth/util.h"

#define BUF_CAP (64 * 1024)
/* After asking the command to end (SIGHUP, SIGTERM, SIGPIPE), how long it
 * gets before SIGKILL, and how long we then wait for the stream to close. */
#define GRACE_MS 2000
#define KILL_WAIT_MS 2000
/* The longest engine message about a failed start we keep for the log. */
#define MAX_FAIL_MSG 1024
/* A start failure ends the stream right after the engine's message; output
 * held longer than this is the command's own, whatever the engine says. */
#define RECHECK_MS 2000
#define RECHECK_EVERY_MS 50
/* How long to wait for the engine to learn the PID of a running command. */
#define PID_WAIT_MS 1000

bool
berth_utf8_valid(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *) s;
  size_t i = 0;

  while (i < len) {
    unsigned char c = p[i];
    size_t n;
    uint32_t cp;

    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false; /* continuation byte, overlong lead (c0/c1) or > U+10FFFF lead */
    }
    if (len - i <= n)
      return false;
    for (size_t k = 1; k <= n; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    /* overlongs, surrogates, beyond Unicode */
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

/* jansson refuses invalid UTF-8 (json_string returns NULL).  Docker could
 * not carry such bytes anyway (Go replaces them with U+FFFD), so a string
 * that is not UTF-8 is refused with a clear error instead of being mangled. */
static json_t *
utf8_string(const char *s, const char *what, size_t idx, berth_error_t *err)
{
  json_t *j;

  if (!berth_utf8_valid(s, strlen(s))) {
    berth_error_make(err, BERTH_E_USAGE, EILSEQ, "%s %zu is not valid UTF-8", what, idx);
    return NULL;
  }
  j = json_string(s);
  if (j == NULL)
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return j;
}

static json_t *
string_array(char *const *v, const char *what, berth_error_t *err)
{
  json_t *a = json_array();

  if (a == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    return NULL;
  }
  for (size_t i = 0; v && v[i]; i++) {
    json_t *s = utf8_string(v[i], what, i, err);
    if (s == NULL || json_array_append_new(a, s) < 0) {
      if (s != NULL)
        berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

json_t *
berth_exec_spec(const struct berth_box *b, const struct berth_exec_req *r, unsigned rows,
                unsigned cols, bool console_size, berth_error_t *err)
{
  json_t *spec, *cmd, *env;
  char user[64];

  if (r->argv == NULL || r->argv[0] == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "empty command");
    return NULL;
  }
  cmd = string_array(r->argv, "command argument", err);
  if (cmd == NULL)
    return NULL;
  env = string_array(r->env, "environment entry", err);
  if (env == NULL) {
    json_decref(cmd);
    return NULL;
  }
  /* Numeric uid:gid: no name lookup in the image's passwd, so it cannot
   * resolve to anybody else (nor fail on an image without the user). */
  snprintf(user, sizeof(user), "%lu:%lu", (unsigned long) b->user->uid,
           (unsigned long) b->user->gid);
  spec = json_pack("{s:b, s:b, s:b, s:b, s:o, s:o, s:s, s:s}",
                   "AttachStdin", 1, "AttachStdout", 1, "AttachStderr", 1,
                   "Tty", r->tty ? 1 : 0, "Cmd", cmd, "Env", env, "User", user,
                   "DetachKeys", BERTH_DETACH_KEYS);
  if (spec == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    return NULL;
  }
  if (r->workdir != NULL) {
    json_t *w = utf8_string(r->workdir, "working directory", 0, err);
    if (w == NULL || json_object_set_new(spec, "WorkingDir", w) < 0) {
      json_decref(spec);
      return NULL;
    }
  }
  /* ConsoleSize exists from API 1.42 on; older engines reject nothing but
   * ignore it, and we resize right after start anyway. */
  if (r->tty && console_size && rows > 0 && cols > 0) {
    if (json_object_set_new(spec, "ConsoleSize", json_pack("[I, I]", (json_int_t) rows,
                                                           (json_int_t) cols)) < 0) {
      json_decref(spec);
      berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      return NULL;
    }
  }
  return spec;
}

/* ------------------------------------------------------------ buffers */

struct buf {
  char *data;
  size_t off, len;
};

static size_t
buf_room(const struct buf *b)
{
  return BUF_CAP - b->len;
}

static void
buf_append(struct buf *b, const char *p, size_t n)
{
  /* callers never exceed buf_room(): the socket is read at most that much */
  if (b->off + b->len + n > BUF_CAP) {
    memmove(b->data, b->data + b->off, b->len);
    b->off = 0;
  }
  memcpy(b->data + b->off + b->len, p, n);
  b->len += n;
}

static void
buf_consume(struct buf *b, size_t n)
{
  b->off += n;
  b->len -= n;
  if (b->len == 0)
    b->off = 0;
}

/* ------------------------------------------------------------ signals */

static int sig_pipe_w = -1;

static void
on_signal(int sig)
{
  int saved = errno;
  unsigned char c = (unsigned char) sig;
  if (sig_pipe_w >= 0)
    (void) !write(sig_pipe_w, &c, 1);
  errno = saved;
}

static const int caught[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGWINCH };
#define N_CAUGHT (sizeof(caught) / sizeof(caught[0]))

/* ------------------------------------------------------------ the session */

struct session {
  struct berth_engine *e;
  const char *exec_id;
  bool tty;
  int sock;

  struct buf in, out, errb;
  struct berth_demux demux;

  bool stdin_open;     /* still reading fd 0 */
  bool sock_wr_open;   /* not yet shut down for writing */
  bool sock_rd_open;   /* stream not yet ended */
  bool out_ok, err_ok; /* destination still writable */

  /* The first output is held until one exec inspect shows the process
   * started: when the engine could not start it, the only "output" is the
   * engine's error text (Docker writes it into the stream after 101), which
   * must become our one-line error, not the user's stdout. */
  bool verified;
  bool start_failed;
  int64_t recheck_until; /* give up holding after this (start_failed only) */

  long pid;            /* host PID of the exec'd process, 0 until known */
  int pidfd;           /* pins pid against reuse, -1 when unavailable */
  int ending_sig;      /* the signal we asked the command to end with, 0 = none */
  int64_t kill_at;     /* when to send SIGKILL (0 = not armed) */
  int64_t give_up_at;  /* when to stop waiting for the stream (0 = not armed) */
  bool killed;
};

static int
pidfd_open_compat(long pid)
{
#ifdef SYS_pidfd_open
  return (int) syscall(SYS_pidfd_open, (pid_t) pid, 0);
#else
  (void) pid;
  errno = ENOSYS;
  return -1;
#endif
}

static int
pidfd_signal(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
  return (int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
  (void) pidfd;
  (void) sig;
  errno = ENOSYS;
  return -1;
#endif
}

/* Learn the host PID of the exec'd process and pin it with a pidfd.
 * Returns 1 when running with a known PID (s->pid), 0 otherwise, -1 on
 * error.  *seen_running and *seen_pid (may be NULL) get what the engine
 * said: Docker sets Running before it starts the process and Pid only
 * after its runtime call returns, so early output can see Running with
 * Pid 0; a process that ended keeps its Pid; one that never started has
 * Running false and Pid 0. */
static int
learn_pid(struct session *s, bool *seen_running, long *seen_pid, berth_error_t *err)
{
  bool running = false;
  int code = 0;
  long pid = 0;

  if (berth_engine_exec_inspect(s->e, s->exec_id, &running, &code, &pid, err) < 0)
    return -1;
  if (seen_running != NULL)
    *seen_running = running;
  if (seen_pid != NULL)
    *seen_pid = pid;
  if (!running || pid <= 0)
    return 0;
  if (s->pid == pid)
    return 1;
  if (s->pidfd >= 0)
    close(s->pidfd);
  s->pidfd = pidfd_open_compat(pid);
  s->pid = pid;
  if (s->pidfd >= 0) {
    /* The pidfd (close-on-exec by definition) was opened after the
     * inspect: it is the exec'd process only if that is still running now
     * (a PID is not reused while its process lives). */
    running = false;
    if (berth_engine_exec_inspect(s->e, s->exec_id, &running, &code, &pid, err) < 0)
      return -1;
    if (!running || pid != s->pid) {
      close(s->pidfd);
      s->pidfd = -1;
      s->pid = 0;
      return 0;
    }
  }
  return 1;
}

/* First output: did the process start?  A process that already ended still
 * has its Pid in the inspect; one the engine could not start has none. */
static int
verify_started(struct session *s, berth_error_t *err)
{
  bool running = false;
  long pid = 0;

  if (learn_pid(s, &running, &pid, err) < 0)
    return -1;
  if (running || pid > 0) {
    s->verified = true;
    s->start_failed = false;
  } else if (!s->start_failed) {
    /* Held until the stream ends (the final inspect decides), re-checked
     * meanwhile in case the engine was merely slow to say so. */
    s->start_failed = true;
    s->recheck_until = berth_now_ms() + RECHECK_MS;
  }
  return 0;
}

/* Wait up to ms for the pinned process to exit.  true when it has. */
static bool
pidfd_exited(int pidfd, int ms)
{
  struct pollfd p = { .fd = pidfd, .events = POLLIN };
  int64_t deadline = berth_now_ms() + ms;

  for (;;) {
    int left = (int) (deadline - berth_now_ms());
    int r = poll(&p, 1, left > 0 ? left : 0);
    if (r > 0)
      return true;
    if (r == 0 || errno != EINTR)
      return r < 0; /* a pidfd we cannot poll: do not hang on it */
  }
}

/* The exec API has no kill: signal the process by its host PID.  It runs
 * with the invoking user's uid, the same uid berth-shell has dropped to, so
 * the kernel lets us. */
static void
signal_command(struct session *s, int sig)
{
  berth_error_t err = NULL;
  int64_t deadline = berth_now_ms() + PID_WAIT_MS;
  bool running = false;
  int r;

  /* A command that floods its output can be hung up before the engine has
   * recorded its PID (Running, Pid 0): ask again for a moment. */
  for (;;) {
    r = learn_pid(s, &running, NULL, &err);
    if (r < 0) {
      berth_log(LOG_WARNING, "exec=%.12s cannot find the command to signal: %s", s->exec_id,
                err->msg);
      berth_error_release(&err);
      return;
    }
    if (r > 0 || !running || berth_now_ms() >= deadline)
      break;
    usleep(2000);
  }
  if (r == 0)
    return;
  if (s->pidfd >= 0)
    r = pidfd_signal(s->pidfd, sig);
  else
    r = kill((pid_t) s->pid, sig);
  if (r < 0 && errno != ESRCH)
    berth_log(LOG_WARNING, "exec=%.12s pid=%ld cannot send signal %d: %m", s->exec_id, s->pid,
              sig);
}

/* Ask the command to end with sig, then SIGKILL after a grace period. */
static void
end_command(struct session *s, int sig)
{
  if (s->ending_sig != 0)
    return;
  s->ending_sig = sig;
  signal_command(s, sig);
  s->kill_at = berth_now_ms() + GRACE_MS;
}

/* The terminal or the output went away: nobody can see the command any more. */
static void
hangup(struct session *s, int sig)
{
  s->stdin_open = false;
  s->out_ok = false;
  s->err_ok = false;
  s->in.len = 0;
  s->out.len = 0;
  s->errb.len = 0;
  end_command(s, sig);
}

static void
set_status_from_write_error(struct session *s, int fd, int e)
{
  if (s->tty || e == EIO) {
    /* a terminal that errors is a hangup */
    hangup(s, SIGHUP);
    return;
  }
  /* A pipe reader went away (EPIPE): on the host the command would die of
   * SIGPIPE on its next write; give it the same fate so `cmd | head` ends. */
  if (fd == STDOUT_FILENO) {
    s->out_ok = false;
    s->out.len = 0;
  } else {
    s->err_ok = false;
    s->errb.len = 0;
  }
  end_command(s, SIGPIPE);
}

static int
demux_cb(void *ctx, int stream, const char *data, size_t len)
{
  struct session *s = ctx;

  if (stream == 2) {
    if (s->err_ok || !s->verified)
      buf_append(&s->errb, data, len);
  } else if (s->out_ok || !s->verified) {
    buf_append(&s->out, data, len);
  }
  return 0;
}

/* Bytes from the stream (hijack leftovers or a socket read). */
static int
stream_in(struct session *s, const char *p, size_t n, berth_error_t *err)
{
  if (!s->verified && !s->start_failed && verify_started(s, err) < 0)
    return -1;
  if (s->tty) {
    if (s->out_ok || !s->verified)
      buf_append(&s->out, p, n);
    return 0;
  }
  return berth_demux_feed(&s->demux, p, n, demux_cb, s, err);
}

static void
do_resize(struct session *s)
{
  struct winsize ws;
  berth_error_t err = NULL;

  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
    return;
  if (berth_engine_exec_resize(s->e, s->exec_id, ws.ws_row, ws.ws_col, &err) < 0) {
    berth_debug("exec=%.12s resize failed: %s", s->exec_id, err->msg);
    berth_error_release(&err);
  }
}

static void
handle_signals(struct session *s, int sig_r)
{
  unsigned char sigs[64];
  ssize_t n;

  while ((n = read(sig_r, sigs, sizeof(sigs))) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      switch (sigs[i]) {
      case SIGWINCH:
        if (s->tty)
          do_resize(s);
        break;
      case SIGINT:
      case SIGQUIT:
        /* Forwarded like a terminal would deliver them; the command decides. */
        signal_command(s, sigs[i]);
        break;
      case SIGTERM:
        end_command(s, SIGTERM);
        break;
      case SIGHUP:
        hangup(s, SIGHUP);
        break;
      }
    }
  }
}

/* Write what we can of b to fd (non-blocking). */
static void
flush_to(struct session *s, int fd, struct buf *b, bool *ok)
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
    set_status_from_write_error(s, fd, w < 0 ? errno : EPIPE);
    return;
  }
}

static int
proxy(struct session *s, int sig_r, const char *pending, size_t n_pending, berth_error_t *err)
{
  char rbuf[BUF_CAP];

  while (s->sock_rd_open) {
    struct pollfd pfd[5];
    int n = 0, i_sig, i_in = -1, i_sock = -1;
    size_t room = s->tty ? buf_room(&s->out)
                         : (buf_room(&s->out) < buf_room(&s->errb) ? buf_room(&s->out)
                                                                   : buf_room(&s->errb));
    int timeout = -1;
    int64_t now;

    /* Held output filling a buffer is no engine error message: a start
     * failure says one line. */
    if (!s->verified && room == 0)
      s->verified = true;
    /* Leftovers that came with the 101 response go first. */
    if (n_pending > 0 && room > 0) {
      size_t take = n_pending < room ? n_pending : room;
      if (stream_in(s, pending, take, err) < 0)
        return -1;
      pending += take;
      n_pending -= take;
      continue;
    }

    pfd[n] = (struct pollfd){ .fd = sig_r, .events = POLLIN };
    i_sig = n++;
    if (s->stdin_open && buf_room(&s->in) > 0) {
      pfd[n] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
      i_in = n++;
    }
    {
      short ev = 0;
      if (n_pending == 0 && room > 0)
        ev |= POLLIN;
      if (s->in.len > 0 && s->sock_wr_open)
        ev |= POLLOUT;
      /* No interest, no entry: POLLHUP would otherwise spin the loop while
       * a slow reader keeps the output buffers full. */
      if (ev != 0) {
        pfd[n] = (struct pollfd){ .fd = s->sock, .events = ev };
        i_sock = n++;
      }
    }
    if (s->verified && s->out.len > 0 && s->out_ok) {
      pfd[n++] = (struct pollfd){ .fd = STDOUT_FILENO, .events = POLLOUT };
    }
    if (s->verified && s->errb.len > 0 && s->err_ok) {
      pfd[n++] = (struct pollfd){ .fd = STDERR_FILENO, .events = POLLOUT };
    }

    now = berth_now_ms();
    if (s->kill_at > 0) {
      if (now >= s->kill_at && !s->killed) {
        s->killed = true;
        signal_command(s, SIGKILL);
        s->give_up_at = now + KILL_WAIT_MS;
      }
      if (s->give_up_at > 0 && now >= s->give_up_at) {
        berth_log(LOG_WARNING, "exec=%.12s stream still open after SIGKILL, giving up",
                  s->exec_id);
        break;
      }
      timeout = (int) ((s->killed ? s->give_up_at : s->kill_at) - now);
    }

    if (s->start_failed && (timeout < 0 || timeout > RECHECK_EVERY_MS))
      timeout = RECHECK_EVERY_MS;

    if (poll(pfd, (nfds_t) n, timeout) < 0) {
      if (errno == EINTR)
        continue;
      return berth_error_errno(err, BERTH_E_INTERNAL, errno, "poll");
    }
    if (s->start_failed && s->sock_rd_open) {
      if (berth_now_ms() >= s->recheck_until) {
        s->verified = true;
        s->start_failed = false;
      } else if (verify_started(s, err) < 0) {
        return -1;
      }
    }

    if (pfd[i_sig].revents & POLLIN)
      handle_signals(s, sig_r);

    if (i_in >= 0 && s->stdin_open && (pfd[i_in].revents & (POLLIN | POLLHUP | POLLERR))) {
      size_t want = buf_room(&s->in);
      ssize_t r = read(STDIN_FILENO, rbuf, want);
      if (r > 0) {
        buf_append(&s->in, rbuf, (size_t) r);
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        /* In raw mode no key produces EOF: a terminal that ends is gone. */
        if (s->tty)
          hangup(s, SIGHUP);
        else
          s->stdin_open = false;
      }
    }

    /* Send at once what stdin just gave (nonblocking; EAGAIN waits for the
     * next POLLOUT): waiting for another poll round per chunk costs
     * throughput. */
    if (s->sock_wr_open && s->in.len > 0) {
      ssize_t w = send(s->sock, s->in.data + s->in.off, s->in.len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        buf_consume(&s->in, (size_t) w);
      } else if (w < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        /* The engine stopped reading input; output may still come. */
        s->sock_wr_open = false;
        s->stdin_open = false;
        s->in.len = 0;
      }
    }
    /* stdin ended and everything was sent: half-close so the command sees
     * EOF; the engine keeps sending output until the command exits. */
    if (!s->stdin_open && s->in.len == 0 && s->sock_wr_open) {
      shutdown(s->sock, SHUT_WR);
      s->sock_wr_open = false;
    }

    if (i_sock >= 0 && (pfd[i_sock].events & POLLIN) &&
        (pfd[i_sock].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = recv(s->sock, rbuf, room, MSG_DONTWAIT);
      if (r > 0) {
        if (stream_in(s, rbuf, (size_t) r, err) < 0)
          return -1;
      } else if (r == 0) {
        s->sock_rd_open = false;
      } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        berth_log(LOG_WARNING, "exec=%.12s stream read failed: %m", s->exec_id);
        s->sock_rd_open = false;
      }
    }

    /* Likewise write out at once what the stream just gave. */
    if (s->verified && s->out.len > 0)
      flush_to(s, STDOUT_FILENO, &s->out, &s->out_ok);
    if (s->verified && s->errb.len > 0)
      flush_to(s, STDERR_FILENO, &s->errb, &s->err_ok);
  }

  if (!s->tty && !berth_demux_idle(&s->demux))
    berth_debug("exec=%.12s stream ended inside a frame", s->exec_id);
  return 0;
}

/* Deliver what is left for stdout/stderr after the stream ended.  Not
 * bounded in time: a slow reader gets every byte, as it would from a host
 * process; a broken output or a hangup/termination signal ends it. */
static void
drain_outputs(struct session *s, int sig_r)
{
  while ((s->out_ok && s->out.len > 0) || (s->err_ok && s->errb.len > 0)) {
    struct pollfd pfd[3];
    int n = 0;
    unsigned char sigs[64];
    ssize_t got;

    pfd[n++] = (struct pollfd){ .fd = sig_r, .events = POLLIN };
    if (s->out_ok && s->out.len > 0)
      pfd[n++] = (struct pollfd){ .fd = STDOUT_FILENO, .events = POLLOUT };
    if (s->err_ok && s->errb.len > 0)
      pfd[n++] = (struct pollfd){ .fd = STDERR_FILENO, .events = POLLOUT };
    if (poll(pfd, (nfds_t) n, -1) < 0 && errno != EINTR)
      break;
    while ((got = read(sig_r, sigs, sizeof(sigs))) > 0) {
      for (ssize_t i = 0; i < got; i++)
        if (sigs[i] != SIGWINCH)
          return;
    }
    flush_to(s, STDOUT_FILENO, &s->out, &s->out_ok);
    flush_to(s, STDERR_FILENO, &s->errb, &s->err_ok);
  }
}

/* After the stream closed: the engine records the exit code when the
 * container runtime reports the exit, which can trail the stream's end by
 * a little.  Poll with a short backoff, bounded. */
static int
wait_exit(struct session *s, long timeout_ms, bool *running, int *code, long *pid,
          berth_error_t *err)
{
  int64_t deadline = berth_now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
  useconds_t delay = 500;

  for (;;) {
    if (berth_engine_exec_inspect(s->e, s->exec_id, running, code, pid, err) < 0)
      return -1;
    if (!*running || berth_now_ms() >= deadline)
      return 0;
    usleep(delay);
    if (delay < 50000)
      delay *= 2;
  }
}

/* Keep a printable, single-line copy of the engine's start error. */
static char *
failure_text(const struct buf *out, const struct buf *errb)
{
  const struct buf *b = out->len > 0 ? out : errb;
  size_t n = b->len < MAX_FAIL_MSG ? b->len : MAX_FAIL_MSG;
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

struct saved_fd {
  int flags;
  bool changed;
};

static void
set_nonblock(int fd, struct saved_fd *sv)
{
  int fl = fcntl(fd, F_GETFL);
  sv->changed = false;
  sv->flags = fl;
  if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
    sv->changed = true;
}

static void
restore_fd(int fd, const struct saved_fd *sv)
{
  if (sv->changed)
    fcntl(fd, F_SETFL, sv->flags);
}

int
berth_entry_exec(struct berth_engine *e, struct berth_conn *hijack, const struct berth_box *b,
                 const struct berth_exec_req *r, berth_error_t *err)
{
  cleanup_conn struct berth_conn *conn = hijack;
  cleanup_free char *exec_id = NULL;
  cleanup_free char *out_data = NULL, *err_data = NULL, *in_data = NULL;
  struct berth_hijack h = { .conn = NULL };
  struct termios saved_tio;
  bool raw = false;
  struct winsize ws = { 0 };
  struct sigaction old_sa[N_CAUGHT], old_pipe, sa;
  int sig_p[2] = { -1, -1 };
  struct saved_fd sv[3];
  bool running = false;
  int code = 0, ret = -1, forced = 0;
  long pid = 0;
  json_t *spec;
  struct session s = { 0 };

  if (r->tty && isatty(STDIN_FILENO)) {
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
      memset(&ws, 0, sizeof(ws));
  }
  spec = berth_exec_spec(b, r, ws.ws_row, ws.ws_col, berth_engine_api_at_least(e, 1, 42), err);
  if (spec == NULL)
    return -1;
  if (berth_engine_exec_create(e, b->id ? b->id : b->name, spec, &exec_id, err) < 0) {
    json_decref(spec);
    return berth_error_wrap(err, "creating the exec in %s", b->name);
  }
  json_decref(spec);

  out_data = malloc(BUF_CAP);
  err_data = malloc(BUF_CAP);
  in_data = malloc(BUF_CAP);
  if (out_data == NULL || err_data == NULL || in_data == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");

  /* Catch the signals before the command starts, so none is lost between
   * start and the proxy loop. */
  if (pipe2(sig_p, O_CLOEXEC | O_NONBLOCK) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "pipe");
  sig_pipe_w = sig_p[1];
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < N_CAUGHT; i++)
    sigaction(caught[i], &sa, &old_sa[i]);
  /* EPIPE from a write is handled where it happens. */
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, &old_pipe);
  {
    sigset_t unblock;
    sigemptyset(&unblock);
    for (size_t i = 0; i < N_CAUGHT; i++)
      sigaddset(&unblock, caught[i]);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
  }

  /* The size also rides on the start request: Podman applies it before the
   * process runs (its 101 comes too late for a resize); Docker ignores it. */
  if (berth_engine_exec_attach_size(conn, berth_engine_api_version(e), exec_id, r->tty, ws.ws_row,
                                    ws.ws_col, b->cfg ? b->cfg->engine.timeout_ms : 0, &h,
                                    err) < 0) {
    berth_error_wrap(err, "starting the exec in %s", b->name);
    goto out_signals;
  }
  conn = NULL; /* transferred to h */

  if (r->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
    struct termios t = saved_tio;
    cfmakeraw(&t);
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
      raw = true;
  }
  set_nonblock(STDIN_FILENO, &sv[0]);
  set_nonblock(STDOUT_FILENO, &sv[1]);
  set_nonblock(STDERR_FILENO, &sv[2]);
  {
    int fl = fcntl(berth_conn_pollfd(h.conn), F_GETFL);
    if (fl >= 0)
      fcntl(berth_conn_pollfd(h.conn), F_SETFL, fl | O_NONBLOCK);
  }

  s.e = e;
  s.exec_id = exec_id;
  s.tty = r->tty;
  s.sock = berth_conn_pollfd(h.conn);
  s.in.data = in_data;
  s.out.data = out_data;
  s.errb.data = err_data;
  berth_demux_init(&s.demux);
  s.stdin_open = s.sock_wr_open = s.sock_rd_open = true;
  s.out_ok = s.err_ok = true;
  s.pidfd = -1;

  /* API 1.41 has no ConsoleSize; and even where it exists, a resize right
   * after start is what makes full-screen programs draw at the right size. */
  if (r->tty && ws.ws_row > 0 && ws.ws_col > 0)
    do_resize(&s);

  if (proxy(&s, sig_p[0], h.pending, h.n_pending, err) < 0) {
    signal_command(&s, SIGKILL);
    goto out_restore;
  }
  /* The stream can end while the command lives on: when the detach keys
   * are typed, Docker closes the stream, reports the exec as not running
   * with ExitCode 126, and leaves the process alive.  A session never
   * outlives its proxy: the pidfd tells the truth, the engine's Running is
   * the fallback when we have no PID at all. */
  if (wait_exit(&s, s.ending_sig ? 200 : 1000, &running, &code, &pid, err) < 0)
    goto out_restore;
  if (s.pidfd < 0 && !running && code == 126 && pid > 0) {
    /* Docker's detach signature: a process that started (it has a Pid) and
     * "exited" 126.  Whether it is still alive, its pidfd says; the stream
     * ended only now, too soon for its PID to have been reused. */
    s.pidfd = pidfd_open_compat(pid);
  }
  if (s.pidfd >= 0 && !pidfd_exited(s.pidfd, running ? 0 : 200)) {
    forced = s.killed ? SIGKILL : SIGHUP;
    pidfd_signal(s.pidfd, forced);
    if (forced != SIGKILL && !pidfd_exited(s.pidfd, GRACE_MS)) {
      forced = SIGKILL;
      pidfd_signal(s.pidfd, SIGKILL);
    }
    pidfd_exited(s.pidfd, KILL_WAIT_MS);
    if (running && wait_exit(&s, KILL_WAIT_MS, &running, &code, &pid, err) < 0)
      goto out_restore;
  }
  if (running) {
    if (s.ending_sig == 0 && forced == 0) {
      s.ending_sig = SIGHUP;
      signal_command(&s, SIGHUP);
      if (wait_exit(&s, GRACE_MS, &running, &code, &pid, err) < 0)
        goto out_restore;
    }
    if (running) {
      signal_command(&s, SIGKILL);
      if (wait_exit(&s, KILL_WAIT_MS, &running, &code, &pid, err) < 0)
        goto out_restore;
    }
  }
  if (s.start_failed && pid <= 0 && !running && (code == 126 || code == 127)) {
    cleanup_free char *why = failure_text(&s.out, &s.errb);
    berth_error_make(err, BERTH_E_EXEC, code == 127 ? ENOENT : EACCES,
                     "the engine could not start %s in %s: %s", r->argv[0], b->name,
                     why && *why ? why : "no reason given");
    goto out_restore;
  }
  if (s.start_failed) {
    /* Not a start failure after all (the process ran and ended before we
     * looked): deliver the held output. */
    s.verified = true;
  }
  drain_outputs(&s, sig_p[0]);
  if (running) {
    berth_log(LOG_WARNING, "exec=%.12s still running after SIGKILL", s.exec_id);
    code = 128 + SIGKILL;
  }
  /* Docker already reports a signal death of an exec as 128+n (checked:
   * 137 for SIGKILL, 143 for SIGTERM), so the code passes through.  For a
   * process we had to kill after the stream ended, the engine's code is not
   * its status (Docker says 126 after a detach). */
  ret = forced ? 128 + forced : code;
  if (ret < 0 || ret > 255)
    ret = 255;

out_restore:
  restore_fd(STDIN_FILENO, &sv[0]);
  restore_fd(STDOUT_FILENO, &sv[1]);
  restore_fd(STDERR_FILENO, &sv[2]);
  if (raw)
    tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
  if (s.pidfd >= 0)
    close(s.pidfd);
  berth_hijack_close(&h);
out_signals:
  for (size_t i = 0; i < N_CAUGHT; i++)
    sigaction(caught[i], &old_sa[i], NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  sig_pipe_w = -1;
  close(sig_p[0]);
  close(sig_p[1]);
  return ret;
}
