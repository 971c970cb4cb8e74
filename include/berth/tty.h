/* tty.h - the session's terminal: its size, raw mode and its restoration. */
#ifndef BERTH_TTY_H
#define BERTH_TTY_H

#include <stdbool.h>
#include <termios.h>

struct berth_tty {
  struct termios saved;
  bool raw; /* saved holds what to restore */
};

/* The size of the terminal on fd; false (rows = cols = 0) when fd is no
 * terminal or the size is unknown. */
bool berth_tty_size(int fd, unsigned *rows, unsigned *cols);
/* Give terminal `to` (a pty master) the size of terminal `from`; the
 * kernel then sends SIGWINCH to the foreground of `to`'s slave.  false when
 * `from` has no size or `to` refused it. */
bool berth_tty_copy_size(int from, int to);
/* Raw mode on fd when it is a terminal (keys go to the container's terminal
 * as typed: ^C, ^D are bytes there, not signals here). */
void berth_tty_raw(int fd, struct berth_tty *t);
/* Put back what berth_tty_raw changed; a no-op when it changed nothing. */
void berth_tty_restore(int fd, struct berth_tty *t);

#endif
