/* tty.c - terminal size and raw mode (tty.h). */
#include "config.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include "berth/tty.h"

bool
berth_tty_size(int fd, unsigned *rows, unsigned *cols)
{
  struct winsize ws;

  *rows = *cols = 0;
  if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
    return false;
  *rows = ws.ws_row;
  *cols = ws.ws_col;
  return true;
}

void
berth_tty_raw(int fd, struct berth_tty *t)
{
  struct termios r;

  t->raw = false;
  if (!isatty(fd) || tcgetattr(fd, &t->saved) < 0)
    return;
  r = t->saved;
  cfmakeraw(&r);
  if (tcsetattr(fd, TCSADRAIN, &r) == 0)
    t->raw = true;
}

void
berth_tty_restore(int fd, struct berth_tty *t)
{
  if (t->raw)
    tcsetattr(fd, TCSADRAIN, &t->saved);
  t->raw = false;
}

bool
berth_tty_copy_size(int from, int to)
{
  struct winsize ws;

  if (ioctl(from, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
    return false;
  return ioctl(to, TIOCSWINSZ, &ws) == 0;
}
