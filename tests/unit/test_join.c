/* test_join.c - join mode's pure parts: what the stored spec gives an exec'd
 * process (and what is refused), the seccomp filter check, the bounding-set
 * refusal, and the request the dropped parent sends to the joining child. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>

#include "berth/util.h"
#include "../../lib/join-internal.h"
#include "../lib/testlib.h"

#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

static struct berth_user user = { .name = (char *) "alice", .uid = 1000, .gid = 1000 };
static struct berth_box box = { .user = &user, .name = (char *) "berth-alice" };

static const char *const running = "{\"State\": {\"Running\": true, \"Pid\": 4242}, "
                                   "\"Config\": {\"Hostname\": \"alice-box\", "
                                   "\"Env\": [\"PATH=/bin\", \"TZ=UTC\"], \"WorkingDir\": \"\"}, "
                                   "\"HostConfig\": {%s}}";

static int
parse(const char *hostconfig, const char *state, struct berth_join_spec *s, pid_t *pid,
      berth_error_t *err)
{
  char buf[2048];
  cleanup_json json_t *j = NULL;

  snprintf(buf, sizeof(buf), running, hostconfig);
  j = json_loads(buf, 0, NULL);
  assert_non_null(j);
  if (state != NULL)
    json_object_set_new(j, "State", json_loads(state, 0, NULL));
  memset(s, 0, sizeof(*s));
  return berth_join_spec_from_inspect(&box, j, s, pid, err);
}

TEST(test_spec_fields)
{
  struct berth_join_spec s;
  berth_error_t err = NULL;
  pid_t pid = 0;

  assert_int_equal(parse("\"CapDrop\": [\"ALL\"], \"CapAdd\": [\"NET_BIND_SERVICE\"], "
                         "\"GroupAdd\": [\"27\", \"100\"], \"OomScoreAdj\": 300, "
                         "\"SecurityOpt\": [\"no-new-privileges\"], "
                         "\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1024, \"Hard\": 4096}]",
                         NULL, &s, &pid, &err),
                   0);
  assert_int_equal(pid, 4242);
  assert_true(s.caps_known);
  assert_true(s.cap_bnd == (1ULL << CAP_NET_BIND_SERVICE));
  assert_true(s.nnp);
  assert_int_equal(s.oom_score_adj, 300);
  assert_int_equal(s.n_groups, 3); /* the gid, then GroupAdd, as docker exec -u uid:gid */
  assert_int_equal(s.groups[0], 1000);
  assert_int_equal(s.groups[1], 27);
  assert_int_equal(s.groups[2], 100);
  assert_true(s.rlim_set == (1u << RLIMIT_NOFILE));
  assert_int_equal(s.rlim[RLIMIT_NOFILE].rlim_cur, 1024);
  assert_int_equal(s.rlim[RLIMIT_NOFILE].rlim_max, 4096);
  /* what the engine puts in front of an exec's Env */
  assert_string_equal(s.env[0], "HOSTNAME=alice-box");
  assert_string_equal(s.env[1], "PATH=/bin");
  assert_string_equal(s.env[2], "TZ=UTC");
  assert_null(s.env[3]);
  assert_null(s.workdir);
  assert_null(s.apparmor);
  berth_join_spec_release(&s);
}

TEST(test_spec_refusals)
{
  static const struct {
    const char *hostconfig, *state, *why;
  } cases[] = {
    { "\"Privileged\": true", NULL, "privileged" },
    { "\"GroupAdd\": [\"wheel\"]", NULL, "not numeric" },
    { "\"CapDrop\": [\"ALL\"], \"CapAdd\": [\"NO_SUCH_CAP\"]", NULL, "unknown" },
    { "\"Ulimits\": [{\"Name\": \"bogus\", \"Soft\": 1, \"Hard\": 1}]", NULL, "not understood" },
    { "", "{\"Running\": true, \"Paused\": true, \"Pid\": 4242}", "paused" },
    { "", "{\"Running\": true, \"Restarting\": true, \"Pid\": 4242}", "restarting" },
    { "", "{\"Running\": true, \"Status\": \"paused\", \"Pid\": 4242}", "paused" },
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct berth_join_spec s;
    berth_error_t err = NULL;
    pid_t pid = 0;

    assert_int_equal(parse(cases[i].hostconfig, cases[i].state, &s, &pid, &err), -1);
    assert_int_equal(err->kind, BERTH_E_JOIN);
    if (strstr(err->msg, cases[i].why) == NULL)
      fail_msg("case %zu: \"%s\" does not say %s", i, err->msg, cases[i].why);
    berth_error_release(&err);
    berth_join_spec_release(&s);
  }
}

