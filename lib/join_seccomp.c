/* join_seccomp.c - the container's own seccomp filter (JOIN.md step 10):
 * read from its init with PTRACE_SECCOMP_GET_FILTER, which needs
 * CAP_SYS_ADMIN, an unconfined caller and a tracee stopped by us: seize,
 * interrupt, read, detach, a moment.  Index 0 is the newest filter; the
 * oldest is the runtime's, the one an exec'd process gets.  A filter that
 * hands syscalls to a supervisor (SECCOMP_RET_USER_NOTIF) or returns a
 * value computed at run time is refused: its copy would not be equal. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/util.h"
#include "join-internal.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef PTRACE_SECCOMP_GET_METADATA
#define PTRACE_SECCOMP_GET_METADATA 0x420d
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif

/* How long the init may take to stop for us. */
#define STOP_WAIT_MS 1000

int
berth_join_filter_check(const struct sock_filter *insns, size_t len, berth_error_t *err)
{
  for (size_t i = 0; i < len; i++) {
    if (BPF_CLASS(insns[i].code) != BPF_RET)
      continue;
    if (BPF_RVAL(insns[i].code) != BPF_K)
      return berth_error_make(err, BERTH_E_JOIN, EPERM,
                              "the container's seccomp filter returns a computed action");
    if ((insns[i].k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF)
      return berth_error_make(err, BERTH_E_JOIN, EPERM,
                              "the container's seccomp filter hands syscalls to a supervisor "
                              "(user notification)");
  }
  return 0;
}

/* Wait for the seized init to report its interrupt stop. */
static int
wait_stop(pid_t pid, berth_error_t *err)
{
  int64_t deadline = berth_now_ms() + STOP_WAIT_MS;
  int st;

  for (;;) {
    pid_t r = waitpid(pid, &st, __WALL | WNOHANG);
    if (r == pid && WIFSTOPPED(st))
      return 0;
    if (r == pid)
      return berth_error_make(err, BERTH_E_JOIN, EAGAIN, "the container's init exited");
    if (r < 0 && errno != EINTR)
      return berth_error_errno(err, BERTH_E_JOIN, errno, "waiting for the container's init");
    if (berth_now_ms() >= deadline)
      return berth_error_make(err, BERTH_E_JOIN, ETIMEDOUT,
                              "the container's init did not stop to have its filter read");
    poll(NULL, 0, 1);
  }
}

static int
read_filters(struct berth_join_target *t, berth_error_t *err)
{
  struct berth_join_filter *f = &t->filter;
  struct __ptrace_seccomp_metadata md = { 0 };
  unsigned long oldest = 0;
  long n;

  /* count them: GET_FILTER answers ENOENT past the last one, EINVAL
   * (or EMEDIUMTYPE) when the process has no filter at all */
  for (unsigned long i = 0;; i++) {
    n = ptrace(PTRACE_SECCOMP_GET_FILTER, t->pin.pid, (void *) i, NULL);
    if (n >= 0) {
      oldest = i;
      continue;
    }
    if (i > 0 && errno == ENOENT)
      break;
    if (i == 0 && (errno == EINVAL || errno == EMEDIUMTYPE))
      return 0; /* seccomp=unconfined */
    return berth_error_errno(err, BERTH_E_JOIN, errno, "reading the container's seccomp filter");
  }
  n = ptrace(PTRACE_SECCOMP_GET_FILTER, t->pin.pid, (void *) oldest, NULL);
  if (n <= 0 || n > BPF_MAXINSNS)
    return berth_error_errno(err, BERTH_E_JOIN, n <= 0 ? errno : E2BIG,
                             "reading the container's seccomp filter");
  f->insns = calloc((size_t) n, sizeof(struct sock_filter));
  if (f->insns == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  if (ptrace(PTRACE_SECCOMP_GET_FILTER, t->pin.pid, (void *) oldest, f->insns) != n)
    return berth_error_errno(err, BERTH_E_JOIN, errno, "reading the container's seccomp filter");
  f->len = (unsigned short) n;
  md.filter_off = oldest;
  if (ptrace(PTRACE_SECCOMP_GET_METADATA, t->pin.pid, (void *) sizeof(md), &md) >= 0
      && (md.flags & SECCOMP_FILTER_FLAG_LOG))
    f->flags |= SECCOMP_FILTER_FLAG_LOG;
  return berth_join_filter_check(f->insns, f->len, err);
}

/* Whether pid has a tracer now: the helper of another session joining the
 * same container at the same moment (a login storm of one user). */
static bool
traced(pid_t pid)
{
  cleanup_free char *status = NULL;
  char path[64];
  size_t len = 0;
  const char *f;

  snprintf(path, sizeof(path), "/proc/%ld/status", (long) pid);
  if (berth_read_file(path, 65536, &status, &len, NULL) < 0)
    return false;
  f = berth_join_status_field(status, "TracerPid");
  return f != NULL && strtol(f, NULL, 10) != 0;
}

/* PTRACE_SEIZE, waiting (up to 3 s) while another session's helper holds
 * the init: only one tracer at a time, and each holds it for microseconds. */
static int
seize(pid_t pid)
{
  for (int i = 0;; i++) {
    if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0)
      return 0;
    int e = errno;
    /* the other tracer may have let go between its hold and our look:
     * the first 100 ms retry regardless */
    if (e != EPERM || i >= 600 || (i >= 20 && !traced(pid))) {
      errno = e;
      return -1;
    }
    usleep(5000);
  }
}

/* In a short-lived helper process: should anything go wrong between seize
 * and detach, its exit detaches the init (exit_ptrace), so it is never left
 * stopped.  The helper writes "len flags insns" or an error text. */
static _Noreturn void
filter_helper(struct berth_join_target *t, int out)
{
  berth_error_t err = NULL;
  int ret;

  if (seize(t->pin.pid) < 0) {
    ret = berth_error_errno(&err, BERTH_E_JOIN, errno, "attaching to the container's init");
  } else if (ptrace(PTRACE_INTERRUPT, t->pin.pid, NULL, NULL) < 0) {
    ret = berth_error_errno(&err, BERTH_E_JOIN, errno, "stopping the container's init");
  } else {
    ret = wait_stop(t->pin.pid, &err);
    if (ret == 0)
      ret = read_filters(t, &err);
    ptrace(PTRACE_DETACH, t->pin.pid, NULL, NULL);
  }
  if (ret < 0) {
    int32_t hdr[3] = { -1, err->status, (int32_t) err->kind };
    if (berth_write_all(out, hdr, sizeof(hdr), NULL) == 0)
      berth_write_all(out, err->msg, strlen(err->msg), NULL);
    _exit(1);
  }
  int32_t hdr[3] = { t->filter.len, (int32_t) t->filter.flags, 0 };
  if (berth_write_all(out, hdr, sizeof(hdr), NULL) < 0
      || berth_write_all(out, t->filter.insns, t->filter.len * sizeof(struct sock_filter), NULL)
             < 0)
    _exit(1);
  _exit(0);
}

int
berth_join_read_filter(struct berth_join_target *t, berth_error_t *err)
{
  cleanup_close int rd = -1;
  int out = -1, st;
  int32_t hdr[3];
  pid_t child = berth_join_fork(&rd, &out, err);

  if (child < 0)
    return -1;
  if (child == 0)
    filter_helper(t, out);
  if (berth_join_read_full(rd, hdr, sizeof(hdr)) != sizeof(hdr)) {
    hdr[0] = -1;
    hdr[1] = EPIPE;
    hdr[2] = BERTH_E_JOIN;
  }
  if (hdr[0] < 0) {
    char msg[256];
    size_t n = berth_join_read_full(rd, msg, sizeof(msg) - 1);
    msg[n] = '\0';
    waitpid(child, &st, 0);
    return berth_error_make(err, (enum berth_error_kind) hdr[2], hdr[1], "%s",
                            n ? msg : "reading the container's seccomp filter failed");
  }
  if (hdr[0] > 0) {
    t->filter.insns = calloc((size_t) hdr[0], sizeof(struct sock_filter));
    if (t->filter.insns == NULL) {
      waitpid(child, &st, 0);
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    }
    t->filter.len = (unsigned short) hdr[0];
    t->filter.flags = (unsigned) hdr[1];
  }
  if (berth_join_read_full(rd, t->filter.insns, t->filter.len * sizeof(struct sock_filter))
          != t->filter.len * sizeof(struct sock_filter)
      || waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return berth_error_make(err, BERTH_E_JOIN, EPROTO, "reading the container's seccomp filter");
  return berth_join_filter_check(t->filter.insns, t->filter.len, err);
}
