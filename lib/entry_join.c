/* entry_join.c - join mode (entry.h, docs/security.md "Join mode"): the
 * command runs in the container's namespaces and cgroups with the
 * confinement its stored spec gives an exec'd process, without the engine
 * in the data path.
 *
 * prepare, as root: inspect the container (one request), pin its init,
 * read its seccomp filter, fork the joining child (join_child.c), which
 * stops, joined but still root with a reduced bounding set, waiting for the
 * request.  run, as the user: send argv/env/workdir, wait on the child's
 * pidfd, forward signals, map the status.  Non-tty sessions keep sshd's
 * fds 0-2 straight through. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/exit_status.h"
#include "berth/tty.h"
#include "berth/join_pty.h"
#include "berth/log.h"
#include "berth/signals.h"
#include "berth/util.h"
#include "berth/warm.h"
#include "entry_internal.h"
#include "join-internal.h"

/* After SIGHUP/SIGTERM, how long the command gets before SIGKILL. */
#define GRACE_MS 2000

struct join_state {
  pid_t child;
  int pidfd;
  int sock;
  bool ran;
};

/* A label the host cannot apply is refused here, before anything forks
 * (the child fails closed as well if the write does not take). */
static int
check_lsm(const struct berth_join_spec *s, berth_error_t *err)
{
  char buf[8] = "";
  cleanup_free char *on = NULL;
  size_t n = 0;
  berth_error_t ign = NULL;

  if (s->apparmor != NULL && strcmp(s->apparmor, "unconfined") != 0) {
    if (berth_read_file("/sys/module/apparmor/parameters/enabled", sizeof(buf), &on, &n, &ign) < 0
        || n == 0 || on[0] != 'Y') {
      berth_error_release(&ign);
      return berth_error_make(err, BERTH_E_JOIN, EOPNOTSUPP,
                              "the container has the AppArmor profile %s and AppArmor is not "
                              "enabled on this host",
                              s->apparmor);
    }
  }
  if (s->selinux != NULL && access("/sys/fs/selinux/enforce", F_OK) != 0)
    return berth_error_make(err, BERTH_E_JOIN, EOPNOTSUPP,
                            "the container has the SELinux label %s and SELinux is not enabled "
                            "on this host",
                            s->selinux);
  return 0;
}

static void
join_release(void *state)
{
  struct join_state *st = state;

  if (st == NULL)
    return;
  if (!st->ran && st->child > 0) {
    int status;
    kill(st->child, SIGKILL);
    while (waitpid(st->child, &status, 0) < 0 && errno == EINTR)
      ;
  }
  if (st->pidfd >= 0)
    close(st->pidfd);
  if (st->sock >= 0)
    close(st->sock);
  free(st);
}

/* From an inspect (the engine's, or the warm state's) to the joining child
 * waiting; expect_start: the recorded start time, 0 for none; rec: the warm
 * state's copy of the init's filter, NULL to read it. */
static int
join_from_info(const struct berth_box *b, json_t *info, unsigned long long expect_start,
               struct berth_join_filter *rec, void **state, berth_error_t *err)
{
  struct berth_join_target t;
  struct join_state *st;
  pid_t pid = 0;

  berth_join_target_init(&t);
  if (berth_join_spec_from_inspect(b, info, &t.spec, &pid, err) < 0 || check_lsm(&t.spec, err) < 0
      || berth_join_pin(&t, pid, b->id ? b->id : b->name, expect_start, err) < 0
      || (rec ? berth_join_filter_take(&t, rec, err) : berth_join_read_filter(&t, err)) < 0)
    goto fail;
  st = berth_malloc0(sizeof(*st), err);
  if (st == NULL)
    goto fail;
  st->pidfd = st->sock = -1;
  if (berth_join_spawn(&t, b, &st->child, &st->sock, err) < 0) {
    free(st);
    goto fail;
  }
  berth_join_target_release(&t);
  /* our child, not reaped until run: the pid cannot be reused */
  st->pidfd = (int) syscall(SYS_pidfd_open, st->child, 0);
  if (st->pidfd < 0) {
    berth_error_errno(err, BERTH_E_INTERNAL, errno, "pidfd_open");
    join_release(st);
    return -1;
  }
  *state = st;
  return 0;
fail:
  berth_join_target_release(&t);
  return berth_error_wrap(err, "joining container %s", b->name);
}

