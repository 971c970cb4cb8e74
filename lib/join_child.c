/* join_child.c - the joining processes (JOIN.md steps 1-13, runc's order).
 *
 * berth-shell, as root, forks the first child; it hardens itself, sets the
 * container's rlimits and oom_score_adj, moves itself into the container's
 * cgroups, joins the namespaces (user ipc uts net pid mnt cgroup) and forks
 * the second, which is in the container's pid namespace, and exits.  We are
 * the subreaper, so the second becomes our child.  The second takes the
 * session, keyring, LSM exec label, no_new_privs, bounding set; says READY
 * and waits for the request.  The host-side parent sends it after its own
 * drop (user input is parsed only as the user); the second drops to the
 * user first, installs the container's seccomp filter, parses the request,
 * changes to the working directory as the user and verifies it, and
 * execve()s.  Nothing in these children logs (syslog's socket would be the
 * container's after setns) or looks up a name (CVE-2019-14271): errors
 * travel back over the socket. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/join_pty.h"
#include "berth/util.h"
#include "join-internal.h"

#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1

/* How long the root side waits for the children to be ready. */
#define READY_WAIT_MS 5000
/* The biggest request (argv + env) accepted. */
#define REQ_MAX (4u << 20)

/* ------------------------------------------------------------ both children */

