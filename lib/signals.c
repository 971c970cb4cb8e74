/* signals.c - the session's signals into a self-pipe (signals.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/signals.h"

static int sig_pipe_w = -1;

static const int caught[BERTH_SIGNALS_N] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGWINCH };

static void
on_signal(int sig)
{
  int saved = errno;
  unsigned char c = (unsigned char) sig;
  if (sig_pipe_w >= 0)
    (void) !write(sig_pipe_w, &c, 1);
  errno = saved;
}

int
berth_signals_catch(struct berth_signals *s, berth_error_t *err)
{
  struct sigaction sa;
  sigset_t unblock;

  memset(s, 0, sizeof(*s));
  s->pipe[0] = s->pipe[1] = -1;
  if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "pipe");
  sig_pipe_w = s->pipe[1];
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < BERTH_SIGNALS_N; i++)
    sigaction(caught[i], &sa, &s->old[i]);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, &s->old_pipe);
  sigemptyset(&unblock);
  for (size_t i = 0; i < BERTH_SIGNALS_N; i++)
    sigaddset(&unblock, caught[i]);
  sigprocmask(SIG_UNBLOCK, &unblock, NULL);
  s->active = true;
  return 0;
}

int
berth_signals_fd(const struct berth_signals *s)
{
  return s->pipe[0];
}

void
berth_signals_dispatch(int fd, void (*fn)(void *ctx, int sig), void *ctx)
{
  unsigned char sigs[64];
  ssize_t n;

  while ((n = read(fd, sigs, sizeof(sigs))) > 0)
    for (ssize_t i = 0; fn != NULL && i < n; i++)
      fn(ctx, sigs[i]);
}

int
berth_pidfd_signal(int pidfd, int sig)
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

void
berth_signals_restore(struct berth_signals *s)
{
  if (!s->active)
    return;
  for (size_t i = 0; i < BERTH_SIGNALS_N; i++)
    sigaction(caught[i], &s->old[i], NULL);
  sigaction(SIGPIPE, &s->old_pipe, NULL);
  sig_pipe_w = -1;
  close(s->pipe[0]);
  close(s->pipe[1]);
  s->pipe[0] = s->pipe[1] = -1;
  s->active = false;
}