static int
join_prepare(struct berth_engine *e, const struct berth_box *b, void **state, berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  int r;

  *state = NULL;
  r = berth_engine_container_inspect(e, b->id ? b->id : b->name, &info, err);
  if (r == 1)
    return berth_error_make(err, BERTH_E_CONTAINER, ENOENT, "container %s vanished", b->name);
  if (r < 0)
    return -1;
  return join_from_info(b, info, 0, NULL, state, err);
}

/* No engine: pam_berth's record, checked against /proc by the pin.  A
 * record that no longer matches (the init gone, another process at its
 * pid, another start time) is forgotten and the engine path taken. */
static int
join_prepare_warm(struct berth_box *b, void **state, berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  unsigned long long start = 0;
  struct berth_join_filter f = { 0 };
  bool has_filter = false;
  int r;

  *state = NULL;
  r = berth_warm_load(b, &info, &start, &f, &has_filter, err);
  if (r == 0 && start == 0)
    r = 1;
  /* the recorded filter is the init's as long as the pin finds the same
   * pid with the same start time (join_from_info) */
  if (r == 0)
    r = join_from_info(b, info, start, has_filter ? &f : NULL, state, err);
  free(f.insns);
  if (r >= 0)
    return r;
  if ((*err)->kind == BERTH_E_JOIN && ((*err)->status == EAGAIN || (*err)->status == ESTALE)) {
    berth_error_release(err);
    berth_warm_forget(b);
    return 1;
  }
  return -1;
}

/* The command leads its own session (join_child.c): what it started gets
 * the signal too, as a terminal's hangup delivers it.  Our child, not yet
 * reaped: its pid, and so its group's id, cannot be reused. */
static void
signal_child(const struct join_state *st, int sig)
{
  if (getpgid(st->child) != st->child || kill(-st->child, sig) < 0)
    berth_pidfd_signal(st->pidfd, sig);
}

/* Until the child exits: SIGHUP/SIGTERM end it (SIGKILL after a grace),
 * SIGINT/SIGQUIT are forwarded.  The command writes to sshd's fds itself,
 * so a command that prints nothing would not notice sshd closing them when
 * the connection drops: a reader gone from fd 1 or 2 (POLLERR/POLLHUP with
 * no events asked) ends it with the SIGPIPE a write there would bring. */