static void send_msg(int sock, int type, int val, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
send_msg(int sock, int type, int val, const char *fmt, ...)
{
  struct berth_join_msg m = { .type = type, .val = val };
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(m.text, sizeof(m.text), fmt, ap);
  va_end(ap);
  berth_write_all(sock, &m, sizeof(m), NULL);
}

static _Noreturn void
die_child(int sock, const char *what)
{
  int e = errno;
  send_msg(sock, BERTH_JOIN_MSG_ERR, e, "%s: %s", what, strerror(e));
  _exit(1);
}

static int
cmp_int(const void *a, const void *b)
{
  int x = *(const int *) a, y = *(const int *) b;
  return x < y ? -1 : x > y;
}

/* Close every fd >= 3 but keep[0..n) (sorted here). */
static void
close_except(int *keep, size_t n)
{
  unsigned from = 3;

  qsort(keep, n, sizeof(int), cmp_int);
  for (size_t i = 0; i < n; i++) {
    if (keep[i] < (int) from)
      continue;
    if ((unsigned) keep[i] > from)
      syscall(SYS_close_range, from, (unsigned) keep[i] - 1, 0);
    from = (unsigned) keep[i] + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0);
}

static int
write_at(int dir, const char *name, const char *text)
{
  int fd = openat(dir, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  int ret;

  if (fd < 0)
    return -1;
  ret = berth_write_all(fd, text, strlen(text), NULL);
  close(fd);
  return ret;
}

/* ------------------------------------------------------------ the first */

static _Noreturn void second_child(const struct berth_join_target *t, const struct berth_box *b,
                                   int sock, int hostproc);

static _Noreturn void
first_child(const struct berth_join_target *t, const struct berth_box *b, int sock, int hostproc)
{
  int keep[2 + BERTH_JOIN_NS_N + BERTH_JOIN_CG_MAX];
  size_t n = 0;
  char num[32];
  pid_t second;

  /* 1. harden: non-dumpable (inherited, and again), nothing but what we
   * pass, no environment */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  keep[n++] = sock;
  keep[n++] = hostproc;
  for (size_t i = 0; i < BERTH_JOIN_NS_N; i++)
    if (t->ns[i] >= 0)
      keep[n++] = t->ns[i];
  for (size_t i = 0; i < t->n_cg; i++)
    keep[n++] = t->cg[i];
  close_except(keep, n);
  clearenv();
  /* 2. rlimits, before any user namespace: inside one they cannot be raised */
  for (int r = 0; r < BERTH_JOIN_RLIM_N; r++)
    if (setrlimit((enum __rlimit_resource) r, &t->spec.rlim[r]) < 0)
      die_child(sock, "setting a resource limit of the container");
  /* 3. oom_score_adj, through the host's procfs */
  snprintf(num, sizeof(num), "%d", t->spec.oom_score_adj);
  if (write_at(hostproc, "self/oom_score_adj", num) < 0)
    die_child(sock, "setting the container's oom_score_adj");
  /* 4. the container's cgroups (devices, pids, memory...), before its
   * cgroup namespace; only this process moves, the parent stays out */
  snprintf(num, sizeof(num), "%ld", (long) getpid());
  for (size_t i = 0; i < t->n_cg; i++)
    if (write_at(t->cg[i], "cgroup.procs", num) < 0)
      die_child(sock, "joining the container's cgroup");
  for (size_t i = 0; i < t->n_cg; i++)
    close(t->cg[i]);
  /* 5. the namespaces, in runc's order; mnt sets root and cwd to the
   * container's root */
  for (size_t i = 0; i < BERTH_JOIN_NS_N; i++) {
    if (t->ns[i] < 0)
      continue;
    if (setns(t->ns[i], 0) < 0) {
      char what[64];
      snprintf(what, sizeof(what), "joining the container's %s namespace", berth_join_ns_names[i]);
      die_child(sock, what);
    }
    close(t->ns[i]);
  }
  /* the pid namespace applies to children: fork */
  second = fork();
  if (second < 0)
    die_child(sock, "fork");
  if (second == 0)
    second_child(t, b, sock, hostproc);
  send_msg(sock, BERTH_JOIN_MSG_PID, (int) second, "%s", "");
  _exit(0);
}

/* ------------------------------------------------------------ the second */

/* 9. the LSM exec label, through the host's procfs (CVE-2019-16884: a
 * label written into a procfs the container mounted is lost). */
static void
apply_lsm(const struct berth_join_spec *s, int sock, int hostproc)
{
  struct statfs fs;

  if (fstatfs(hostproc, &fs) < 0 || fs.f_type != PROC_SUPER_MAGIC) {
    errno = EXDEV;
    die_child(sock, "the host's /proc is not procfs");
  }
  if (s->apparmor != NULL && strcmp(s->apparmor, "unconfined") != 0) {
    char text[300];
    snprintf(text, sizeof(text), "exec %s", s->apparmor);
    if (write_at(hostproc, "thread-self/attr/apparmor/exec", text) < 0
        && write_at(hostproc, "thread-self/attr/exec", text) < 0)
      die_child(sock, "applying the container's AppArmor profile");
  }
  if (s->selinux != NULL && write_at(hostproc, "thread-self/attr/exec", s->selinux) < 0)
    die_child(sock, "applying the container's SELinux label");
}

static void
install_filter(const struct berth_join_target *t, int sock)
{
  struct sock_fprog prog = { .len = t->filter.len, .filter = t->filter.insns };
  unsigned flags = t->filter.flags;

  if (t->filter.insns == NULL)
    return;
  if (t->spec.ssb_allow)
    flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0)
    die_child(sock, "installing the container's seccomp filter");
}

/* 11, first half: bounding set = the spec's, inheritable and ambient empty
 * (CVE-2022-24769), no keep-caps: the uid change clears the rest. */
static void
limit_caps(const struct berth_join_spec *s, int sock)
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

  for (int c = 0; c < 64; c++) {
    if (s->cap_bnd & (1ULL << c))
      continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
      if (errno == EINVAL)
        break; /* past the kernel's last capability */
      die_child(sock, "dropping a capability from the bounding set");
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    die_child(sock, "clearing the ambient capabilities");
  if (prctl(PR_SET_SECUREBITS, 0, 0, 0, 0) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    die_child(sock, "clearing the securebits");
  memset(data, 0, sizeof(data));
  if (syscall(SYS_capget, &hdr, data) < 0)
    die_child(sock, "capget");
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
    data[i].inheritable = 0;
  if (syscall(SYS_capset, &hdr, data) < 0)
    die_child(sock, "clearing the inheritable capabilities");
}

/* 11, second half: setgroups -> setresgid -> setresuid, verified. */
static void
drop_identity(const struct berth_join_spec *s, const struct berth_box *b, int sock)
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  uid_t ru, eu, su, uid = b->user->uid;
  gid_t rg, eg, sg, gid = b->user->gid;

  if (setgroups(s->n_groups, s->groups) < 0 || setresgid(gid, gid, gid) < 0
      || setresuid(uid, uid, uid) < 0)
    die_child(sock, "dropping to the user");
  memset(data, 0, sizeof(data));
  if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid || eu != uid
      || su != uid || rg != gid || eg != gid || sg != gid || syscall(SYS_capget, &hdr, data) < 0
      || data[0].permitted || data[1].permitted || data[0].effective || data[1].effective
      || setuid(0) == 0) {
    errno = EPERM;
    die_child(sock, "verifying the drop to the user");
  }
}

size_t
berth_join_read_full(int fd, void *buf, size_t len)
{
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *) buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t) n;
  }
  return got;
}

pid_t
berth_join_fork(int *mine, int *theirs, berth_error_t *err)
{
  int sv[2];
  pid_t pid;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "socketpair");
  pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "fork");
  }
  close(sv[pid == 0 ? 0 : 1]);
  *mine = pid == 0 ? -1 : sv[0];
  *theirs = pid == 0 ? sv[1] : -1;
  return pid;
}

