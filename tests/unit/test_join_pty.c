/* test_join_pty.c - join mode's terminal, end to end on one machine.
 *
 * The test is the user's terminal: a host pty pair whose master it drives.
 * A "shell" process (berth-shell's host-side parent) has the slave as its
 * controlling terminal on fds 0/1, forks the joining child, receives the
 * master (berth_join_pty_recv) and relays (berth_join_relay).  The child
 * enters a private mount namespace with a fresh devpts on /dev/pts, as a
 * container's (newinstance, gid=5, mode=620, ptmxmode=666: Docker's
 * options), and calls berth_join_pty_child; what it then runs is a scenario
 * below.  Checked: the child's terminal is /dev/pts/0 of its own devpts,
 * its controlling tty, owned as runc leaves it; every byte value both ways;
 * output written just before the exit all arrives; a resize reaches the
 * child; a hangup kills (SIGHUP, then SIGKILL when ignored) without
 * spinning; SIGTERM ends it; the exit status comes back; the terminal is
 * restored.  And the parent's side of the socket under attack: a peer that
 * ends, stays silent, sends a pipe or a host pty, or fails in the
 * "container" (no devpts, a FIFO as ptmx). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/join_pty.h"
#include "berth/util.h"
#include "../../lib/join_pty-internal.h"
#include "../lib/testlib.h"

#define ECHO_BYTES (256 * 1024)
#define DRAIN_BYTES 60000

/* What the shell process tells the test at its end. */
struct report {
  int recv_ok, relay_ok;
  int status;  /* the child's wait status */
  long cpu_ms; /* the shell's CPU time, user + system */
  char msg[256];
};

struct session {
  int term; /* the user's side of the host terminal */
  pid_t shell;
  int report; /* read end */
  struct termios before;
  char seen[8192]; /* the child's text output so far */
  size_t n_seen;
};

typedef int (*scenario_fn)(void);
/* The joining child makes its session itself before berth_join_pty_child
 * (join mode's step 6 may come first). */
static bool setsid_first;
/* How the child's "container" /dev/pts looks. */
enum devpts { DEVPTS_FRESH, DEVPTS_NONE, DEVPTS_FIFO };

/* ------------------------------------------------------------ the child */

static void
private_devpts(enum devpts how)
{
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    _exit(121);
  if (how == DEVPTS_FRESH) {
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,gid=5,mode=620,ptmxmode=666")
        < 0)
      _exit(122);
    return;
  }
  if (mount("tmpfs", "/dev/pts", "tmpfs", 0, "mode=755") < 0)
    _exit(123);
  if (how == DEVPTS_FIFO && mkfifo("/dev/pts/ptmx", 0666) < 0)
    _exit(124);
}

static void
say(const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  (void) !write(STDOUT_FILENO, buf, (size_t) n);
}

static void
raw_self(void)
{
  struct termios t;
  tcgetattr(STDIN_FILENO, &t);
  cfmakeraw(&t);
  tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

/* What the child knows about its terminal, one line. */
static void
say_facts(void)
{
  struct stat sb, named;
  struct winsize ws = { 0 };
  const char *name = ttyname(STDIN_FILENO);
  bool same = name && stat(name, &named) == 0 && fstat(STDIN_FILENO, &sb) == 0
              && named.st_rdev == sb.st_rdev;

  ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
  fstat(STDIN_FILENO, &sb);
  say("FACTS tty=%s same=%d sid=%d ctty=%d own=%u:%u mode=%o ws=%ux%u\n", name ? name : "none",
      same, getsid(0) == getpid(), tcgetsid(STDIN_FILENO) == getpid(), (unsigned) sb.st_uid,
      (unsigned) sb.st_gid, (unsigned) (sb.st_mode & 07777), ws.ws_row, ws.ws_col);
}

/* Raw, every byte read is written back; 7 after ECHO_BYTES. */
static int
scn_echo(void)
{
  char buf[4096];
  size_t done = 0;

  raw_self();
  say_facts();
  say("READY\n");
  while (done < ECHO_BYTES) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n <= 0)
      return 100;
    if (write(STDOUT_FILENO, buf, (size_t) n) != n)
      return 101;
    done += (size_t) n;
  }
  say("BYE\n");
  return 7;
}

