/* exit_status.c - the session's exit status (exit_status.h). */
#include "config.h"

#include <signal.h>

#include "berth/exit_status.h"

int
berth_exit_status(const struct berth_exit_facts *f, bool *enoent)
{
  int code = f->code;

  /* Held output, no process, the shell's "cannot run": the engine failed to
   * start it.  A process that ran has a Pid even after it ended. */
  if (f->start_failed && f->pid <= 0 && !f->running && (code == 126 || code == 127)) {
    if (enoent != NULL)
      *enoent = code == 127;
    return BERTH_EXIT_NOT_STARTED;
  }
  if (f->running)
    code = 128 + SIGKILL;
  if (f->forced)
    code = 128 + f->forced;
  return code < 0 || code > 255 ? 255 : code;
}
