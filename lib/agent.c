/* agent.c - the forwarded ssh agent inside the container (agent.h): the
 * per-user directory under RUNDIR, and the relay berth-shell runs as the
 * user.  Below the box and spec (both call them); calls session.c and
 * netns.c (whether the engine is local). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/agent.h"
#include "berth/netns.h"
#include "berth/session.h"
#include "berth/util.h"

/* Connections one relay serves at once: an agent client opens one per
 * operation; a flood from inside the container waits instead of forking
 * without bound on the host. */
#define MAX_CONNS 32

/* This process's relay (berth_agent_start), 0 for none */
static pid_t relay_pid;
static char *relay_path; /* its listening socket on the host */

int
berth_agent_dir_ensure(const char *name, uid_t uid, gid_t gid, berth_error_t *err)
{
  cleanup_close int pfd = berth_session_rundir_open("agent", NULL, true, err);
  cleanup_close int fd = -1;
  struct stat st;

  if (pfd < 0)
    return -1;
  if (mkdirat(pfd, name, 0700) < 0 && errno != EEXIST)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "mkdir %s/agent/%s",
                             berth_session_rundir(), name);
  /* RUNDIR/agent is root's and 0755: only root can have put NAME there,
   * and O_NOFOLLOW refuses a link all the same. */
  fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "open %s/agent/%s",
                             berth_session_rundir(), name);
  if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "chown %s/agent/%s",
                             berth_session_rundir(), name);
  if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "chmod %s/agent/%s",
                             berth_session_rundir(), name);
  return 0;
}

char *
berth_agent_dir(const char *name, berth_error_t *err)
{
  return berth_asprintf(err, "%s/agent/%s", berth_session_rundir(), name);
}

/* sshd's agent socket: /tmp/ssh-XXXXXXXXXX/agent.PID, made by the user's
 * side of sshd in a 0700 directory.  Anything else (a variable set some
 * other way) is not relayed: the relay runs on the host, and a socket of
 * the host reachable by the user (a D-Bus or service socket) must not
 * become reachable from the container through it. */
static int
check_host_sock(const char *path, berth_error_t *err)
{
  cleanup_free char *dir = NULL;
  struct stat st;
  char *slash;

  if (path == NULL || path[0] != '/'
      || strlen(path) >= sizeof(((struct sockaddr_un *) 0)->sun_path))
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "SSH_AUTH_SOCK is not an absolute path");
  if ((dir = berth_strdup(path, err)) == NULL)
    return -1;
  slash = strrchr(dir, '/');
  *(slash == dir ? slash + 1 : slash) = '\0';
  if (lstat(dir, &st) < 0)
    return berth_error_errno(err, BERTH_E_USAGE, errno, "SSH_AUTH_SOCK directory %s", dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0)
    return berth_error_make(err, BERTH_E_USAGE, EPERM,
                            "SSH_AUTH_SOCK directory %s is not the caller's own 0700 directory",
                            dir);
  if (lstat(path, &st) < 0)
    return berth_error_errno(err, BERTH_E_USAGE, errno, "SSH_AUTH_SOCK %s", path);
  if (!S_ISSOCK(st.st_mode) || st.st_uid != getuid())
    return berth_error_make(err, BERTH_E_USAGE, EPERM,
                            "SSH_AUTH_SOCK %s is not a socket of the caller's", path);
  return 0;
}

static int
unix_addr(struct sockaddr_un *sa, const char *path)
{
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(sa->sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(sa->sun_path, path, strlen(path) + 1);
  return 0;
}

/* ------------------------------------------------------------ the relay */

static volatile sig_atomic_t relay_stop;

static void
on_term(int sig)
{
  (void) sig;
  relay_stop = 1;
}

static void
on_chld(int sig)
{
  (void) sig;
}

/* One direction: what `from` has, to `to`.  false when `from` ended. */
static bool
pass(int from, int to)
{
  char buf[16384];
  ssize_t n = read(from, buf, sizeof(buf));

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0) {
    shutdown(to, SHUT_WR);
    return false;
  }
  return berth_write_all(to, buf, (size_t) n, NULL) == 0;
}

/* A connection's own process: the container's client on c, sshd's agent
 * socket on the other end, until both directions have ended. */