/* Output written just before the exit. */
static int
scn_drain(void)
{
  static char buf[DRAIN_BYTES];

  raw_self();
  for (size_t i = 0; i < sizeof(buf); i++)
    buf[i] = (char) ('a' + i % 26);
  for (size_t off = 0; off < sizeof(buf);) {
    ssize_t n = write(STDOUT_FILENO, buf + off, sizeof(buf) - off);
    if (n <= 0)
      return 100;
    off += (size_t) n;
  }
  return 3;
}

/* The size now, then after the next SIGWINCH. */
static int
scn_resize(void)
{
  sigset_t set;
  struct timespec t = { .tv_sec = 10 };
  struct winsize ws = { 0 };

  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  sigprocmask(SIG_BLOCK, &set, NULL);
  say_facts();
  say("READY\n");
  if (sigtimedwait(&set, NULL, &t) != SIGWINCH)
    return 100;
  ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
  say("SIZE %ux%u\n", ws.ws_row, ws.ws_col);
  return 0;
}

/* Leave a process behind that holds the terminal (nohup-like): the slave
 * never reads EIO while it lives. */
static int
scn_leave_holder(void)
{
  pid_t holder;

  /* before the fork: the SIGHUP of the session leader's exit must not race it */
  signal(SIGHUP, SIG_IGN);
  holder = fork();
  if (holder == 0) {
    sleep(30);
    _exit(0);
  }
  say("HOLDER %d BYE\n", (int) holder);
  return 9;
}

static int
scn_facts(void)
{
  say_facts();
  return 0;
}

static int
scn_wait(void)
{
  say("READY\n");
  while (pause() < 0 && errno == EINTR)
    ;
  return 0;
}

static int
scn_wait_nohup(void)
{
  signal(SIGHUP, SIG_IGN);
  return scn_wait();
}

static void
run_child(int sock, enum devpts how, scenario_fn scenario)
{
  berth_error_t err = NULL;
  struct winsize ws = { .ws_row = 24, .ws_col = 80 };

  alarm(30);
  private_devpts(how);
  if (setsid_first && setsid() < 0)
    _exit(125);
  if (berth_join_pty_child(sock, &ws, &err) < 0)
    _exit(120);
  close(sock);
  _exit(scenario());
}

/* ------------------------------------------------------------ the shell */

static int
pidfd_of(pid_t pid)
{
  return (int) syscall(SYS_pidfd_open, pid, 0);
}

static long
cpu_ms(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 + ru.ru_stime.tv_sec * 1000
         + ru.ru_stime.tv_usec / 1000;
}

static void
run_shell(int slave, int report_w, enum devpts how, scenario_fn scenario)
{
  struct report rep = { 0 };
  berth_error_t err = NULL;
  int sv[2], master = -1, pidfd;
  pid_t child;

  alarm(30);
  if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0)
    _exit(110);
  close(slave);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    _exit(111);
  child = fork();
  if (child == 0) {
    close(sv[0]);
    run_child(sv[1], how, scenario);
  }
  close(sv[1]);
  pidfd = pidfd_of(child);
  if (berth_join_pty_recv(sv[0], &master, &err) == 0) {
    rep.recv_ok = 1;
    if (berth_join_relay(master, pidfd, &rep.status, &err) == 0)
      rep.relay_ok = 1;
  } else {
    waitpid(child, &rep.status, 0);
  }
  if (err != NULL)
    snprintf(rep.msg, sizeof(rep.msg), "%s", err->msg);
  rep.cpu_ms = cpu_ms();
  (void) !write(report_w, &rep, sizeof(rep));
  _exit(0);
}

/* ------------------------------------------------------------ the test's side */

static void
session_start(struct session *s, enum devpts how, scenario_fn scenario)
{
  struct winsize ws = { .ws_row = 24, .ws_col = 80 };
  int slave, rp[2];

  memset(s, 0, sizeof(*s));
  s->term = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(s->term >= 0);
  assert_int_equal(grantpt(s->term), 0);
  assert_int_equal(unlockpt(s->term), 0);
  slave = open(ptsname(s->term), O_RDWR | O_NOCTTY);
  assert_true(slave >= 0);
  assert_int_equal(ioctl(s->term, TIOCSWINSZ, &ws), 0);
  assert_int_equal(tcgetattr(s->term, &s->before), 0);
  assert_int_equal(pipe2(rp, O_CLOEXEC), 0);
  s->shell = fork();
  assert_true(s->shell >= 0);
  if (s->shell == 0) {
    close(rp[0]);
    close(s->term);
    run_shell(slave, rp[1], how, scenario);
  }
  close(slave);
  close(rp[1]);
  s->report = rp[0];
  fcntl(s->term, F_SETFL, O_NONBLOCK);
}

