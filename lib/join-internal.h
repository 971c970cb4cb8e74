/* join-internal.h - join mode's parts (docs/security.md "Join mode"):
 *
 *   join_target.c   root side, before the drop: the container's init pinned
 *                   (pin.h: pidfd, start time; cgroups naming the id, not
 *                   paused),
 *                   what the stored spec says (inspect), the namespace and
 *                   cgroup directories opened on the host;
 *   join_seccomp.c  the container's own seccomp filter, read from its init
 *                   with PTRACE_SECCOMP_GET_FILTER;
 *   join_child.c    the joining child: JOIN.md steps 1-13 in runc's order;
 *   entry_join.c    the entry mode over them.
 *
 * Nothing here is called after the identity drop except what entry_join.c's
 * run does as the user (send the request, wait). */
#ifndef BERTH_JOIN_INTERNAL_H
#define BERTH_JOIN_INTERNAL_H

#include <jansson.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "berth/boxdef.h"
#include "berth/error.h"
#include "berth/pin.h"

/* The namespaces in runc's join order (configs/namespaces_linux.go). */
#define BERTH_JOIN_NS_N 7
extern const char *const berth_join_ns_names[BERTH_JOIN_NS_N];
#define BERTH_JOIN_CG_MAX 16
#define BERTH_JOIN_RLIM_N 16

/* What the stored spec gives an exec'd process (JOIN.md "The principle"). */
struct berth_join_spec {
  struct rlimit rlim[BERTH_JOIN_RLIM_N]; /* every resource 0..RLIMIT_NLIMITS-1 */
  uint32_t rlim_set;                     /* listed in HostConfig.Ulimits */
  bool nnp;
  bool caps_known;   /* CapDrop ALL: cap_bnd is CapAdd; else the init's */
  uint64_t cap_bnd;  /* the bounding set */
  bool ssb_allow;    /* the init's filter left speculative store bypass alone */
  uint64_t sig_ign;  /* what the shim ignores: an exec'd process inherits it (bit s-1: signal s) */
  int oom_score_adj; /* HostConfig.OomScoreAdj */
  char *apparmor;    /* AppArmorProfile; NULL or "" when none */
  char *selinux;     /* ProcessLabel; NULL or "" when none */
  gid_t *groups;     /* gid + GroupAdd, numeric */
  size_t n_groups;
  char **env;    /* HOSTNAME + Config.Env, what the engine puts first */
  char *workdir; /* Config.WorkingDir ("" = /) */
};

/* The container's filter: the oldest one on its init, classic BPF. */
struct berth_join_filter {
  struct sock_filter *insns; /* NULL: no filter */
  unsigned short len;
  unsigned flags; /* SECCOMP_FILTER_FLAG_* to install it with */
};

struct berth_join_target {
  struct berth_pin pin;      /* the init: pid, pidfd, /proc/PID, start time */
  int ns[BERTH_JOIN_NS_N];   /* -1: same as ours, not joined */
  int cg[BERTH_JOIN_CG_MAX]; /* the init's cgroup directories */
  size_t n_cg;
  bool podman; /* the init's cgroups are Podman's (libpod-ID) */
  struct berth_join_spec spec;
  struct berth_join_filter filter;
};

void berth_join_target_init(struct berth_join_target *t);
void berth_join_target_release(struct berth_join_target *t);
/* What berth_join_spec_from_inspect allocated in s. */
void berth_join_spec_release(struct berth_join_spec *s);

/* From a container inspect (info, as the engine gave it) for box b: the
 * spec and State.Pid.  Refuses (BERTH_E_CONTAINER, EPERM) what join cannot
 * give equally: privileged, CAP_SYS_PTRACE without a user namespace,
 * non-numeric GroupAdd, paused or restarting. */
int berth_join_spec_from_inspect(const struct berth_box *b, json_t *info, struct berth_join_spec *s,
                                 pid_t *pid, berth_error_t *err);
/* Pin pid as the init of the container `id`: pidfd, /proc/PID, start time,
 * every cgroup line naming id, freezer thawed; then the namespace and
 * cgroup directories and the unlisted rlimits (the init's).  expect_start:
 * 0, or the start time the warm state recorded.  The process being gone,
 * another one or a mismatch: status EAGAIN or ESTALE (pid reuse, restart). */
int berth_join_pin(struct berth_join_target *t, pid_t pid, const char *id,
                   unsigned long long expect_start, berth_error_t *err);
