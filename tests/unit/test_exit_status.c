/* test_exit_status.c - the session's exit status from what the engine and
 * the proxy saw, one row per case. */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "berth/exit_status.h"
#include "../lib/testlib.h"

TEST(test_table)
{
  static const struct {
    const char *what;
    struct berth_exit_facts f;
    int status;
    bool enoent;
  } cases[] = {
    { "exit 0", { .code = 0, .pid = 42 }, 0, false },
    { "exit 3", { .code = 3, .pid = 42 }, 3, false },
    { "died of SIGKILL (engine says 137)", { .code = 137, .pid = 42 }, 137, false },
    { "died of SIGTERM (engine says 143)", { .code = 143, .pid = 42 }, 143, false },
    { "died of SIGPIPE (`cmd | head`)", { .code = 141, .pid = 42 }, 141, false },
    { "shell: cannot execute", { .code = 126, .pid = 42 }, 126, false },
    { "shell: not found", { .code = 127, .pid = 42 }, 127, false },
    { "engine could not start it: not found",
      { .code = 127, .pid = 0, .start_failed = true },
      BERTH_EXIT_NOT_STARTED,
      true },
    { "engine could not start it: permission",
      { .code = 126, .pid = 0, .start_failed = true },
      BERTH_EXIT_NOT_STARTED,
      false },
    { "held output, but it ran (has a Pid)",
      { .code = 127, .pid = 42, .start_failed = true },
      127,
      false },
    { "held output, other code", { .code = 1, .pid = 0, .start_failed = true }, 1, false },
    { "detached, ended by our SIGHUP (engine says 126)",
      { .code = 126, .pid = 42, .forced = SIGHUP },
      128 + SIGHUP,
      false },
    { "hung up, needed SIGKILL", { .code = 0, .pid = 42, .forced = SIGKILL }, 137, false },
    { "still running after SIGKILL", { .running = true, .code = 0, .pid = 42 }, 137, false },
    { "still running, forced SIGHUP wins",
      { .running = true, .pid = 42, .forced = SIGHUP },
      129,
      false },
    { "code out of range", { .code = 300, .pid = 42 }, 255, false },
    { "negative code", { .code = -1, .pid = 42 }, 255, false },
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    bool enoent = false;
    int got = berth_exit_status(&cases[i].f, &enoent);
    if (got != cases[i].status || enoent != cases[i].enoent)
      fail_msg("%s: status %d (want %d), enoent %d", cases[i].what, got, cases[i].status,
               (int) enoent);
  }
}
