/* join_pty.c - join mode's terminal (join_pty.h): the container's pty made
 * in the joining child, its master passed to the host-side parent, and the
 * relay between the session's terminal and that master. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "berth/join_pty.h"
#include "berth/log.h"
#include "berth/signals.h"
#include "berth/tty.h"
#include "berth/util.h"
#include "join_pty-internal.h"

#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* In the container: the ptmx of its own devpts instance (runc makes /dev/ptmx
 * a link to it; the link is the container's to change, the path is not). */
#define PTMX_PATH "/dev/pts/ptmx"
#define PTMX_MAJOR 5
#define PTMX_MINOR 2

/* ------------------------------------------------------------ the message */

enum pty_stage { ST_OPEN, ST_CHECK, ST_UNLOCK, ST_PEER, ST_OWNER, ST_SIZE, ST_SEND, ST_N };

static const char *const stage_what[ST_N] = {
  [ST_OPEN] = "opening " PTMX_PATH,          [ST_CHECK] = PTMX_PATH " is not the ptmx of a devpts",
  [ST_UNLOCK] = "unlocking the pty",         [ST_PEER] = "opening the pty's slave",
  [ST_OWNER] = "giving the pty to the user", [ST_SIZE] = "setting the window size",
  [ST_SEND] = "sending the master",
};

int
berth_join_pty_send(int sock, const struct berth_join_pty_msg *msg, int fd)
{
  struct berth_join_pty_msg m = *msg;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t w;

  if (fd >= 0) {
    struct cmsghdr *c;
    memset(&u, 0, sizeof(u));
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof(u.buf);
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  do
    w = sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w == (ssize_t) sizeof(m))
    return 0;
  if (w >= 0)
    errno = EPIPE;
  return -1;
}

static int
send_msg(int sock, int cause, enum pty_stage st, int fd)
{
  struct berth_join_pty_msg m = { .magic = BERTH_JOIN_PTY_MAGIC, .cause = cause, .stage = st };
  return berth_join_pty_send(sock, &m, fd);
}

/* ------------------------------------------------------------ the child */

/* Tell the parent why, and fail the same way here. */
static int
child_fail(int sock, enum pty_stage st, int e, berth_error_t *err)
{
  if (st != ST_SEND)
    (void) send_msg(sock, e, st, -1);
  return berth_error_errno(err, BERTH_E_EXEC, e, "%s", stage_what[st]);
}

/* The container's ptmx, refused unless it is a devpts's ptmx node: a
 * container that put a FIFO, a file or another device there gets nothing
 * opened on its behalf (O_NONBLOCK: a FIFO cannot hang the open). */
static int
open_ptmx(enum pty_stage *st)
{
  cleanup_close int fd = -1;
  struct stat sb;
  struct statfs fs;

  *st = ST_OPEN;
  fd = open(PTMX_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return -1;
  *st = ST_CHECK;
  if (fstat(fd, &sb) < 0 || fstatfs(fd, &fs) < 0)
    return -1;
  if (!S_ISCHR(sb.st_mode) || major(sb.st_rdev) != PTMX_MAJOR || minor(sb.st_rdev) != PTMX_MINOR
      || fs.f_type != DEVPTS_SUPER_MAGIC) {
    errno = ENODEV;
    return -1;
  }
  return steal_fd(&fd);
}

/* The master and its slave, the slave owned and sized; -1 with *st, errno. */
static int
make_pty(int *slave, const struct winsize *ws, uid_t owner, enum pty_stage *st)
{
  cleanup_close int master = open_ptmx(st);
  int unlock = 0;

  if (master < 0)
    return -1;
  *st = ST_UNLOCK;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    return -1;
  *st = ST_PEER;
  *slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0)
    return -1;
  /* runc's fixStdioPermissions: the user's uid; the group (gid=5) and mode
   * (0620) stay as the devpts mount options made them. */
  *st = ST_OWNER;
  if (fchown(*slave, owner, (gid_t) -1) < 0)
    goto fail;
  *st = ST_SIZE;
  if (ws != NULL && ws->ws_row > 0 && ws->ws_col > 0 && ioctl(master, TIOCSWINSZ, ws) < 0)
    goto fail;
  return steal_fd(&master);
fail:;
  int e = errno;
  close(*slave);
  *slave = -1;
  errno = e;
  return -1;
}