TEST(test_not_running)
{
  struct berth_join_spec s;
  berth_error_t err = NULL;
  pid_t pid = 0;

  assert_int_equal(parse("", "{\"Running\": false, \"Pid\": 0}", &s, &pid, &err), -1);
  assert_int_equal(err->kind, BERTH_E_CONTAINER);
  berth_error_release(&err);
  /* pid 1 is the host's init, never a container's init as the host sees it */
  assert_int_equal(parse("", "{\"Running\": true, \"Pid\": 1}", &s, &pid, &err), -1);
  berth_error_release(&err);
  berth_join_spec_release(&s);
}

TEST(test_ptrace_refused)
{
  struct berth_join_spec s = { .cap_bnd = (1ULL << CAP_SYS_PTRACE) | (1ULL << CAP_CHOWN) };
  berth_error_t err = NULL;

  assert_int_equal(berth_join_check_caps(&s, false, &err), -1);
  assert_int_equal(err->kind, BERTH_E_JOIN);
  assert_non_null(strstr(err->msg, "CAP_SYS_PTRACE"));
  berth_error_release(&err);
  assert_int_equal(berth_join_check_caps(&s, true, &err), 0); /* its own user namespace */
  s.cap_bnd = 1ULL << CAP_CHOWN;
  assert_int_equal(berth_join_check_caps(&s, false, &err), 0);
  assert_int_equal(berth_join_cap_number("CAP_SYS_PTRACE"), CAP_SYS_PTRACE);
  assert_int_equal(berth_join_cap_number("sys_admin"), CAP_SYS_ADMIN);
  assert_int_equal(berth_join_cap_number("bogus"), -1);
}

TEST(test_filter_check)
{
  struct sock_filter allow[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_filter notify[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_filter computed[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
    BPF_STMT(BPF_RET | BPF_A, 0),
  };
  berth_error_t err = NULL;

  assert_int_equal(berth_join_filter_check(allow, 4, &err), 0);
  assert_int_equal(berth_join_filter_check(notify, 4, &err), -1);
  assert_non_null(strstr(err->msg, "user notification"));
  berth_error_release(&err);
  assert_int_equal(berth_join_filter_check(computed, 2, &err), -1);
  berth_error_release(&err);
}

/* The warm state's copy of the filter: what is encoded comes back byte for
 * byte; what a hand (root's) could have spoiled is malformed, not used. */
TEST(test_filter_record)
{
  struct sock_filter prog[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003eU, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 38),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct berth_join_filter f = { .insns = prog, .len = 5, .flags = SECCOMP_FILTER_FLAG_LOG };
  struct berth_join_filter back = { 0 }, none = { 0 };
  berth_error_t err = NULL;
  json_t *v = berth_join_filter_encode(&f, &err);
  static const char *const bad[] = {
    "{\"len\": 1, \"flags\": 0, \"bpf\": \"00060000\"}",                   /* short */
    "{\"len\": 1, \"flags\": 0, \"bpf\": \"000600007fff000000\"}",         /* long */
    "{\"len\": 1, \"flags\": 0, \"bpf\": \"00060000zfff0000\"}",           /* not hex */
    "{\"len\": 1, \"flags\": 0, \"bpf\": \"00060000 7ff0000\"}",           /* a space */
    "{\"len\": 1, \"flags\": 0, \"bpf\": \"000600007FFF0000\"}",           /* upper case */
    "{\"len\": 1, \"flags\": 4, \"bpf\": \"000600007fff0000\"}",           /* NEW_LISTENER */
    "{\"len\": -1, \"flags\": 0, \"bpf\": \"\"}",                          /* negative */
    "{\"len\": 4097, \"flags\": 0, \"bpf\": \"\"}",                        /* > BPF_MAXINSNS */
    "{\"len\": \"1\", \"flags\": 0, \"bpf\": \"000600007fff0000\"}",       /* a string */
    "{\"len\": 1, \"bpf\": \"000600007fff0000\"}",                         /* no flags */
    "{\"len\": 1, \"flags\": 0, \"bpf\": \"000600007fff0000\", \"x\": 1}", /* extra */
    "[1]",
  };

  assert_non_null(v);
  assert_string_equal(json_string_value(json_object_get(v, "bpf")),
                      "0020000000000004"   /* ld [4] */
                      "00150100c000003e"   /* jeq AUDIT_ARCH_X86_64, 1, 0 */
                      "0006000080000000"   /* ret KILL_PROCESS */
                      "0006000000050026"   /* ret ERRNO|38 */
                      "000600007fff0000"); /* ret ALLOW */
  must(berth_join_filter_decode(v, &back, &err), &err);
  assert_int_equal(back.len, 5);
  assert_int_equal(back.flags, SECCOMP_FILTER_FLAG_LOG);
  assert_memory_equal(back.insns, prog, sizeof(prog));
  free(back.insns);
  json_decref(v);

  /* no filter (seccomp=unconfined) is a record too: length 0 */
  v = berth_join_filter_encode(&none, &err);
  assert_non_null(v);
  back.len = 7;
  must(berth_join_filter_decode(v, &back, &err), &err);
  assert_int_equal(back.len, 0);
  assert_null(back.insns);
  json_decref(v);

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_t *b = json_loads(bad[i], 0, NULL);
    assert_non_null(b);
    assert_int_equal(berth_join_filter_decode(b, &back, &err), 1);
    assert_null(back.insns);
    json_decref(b);
  }

  /* a sound record of a filter the check refuses: decoded, then refused
   * where the join takes it */
  v = json_loads("{\"len\": 1, \"flags\": 0, \"bpf\": \"000600007fc00000\"}", 0, NULL);
  must(berth_join_filter_decode(v, &back, &err), &err);
  json_decref(v);
  {
    struct berth_join_target t;
    berth_join_target_init(&t);
    must_fail(berth_join_filter_take(&t, &back, &err), &err, BERTH_E_JOIN, EPERM,
              "user notification");
    assert_null(back.insns);
    assert_int_equal(t.filter.len, 1);
    berth_join_target_release(&t);
  }
}

TEST(test_request_roundtrip)
{
  char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "echo \"\"", (char *) "", NULL };
  char *env[] = { (char *) "HOME=/home/alice", (char *) "EMPTY=", NULL };
  struct berth_join_req r = { .argv = argv, .env = env, .workdir = "/home/alice" }, back;
  berth_error_t err = NULL;
  size_t len;
  char *buf = berth_join_req_encode(&r, &len, &err);

  assert_non_null(buf);
  assert_int_equal(berth_join_req_decode(buf, len, &back), 0);
  for (size_t i = 0; argv[i]; i++)
    assert_string_equal(back.argv[i], argv[i]); /* empty arguments survive */
  assert_null(back.argv[4]);
  assert_string_equal(back.env[0], env[0]);
  assert_string_equal(back.env[1], env[1]);
  assert_null(back.env[2]);
  assert_string_equal(back.workdir, "/home/alice");
  free(back.argv);
  free(back.env);
  /* every truncation is refused, never read past */
  for (size_t n = 0; n < len; n++) {
    char *cut = malloc(n ? n : 1);
    memcpy(cut, buf, n);
    assert_int_equal(berth_join_req_decode(cut, n, &back), -1);
    free(cut);
  }
  free(buf);
  r.workdir = NULL;
  buf = berth_join_req_encode(&r, &len, &err);
  assert_int_equal(berth_join_req_decode(buf, len, &back), 0);
  assert_null(back.workdir);
  free(back.argv);
  free(back.env);
  free(buf);
}

