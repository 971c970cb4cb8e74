/* exit_status.h - what a session's exit status is, from what the engine and
 * the proxy saw.  Pure: the table-driven test covers every case. */
#ifndef BERTH_EXIT_STATUS_H
#define BERTH_EXIT_STATUS_H

#include <stdbool.h>

struct berth_exit_facts {
  bool running;      /* the engine still says running after SIGKILL */
  int code;          /* the engine's ExitCode */
  long pid;          /* the engine's Pid (0: the process never started) */
  int forced;        /* the signal we ended it with after the stream ended, 0 = none */
  bool start_failed; /* output was held: the engine may have written its error */
};

/* Returned when the engine could not start the command (its own error text
 * is the held output); *enoent tells 127 (not found) from 126. */
#define BERTH_EXIT_NOT_STARTED (-1)

/* The status 0-255:
 * - Docker reports a signal death of an exec as 128+n already (137 SIGKILL,
 *   143 SIGTERM): the code passes through, like 126/127 from the shell;
 * - a process we had to end after the stream ended (hangup, detach keys):
 *   128 + that signal, whatever the engine says (126 after a detach);
 * - still running after SIGKILL: 137;
 * - a code outside 0-255: 255.
 * An engine that went away before saying anything is an error of the caller
 * (the exec inspect fails), not a status. */
int berth_exit_status(const struct berth_exit_facts *f, bool *enoent);

#endif