/* Read what the terminal shows for up to ms (all of it into seen). */
static void
pump(struct session *s, int ms)
{
  struct pollfd p = { .fd = s->term, .events = POLLIN };
  char buf[4096];

  if (poll(&p, 1, ms) <= 0)
    return;
  ssize_t n = read(s->term, buf, sizeof(buf));
  if (n < 0 && errno != EAGAIN)
    usleep(10 * 1000); /* hung up (the shell is gone): do not spin here */
  if (n > 0 && s->n_seen + (size_t) n < sizeof(s->seen)) {
    memcpy(s->seen + s->n_seen, buf, (size_t) n);
    s->n_seen += (size_t) n;
    s->seen[s->n_seen] = '\0';
  }
}

/* Wait (10 s) until the terminal has shown text. */
static bool
shows(struct session *s, const char *text)
{
  int64_t deadline = berth_now_ms() + 10000;

  while (strstr(s->seen, text) == NULL) {
    if (berth_now_ms() >= deadline) {
      print_error("terminal shows \"%s\" instead of \"%s\"\n", s->seen, text);
      return false;
    }
    pump(s, 100);
  }
  return true;
}

static void
session_end(struct session *s, struct report *rep)
{
  struct pollfd p = { .fd = s->report, .events = POLLIN };
  int st;

  memset(rep, 0, sizeof(*rep));
  for (int64_t deadline = berth_now_ms() + 15000; berth_now_ms() < deadline;) {
    if (poll(&p, 1, 50) > 0)
      break;
    if (s->term >= 0)
      pump(s, 0); /* a full terminal would block the relay */
  }
  assert_int_equal(read(s->report, rep, sizeof(*rep)), (ssize_t) sizeof(*rep));
  assert_int_equal(waitpid(s->shell, &st, 0), s->shell);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(s->report);
  if (rep->msg[0])
    print_message("# shell: %s\n", rep->msg);
}

static void
assert_restored(struct session *s)
{
  struct termios after;

  assert_int_equal(tcgetattr(s->term, &after), 0);
  assert_int_equal(after.c_iflag, s->before.c_iflag);
  assert_int_equal(after.c_oflag, s->before.c_oflag);
  assert_int_equal(after.c_lflag, s->before.c_lflag);
  assert_int_equal(after.c_cflag, s->before.c_cflag);
  assert_memory_equal(after.c_cc, s->before.c_cc, sizeof(after.c_cc));
}

/* ------------------------------------------------------------ tests */

/* The child's terminal is its "container's" own /dev/pts/0, its controlling
 * tty in a new session, owned uid:5 0620 like runc's exec console, sized as
 * asked; every byte value goes both ways; the status comes back; the
 * terminal is restored. */
TEST(test_echo_bytes_status_restored)
{
  struct session s;
  struct report rep;
  static unsigned char sent[ECHO_BYTES], back[ECHO_BYTES];
  size_t n_sent = 0, n_back = 0;
  char want[128];

  for (size_t i = 0; i < sizeof(sent); i++)
    sent[i] = (unsigned char) (i * 7 + i / 256);
  session_start(&s, DEVPTS_FRESH, scn_echo);
  assert_true(shows(&s, "READY\n"));
  snprintf(want, sizeof(want),
           "FACTS tty=/dev/pts/0 same=1 sid=1 ctty=1 own=%u:5 mode=620 ws=24x80",
           (unsigned) getuid());
  assert_non_null(strstr(s.seen, want));
  while (n_back < sizeof(back)) {
    struct pollfd p = { .fd = s.term, .events = POLLIN | (n_sent < sizeof(sent) ? POLLOUT : 0) };
    assert_true(poll(&p, 1, 10000) > 0);
    if (p.revents & POLLOUT) {
      ssize_t w = write(s.term, sent + n_sent, sizeof(sent) - n_sent);
      if (w > 0)
        n_sent += (size_t) w;
    }
    if (p.revents & POLLIN) {
      ssize_t r = read(s.term, back + n_back, sizeof(back) - n_back);
      assert_true(r > 0 || errno == EAGAIN);
      if (r > 0)
        n_back += (size_t) r;
    }
  }
  assert_memory_equal(back, sent, sizeof(sent));
  s.n_seen = 0;
  s.seen[0] = '\0';
  assert_true(shows(&s, "BYE\n"));
  session_end(&s, &rep);
  assert_true(rep.recv_ok && rep.relay_ok);
  assert_true(WIFEXITED(rep.status));
  assert_int_equal(WEXITSTATUS(rep.status), 7);
  assert_restored(&s);
  close(s.term);
}

