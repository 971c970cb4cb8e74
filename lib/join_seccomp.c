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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/time.h>
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

static volatile sig_atomic_t alarm_rang;

static void
on_alarm(int sig)
{
  (void) sig;
  alarm_rang = 1; /* and waitpid returns EINTR: no SA_RESTART */
}

/* Wait for the seized init to report its interrupt stop: a blocking
 * waitpid, cut short by a timer (we are the short-lived helper, the timer
 * and its handler are ours alone). */
static int
wait_stop(pid_t pid, berth_error_t *err)
{
  struct sigaction sa = { .sa_handler = on_alarm };
  struct itimerval it
      = { .it_value = { .tv_sec = STOP_WAIT_MS / 1000, .tv_usec = (STOP_WAIT_MS % 1000) * 1000 } };
  sigset_t alrm;
  int st, ret;

  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  alarm_rang = 0;
  if (sigaction(SIGALRM, &sa, NULL) < 0 || sigprocmask(SIG_UNBLOCK, &alrm, NULL) < 0
      || setitimer(ITIMER_REAL, &it, NULL) < 0)
    return berth_error_errno(err, BERTH_E_JOIN, errno, "arming the stop timer");
  for (;;) {
    pid_t r = waitpid(pid, &st, __WALL);
    if (r == pid && WIFSTOPPED(st)) {
      ret = 0;
    } else if (r == pid) {
      ret = berth_error_make(err, BERTH_E_JOIN, EAGAIN, "the container's init exited");
    } else if (r < 0 && errno == EINTR && alarm_rang) {
      ret = berth_error_make(err, BERTH_E_JOIN, ETIMEDOUT,
                             "the container's init did not stop to have its filter read");
    } else if (r < 0 && errno != EINTR) {
      ret = berth_error_errno(err, BERTH_E_JOIN, errno, "waiting for the container's init");
    } else {
      continue; /* another signal, another stop report */
    }
    break;
  }
  it.it_value.tv_sec = it.it_value.tv_usec = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  return ret;
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

/* The helper, reaped: pam_berth reads the filter inside the PAM driver
 * (sshd), whose own handlers may interrupt the wait. */
static pid_t
reap(pid_t child, int *st)
{
  pid_t r;

  while ((r = waitpid(child, st, 0)) < 0 && errno == EINTR)
    ;
  return r;
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
    reap(child, &st);
    return berth_error_make(err, (enum berth_error_kind) hdr[2], hdr[1], "%s",
                            n ? msg : "reading the container's seccomp filter failed");
  }
  if (hdr[0] > 0) {
    t->filter.insns = calloc((size_t) hdr[0], sizeof(struct sock_filter));
    if (t->filter.insns == NULL) {
      reap(child, &st);
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    }
    t->filter.len = (unsigned short) hdr[0];
    t->filter.flags = (unsigned) hdr[1];
  }
  if (berth_join_read_full(rd, t->filter.insns, t->filter.len * sizeof(struct sock_filter))
          != t->filter.len * sizeof(struct sock_filter)
      || reap(child, &st) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return berth_error_make(err, BERTH_E_JOIN, EPROTO, "reading the container's seccomp filter");
  return berth_join_filter_check(t->filter.insns, t->filter.len, err);
}

int
berth_join_filter_take(struct berth_join_target *t, struct berth_join_filter *rec,
                       berth_error_t *err)
{
  free(t->filter.insns);
  t->filter = *rec;
  rec->insns = NULL;
  rec->len = 0;
  return berth_join_filter_check(t->filter.insns, t->filter.len, err);
}

/* ------------------------------------------------ the warm state's copy */

#define INSN_HEX 16 /* code jt jf k: 4 + 2 + 2 + 8 hex digits */

json_t *
berth_join_filter_encode(const struct berth_join_filter *f, berth_error_t *err)
{
  cleanup_free char *hex = calloc((size_t) f->len * INSN_HEX + 1, 1);
  json_t *v;

  if (hex == NULL)
    goto oom;
  for (size_t i = 0; i < f->len; i++) {
    const struct sock_filter *in = &f->insns[i];
    snprintf(hex + i * INSN_HEX, INSN_HEX + 1, "%04x%02x%02x%08x", (unsigned) in->code,
             (unsigned) in->jt, (unsigned) in->jf, (unsigned) in->k);
  }
  v = json_pack("{s:i, s:i, s:s}", "len", (int) f->len, "flags", (int) f->flags, "bpf", hex);
  if (v != NULL)
    return v;
oom:
  berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return NULL;
}

/* n hex digits at s as a number; -1 if any is not one */
static long long
hex_field(const char *s, int n)
{
  long long v = 0;

  for (int i = 0; i < n; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

int
berth_join_filter_decode(json_t *v, struct berth_join_filter *f, berth_error_t *err)
{
  json_t *len = json_object_get(v, "len"), *flags = json_object_get(v, "flags");
  const char *hex = json_string_value(json_object_get(v, "bpf"));
  json_int_t n = json_integer_value(len), fl = json_integer_value(flags);

  memset(f, 0, sizeof(*f));
  if (!json_is_integer(len) || !json_is_integer(flags) || hex == NULL || n < 0 || n > BPF_MAXINSNS
      || (fl & ~(json_int_t) SECCOMP_FILTER_FLAG_LOG) != 0 || strlen(hex) != (size_t) n * INSN_HEX
      || json_object_size(v) != 3)
    return 1;
  if (n == 0)
    return 0; /* the container has no filter (seccomp=unconfined) */
  f->insns = calloc((size_t) n, sizeof(struct sock_filter));
  if (f->insns == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  for (json_int_t i = 0; i < n; i++) {
    const char *s = hex + i * INSN_HEX;
    long long code = hex_field(s, 4), jt = hex_field(s + 4, 2), jf = hex_field(s + 6, 2),
              k = hex_field(s + 8, 8);
    if (code < 0 || jt < 0 || jf < 0 || k < 0) {
      free(f->insns);
      f->insns = NULL;
      return 1;
    }
    f->insns[i] = (struct sock_filter){ .code = (unsigned short) code,
                                        .jt = (unsigned char) jt,
                                        .jf = (unsigned char) jf,
                                        .k = (unsigned) k };
  }
  f->len = (unsigned short) n;
  f->flags = (unsigned) fl;
  return 0;
}
