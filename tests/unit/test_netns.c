/* test_netns.c - when pam_berth moves a session into its container's
 * network namespace, and that it refuses (staying where it is) whenever
 * the pinned pid is not the container's; and the pin it shares with join
 * mode (pin.h). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../lib/testlib.h"

#include "berth/netns.h"
#include "berth/pin.h"
#include "berth/util.h"
#include "../../lib/session-internal.h"

#define FAKE_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(applies)
{
  struct berth_config cfg = { .engine = { .socket = (char *) "/var/run/docker.sock" } };
  struct berth_container_conf c = { .network = (char *) "berth" };
  struct berth_box b = { .cfg = &cfg, .conf = &c };

  assert_true(berth_netns_applies(&b));
  c.network = (char *) "bridge";
  assert_true(berth_netns_applies(&b));
  c.network = (char *) "none"; /* loopback only: still the container's own */
  assert_true(berth_netns_applies(&b));
  c.network = (char *) "host";
  assert_false(berth_netns_applies(&b));
  assert_false(berth_netns_own_network("host"));
  assert_true(berth_netns_own_network(NULL));
  c.network = (char *) "berth";
  cfg.engine.socket = NULL; /* a remote engine, as the loader leaves engine.host = tcp:// */
  cfg.engine.tcp_host = (char *) "engine1.example";
  cfg.engine.tcp_port = 2376;
  assert_false(berth_netns_applies(&b));
  assert_false(berth_config_engine_local(&cfg));
  assert_false(berth_config_engine_local(NULL));
}

/* Each refusal leaves the calling thread in the namespace it was in. */
static void
refuse(struct berth_box *b, int status, const char *what)
{
  berth_error_t err = NULL;
  char before[64], after[64];

  assert_int_equal(berth_netns_name(0, before, sizeof(before), &err), 0);
  assert_int_equal(berth_netns_enter(b, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_CONTAINER);
  assert_int_equal(err->status, status);
  if (strstr(err->msg, what) == NULL)
    fail_msg("'%s' does not say '%s'", err->msg, what);
  assert_int_equal(berth_netns_name(0, after, sizeof(after), NULL), 0);
  assert_string_equal(before, after);
  berth_error_release(&err);
}

TEST(refusals)
{
  struct berth_box b = { .name = (char *) "berth-alice", .id = (char *) FAKE_ID };
  pid_t child;

  refuse(&b, ESRCH, "is unknown"); /* no pid from the inspect */
  b.init_pid = 1;
  refuse(&b, ESRCH, "is unknown"); /* never the host's init */
  /* a live process that is not in the container: a pid reused */
  b.init_pid = getpid();
  refuse(&b, ESRCH, "not in container 0123456789ab's cgroup");
  /* a short id cannot be checked against the cgroup */
  b.id = (char *) "0123456789ab";
  refuse(&b, EINVAL, "full id is unknown");
  /* a pid that is gone */
  b.id = (char *) FAKE_ID;
  child = fork();
  assert_true(child >= 0);
  if (child == 0)
    _exit(0);
  assert_int_equal(waitpid(child, NULL, 0), child);
  b.init_pid = child;
  refuse(&b, ESRCH, "pidfd_open");
}

/* The pin (netns here, join mode in join_target.c): alive while its
 * process lives and not once it has exited, even before it is reaped (the
 * pid still taken); the caller's kind and "gone" status for a process that
 * is not there. */
TEST(pin)
{
  struct berth_pin p;
  berth_error_t err = NULL;
  unsigned long long start = 0;
  char path[64], *stat = NULL;
  size_t len = 0;
  siginfo_t si;
  int go[2];
  pid_t child;

  berth_pin_init(&p);
  assert_int_equal(pipe(go), 0);
  child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    char c;
    close(go[1]);
    _exit(read(go[0], &c, 1) == 0 ? 0 : 1); /* EOF: the parent let go */
  }
  close(go[0]);
  assert_int_equal(berth_pin_open(&p, child, BERTH_E_JOIN, EAGAIN, &err), 0);
  assert_int_equal(p.pid, child);
  assert_true(p.pidfd >= 0 && p.procfd >= 0);
  assert_true(berth_pin_alive(&p));
  /* the pin's start time is the child's, read apart from the pin */
  snprintf(path, sizeof(path), "/proc/%ld/stat", (long) child);
  must(berth_read_file(path, 4096, &stat, &len, &err), &err);
  assert_int_equal(berth_proc_stat_parse(stat, NULL, &start), 0);
  free(stat);
  assert_true(start > 0);
  assert_true(start == p.start_time);
  close(go[1]); /* the child exits */
  assert_int_equal(waitid(P_PID, (id_t) child, &si, WEXITED | WNOWAIT), 0);
  assert_false(berth_pin_alive(&p));
  assert_int_equal(waitpid(child, NULL, 0), child);
  berth_pin_release(&p);
  assert_int_equal(p.pidfd, -1);
  assert_int_equal(p.procfd, -1);

  assert_int_equal(berth_pin_open(&p, child, BERTH_E_JOIN, EAGAIN, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_JOIN);
  assert_int_equal(err->status, EAGAIN);
  berth_error_release(&err);
  berth_pin_release(&p);
}