/* All of what the child wrote right before its exit reaches the terminal. */
TEST(test_output_at_exit_drained)
{
  struct session s;
  struct report rep;
  static char got[DRAIN_BYTES + 1];
  size_t n = 0;

  session_start(&s, DEVPTS_FRESH, scn_drain);
  /* read slowly at first: the child is gone long before we are done */
  usleep(300 * 1000);
  for (int64_t deadline = berth_now_ms() + 10000; n < DRAIN_BYTES && berth_now_ms() < deadline;) {
    struct pollfd p = { .fd = s.term, .events = POLLIN };
    if (poll(&p, 1, 100) > 0) {
      ssize_t r = read(s.term, got + n, DRAIN_BYTES + 1 - n);
      if (r > 0)
        n += (size_t) r;
    }
  }
  assert_int_equal(n, DRAIN_BYTES);
  for (size_t i = 0; i < DRAIN_BYTES; i++)
    if (got[i] != (char) ('a' + i % 26))
      fail_msg("byte %zu differs", i);
  session_end(&s, &rep);
  assert_true(rep.relay_ok);
  assert_true(WIFEXITED(rep.status) && WEXITSTATUS(rep.status) == 3);
  close(s.term);
}

/* Something in the container keeps the terminal open after the child's
 * exit: the session ends all the same, with the child's output and status,
 * and by the quiet rule (0.5 s without output), not only at the 10 s cap:
 * under 5 s tells the two apart with a wide margin. */
TEST(test_exit_with_holder_left)
{
  struct session s;
  struct report rep;
  int holder = 0;
  const char *h;
  int64_t t0;

  session_start(&s, DEVPTS_FRESH, scn_leave_holder);
  assert_true(shows(&s, " BYE"));
  t0 = berth_now_ms();
  h = strstr(s.seen, "HOLDER ");
  assert_non_null(h);
  holder = atoi(h + 7);
  session_end(&s, &rep);
  assert_true(berth_now_ms() - t0 < 5000);
  /* it still lives (not a zombie), holding the slave */
  assert_true(holder > 0);
  assert_int_equal(sh("grep -q '^State:.*[SR]' /proc/%d/status", holder), 0);
  kill(holder, SIGKILL);
  assert_true(rep.relay_ok && WIFEXITED(rep.status) && WEXITSTATUS(rep.status) == 9);
  close(s.term);
}

/* The user's window grows: the child sees SIGWINCH and the new size. */
TEST(test_resize_reaches_child)
{
  struct session s;
  struct report rep;
  struct winsize ws = { .ws_row = 40, .ws_col = 120 };

  session_start(&s, DEVPTS_FRESH, scn_resize);
  assert_true(shows(&s, "READY"));
  assert_non_null(strstr(s.seen, "ws=24x80"));
  assert_int_equal(ioctl(s.term, TIOCSWINSZ, &ws), 0);
  assert_true(shows(&s, "SIZE 40x120"));
  session_end(&s, &rep);
  assert_true(rep.relay_ok && WIFEXITED(rep.status) && WEXITSTATUS(rep.status) == 0);
  assert_restored(&s);
  close(s.term);
}

/* The terminal hangs up: the child gets SIGHUP, dies of it or, when it
 * ignores it, of SIGKILL after the grace; the shell waits for that without
 * spinning (its CPU time stays small).  The time of its end. */
static int64_t
hang_up_ends(scenario_fn scenario, int dies_of)
{
  struct session s;
  struct report rep;
  int64_t t0;

  session_start(&s, DEVPTS_FRESH, scenario);
  assert_true(shows(&s, "READY"));
  t0 = berth_now_ms();
  close(s.term);
  s.term = -1;
  session_end(&s, &rep);
  assert_true(rep.relay_ok);
  assert_true(WIFSIGNALED(rep.status) && WTERMSIG(rep.status) == dies_of);
  print_message("# shell CPU in all: %ld ms\n", rep.cpu_ms);
  assert_true(rep.cpu_ms < 300);
  return berth_now_ms() - t0;
}