/* The request: bytes only until we are the user. */
/* The request's fixed head: read as root, before the drop, so it carries
 * only numbers (the body, the user's argv and env, is parsed after it). */
struct req_head {
  uint32_t len;
  uint16_t tty, rows, cols, pad;
};

static char *
receive_request(int sock, size_t *len, struct req_head *h)
{
  char *buf;

  if (berth_join_read_full(sock, h, sizeof(*h)) != sizeof(*h) || h->len == 0 || h->len > REQ_MAX
      || h->tty > 1)
    _exit(1); /* the parent went away or refused the session */
  buf = malloc(h->len);
  if (buf == NULL || berth_join_read_full(sock, buf, h->len) != h->len)
    _exit(1);
  *len = h->len;
  return buf;
}

/* env = what the engine puts first (spec), each of the request's replacing
 * one of the same name or appended. */
static char **
final_env(char *const *base, char *const *req)
{
  size_t nb = berth_strv_len(base), nr = berth_strv_len(req), n = 0;
  char **env = calloc(nb + nr + 1, sizeof(char *));

  if (env == NULL)
    return NULL;
  for (size_t i = 0; i < nb; i++)
    env[n++] = base[i];
  for (size_t i = 0; i < nr; i++) {
    const char *eq = strchr(req[i], '=');
    size_t k = eq ? (size_t) (eq - req[i]) + 1 : strlen(req[i]);
    size_t j;
    for (j = 0; j < n; j++)
      if (strncmp(env[j], req[i], k) == 0)
        break;
    env[j] = req[i];
    if (j == n)
      n++;
  }
  return env;
}

static const char *
env_get(char *const *env, const char *name)
{
  size_t k = strlen(name);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp(env[i], name, k) == 0 && env[i][k] == '=')
      return env[i] + k + 1;
  return NULL;
}

/* execve, with a PATH search for a bare name as the engine does. */
static void
exec_command(char *const *argv, char *const *env)
{
  const char *path = env_get(env, "PATH");
  char full[4096];
  int first = ENOENT;

  if (strchr(argv[0], '/') != NULL || path == NULL) {
    execve(argv[0], argv, env);
    return;
  }
  for (const char *p = path; p != NULL; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
    size_t dl = strchr(p, ':') ? (size_t) (strchr(p, ':') - p) : strlen(p);
    snprintf(full, sizeof(full), "%.*s/%s", (int) dl, dl ? p : ".", argv[0]);
    execve(full, argv, env);
    if (errno != ENOENT && first == ENOENT)
      first = errno;
  }
  errno = first;
}

/* Every disposition back to SIG_DFL, glibc's own two real-time signals
 * (32, 33: sigaction() refuses them) included, except what the shim
 * ignores, which an exec'd process inherits (join_target.c shim_sig_ign;
 * checked against `docker exec` and `podman exec` by
 * tests/engine/test_join.sh): the raw system call. */
static void
reset_signals(uint64_t ignored)
{
  struct {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
  } act = { .handler = SIG_DFL };

  for (int s = 1; s <= 64; s++) {
    if (s == SIGKILL || s == SIGSTOP)
      continue;
    act.handler = (ignored >> (s - 1)) & 1 ? SIG_IGN : SIG_DFL;
    syscall(SYS_rt_sigaction, s, &act, NULL, sizeof(act.mask));
  }
}