/* The children's first words, as berth_join_spawn waits for them: the
 * first child's PID and the second's READY share one socket and may come
 * in either order (a first child descheduled right after its fork lets
 * the second speak first; before this was accepted, such a join failed). */
static int
started_after(const struct berth_join_msg *msgs, size_t n, pid_t *second, berth_error_t *err)
{
  int sv[2];
  int r;

  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(write(sv[1], &msgs[i], sizeof(msgs[i])), (ssize_t) sizeof(msgs[i]));
  close(sv[1]);
  r = berth_join_wait_started(sv[0], 1000, second, err);
  close(sv[0]);
  return r;
}

TEST(test_started_either_order)
{
  static const struct {
    struct berth_join_msg msgs[2];
    size_t n;
    pid_t second; /* 0: refused */
    const char *refusal;
  } cases[] = {
    { { { BERTH_JOIN_MSG_PID, 4242, "" }, { BERTH_JOIN_MSG_READY, 0, "" } }, 2, 4242, NULL },
    { { { BERTH_JOIN_MSG_READY, 0, "" }, { BERTH_JOIN_MSG_PID, 4243, "" } }, 2, 4243, NULL },
    { { { BERTH_JOIN_MSG_READY, 0, "" }, { BERTH_JOIN_MSG_READY, 0, "" } }, 2, 0, "misbehaved" },
    { { { BERTH_JOIN_MSG_PID, 0, "" }, { BERTH_JOIN_MSG_READY, 0, "" } }, 2, 0, "misbehaved" },
    { { { BERTH_JOIN_MSG_PID, 4244, "" }, { BERTH_JOIN_MSG_ERR, EPERM, "setting no_new_privs" } },
      2,
      0,
      "setting no_new_privs" },
    { { { BERTH_JOIN_MSG_PID, 4245, "" } }, 1, 0, "without a word" },
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    berth_error_t err = NULL;
    pid_t second = 0;
    int r = started_after(cases[i].msgs, cases[i].n, &second, &err);
    if (cases[i].refusal == NULL) {
      must(r, &err);
      assert_int_equal(second, cases[i].second);
    } else {
      must_fail(r, &err, BERTH_E_JOIN, 0, cases[i].refusal);
    }
  }
}
