/* join_pty_probe.c - join a running container the way join mode does, as
 * far as its terminal goes, and run a shell line there on the container's
 * own pty (tests/engine/test_join_pty.sh).  Root only; a test helper, not
 * join mode: no cgroup, no seccomp, no capability drop.
 *
 *   join_pty_probe PID UID GID 'shell line'
 *
 * The parent stays on the host: it only sets its pid namespace for children
 * (setns(CLONE_NEWPID) applies to children), forks, receives the master and
 * relays fds 0/1 (berth_join_relay).  The child joins ipc, uts and mount
 * (last: it moves root and cwd to the container's), calls
 * berth_join_pty_child_for(UID), drops to UID:GID and runs /bin/sh -c LINE.
 * Exit status: the line's, or 128 + the signal that ended it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/join_pty.h"

static const char *const joined[] = { "ipc", "uts", "mnt" };
#define N_JOINED (sizeof(joined) / sizeof(joined[0]))

static void
die(const char *what, berth_error_t err)
{
  fprintf(stderr, "join_pty_probe: %s: %s\n", what, err != NULL ? err->msg : strerror(errno));
  exit(125);
}

/* /proc/PID/ns/NAME, or -1 when it is ours already (host network, ...). */
static int
ns_fd(const char *pid, const char *name)
{
  char path[64], self[64];
  struct stat a, b;
  int fd;

  snprintf(path, sizeof(path), "/proc/%s/ns/%s", pid, name);
  snprintf(self, sizeof(self), "/proc/self/ns/%s", name);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    die(path, NULL);
  if (stat(path, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino) {
    close(fd);
    return -1;
  }
  return fd;
}

static void
child(int sock, const int *fds, uid_t uid, gid_t gid, const char *line)
{
  berth_error_t err = NULL;
  struct winsize ws = { .ws_row = 24, .ws_col = 80 };
  static char sh[] = "sh", dash_c[] = "-c";
  static char path[] = "PATH=/usr/local/bin:/usr/bin:/bin", home[] = "HOME=/",
              term[] = "TERM=xterm";
  char *argv[] = { sh, dash_c, (char *) line, NULL };
  char *envp[] = { path, home, term, NULL };

  for (size_t i = 0; i < N_JOINED; i++)
    if (fds[i] >= 0 && setns(fds[i], 0) < 0)
      die(joined[i], NULL);
  if (berth_join_pty_child_for(sock, &ws, uid, &err) < 0)
    die("the container's terminal", err);
  close(sock);
  if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
    die("dropping to the user", NULL);
  execve("/bin/sh", argv, envp);
  die("/bin/sh", NULL);
}

int
main(int argc, char **argv)
{
  berth_error_t err = NULL;
  int fds[N_JOINED], sv[2], master, pidfd, status, pidns;
  pid_t pid;

  if (argc != 5) {
    fprintf(stderr, "usage: join_pty_probe PID UID GID 'shell line'\n");
    return 2;
  }
  for (size_t i = 0; i < N_JOINED; i++)
    fds[i] = ns_fd(argv[1], joined[i]);
  pidns = ns_fd(argv[1], "pid");
  if (pidns >= 0 && setns(pidns, CLONE_NEWPID) < 0)
    die("pid", NULL);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    die("socketpair", NULL);
  pid = fork();
  if (pid < 0)
    die("fork", NULL);
  if (pid == 0) {
    close(sv[0]);
    child(sv[1], fds, (uid_t) atol(argv[2]), (gid_t) atol(argv[3]), argv[4]);
  }
  close(sv[1]);
  pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    die("pidfd_open", NULL);
  if (berth_join_pty_recv(sv[0], &master, &err) < 0)
    die("receiving the terminal", err);
  if (berth_join_relay(master, pidfd, &status, &err) < 0)
    die("relay", err);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
