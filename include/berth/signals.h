/* signals.h - the process-wide signals of a session, turned into bytes on a
 * self-pipe that a poll() loop reads (the stdio proxy's sig_fd). */
#ifndef BERTH_SIGNALS_H
#define BERTH_SIGNALS_H

#include <signal.h>
#include <stdbool.h>
#include "berth/error.h"

#define BERTH_SIGNALS_N 5

struct berth_signals {
  int pipe[2]; /* [0] is read (non-blocking): one byte per signal */
  struct sigaction old[BERTH_SIGNALS_N], old_pipe;
  bool active;
};

/* Catch SIGHUP SIGINT SIGQUIT SIGTERM SIGWINCH (unblocked) into the pipe and
 * ignore SIGPIPE (EPIPE is handled where a write fails).  One set per
 * process at a time.  Caught before a command starts, so none is lost
 * between its start and the proxy loop. */
int berth_signals_catch(struct berth_signals *s, berth_error_t *err);
/* The fd to poll and read signal numbers (one byte each) from. */
int berth_signals_fd(const struct berth_signals *s);
/* Read the signals waiting on fd (berth_signals_fd) and call fn(ctx, sig)
 * for each in order; with fn NULL they are only consumed. */
void berth_signals_dispatch(int fd, void (*fn)(void *ctx, int sig), void *ctx);
/* Send sig to the process a pidfd pins (pidfd_send_signal: no pid reuse);
 * -1 with errno (ENOSYS where the kernel or libc lacks it). */
int berth_pidfd_signal(int pidfd, int sig);
/* Put the previous dispositions back and close the pipe. */
void berth_signals_restore(struct berth_signals *s);

#endif