/* Refuse a bounding set with CAP_SYS_PTRACE unless the container has a
 * user namespace of its own. */
int berth_join_check_caps(const struct berth_join_spec *s, bool own_userns, berth_error_t *err);
/* The value of "name:" in a /proc/PID/status text (after the colon), or NULL. */
const char *berth_join_status_field(const char *status, const char *name);
/* The capability names Docker takes (CAP_ prefix optional), or -1. */
int berth_join_cap_number(const char *name);

/* Read the oldest filter of t->pid (PTRACE_SEIZE + INTERRUPT for a moment)
 * into t->filter; refuse one that returns SECCOMP_RET_USER_NOTIF or returns
 * a value computed at run time. */
int berth_join_read_filter(struct berth_join_target *t, berth_error_t *err);
/* 0 when prog can be copied, -1 with err when it must be refused. */
int berth_join_filter_check(const struct sock_filter *insns, size_t len, berth_error_t *err);
/* The warm state's copy (warm.h) instead of reading it: *rec moves into
 * t->filter (rec left empty), then berth_join_filter_check. */
int berth_join_filter_take(struct berth_join_target *t, struct berth_join_filter *rec,
                           berth_error_t *err);
/* The warm state's field: {"len": N, "flags": F, "bpf": 16 hex digits per
 * instruction, code jt jf k}; len 0 is no filter.  NULL with err (ENOMEM). */
json_t *berth_join_filter_encode(const struct berth_join_filter *f, berth_error_t *err);
/* Back: 0 with *f (f->insns the caller's), 1 when v is malformed (a length
 * over BPF_MAXINSNS or not the text's, a flag but LOG, a non-hex digit, an
 * extra key), -1 with err (ENOMEM).  Does not check the actions. */
int berth_join_filter_decode(json_t *v, struct berth_join_filter *f, berth_error_t *err);

/* The request the host-side parent sends after its drop. */
struct berth_join_req {
  char **argv;
  char **env;
  const char *workdir;
  bool tty;                  /* the child makes the container's pty (join_pty.h) */
  unsigned short rows, cols; /* its initial size, with tty */
};

/* Fork the joining child as root.  On success *child_pid is the process that
 * will execve (a child of ours: we are its subreaper), *sock our end of the
 * control socket.  The child has reached the point where it waits for the
 * request; errors on its way there come back as err. */
int berth_join_spawn(const struct berth_join_target *t, const struct berth_box *b, pid_t *child_pid,
                     int *sock, berth_error_t *err);
/* As the user: send r over sock; 0 when the child exec'd, -1 with err
 * (BERTH_E_EXEC, status ENOENT when the command was not found).  With
 * r->tty, *master (not NULL) is the container's pty master the child sent
 * (-1 when none came). */
int berth_join_send(int sock, const struct berth_join_req *r, int *master, berth_error_t *err);
/* A CLOEXEC socketpair and a fork: the child gets *theirs, we *mine.
 * Returns fork's answer, -1 with err. */
pid_t berth_join_fork(int *mine, int *theirs, berth_error_t *err);
/* Read len bytes unless EOF or an error comes first: the number read. */
size_t berth_join_read_full(int fd, void *buf, size_t len);
/* The children's messages to the root side over their shared socket. */
enum {
  BERTH_JOIN_MSG_PID = 1, /* the first child: val is the second's pid */
  BERTH_JOIN_MSG_READY,   /* the second: waiting for the request */
  BERTH_JOIN_MSG_ERR,     /* either: val errno, text what failed */
  BERTH_JOIN_MSG_EXEC_ERR /* the second, after the request: the command did not run */
};
struct berth_join_msg {
  int32_t type;
  int32_t val; /* pid, or errno */
  char text[240];
};
/* Until both the first child's PID and the second's READY came, in either
 * order (the second may get there first when the first is descheduled right
 * after its fork), each within ms: 0 with *second, -1 with err (the
 * children's MSG_ERR, a timeout, EOF, anything else EPROTO). */
int berth_join_wait_started(int sock, int ms, pid_t *second, berth_error_t *err);
/* Message encoding, for the unit tests: strings are NUL-terminated, vectors
 * end with an empty string. */
char *berth_join_req_encode(const struct berth_join_req *r, size_t *len, berth_error_t *err);
int berth_join_req_decode(char *buf, size_t len, struct berth_join_req *r);

#endif