static _Noreturn void
run_request(const struct berth_join_target *t, int sock, char *buf, size_t len)
{
  struct berth_join_req r;
  const char *wd;
  char cwd[4096];
  char **env;
  sigset_t none;
  int keep[1] = { sock };

  if (berth_join_req_decode(buf, len, &r) < 0) {
    errno = EPROTO;
    die_child(sock, "the request");
  }
  /* 12. cwd as the user, checked (runc verifyCwd, CVE-2024-21626) */
  wd = r.workdir ? r.workdir : t->spec.workdir ? t->spec.workdir : "/";
  if (chdir(wd) < 0 || getcwd(cwd, sizeof(cwd)) == NULL || cwd[0] != '/') {
    send_msg(sock, BERTH_JOIN_MSG_EXEC_ERR, errno ? errno : EACCES, "cannot change to %s: %s", wd,
             strerror(errno ? errno : EACCES));
    _exit(126);
  }
  env = final_env(t->spec.env, r.env);
  if (env == NULL)
    die_child(sock, "the environment");
  umask(022);
  /* 13. nothing open but 0-2 (the socket closes at exec), default signals */
  close_except(keep, 1);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  reset_signals(t->spec.sig_ign);
  exec_command(r.argv, env);
  int e = errno;
  send_msg(sock, BERTH_JOIN_MSG_EXEC_ERR, e, "cannot run %s: %s", r.argv[0], strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

static _Noreturn void
second_child(const struct berth_join_target *t, const struct berth_box *b, int sock, int hostproc)
{
  char ring[128];
  struct pollfd p = { .fd = sock, .events = POLLRDHUP };
  struct req_head head;
  size_t len;
  char *buf;

  /* 6. a session of its own; with a tty, the container's own pty becomes
   * its controlling terminal right after receive_request below, still
   * before the drop (join_pty.h) */
  if (setsid() < 0)
    die_child(sock, "setsid");
  /* 7. runc's session keyring: not the SSH login's */
  snprintf(ring, sizeof(ring), "_ses.%s", b->id ? b->id : b->name);
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, ring) < 0 && errno != ENOSYS)
    die_child(sock, "joining the container's session keyring");
  apply_lsm(&t->spec, sock, hostproc);
  close(hostproc);
  /* 8. no_new_privs as the spec says; 10. without it the filter needs
   * CAP_SYS_ADMIN: installed now, before the drop */
  if (t->spec.nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die_child(sock, "setting no_new_privs");
  if (!t->spec.nnp)
    install_filter(t, sock);
  limit_caps(&t->spec, sock);
  send_msg(sock, BERTH_JOIN_MSG_READY, 0, "%s", "");
  buf = receive_request(sock, &len, &head);
  if (head.tty) {
    struct winsize ws = { .ws_row = head.rows, .ws_col = head.cols };
    berth_error_t perr = NULL;
    /* on failure the cause went over sock already */
    if (berth_join_pty_child(sock, &ws, &perr) < 0)
      _exit(126);
  }
  drop_identity(&t->spec, b, sock);
  /* after the uid change (it clears the setting): die with the parent */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || poll(&p, 1, 0) != 0)
    _exit(1);
  if (t->spec.nnp)
    install_filter(t, sock);
  run_request(t, sock, buf, len);
}

/* ------------------------------------------------------------ the root side */

static int
wait_msg(int sock, struct berth_join_msg *m, int ms, berth_error_t *err)
{
  struct pollfd p = { .fd = sock, .events = POLLIN };
  int64_t deadline = berth_now_ms() + ms;
  size_t got = 0;

  while (got < sizeof(*m)) {
    int left = (int) (deadline - berth_now_ms()), r;
    if (left <= 0)
      return berth_error_make(err, BERTH_E_JOIN, ETIMEDOUT, "joining the container timed out");
    r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return berth_error_errno(err, BERTH_E_INTERNAL, errno, "poll");
    if (r == 0)
      continue;
    ssize_t n = read(sock, (char *) m + got, sizeof(*m) - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return berth_error_make(err, BERTH_E_JOIN, EPIPE, "the joining process ended without a word");
    got += (size_t) n;
  }
  m->text[sizeof(m->text) - 1] = '\0';
  if (m->type == BERTH_JOIN_MSG_ERR)
    return berth_error_make(err, BERTH_E_JOIN, m->val, "%s", m->text);
  return 0;
}

int
berth_join_wait_started(int sock, int ms, pid_t *second, berth_error_t *err)
{
  struct berth_join_msg m;
  bool ready = false;

  *second = -1;
  while (*second <= 0 || !ready) {
    if (wait_msg(sock, &m, ms, err) < 0)
      return -1;
    if (m.type == BERTH_JOIN_MSG_PID && *second <= 0 && m.val > 0)
      *second = (pid_t) m.val;
    else if (m.type == BERTH_JOIN_MSG_READY && !ready)
      ready = true;
    else
      return berth_error_make(err, BERTH_E_JOIN, EPROTO, "the joining process misbehaved");
  }
  return 0;
}

int
berth_join_spawn(const struct berth_join_target *t, const struct berth_box *b, pid_t *child_pid,
                 int *sock, berth_error_t *err)
{
  cleanup_close int hostproc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int mine = -1;
  int theirs = -1, st;
  pid_t first, second = -1;
  int ret;

  *child_pid = -1;
  *sock = -1;
  if (hostproc < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "opening /proc");
  /* the second child's parent exits at once: it becomes ours */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "PR_SET_CHILD_SUBREAPER");
  first = berth_join_fork(&mine, &theirs, err);
  if (first < 0)
    return -1;
  if (first == 0)
    first_child(t, b, theirs, hostproc);
  ret = berth_join_wait_started(mine, READY_WAIT_MS, &second, err);
  if (ret < 0)
    kill(first, SIGKILL); /* gone already, or stuck: never waited on forever */
  while (waitpid(first, &st, 0) < 0 && errno == EINTR)
    ;
  if (ret < 0) {
    if (second > 0) {
      kill(second, SIGKILL);
      while (waitpid(second, &st, 0) < 0 && errno == EINTR)
        ;
    }
    return berth_error_wrap(err, "joining container %s", b->name);
  }
  *child_pid = second;
  *sock = steal_fd(&mine);
  return 0;
}

