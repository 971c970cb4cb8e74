/* shell_helper.c - small probes for tests/e2e/test_shell_attacks.sh and the
 * fault tier, built by `make check`.  Each prints one line saying what
 * happened and exits 0 when the operation succeeded, 1 when it was refused.
 *
 *   ptrace PID          PTRACE_SEIZE the process (then detach)
 *   getfd PID FD        steal a descriptor with pidfd_getfd
 *   connect PATH        connect to a unix stream socket
 *   noargv PROG         execve PROG with argc == 0
 *   syslog FILE         serve /dev/log, appending each message to FILE
 *   pty ROWS COLS LOG -- CMD...
 *                       run CMD on a new terminal, driven by a script on stdin:
 *                         send TEXT     write TEXT (escapes \r \n \t \\ \xHH)
 *                         type TEXT     the same, one byte every 150 ms
 *                         expect TEXT [SECONDS]   wait for TEXT in the output
 *                         resize ROWS COLS        TIOCSWINSZ (SIGWINCH to the job)
 *                         sleep MS
 *                         hangup        close the terminal's master side
 *                         wait [SECONDS]          reap CMD, print "exit N"
 *                       The whole transcript goes to LOG.  Exit 1 on a failed
 *                       expect or wait. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static long
now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
refused(const char *what)
{
  printf("%s refused: %s\n", what, strerror(errno));
  return 1;
}

static int
do_ptrace(pid_t pid)
{
  if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0)
    return refused("ptrace");
  ptrace(PTRACE_DETACH, pid, NULL, NULL);
  printf("ptrace attached to %d\n", (int) pid);
  return 0;
}

static int
do_getfd(pid_t pid, int fd)
{
  int pfd = (int) syscall(SYS_pidfd_open, pid, 0);
  int got;
  if (pfd < 0)
    return refused("pidfd_open");
  got = (int) syscall(SYS_pidfd_getfd, pfd, fd, 0);
  if (got < 0)
    return refused("pidfd_getfd");
  printf("pidfd_getfd got fd %d\n", got);
  return 0;
}

/* A unix socket of `type` and, in *sa, the address of `path`. */
static int
unix_socket(int type, const char *path, struct sockaddr_un *sa)
{
  *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
  snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);
  return socket(AF_UNIX, type, 0);
}

static int
do_connect(const char *path)
{
  struct sockaddr_un sa;
  int s = unix_socket(SOCK_STREAM, path, &sa);
  if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
    return refused("connect");
  printf("connected to %s\n", path);
  return 0;
}

static int
do_syslog(const char *out)
{
  struct sockaddr_un sa;
  int s = unix_socket(SOCK_DGRAM, "/dev/log", &sa);
  FILE *f = fopen(out, "a");
  char buf[8192];

  if (s < 0 || f == NULL || bind(s, (struct sockaddr *) &sa, sizeof(sa)) < 0)
    return refused("syslog bind");
  chmod("/dev/log", 0666);
  printf("listening\n");
  fflush(stdout);
  for (;;) {
    ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return 1;
    buf[n] = '\0';
    fprintf(f, "%s\n", buf);
    fflush(f);
  }
}

/* --------------------------------------------------------------- pty */

static size_t
unescape(const char *in, char *out)
{
  size_t n = 0;
  for (; *in; in++) {
    if (*in != '\\' || in[1] == '\0') {
      out[n++] = *in;
      continue;
    }
    in++;
    switch (*in) {
    case 'r': out[n++] = '\r'; break;
    case 'n': out[n++] = '\n'; break;
    case 't': out[n++] = '\t'; break;
    case 'x': {
      char hex[3] = { in[1], in[1] ? in[2] : 0, 0 };
      out[n++] = (char) strtol(hex, NULL, 16);
      in += 2;
      break;
    }
    default: out[n++] = *in; break;
    }
  }
  return n;
}

static int master = -1;
static FILE *transcript;
static char seen[1 << 20];
static size_t n_seen, expect_from;

static void
pump(int ms)
{
  struct pollfd p = { .fd = master, .events = POLLIN };
  char buf[4096];
  if (master < 0 || poll(&p, 1, ms) <= 0)
    return;
  ssize_t r = read(master, buf, sizeof(buf));
  if (r <= 0)
    return;
  fwrite(buf, 1, (size_t) r, transcript);
  fflush(transcript);
  if (n_seen + (size_t) r < sizeof(seen)) {
    memcpy(seen + n_seen, buf, (size_t) r);
    n_seen += (size_t) r;
  }
}

