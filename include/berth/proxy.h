/* proxy.h - the stdio proxy: one poll() loop between three local fds
 * (stdin, stdout, stderr of the session) and the engine's stream (a struct
 * berth_conn).  In TTY mode the stream is raw bytes both ways; otherwise the
 * engine multiplexes stdout and stderr into frames (frame.c's demux), kept
 * apart here.  Binary-safe; back-pressure: nothing is read from one side
 * while the buffer towards the other is full.
 *
 * What the proxy does not know: what the command is, how to signal it, when
 * to give up.  The entry mode says so through berth_proxy_ops.
 *
 * The caller ignores SIGPIPE for the duration (a vanished output reader is
 * then EPIPE from write(), handled here); the engine side never raises it. */
#ifndef BERTH_PROXY_H
#define BERTH_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "berth/conn.h"
#include "berth/engine.h"
#include "berth/error.h"

#define BERTH_PROXY_BUF (64 * 1024)
/* A start failure ends the stream right after the engine's message; output
 * held longer than this is the command's own, whatever the engine says. */
#define BERTH_PROXY_RECHECK_MS 2000
#define BERTH_PROXY_RECHECK_EVERY_MS 50
/* ops->tick's answer: stop waiting for the stream. */
#define BERTH_PROXY_STOP (-2)

struct berth_proxy_ops {
  /* Stream output is held until this says the command started (1); 0: not
   * started (yet): held and asked again every RECHECK_EVERY_MS until the
   * stream ends or RECHECK_MS passed; -1 with err ends the proxy.  NULL:
   * output is delivered at once. */
  int (*started)(void *ctx, berth_error_t *err);
  /* The proxy asks the command to end: SIGHUP when the terminal went away
   * (a TTY or EIO write error, end of input in TTY mode, berth_proxy_hangup),
   * SIGPIPE when a pipe reader of stdout/stderr went away (EPIPE), so that
   * `cmd | head` ends as on the host.  The stream stays open until the
   * command ends and the engine closes it. */
  void (*end)(void *ctx, int sig);
  /* A signal number read from sig_fd (the self-pipe of signals.h). */
  void (*signal)(void *ctx, int sig);
  /* Once per round: a poll timeout in ms (-1: none), or BERTH_PROXY_STOP. */
  int (*tick)(void *ctx);
};

struct berth_proxy_buf {
  char *data;
  size_t off, len;
};

struct berth_proxy {
  int in_fd, out_fd, err_fd; /* the session's stdio, made non-blocking */
  int sig_fd;                /* -1: none */
  struct berth_conn *conn;   /* the engine side, not owned */
  bool tty;
  const struct berth_proxy_ops *ops;
  void *ctx;

  struct berth_proxy_buf in, out, errb;
  struct berth_demux demux;
  bool stdin_open;     /* still reading in_fd */
  bool wr_open;        /* engine side not yet shut down for writing */
  bool rd_open;        /* stream not yet ended */
  bool out_ok, err_ok; /* destination still writable */
  bool verified;       /* ops->started said yes (or no ops->started) */
  bool start_failed;   /* ops->started said no: output held */
  int64_t recheck_until;
  int fl_saved[3]; /* O_NONBLOCK not set before init: restore, else -1 */
};

/* Set p up over the three fds and conn (NULL ops: deliver at once, no
 * signals, no timers).  Allocates the buffers and sets the stdio fds
 * non-blocking until berth_proxy_release. */
int berth_proxy_init(struct berth_proxy *p, int in_fd, int out_fd, int err_fd,
                     struct berth_conn *conn, bool tty, berth_error_t *err);
/* Run until the stream ends (0) or ops->tick says stop (0), or -1 with err
 * (poll failed, a malformed frame, ops->started failed).  pending: stream
 * bytes that came with the handshake, passed on first.  Input ending is a
 * half-close of the engine side (the command reads EOF), output continues. */
int berth_proxy_run(struct berth_proxy *p, const char *pending, size_t n_pending,
                    berth_error_t *err);
/* After the stream: deliver what is buffered, however slow the reader (as a
 * host process would); a broken output or any signal but SIGWINCH ends it. */
void berth_proxy_drain(struct berth_proxy *p);
/* Nobody can see the command any more: drop input and output, ops->end(sig). */
void berth_proxy_hangup(struct berth_proxy *p, int sig);
/* A printable one-line copy (at most 1 KiB, malloc'd) of the held output:
 * the engine's message when the command could not be started. */
char *berth_proxy_held_text(const struct berth_proxy *p);
/* Restore the fd flags and free the buffers (conn stays the caller's). */
void berth_proxy_release(struct berth_proxy *p);

#endif
