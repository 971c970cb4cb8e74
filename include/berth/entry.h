/* entry.h - putting one session into the container (exec mode): exec create,
 * hijacked start, the stdin/stdout/stderr proxy, TTY raw mode and resize,
 * hangup handling and the exit status. */
#ifndef BERTH_ENTRY_H
#define BERTH_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include "berth/container.h"
#include "berth/engine.h"

/* Docker has no way to turn detaching off (an empty value means its default
 * ctrl-p,ctrl-q, which bash users type all the time).  The engine only
 * matches keys that arrive one per read, i.e. typed, never pasted or piped,
 * and only in TTY mode; it holds back a typed first key until the next one.
 * So: a first key almost nobody types alone (ctrl-\, the terminal's quit key),
 * then a run no keyboard habit produces.  NUL (ctrl-@) is avoided: emacs
 * users type it as C-SPC.  Checked against the engine in tests. */
#define BERTH_DETACH_KEYS "ctrl-\\,ctrl-],ctrl-^,ctrl-_,ctrl-\\,ctrl-],ctrl-^,ctrl-_"

struct berth_exec_req {
  char **argv;       /* command inside the container */
  char **env;        /* "KEY=VALUE", already whitelisted */
  const char *workdir;
  bool tty;          /* allocate a TTY (stdin is a terminal) */
};

/* true when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or
 * code points beyond U+10FFFF).  The engine API is JSON: anything else cannot
 * reach the container byte-exact, so callers refuse it. */
bool berth_utf8_valid(const char *s, size_t len);

/* Build the exec create body (User uid:gid, Env, WorkingDir, Tty, attach
 * flags, DetachKeys; ConsoleSize when the API offers it).  For unit tests. */
json_t *berth_exec_spec(const struct berth_box *b, const struct berth_exec_req *r,
                        unsigned rows, unsigned cols, bool console_size, berth_error_t *err);

/* Run r in b's container over e (control connection) and hijack (a
 * connection from berth_engine_hijack_connect, consumed), proxying fds 0/1/2.
 * Returns the command's exit status (0-255, 128+n for a signal death, as the
 * engine reports it; 126/127 from the shell when a command cannot be run), or
 * -1 with err when the exec could not be set up (kind BERTH_E_EXEC when the
 * engine could not start the process).
 * For its duration it catches SIGHUP SIGINT SIGQUIT SIGTERM SIGWINCH and
 * ignores SIGPIPE (previous dispositions restored): SIGINT/SIGQUIT are
 * forwarded to the command, SIGTERM/SIGHUP end it (SIGKILL after a grace),
 * and the terminal is restored before returning on every path. */
int berth_entry_exec(struct berth_engine *e, struct berth_conn *hijack, const struct berth_box *b,
                     const struct berth_exec_req *r, berth_error_t *err);

#endif