TEST(test_hangup_kills)
{
  hang_up_ends(scn_wait, SIGHUP);
}

TEST(test_hangup_ignored_then_killed)
{
  assert_true(hang_up_ends(scn_wait_nohup, SIGKILL) >= 1500); /* the grace was given */
}

/* SIGTERM to the shell ends the child (SIGHUP) and restores the terminal. */
TEST(test_sigterm_ends)
{
  struct session s;
  struct report rep;

  session_start(&s, DEVPTS_FRESH, scn_wait);
  assert_true(shows(&s, "READY"));
  assert_int_equal(kill(s.shell, SIGTERM), 0);
  session_end(&s, &rep);
  assert_true(rep.relay_ok && WIFSIGNALED(rep.status) && WTERMSIG(rep.status) == SIGHUP);
  assert_restored(&s);
  close(s.term);
}

/* A child that is a session leader already gets its terminal all the same. */
TEST(test_child_session_leader_already)
{
  struct session s;
  struct report rep;

  setsid_first = true;
  session_start(&s, DEVPTS_FRESH, scn_facts);
  setsid_first = false;
  assert_true(shows(&s, "FACTS tty=/dev/pts/0 same=1 sid=1 ctty=1"));
  session_end(&s, &rep);
  assert_true(rep.relay_ok && WIFEXITED(rep.status) && WEXITSTATUS(rep.status) == 0);
  close(s.term);
}

/* The "container" has no devpts, or a FIFO where its ptmx should be: the
 * child fails at once (no hang), and the parent says why. */
static void
expect_child_refused(enum devpts how, const char *why)
{
  struct session s;
  struct report rep;

  session_start(&s, how, scn_wait);
  session_end(&s, &rep);
  assert_false(rep.recv_ok);
  assert_non_null(strstr(rep.msg, why));
  assert_true(WIFEXITED(rep.status) && WEXITSTATUS(rep.status) == 120);
  close(s.term);
}

TEST(test_no_devpts_refused)
{
  expect_child_refused(DEVPTS_NONE, "in the container: opening /dev/pts/ptmx");
}

TEST(test_fifo_ptmx_refused)
{
  expect_child_refused(DEVPTS_FIFO, "/dev/pts/ptmx is not the ptmx of a devpts");
}

/* ------------------------------------------------------------ the socket under attack */

static int
recv_from(int sv[2], long ms, berth_error_t *err)
{
  int master = -1;
  int r = berth_join_pty_recv_within(sv[0], &master, ms, err);
  if (master >= 0)
    close(master);
  return r;
}

static void
send_forged(int sock, int fd)
{
  struct berth_join_pty_msg m = { .magic = BERTH_JOIN_PTY_MAGIC };
  assert_int_equal(berth_join_pty_send(sock, &m, fd), 0);
}

static void
expect_refused(int sv[2], long ms, const char *why)
{
  berth_error_t err = NULL;

  assert_int_equal(recv_from(sv, ms, &err), -1);
  assert_non_null(err);
  if (strstr(err->msg, why) == NULL)
    fail_msg("\"%s\" does not say \"%s\"", err->msg, why);
  berth_error_release(&err);
}

TEST(test_recv_refuses)
{
  int sv[2], p[2], host;

  /* silent, then gone */
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  expect_refused(sv, 100, "sent no terminal in 100 ms");
  close(sv[1]);
  expect_refused(sv, 1000, "ended before sending a terminal");
  close(sv[0]);
  /* a pipe passed off as the master */
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(pipe(p), 0);
  send_forged(sv[1], p[0]);
  expect_refused(sv, 1000, "sent no pty master");
  /* a pty of the host's own /dev/pts: it would not be the container's */
  host = posix_openpt(O_RDWR | O_NOCTTY);
  assert_true(host >= 0);
  assert_int_equal(unlockpt(host), 0);
  send_forged(sv[1], host);
  expect_refused(sv, 1000, "a pty of the host's /dev/pts");
  /* garbage without the magic */
  assert_int_equal(write(sv[1], "0123456789ab", 12), 12);
  expect_refused(sv, 1000, "receiving the terminal");
  close(host), close(p[0]), close(p[1]), close(sv[0]), close(sv[1]);
}

int
main(void)
{
  if (geteuid() != 0)
    die_skip("test_join_pty: needs root (a private mount namespace with its own devpts)");
  return testlib_run();
}