/* Copy the terminal's output for ms milliseconds. */
static void
pump_for(long ms)
{
  long until = now_ms() + ms;
  while (now_ms() < until)
    pump((int) (until - now_ms()));
}

static int
do_pty(int rows, int cols, const char *log, char **cmd)
{
  struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
  char line[8192], data[8192];
  pid_t child;
  int status = 0;
  int reaped = 0;

  transcript = fopen(log, "w");
  master = posix_openpt(O_RDWR | O_NOCTTY);
  if (transcript == NULL || master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
    return refused("pty");
  ioctl(master, TIOCSWINSZ, &ws);
  child = fork();
  if (child == 0) {
    int slave;
    setsid();
    slave = open(ptsname(master), O_RDWR);
    if (slave < 0)
      _exit(127);
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2)
      close(slave);
    close(master);
    execvp(cmd[0], cmd);
    _exit(127);
  }

  while (fgets(line, sizeof(line), stdin)) {
    char *arg;
    line[strcspn(line, "\n")] = '\0';
    arg = strchr(line, ' ');
    if (arg)
      *arg++ = '\0';
    else
      arg = line + strlen(line);

    if (strcmp(line, "send") == 0 || strcmp(line, "type") == 0) {
      size_t n = unescape(arg, data);
      for (size_t i = 0; i < n;) {
        size_t chunk = strcmp(line, "type") == 0 ? 1 : n - i;
        if (write(master, data + i, chunk) < 0)
          break;
        i += chunk;
        if (chunk == 1)
          pump_for(150);
      }
    } else if (strcmp(line, "expect") == 0) {
      char *sec = strrchr(arg, ' ');
      int timeout = 10;
      long until;
      size_t n;
      if (sec && atoi(sec + 1) > 0) {
        timeout = atoi(sec + 1);
        *sec = '\0';
      }
      n = unescape(arg, data);
      until = now_ms() + timeout * 1000L;
      for (;;) {
        if (n_seen >= n && memmem(seen + expect_from, n_seen - expect_from, data, n)) {
          char *at = memmem(seen + expect_from, n_seen - expect_from, data, n);
          expect_from = (size_t) (at - seen) + n;
          break;
        }
        if (now_ms() >= until) {
          printf("expect timed out: %s\n", arg);
          return 1;
        }
        pump(50);
      }
    } else if (strcmp(line, "resize") == 0) {
      ws.ws_row = (unsigned short) atoi(arg);
      ws.ws_col = (unsigned short) atoi(strchr(arg, ' ') ? strchr(arg, ' ') + 1 : "80");
      ioctl(master, TIOCSWINSZ, &ws);
    } else if (strcmp(line, "sleep") == 0) {
      pump_for(atoi(arg));
    } else if (strcmp(line, "hangup") == 0) {
      close(master);
      master = -1;
    } else if (strcmp(line, "wait") == 0) {
      long until = now_ms() + (atoi(arg) > 0 ? atoi(arg) : 10) * 1000L;
      while (!reaped) {
        pid_t r = waitpid(child, &status, WNOHANG);
        if (r == child) {
          reaped = 1;
          break;
        }
        if (now_ms() >= until) {
          printf("wait timed out\n");
          return 1;
        }
        if (master >= 0)
          pump(50);
        else
          usleep(50000);
      }
      while (master >= 0 && n_seen < sizeof(seen)) {
        size_t before = n_seen;
        pump(100);
        if (n_seen == before)
          break;
      }
      printf("exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    } else if (line[0] != '\0' && line[0] != '#') {
      printf("unknown pty command %s\n", line);
      return 2;
    }
    fflush(stdout);
  }
  if (!reaped)
    kill(child, SIGKILL);
  return 0;
}

int
main(int argc, char **argv)
{
  if (argc >= 3 && strcmp(argv[1], "ptrace") == 0)
    return do_ptrace(atoi(argv[2]));
  if (argc >= 4 && strcmp(argv[1], "getfd") == 0)
    return do_getfd(atoi(argv[2]), atoi(argv[3]));
  if (argc >= 3 && strcmp(argv[1], "connect") == 0)
    return do_connect(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "noargv") == 0) {
    char *none[] = { NULL };
    extern char **environ;
    execve(argv[2], none, environ);
    return refused("execve");
  }
  if (argc >= 3 && strcmp(argv[1], "syslog") == 0)
    return do_syslog(argv[2]);
  if (argc >= 7 && strcmp(argv[1], "pty") == 0 && strcmp(argv[5], "--") == 0)
    return do_pty(atoi(argv[2]), atoi(argv[3]), argv[4], argv + 6);
  fprintf(stderr, "usage: see the header of shell_helper.c\n");
  return 2;
}