static _Noreturn void
serve(int c, const char *host_sock)
{
  struct sockaddr_un sa;
  bool in = true, out = true;
  int a = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (a < 0 || unix_addr(&sa, host_sock) < 0 || connect(a, (struct sockaddr *) &sa, sizeof(sa)) < 0)
    _exit(1);
  while (in || out) {
    struct pollfd p[2]
        = { { .fd = in ? c : -1, .events = POLLIN }, { .fd = out ? a : -1, .events = POLLIN } };
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      _exit(1);
    }
    if (p[0].revents && !(in = pass(c, a)) && !out)
      break;
    if (p[1].revents && !(out = pass(a, c)) && !in)
      break;
  }
  _exit(0);
}

/* The relay process: accepts on lfd (fd 3) until told to stop or its
 * parent is gone, then removes its socket. */
static _Noreturn void
relay(int lfd, const char *path, const char *host_sock, pid_t parent)
{
  struct sigaction sa = { .sa_handler = on_term };
  sigset_t none;
  int conns = 0;

  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL); /* berth-shell's mask is not ours */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sa.sa_handler = on_chld;
  sigaction(SIGCHLD, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  if (getppid() != parent)
    relay_stop = 1;
  while (!relay_stop) {
    struct pollfd p = { .fd = conns < MAX_CONNS ? lfd : -1, .events = POLLIN };
    int c;

    while (waitpid(-1, NULL, WNOHANG) > 0)
      conns--;
    /* bounded: a SIGTERM between the check above and poll must not be lost */
    if (poll(&p, 1, 500) <= 0 || !(p.revents & POLLIN))
      continue;
    c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
      continue;
    switch (fork()) {
    case 0: close(lfd); serve(c, host_sock);
    case -1: break;
    default: conns++;
    }
    close(c);
  }
  unlink(path);
  _exit(0);
}

/* The relay's fds: the listening socket as 3, /dev/null as 0-2 (sshd ends
 * the session when the last holder of its pipes closes them), nothing
 * else: berth-shell's engine connections stay with berth-shell. */
static void
relay_fds(int lfd)
{
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);

  if (null < 0 || dup2(lfd, 3) < 0)
    _exit(1);
  for (int i = 0; i < 3; i++)
    if (dup2(null, i) < 0)
      _exit(1);
  if (close_range(4, ~0U, 0) < 0)
    _exit(1);
}

static int
listen_at(const char *path, berth_error_t *err)
{
  struct sockaddr_un sa;
  cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mode_t old;
  int r;

  if (fd < 0 || unix_addr(&sa, path) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "agent socket %s", path);
  unlink(path); /* a stale one of a pid reused */
  old = umask(0177);
  r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
  umask(old);
  if (r < 0 || listen(fd, 16) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "agent socket %s", path);
  return steal_fd(&fd);
}

int
berth_agent_start(const struct berth_config *cfg, const char *name, const char *host_sock,
                  char **env, berth_error_t *err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *var = NULL;
  cleanup_close int lfd = -1;
  pid_t parent = getpid(), pid;

  if (host_sock == NULL || !berth_config_engine_local(cfg) || relay_pid > 0)
    return 1;
  if (check_host_sock(host_sock, err) < 0)
    return berth_error_wrap(err, "not forwarding the agent into the container");
  if ((dir = berth_agent_dir(name, err)) == NULL
      || (path = berth_asprintf(err, "%s/agent.%ld", dir, (long) parent)) == NULL
      || (var
          = berth_asprintf(err, "SSH_AUTH_SOCK=%s/agent.%ld", BERTH_AGENT_TARGET, (long) parent))
             == NULL)
    return -1;
  if ((lfd = listen_at(path, err)) < 0)
    return -1;
  if (atexit(berth_agent_stop) != 0) {
    unlink(path);
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "atexit (agent relay)");
  }
  pid = fork();
  if (pid < 0) {
    unlink(path);
    return berth_error_errno(err, BERTH_E_SESSION, errno, "fork (agent relay)");
  }
  if (pid == 0) {
    relay_fds(lfd);
    relay(3, path, host_sock, parent);
  }
  relay_pid = pid;
  relay_path = steal_pointer(&path);
  *env = steal_pointer(&var);
  return 0;
}

void
berth_agent_stop(void)
{
  if (relay_pid <= 0)
    return;
  kill(relay_pid, SIGTERM);
  waitpid(relay_pid, NULL, 0);
  unlink(relay_path); /* the relay removes it too; whoever is first */
  free(relay_path);
  relay_path = NULL;
  relay_pid = 0;
}