static int
wait_child(struct join_state *st, int sig_fd, int *forced, berth_error_t *err)
{
  struct pollfd p[4] = { { .fd = st->pidfd, .events = POLLIN },
                         { .fd = sig_fd, .events = POLLIN },
                         { .fd = STDOUT_FILENO },
                         { .fd = STDERR_FILENO } };
  int64_t kill_at = 0;
  siginfo_t si;

  for (;;) {
    int timeout = kill_at ? (int) (kill_at - berth_now_ms()) : -1;
    int r = poll(p, 4, kill_at && timeout < 0 ? 0 : timeout);
    int sig = 0;
    if (r < 0 && errno != EINTR)
      return berth_error_errno(err, BERTH_E_INTERNAL, errno, "poll");
    if (kill_at && berth_now_ms() >= kill_at) {
      signal_child(st, SIGKILL);
      *forced = SIGKILL;
      kill_at = 0;
    }
    for (int i = 2; r > 0 && i < 4; i++) {
      if (p[i].revents & (POLLERR | POLLHUP)) {
        p[i].fd = -1; /* once: it stays so */
        sig = SIGPIPE;
      }
    }
    if (r > 0 && (p[1].revents & POLLIN)) {
      unsigned char got;
      while (read(sig_fd, &got, 1) == 1) {
        if (got == SIGINT || got == SIGQUIT)
          signal_child(st, got);
        else if (got == SIGHUP || got == SIGTERM)
          sig = got;
      }
    }
    if (sig != 0 && *forced == 0) {
      signal_child(st, sig);
      *forced = sig;
      kill_at = berth_now_ms() + GRACE_MS;
    }
    if (r > 0 && (p[0].revents & POLLIN))
      break;
  }
  memset(&si, 0, sizeof(si));
  while (waitid(P_PID, (id_t) st->child, &si, WEXITED) < 0)
    if (errno != EINTR)
      return berth_error_errno(err, BERTH_E_INTERNAL, errno, "waitid");
  st->ran = true;
  return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

/* A terminal session: the child makes the container's own pty and sends
 * its master; we relay between sshd's pty (fds 0/1) and it until the child
 * ends (join_pty.h: it catches the signals and restores the terminal). */
static int
join_run_tty(struct join_state *st, const struct berth_box *b, struct berth_join_req *req,
             berth_error_t *err)
{
  struct berth_exit_facts f = { 0 };
  cleanup_close int master = -1;
  unsigned rows = 0, cols = 0;
  bool enoent = false;
  int wst, code;

  req->tty = true;
  if (berth_tty_size(STDIN_FILENO, &rows, &cols) && rows <= UINT16_MAX && cols <= UINT16_MAX) {
    req->rows = (unsigned short) rows;
    req->cols = (unsigned short) cols;
  }
  if (berth_join_send(st->sock, req, &master, err) < 0) {
    int kind = (*err)->kind;
    (void) wait_child(st, -1, &f.forced, NULL);
    return kind == BERTH_E_EXEC ? -1 : berth_error_wrap(err, "in container %s", b->name);
  }
  close(st->sock);
  st->sock = -1;
  if (berth_join_relay(master, st->pidfd, &wst, err) < 0)
    return -1;
  st->ran = true;
  f.code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
  f.pid = st->child;
  code = berth_exit_status(&f, &enoent);
  return code < 0 ? 255 : code;
}

static int
join_run(struct berth_engine *e, const struct berth_box *b, void *state,
         const struct berth_exec_req *r, berth_error_t *err)
{
  struct join_state *st = state;
  struct berth_join_req req = { .argv = r->argv, .env = r->env, .workdir = r->workdir };
  struct berth_exit_facts f = { 0 };
  struct berth_signals sigs;
  bool enoent = false;
  int code;

  (void) e;
  if (st == NULL || st->ran || st->sock < 0)
    return berth_error_make(err, BERTH_E_INTERNAL, ECHILD, "no joining process left");
  if (r->tty)
    return join_run_tty(st, b, &req, err);
  if (berth_signals_catch(&sigs, err) < 0)
    return -1;
  if (berth_join_send(st->sock, &req, NULL, err) < 0) {
    int kind = (*err)->kind;
    code = wait_child(st, berth_signals_fd(&sigs), &f.forced, NULL);
    berth_signals_restore(&sigs);
    (void) code;
    return kind == BERTH_E_EXEC ? -1 : berth_error_wrap(err, "in container %s", b->name);
  }
  close(st->sock);
  st->sock = -1;
  code = wait_child(st, berth_signals_fd(&sigs), &f.forced, err);
  berth_signals_restore(&sigs);
  if (code < 0)
    return -1;
  f.code = code;
  f.pid = st->child;
  if (f.forced != 0 && code != 128 + f.forced && code < 128)
    f.forced = 0; /* it ended on its own before the signal took */
  code = berth_exit_status(&f, &enoent);
  return code < 0 ? 255 : code;
}

static bool
join_can_rerun(const void *state)
{
  (void) state;
  return false;
}

const struct berth_entry_mode berth_entry_mode_join = {
  .name = "join",
  .prepare = join_prepare,
  .run = join_run,
  .can_rerun = join_can_rerun,
  .release = join_release,
  .prepare_warm = join_prepare_warm,
};
