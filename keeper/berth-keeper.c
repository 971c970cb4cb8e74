/* berth-keeper.c - main process of every berth container.
 *
 * Runs as the user, as pid 1 of the container's pid namespace, and does two
 * things: keeps the container alive and reaps zombies. Processes started by
 * `docker exec` have no parent inside the namespace, so everything they orphan
 * (daemonised jobs, `cmd &` in a shell that exits) is reparented to us and
 * would stay <defunct> forever if we did not wait for it.
 *
 * Signals: SIGTERM and SIGINT end the keeper with status 0, so `docker stop`
 * returns at once instead of waiting for its SIGKILL timeout. SIGHUP ends it
 * too (status 0): the keeper has no configuration to reload and no terminal,
 * so a hangup can only be an explicit request to go away, which is what
 * SIGHUP's default action means for any other process. SIGCHLD triggers a
 * reaping pass. Everything else keeps its default disposition.
 *
 * The signals are blocked and collected with sigwaitinfo() rather than
 * handled: a pid-namespace init with SIG_DFL would have them silently
 * dropped by the kernel, but blocked signals are always queued.
 *
 * `berth-keeper --hold` is a session holder instead (lib/live.c): an exec
 * that pam_berth starts for every session and whose stdin it keeps open
 * until the session closes; it reads stdin until EOF and exits 0, so the
 * engine shows every bastion's live sessions as running holders.
 *
 * It is bind-mounted read-only into arbitrary images at /.berth/keeper, so it
 * is linked statically and uses nothing from libc beyond thin syscall
 * wrappers. It prints nothing, except a usage line when given other arguments.
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Until stdin ends (EOF, or an error: the engine's end of the stream is
 * gone); its bytes mean nothing. */
static int
hold(void)
{
  char buf[256];

  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n > 0 || (n < 0 && errno == EINTR))
      continue;
    return 0;
  }
}

static void
reap_all(void)
{
  /* One SIGCHLD may stand for many exits (standard signals do not queue). */
  for (;;) {
    pid_t pid = waitpid(-1, NULL, WNOHANG);
    if (pid > 0)
      continue;
    if (pid < 0 && errno == EINTR)
      continue;
    return; /* 0: children left but none exited; ECHILD: none left */
  }
}

int
main(int argc, char **argv)
{
  static const char usage[] = "usage: berth-keeper [--hold] (the main process of a berth "
                              "container; --hold: a session holder)\n";
  static const char hold_arg[] = "--hold";
  sigset_t set;

  if (argc == 2) {
    size_t i = 0;
    while (argv[1][i] != '\0' && argv[1][i] == hold_arg[i])
      i++;
    if (argv[1][i] == '\0' && hold_arg[i] == '\0')
      return hold();
  }
  if (argc > 1) {
    ssize_t r = write(STDERR_FILENO, usage, sizeof(usage) - 1);
    (void) r;
    return 2;
  }

  /* Not pid 1 (e.g. under `docker run --init`): still collect orphans. */
  if (getpid() != 1)
    (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
    return 1;

  /* Children may have been handed to us before the mask was in place. */
  reap_all();

  for (;;) {
    int sig = sigwaitinfo(&set, NULL);
    if (sig < 0) {
      if (errno == EINTR)
        continue;
      return 1;
    }
    switch (sig) {
    case SIGCHLD: reap_all(); break;
    case SIGTERM:
    case SIGINT:
    case SIGHUP: return 0;
    default: break;
    }
  }
}