int
berth_join_send(int sock, const struct berth_join_req *r, int *master, berth_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct req_head h = { .tty = r->tty, .rows = r->rows, .cols = r->cols };
  struct berth_join_msg m;
  size_t len, have;

  buf = berth_join_req_encode(r, &len, err);
  if (buf == NULL)
    return -1;
  if (len > REQ_MAX)
    return berth_error_make(err, BERTH_E_USAGE, E2BIG, "the command and environment are too big");
  h.len = (uint32_t) len;
  if (berth_write_all(sock, &h, sizeof(h), err) < 0 || berth_write_all(sock, buf, len, err) < 0)
    return berth_error_wrap(err, "sending the command to the joining process");
  if (r->tty && berth_join_pty_recv(sock, master, err) < 0)
    return berth_error_wrap(err, "the container's terminal");
  /* EOF: the socket closed at execve, the command runs */
  have = berth_join_read_full(sock, &m, sizeof(m));
  if (have < sizeof(m))
    return 0;
  m.text[sizeof(m.text) - 1] = '\0';
  return berth_error_make(err, m.type == BERTH_JOIN_MSG_EXEC_ERR ? BERTH_E_EXEC : BERTH_E_JOIN,
                          m.val, "%s", m.text);
}

/* ------------------------------------------------------------ the request */

static int
put(struct berth_buf *b, const char *s, berth_error_t *err)
{
  return berth_buf_append(b, s, strlen(s) + 1, err);
}

char *
berth_join_req_encode(const struct berth_join_req *r, size_t *len, berth_error_t *err)
{
  struct berth_buf b = { 0 };
  uint32_t counts[2] = { (uint32_t) berth_strv_len(r->argv), (uint32_t) berth_strv_len(r->env) };
  int ret = berth_buf_append(&b, counts, sizeof(counts), err);

  for (size_t i = 0; ret == 0 && i < counts[0]; i++)
    ret = put(&b, r->argv[i], err);
  for (size_t i = 0; ret == 0 && i < counts[1]; i++)
    ret = put(&b, r->env[i], err);
  if (ret == 0)
    ret = berth_buf_append(&b, r->workdir ? "W" : "-", 1, err);
  if (ret == 0 && r->workdir)
    ret = put(&b, r->workdir, err);
  if (ret < 0) {
    berth_buf_free(&b);
    return NULL;
  }
  return berth_buf_steal(&b, len, err);
}

/* Split n NUL-terminated strings off *p; NULL when they do not fit. */
static char **
take_strings(char **p, char *end, uint32_t n)
{
  char **v;

  if (n > REQ_MAX / 2)
    return NULL;
  v = calloc((size_t) n + 1, sizeof(char *));
  for (uint32_t i = 0; v != NULL && i < n; i++) {
    char *z = memchr(*p, '\0', (size_t) (end - *p));
    if (z == NULL) {
      free(v);
      return NULL;
    }
    v[i] = *p;
    *p = z + 1;
  }
  return v;
}

int
berth_join_req_decode(char *buf, size_t len, struct berth_join_req *r)
{
  char *p = buf + 2 * sizeof(uint32_t), *end = buf + len;
  uint32_t counts[2];

  memset(r, 0, sizeof(*r));
  if (len < sizeof(counts) + 1)
    return -1;
  memcpy(counts, buf, sizeof(counts));
  if (counts[0] == 0 || (r->argv = take_strings(&p, end, counts[0])) == NULL
      || (r->env = take_strings(&p, end, counts[1])) == NULL || p >= end)
    goto bad;
  if (*p == 'W') {
    p++;
    if (p >= end || memchr(p, '\0', (size_t) (end - p)) != end - 1)
      goto bad;
    r->workdir = p;
  } else if (*p != '-' || p + 1 != end) {
    goto bad;
  }
  return 0;
bad:
  free(r->argv);
  free(r->env);
  memset(r, 0, sizeof(*r));
  return -1;
}
