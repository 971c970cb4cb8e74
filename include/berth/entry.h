/* entry.h - putting one session into the container (exec mode): exec create,
 * hijacked start, the stdin/stdout/stderr proxy, TTY raw mode and resize,
 * hangup handling and the exit status. */
#ifndef BERTH_ENTRY_H
#define BERTH_ENTRY_H

#include <stdbool.h>
#include "berth/container.h"
#include "berth/engine.h"

#define BERTH_DETACH_KEYS "ctrl-@,ctrl-@,ctrl-@,ctrl-@,ctrl-@,ctrl-@,ctrl-@,ctrl-@"

struct berth_exec_req {
  char **argv;       /* command inside the container */
  char **env;        /* "KEY=VALUE", already whitelisted */
  const char *workdir;
  bool tty;          /* allocate a TTY (stdin is a terminal) */
};

/* Build the exec create body (User uid:gid, Env, WorkingDir, Tty, attach
 * flags, DetachKeys; ConsoleSize when the API offers it).  For unit tests. */
json_t *berth_exec_spec(const struct berth_box *b, const struct berth_exec_req *r,
                        unsigned rows, unsigned cols, bool console_size, berth_error_t *err);

/* Run r in b's container over e (control connection) and hijack_fd (a
 * connection from berth_engine_hijack_connect, consumed), proxying fds 0/1/2.
 * Returns the command's exit status (0-255, 128+n for a signal death, 126/127
 * when it could not be run), or -1 with err when the exec could not be set up. */
int berth_entry_exec(struct berth_engine *e, int hijack_fd, const struct berth_box *b,
                     const struct berth_exec_req *r, berth_error_t *err);

#endif