int
berth_join_pty_child_for(int sock, const struct winsize *ws, uid_t owner, berth_error_t *err)
{
  cleanup_close int slave = -1;
  enum pty_stage st = ST_OPEN;
  int master = make_pty(&slave, ws, owner, &st);

  if (master < 0)
    return child_fail(sock, st, errno, err);
  if (send_msg(sock, 0, ST_SEND, master) < 0) {
    int e = errno;
    close(master);
    return child_fail(sock, ST_SEND, e, err);
  }
  /* The parent holds the master now; ours must go, or the slave never
   * reads EIO at the end and the container could read its own input. */
  close(master);
  /* a session of its own, unless the caller made one already (JOIN.md 6) */
  if (getsid(0) != getpid() && setsid() < 0)
    return berth_error_errno(err, BERTH_E_EXEC, errno, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return berth_error_errno(err, BERTH_E_EXEC, errno, "making the pty the controlling terminal");
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0)
      return berth_error_errno(err, BERTH_E_EXEC, errno, "dup2 the pty to %d", fd);
  if (slave <= 2)
    slave = -1; /* it is one of 0/1/2 now */
  return 0;
}

int
berth_join_pty_child(int sock, const struct winsize *ws, berth_error_t *err)
{
  return berth_join_pty_child_for(sock, ws, getuid(), err);
}

/* ------------------------------------------------------------ the parent */

static void
close_passed_fds(struct msghdr *mh)
{
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
    size_t n;
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      close(fd);
    }
  }
}

/* The one fd the message carried (closing any other), or -1. */
static int
passed_fd(struct msghdr *mh)
{
  struct cmsghdr *c = CMSG_FIRSTHDR(mh);
  int fd = -1;

  if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
      && c->cmsg_len == CMSG_LEN(sizeof(int)) && CMSG_NXTHDR(mh, c) == NULL
      && !(mh->msg_flags & MSG_CTRUNC)) {
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
  }
  close_passed_fds(mh);
  return -1;
}

/* A pty master, read-write, of a devpts that is not the host's own
 * /dev/pts: the pty must be one the container's /dev/pts lists.  Which
 * devpts a master belongs to, its slave says (the master's own inode may be
 * /dev/ptmx on devtmpfs); the slave is opened without a path and closed at
 * once, so it does not keep the pty from reading EIO at the end. */
