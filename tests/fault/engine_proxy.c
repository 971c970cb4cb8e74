/* engine_proxy.c - a unix-socket relay in front of the real engine socket,
 * for the fault tier (tests/fault/): berth.conf's engine.socket points here,
 * and the test breaks the engine by breaking the relay, so the shared dockerd
 * (and whatever else uses it) is never stopped or restarted.
 *
 *   engine_proxy LISTEN UPSTREAM
 *
 * One process group (the relay makes itself its leader) holds the listener
 * and one child per connection, so the test acts on all of them at once:
 *   kill -STOP -- -PID  the engine stalls: connects still succeed (the
 *                       kernel's backlog), nothing is ever answered;
 *   kill -CONT -- -PID  it answers again;
 *   kill -KILL -- -PID  the engine goes away under live sessions: every
 *                       connection, hijacked exec streams included, is cut
 *                       and new connects are refused (the socket file stays).
 * Prints "listening" once the socket accepts. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int
unix_addr(const char *path, struct sockaddr_un *a)
{
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(a->sun_path))
    return -1;
  strcpy(a->sun_path, path);
  return 0;
}

/* Copy both ways until both have ended; an EOF is passed on as a half-close
 * (the engine's exec stream depends on it: stdin's end is a SHUT_WR). */
static void
relay(int a, int b)
{
  char buf[65536];
  int open_ab = 1, open_ba = 1;

  while (open_ab || open_ba) {
    struct pollfd p[2] = { { a, open_ab ? POLLIN : 0, 0 }, { b, open_ba ? POLLIN : 0, 0 } };
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    for (int i = 0; i < 2; i++) {
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      int *open = i == 0 ? &open_ab : &open_ba;
      if (!*open || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      ssize_t n = read(from, buf, sizeof(buf));
      if (n <= 0) {
        *open = 0;
        shutdown(to, SHUT_WR);
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t) (n - off));
        if (w <= 0)
          return;
        off += w;
      }
    }
  }
}

int
main(int argc, char **argv)
{
  struct sockaddr_un la, ua;
  int ls;

  if (argc != 3 || unix_addr(argv[1], &la) < 0 || unix_addr(argv[2], &ua) < 0) {
    fprintf(stderr, "usage: engine_proxy LISTEN UPSTREAM\n");
    return 2;
  }
  setpgid(0, 0);
  signal(SIGCHLD, SIG_IGN); /* children reap themselves */
  signal(SIGPIPE, SIG_IGN);
  unlink(argv[1]);
  ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0 || bind(ls, (struct sockaddr *) &la, sizeof(la)) < 0 || chmod(argv[1], 0600) < 0
      || listen(ls, 128) < 0) {
    perror("engine_proxy: listen");
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  for (;;) {
    int c = accept(ls, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR)
        continue;
      perror("engine_proxy: accept");
      return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
      int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      close(ls);
      if (u < 0 || connect(u, (struct sockaddr *) &ua, sizeof(ua)) < 0)
        _exit(1); /* the client sees its connection closed */
      relay(c, u);
      _exit(0);
    }
    close(c);
  }
}
