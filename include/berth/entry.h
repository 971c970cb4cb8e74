/* entry.h - putting one session into the container, behind one interface
 * with one implementation per entry mode (config `entry`):
 *
 *   berth_entry_prepare()  root side, before the permanent privilege drop:
 *                          whatever the mode can only get as root (exec: the
 *                          engine connections for the start, and a spare one
 *                          for the retry after an out-of-memory restart).
 *   berth_entry_run()      user side, after the drop: start the command,
 *                          proxy the session's stdio, return its status.
 *   berth_entry_free()     closes what prepare kept and run did not use.
 *
 * Exec mode (entry_exec.c) runs the command with the engine's exec API.
 * Join mode is the second implementation (refused at config load until it
 * lands): a struct berth_entry_mode in its own file, listed in entry.c's
 * table.  Its prepare must open, as root, everything its run needs (after
 * the drop nothing root-owned can be opened, and the engine connection is
 * pinned); its run must honour struct berth_exec_req as exec mode does
 * (argv, env, workdir, tty), proxy fds 0-2 with proxy.h, catch signals with
 * signals.h, restore the terminal on every path, and return the status as
 * berth_exit_status() maps it (or -1 with err, BERTH_E_EXEC when nothing was
 * started); can_rerun says whether a second run is possible. */
#ifndef BERTH_ENTRY_H
#define BERTH_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include "berth/boxdef.h"
#include "berth/conn.h"
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
  char **argv; /* command inside the container */
  char **env;  /* "KEY=VALUE", already whitelisted */
  const char *workdir;
  bool tty; /* allocate a TTY (stdin is a terminal) */
};

/* true when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or
 * code points beyond U+10FFFF).  The engine API is JSON: anything else cannot
 * reach the container byte-exact, so callers refuse it. */
bool berth_utf8_valid(const char *s, size_t len);

/* One entry mode.  state is the mode's own, from prepare to release. */
struct berth_entry_mode {
  const char *name; /* as in the config */
  int (*prepare)(struct berth_engine *e, const struct berth_box *b, void **state,
                 berth_error_t *err);
  int (*run)(struct berth_engine *e, const struct berth_box *b, void *state,
             const struct berth_exec_req *r, berth_error_t *err);
  bool (*can_rerun)(const void *state);
  void (*release)(void *state);
  /* Root side without the engine (NULL: the mode has none): 0 prepared,
   * 1 not possible now (take the engine path), -1 with err. */
  int (*prepare_warm)(struct berth_box *b, void **state, berth_error_t *err);
};

struct berth_entry_prep; /* what prepare kept for run */

/* The entry mode a berthed user gets under cfg ("exec" or "join") and why,
 * in words for `berthctl status` (static strings). */
const char *berth_entry_chosen(const struct berth_config *cfg, const char **why);

/* Root side: pick the mode b->cfg->entry names and prepare it over e (the
 * control connection, pinned) for b.  Errors: the mode's (exec: the engine
 * unreachable), BERTH_E_INTERNAL for a mode not built in. */
int berth_entry_prepare(struct berth_engine *e, const struct berth_box *b,
                        struct berth_entry_prep **out, berth_error_t *err);
/* Root side, with no engine at all (join mode's warm path, warm.h): for a
 * session pam_berth opened (its session record's owner is an ancestor of
 * ours).  0 and *out; 1 when the mode has no warm path, not in such a session
 * or the recorded state is missing or stale (take berth_entry_prepare's
 * path); -1 with err (a refusal).  Sets b->id and b->shell from the record. */
int berth_entry_prepare_warm(struct berth_box *b, struct berth_entry_prep **out,
                             berth_error_t *err);
/* User side: run r.  Returns the command's exit status (0-255) or -1 with err
 * (kind BERTH_E_EXEC when the engine could not start the process). */
int berth_entry_run(struct berth_entry_prep *en, const struct berth_exec_req *r,
                    berth_error_t *err);
/* What prepare kept allows one more run (exec: the spare connection). */
bool berth_entry_can_rerun(const struct berth_entry_prep *en);
void berth_entry_free(struct berth_entry_prep *en);

/* Exec mode's run on one connection: r in b's container over e (control
 * connection) and hijack (a connection for the start, consumed), proxying
 * fds 0/1/2.  Returns the exit status as berth_exit_status() maps it, or -1
 * with err when the exec could not be set up (kind BERTH_E_EXEC when the
 * engine could not start the process).
 * For its duration it catches SIGHUP SIGINT SIGQUIT SIGTERM SIGWINCH and
 * ignores SIGPIPE (signals.h; previous dispositions restored): SIGINT/SIGQUIT
 * are forwarded to the command, SIGTERM/SIGHUP end it (SIGKILL after a
 * grace), and the terminal is restored before returning on every path. */
int berth_entry_exec(struct berth_engine *e, struct berth_conn *hijack, const struct berth_box *b,
                     const struct berth_exec_req *r, berth_error_t *err);

#endif