static int
check_master(int fd, berth_error_t *err)
{
  struct stat sb, host;
  unsigned n;
  int fl = fcntl(fd, F_GETFL), peer;

  if (fstat(fd, &sb) < 0 || !S_ISCHR(sb.st_mode) || ioctl(fd, TIOCGPTN, &n) < 0 || fl < 0
      || (fl & O_ACCMODE) != O_RDWR)
    return berth_error_make(err, BERTH_E_EXEC, EPROTO,
                            "the joining process sent no pty master read-write");
  peer = ioctl(fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (peer < 0)
    return berth_error_errno(err, BERTH_E_EXEC, errno, "looking at the terminal's slave");
  if (fstat(peer, &sb) < 0)
    sb.st_dev = 0;
  close(peer);
  if (stat("/dev/pts", &host) == 0 && host.st_dev == sb.st_dev)
    return berth_error_make(err, BERTH_E_EXEC, EPROTO,
                            "the joining process sent a pty of the host's /dev/pts");
  return 0;
}

/* Wait for the message (until deadline) and read it: 1 with *m, 0 when the
 * peer closed first, -1 with errno. */
static int
recv_msg(int sock, struct berth_join_pty_msg *m, int *fd, int64_t deadline)
{
  union {
    char buf[CMSG_SPACE(4 * sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
  struct pollfd p = { .fd = sock, .events = POLLIN };
  ssize_t r;

  *fd = -1;
  for (;;) {
    int64_t left = deadline - berth_now_ms();
    int pr = poll(&p, 1, left > 0 ? (int) left : 0);
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr < 0)
      return -1;
    if (pr == 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    break;
  }
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof(u.buf);
  do
    r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT | MSG_WAITALL);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -1;
  *fd = passed_fd(&mh);
  if (r == 0)
    return 0;
  /* The child sends one message with one sendmsg: a short one is no message. */
  if (r != (ssize_t) sizeof(*m) || m->magic != BERTH_JOIN_PTY_MAGIC) {
    if (*fd >= 0)
      close(*fd);
    *fd = -1;
    errno = EPROTO;
    return -1;
  }
  return 1;
}

int
berth_join_pty_recv_within(int sock, int *master, long wait_ms, berth_error_t *err)
{
  struct berth_join_pty_msg m = { 0 };
  cleanup_close int fd = -1;
  int r = recv_msg(sock, &m, &fd, berth_now_ms() + wait_ms);

  *master = -1;
  if (r < 0)
    return berth_error_errno(err, BERTH_E_EXEC, errno,
                             errno == ETIMEDOUT ? "the joining process sent no terminal in %ld ms"
                                                : "receiving the terminal (after %ld ms at most)",
                             wait_ms);
  if (r == 0)
    return berth_error_make(err, BERTH_E_EXEC, EPIPE,
                            "the joining process ended before sending a terminal");
  if (m.cause != 0)
    return berth_error_errno(err, BERTH_E_EXEC, m.cause, "in the container: %s",
                             m.stage < ST_N ? stage_what[m.stage] : "making the terminal");
  if (fd < 0)
    return berth_error_make(err, BERTH_E_EXEC, EPROTO,
                            "the joining process sent a terminal message without one fd");
  if (check_master(fd, err) < 0)
    return -1;
  *master = steal_fd(&fd);
  return 0;
}

int
berth_join_pty_recv(int sock, int *master, berth_error_t *err)
{
  return berth_join_pty_recv_within(sock, master, BERTH_JOIN_PTY_WAIT_MS, err);
}

/* ------------------------------------------------------------ the relay */

/* After asking the child to end (SIGHUP), how long before SIGKILL, and how
 * long SIGKILL may take before we give up on it. */
#define GRACE_MS 2000
#define KILL_WAIT_MS 2000
/* After the child exited: the master is read to EIO (every slave closed;
 * the kernel flushes what is in flight first), but a process that still
 * holds the slave (nohup, a daemon) would keep it open: end when nothing
 * moved for DRAIN_IDLE_MS, and at DRAIN_MAX_MS whatever moves. */
#define DRAIN_IDLE_MS 500
#define DRAIN_MAX_MS 10000
#define RELAY_BUF (64 * 1024)

struct relay {
  int master, pidfd, sig_fd;
  bool tty;                /* fd 0 is a terminal: its end is a hangup */
  struct berth_buf keys;   /* fd 0 -> master */
  struct berth_buf screen; /* master -> fd 1 */
  bool in_open;            /* fd 0 is read */
  bool out_ok;             /* fd 1 is written (false after a hangup) */
  bool master_open;        /* the master is read (false at EIO) */
  bool exited;
  int status;
  bool asked, killed; /* SIGHUP sent, SIGKILL sent */
  int64_t kill_at;    /* SIGKILL due (0: not armed) */
  int64_t give_up_at; /* SIGKILL did not work by then (0: not armed) */
  int64_t exited_at;  /* when the child's exit was seen */
  int64_t last_read;  /* the master last gave bytes (or was not looked at) */
  int fl[3];          /* saved flags of fd 0, fd 1, master (-1: unchanged) */
};

static void
signal_child(struct relay *r, int sig)
{
  if (r->exited)
    return;
  if (berth_pidfd_signal(r->pidfd, sig) < 0 && errno != ESRCH)
    berth_log(LOG_WARNING, "join: cannot send signal %d to the joined process: %m", sig);
}

/* Ask the child to end: SIGHUP, as a terminal's hangup does, SIGKILL later. */
static void
ask_end(struct relay *r)
{
  if (r->asked || r->exited)
    return;
  r->asked = true;
  signal_child(r, SIGHUP);
  r->kill_at = berth_now_ms() + GRACE_MS;
}

/* The session's terminal is gone: nothing more from it or to it. */
static void
hang_up(struct relay *r)
{
  r->in_open = false;
  r->out_ok = false;
  berth_buf_consume(&r->keys, r->keys.len);
  berth_buf_consume(&r->screen, r->screen.len);
  ask_end(r);
}

static void
on_signal(void *ctx, int sig)
{
  struct relay *r = ctx;

  switch (sig) {
  case SIGWINCH:
    if (r->tty)
      berth_tty_copy_size(STDIN_FILENO, r->master);
    break;
  case SIGINT:
  case SIGQUIT: signal_child(r, sig); break;
  case SIGTERM: ask_end(r); break;
  case SIGHUP: hang_up(r); break;
  }
}

/* The child's end: its wait status, reaped through the pidfd. */
static int
reap(struct relay *r, berth_error_t *err)
{
  siginfo_t si;

  memset(&si, 0, sizeof(si));
  if (waitid((idtype_t) P_PIDFD, (id_t) r->pidfd, &si, WEXITED | WNOHANG) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "waiting for the joined process");
  if (si.si_pid == 0)
    return 0; /* not yet */
  switch (si.si_code) {
  case CLD_EXITED: r->status = (si.si_status & 0xff) << 8; break;
  case CLD_DUMPED: r->status = (si.si_status & 0x7f) | 0x80; break;
  default: r->status = si.si_status & 0x7f; break;
  }
  r->exited = true;
  r->exited_at = r->last_read = berth_now_ms();
  return 0;
}

/* One read from fd into b (at most its room): > 0 bytes, 0 would block,
 * -1 at the end (EOF or an error; errno 0 for EOF). */
static ssize_t
fill(int fd, struct berth_buf *b)
{
  char rbuf[RELAY_BUF];
  size_t room = b->max - b->len;
  ssize_t n;

  if (room > sizeof(rbuf))
    room = sizeof(rbuf);
  do
    n = read(fd, rbuf, room);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return 0;
  if (n <= 0) {
    if (n == 0)
      errno = 0;
    return -1;
  }
  /* within max by the room above: only ENOMEM can fail it */
  if (berth_buf_append(b, rbuf, (size_t) n, NULL) < 0) {
    errno = ENOMEM;
    return -1;
  }
  return n;
}

/* Write what fd takes of b now: 0, or -1 when fd failed (errno). */
static int
flush(int fd, struct berth_buf *b)
{
  while (b->len > 0) {
    ssize_t w = write(fd, berth_buf_bytes(b), b->len);
    if (w > 0) {
      berth_buf_consume(b, (size_t) w);
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
    if (w == 0)
      errno = EIO;
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------ one round */

static void
from_terminal(struct relay *r)
{
  if (fill(STDIN_FILENO, &r->keys) >= 0)
    return;
  /* In raw mode no key makes an EOF: a terminal that ends is gone. */
  if (r->tty)
    hang_up(r);
  else
    r->in_open = false;
}

static void
to_container(struct relay *r)
{
  /* A master that takes no more (every slave closed): the keys go nowhere. */
  if (flush(r->master, &r->keys) < 0)
    berth_buf_consume(&r->keys, r->keys.len);
}

static void
from_container(struct relay *r)
{
  ssize_t n = fill(r->master, &r->screen);

  if (n > 0) {
    r->last_read = berth_now_ms();
    if (!r->out_ok)
      berth_buf_consume(&r->screen, r->screen.len);
  } else if (n < 0) {
    r->master_open = false; /* EIO: the last slave is closed, all read */
  }
}

static void
to_terminal(struct relay *r)
{
  if (r->out_ok && flush(STDOUT_FILENO, &r->screen) < 0)
    hang_up(r);
}

enum { P_SIG, P_IN, P_MASTER, P_OUT, P_CHILD, P_N };

/* Only what we want from each fd: an fd polled for nothing would still
 * report POLLHUP and spin the loop. */
static void
fill_pollfds(const struct relay *r, struct pollfd *p)
{
  short ev = 0;

  for (int i = 0; i < P_N; i++)
    p[i] = (struct pollfd){ .fd = -1 };
  p[P_SIG] = (struct pollfd){ .fd = r->sig_fd, .events = POLLIN };
  if (r->in_open && r->keys.len < r->keys.max)
    p[P_IN] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
  if (r->master_open && r->screen.len < r->screen.max)
    ev |= POLLIN;
  if (r->keys.len > 0)
    ev |= POLLOUT;
  if (ev != 0)
    p[P_MASTER] = (struct pollfd){ .fd = r->master, .events = ev };
  if (r->out_ok && r->screen.len > 0)
    p[P_OUT] = (struct pollfd){ .fd = STDOUT_FILENO, .events = POLLOUT };
  if (!r->exited)
    p[P_CHILD] = (struct pollfd){ .fd = r->pidfd, .events = POLLIN };
}

/* After the exit: drained (master at EIO or quiet, screen written) or out
 * of time. */
static bool
drained(struct relay *r, int64_t now)
{
  if (!r->exited)
    return false;
  if (now - r->exited_at >= DRAIN_MAX_MS)
    return true;
  if (r->out_ok && r->screen.len > 0)
    return false;
  return !r->master_open || now - r->last_read >= DRAIN_IDLE_MS;
}

static int64_t
min_due(int64_t a, int64_t b)
{
  return a == 0 || (b != 0 && b < a) ? b : a;
}

/* The timers: SIGKILL after the grace; then give up.  Returns the poll
 * timeout to the next one (-1: none), or -2 with err. */
static int
timers(struct relay *r, int64_t now, berth_error_t *err)
{
  int64_t due = 0;

  if (!r->exited && r->kill_at > 0 && now >= r->kill_at && !r->killed) {
    r->killed = true;
    signal_child(r, SIGKILL);
    r->give_up_at = now + KILL_WAIT_MS;
  }
  if (!r->exited && r->killed && now >= r->give_up_at) {
    berth_error_make(err, BERTH_E_EXEC, ETIMEDOUT,
                     "the joined process did not end %d ms after SIGKILL", KILL_WAIT_MS);
    return -2;
  }
  if (!r->exited)
    due = r->killed ? r->give_up_at : r->kill_at;
  else if (r->out_ok && r->screen.len > 0)
    due = r->exited_at + DRAIN_MAX_MS; /* fd 1's POLLOUT wakes us before */
  else if (r->master_open)
    due = min_due(r->exited_at + DRAIN_MAX_MS, r->last_read + DRAIN_IDLE_MS);
  if (due == 0)
    return -1;
  return due > now ? (int) (due - now) : 0;
}

static int
relay_loop(struct relay *r, berth_error_t *err)
{
  for (;;) {
    struct pollfd p[P_N];
    int64_t now = berth_now_ms();
    int timeout;

    /* Not looking at the master (the screen is full) is not quiet. */
    if (r->master_open && r->screen.len >= r->screen.max)
      r->last_read = now;
    if (drained(r, now))
      return 0;
    timeout = timers(r, now, err);
    if (timeout == -2)
      return -1;
    fill_pollfds(r, p);
    if (poll(p, P_N, timeout) < 0) {
      if (errno == EINTR)
        continue;
      return berth_error_errno(err, BERTH_E_INTERNAL, errno, "poll");
    }
    if (p[P_SIG].revents)
      berth_signals_dispatch(r->sig_fd, on_signal, r);
    if (p[P_CHILD].revents && reap(r, err) < 0)
      return -1;
    if (p[P_IN].revents && r->in_open)
      from_terminal(r);
    if ((p[P_MASTER].revents & ~POLLOUT) && (p[P_MASTER].events & POLLIN))
      from_container(r);
    /* Written at once, not on the next round's POLLOUT: a round per chunk
     * costs throughput; EAGAIN is cheap. */
    if (r->keys.len > 0)
      to_container(r);
    if (r->screen.len > 0)
      to_terminal(r);
  }
}

/* ------------------------------------------------------------ set up */

static void
nonblock(struct relay *r)
{
  int fds[3] = { STDIN_FILENO, STDOUT_FILENO, r->master };

  for (int i = 0; i < 3; i++) {
    int fl = fcntl(fds[i], F_GETFL);
    r->fl[i] = -1;
    /* fds 0 and 1 are often one open file (sshd's pty): saved once */
    if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) == 0)
      r->fl[i] = fl;
  }
}

static void
restore_flags(struct relay *r)
{
  int fds[3] = { STDIN_FILENO, STDOUT_FILENO, r->master };

  for (int i = 2; i >= 0; i--)
    if (r->fl[i] >= 0)
      fcntl(fds[i], F_SETFL, r->fl[i]);
}

int
berth_join_relay(int master, int child_pidfd, int *status, berth_error_t *err)
{
  struct relay r = {
    .master = master,
    .pidfd = child_pidfd,
    .tty = isatty(STDIN_FILENO),
    .keys = { .max = RELAY_BUF },
    .screen = { .max = RELAY_BUF },
    .in_open = true,
    .out_ok = true,
    .master_open = true,
  };
  struct berth_signals sigs;
  struct berth_tty term = { .raw = false };
  int ret;

  /* Caught first: a hangup before the loop is not lost. */
  if (berth_signals_catch(&sigs, err) < 0)
    return -1;
  r.sig_fd = berth_signals_fd(&sigs);
  berth_tty_raw(STDIN_FILENO, &term);
  nonblock(&r);
  /* a resize between the child's TIOCSWINSZ and the catch */
  if (r.tty)
    berth_tty_copy_size(STDIN_FILENO, master);
  ret = relay_loop(&r, err);
  restore_flags(&r);
  berth_tty_restore(STDIN_FILENO, &term);
  berth_signals_restore(&sigs);
  berth_buf_free(&r.keys);
  berth_buf_free(&r.screen);
  if (ret == 0)
    *status = r.status;
  return ret;
}
