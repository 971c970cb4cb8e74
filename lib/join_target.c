/* join_target.c - join mode's root side before the drop (JOIN.md step 0 and
 * "The principle"): what the container's stored spec gives an exec'd
 * process, read from the engine's inspect; its init pinned by pidfd and
 * checked against the inspect (start time, every cgroup naming the
 * container id, not frozen); its namespace and cgroup directories opened on
 * the host while we are still there. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/util.h"
#include "join-internal.h"

const char *const berth_join_ns_names[BERTH_JOIN_NS_N] = {
  "user", "ipc", "uts", "net", "pid", "mnt", "cgroup",
};

void
berth_join_target_init(struct berth_join_target *t)
{
  memset(t, 0, sizeof(*t));
  berth_pin_init(&t->pin);
  for (size_t i = 0; i < BERTH_JOIN_NS_N; i++)
    t->ns[i] = -1;
}

void
berth_join_target_release(struct berth_join_target *t)
{
  berth_pin_release(&t->pin);
  for (size_t i = 0; i < BERTH_JOIN_NS_N; i++)
    if (t->ns[i] >= 0)
      close(t->ns[i]);
  for (size_t i = 0; i < t->n_cg; i++)
    close(t->cg[i]);
  berth_join_spec_release(&t->spec);
  free(t->filter.insns);
  berth_join_target_init(t);
}

void
berth_join_spec_release(struct berth_join_spec *s)
{
  free(s->apparmor);
  free(s->selinux);
  free(s->groups);
  free(s->workdir);
  berth_strv_free(s->env);
}

/* ------------------------------------------------------------ the spec */

static const char *const cap_names[] = {
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
};

int
berth_join_cap_number(const char *name)
{
  if (strncasecmp(name, "CAP_", 4) == 0)
    name += 4;
  for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
    if (strcasecmp(name, cap_names[i]) == 0)
      return (int) i;
  return -1;
}

static const char *const rlimit_names[BERTH_JOIN_RLIM_N] = {
  [RLIMIT_CPU] = "cpu",           [RLIMIT_FSIZE] = "fsize",
  [RLIMIT_DATA] = "data",         [RLIMIT_STACK] = "stack",
  [RLIMIT_CORE] = "core",         [RLIMIT_RSS] = "rss",
  [RLIMIT_NPROC] = "nproc",       [RLIMIT_NOFILE] = "nofile",
  [RLIMIT_MEMLOCK] = "memlock",   [RLIMIT_AS] = "as",
  [RLIMIT_LOCKS] = "locks",       [RLIMIT_SIGPENDING] = "sigpending",
  [RLIMIT_MSGQUEUE] = "msgqueue", [RLIMIT_NICE] = "nice",
  [RLIMIT_RTPRIO] = "rtprio",     [RLIMIT_RTTIME] = "rttime",
};

static int refuse(berth_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A refusal: join mode cannot give this container's confinement. */
static int
refuse(berth_error_t *err, const char *fmt, ...)
{
  char buf[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return berth_error_make(err, BERTH_E_JOIN, EPERM, "%s", buf);
}

static int
spec_caps(json_t *hc, struct berth_join_spec *s, berth_error_t *err)
{
  size_t i;
  json_t *v;
  bool all = false;

  json_array_foreach(json_object_get(hc, "CapDrop"), i, v)
  {
    const char *c = json_string_value(v);
    if (c != NULL && (strcasecmp(c, "ALL") == 0 || strcasecmp(c, "CAP_ALL") == 0))
      all = true;
  }
  s->caps_known = all;
  s->cap_bnd = 0;
  if (!all)
    return 0; /* the engine's default set: the init's bounding set says it (pin) */
  json_array_foreach(json_object_get(hc, "CapAdd"), i, v)
  {
    const char *c = json_string_value(v);
    int n = c ? berth_join_cap_number(c) : -1;
    if (n < 0)
      return refuse(err, "capability %s of the container is unknown to join mode", c ? c : "?");
    s->cap_bnd |= 1ULL << n;
  }
  return 0;
}

/* SecurityOpt: no-new-privileges[:=true], label=..., apparmor=... */
static void
spec_security_opts(json_t *hc, struct berth_join_spec *s)
{
  size_t i;
  json_t *v;

  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v)
  {
    const char *o = json_string_value(v);
    if (o == NULL)
      continue;
    if (strcmp(o, "no-new-privileges") == 0 || strcmp(o, "no-new-privileges:true") == 0
        || strcmp(o, "no-new-privileges=true") == 0)
      s->nnp = true;
  }
}

static int
spec_ulimits(json_t *hc, struct berth_join_spec *s, berth_error_t *err)
{
  size_t i;
  json_t *v;

  json_array_foreach(json_object_get(hc, "Ulimits"), i, v)
  {
    const char *name = json_string_value(json_object_get(v, "Name"));
    json_t *soft = json_object_get(v, "Soft"), *hard = json_object_get(v, "Hard");
    size_t r;

    /* Docker says "nofile", Podman "RLIMIT_NOFILE" */
    if (name != NULL && strncasecmp(name, "RLIMIT_", 7) == 0)
      name += 7;
    for (r = 0; r < BERTH_JOIN_RLIM_N; r++)
      if (name != NULL && rlimit_names[r] != NULL && strcasecmp(name, rlimit_names[r]) == 0)
        break;
    if (r == BERTH_JOIN_RLIM_N || !json_is_integer(soft) || !json_is_integer(hard))
      return refuse(err, "ulimit %s of the container is not understood", name ? name : "?");
    s->rlim[r].rlim_cur
        = json_integer_value(soft) < 0 ? RLIM_INFINITY : (rlim_t) json_integer_value(soft);
    s->rlim[r].rlim_max
        = json_integer_value(hard) < 0 ? RLIM_INFINITY : (rlim_t) json_integer_value(hard);
    s->rlim_set |= 1u << r;
  }
  return 0;
}

/* Docker's `-u uid:gid`: the gid, then GroupAdd (daemon/oci_linux.go getUser).
 * A group name would be looked up in the container's /etc/group, which join
 * mode never parses as root: refused. */
static int
spec_groups(const struct berth_box *b, json_t *hc, struct berth_join_spec *s, berth_error_t *err)
{
  json_t *ga = json_object_get(hc, "GroupAdd");
  size_t i, n = json_array_size(ga);
  json_t *v;

  s->groups = calloc(n + 1, sizeof(gid_t));
  if (s->groups == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  s->groups[s->n_groups++] = b->user->gid;
  json_array_foreach(ga, i, v)
  {
    const char *g = json_string_value(v);
    char *end;
    unsigned long x;

    errno = 0;
    x = g ? strtoul(g, &end, 10) : 0;
    if (g == NULL || *g == '\0' || *end != '\0' || errno != 0 || x >= (gid_t) -1)
      return refuse(err, "group %s of the container is not numeric", g ? g : "?");
    s->groups[s->n_groups++] = (gid_t) x;
  }
  return 0;
}

/* What the engine puts in front of an exec's own Env: HOSTNAME, then the
 * container's Config.Env (moby container.CreateDaemonEnvironment). */
static int
spec_env(json_t *cfg, struct berth_join_spec *s, berth_error_t *err)
{
  json_t *env = json_object_get(cfg, "Env");
  const char *host = json_string_value(json_object_get(cfg, "Hostname"));
  size_t i, n = 0;
  json_t *v;

  s->env = calloc(json_array_size(env) + 2, sizeof(char *));
  if (s->env == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  if (host != NULL && (s->env[n++] = berth_asprintf(err, "HOSTNAME=%s", host)) == NULL)
    return -1;
  json_array_foreach(env, i, v)
  {
    const char *kv = json_string_value(v);
    if (kv == NULL || strchr(kv, '=') == NULL)
      continue;
    if ((s->env[n++] = berth_strdup(kv, err)) == NULL)
      return -1;
  }
  return 0;
}

static char *
dup_nonempty(json_t *j, berth_error_t *err)
{
  const char *v = json_string_value(j);
  return v == NULL || *v == '\0' ? NULL : berth_strdup(v, err);
}

int
berth_join_spec_from_inspect(const struct berth_box *b, json_t *info, struct berth_join_spec *s,
                             pid_t *pid, berth_error_t *err)
{
  json_t *st = json_object_get(info, "State"), *hc = json_object_get(info, "HostConfig");
  json_t *cfg = json_object_get(info, "Config");
  json_int_t p = json_integer_value(json_object_get(st, "Pid"));
  const char *status = json_string_value(json_object_get(st, "Status"));
  berth_error_t e2 = NULL;

  if (json_is_true(json_object_get(st, "Paused")) || (status && strcmp(status, "paused") == 0))
    return refuse(err, "container %s is paused", b->name);
  if (json_is_true(json_object_get(st, "Restarting"))
      || (status && strcmp(status, "restarting") == 0))
    return refuse(err, "container %s is restarting", b->name);
  if (!json_is_true(json_object_get(st, "Running")) || p <= 1 || p > (1 << 22))
    return berth_error_make(err, BERTH_E_CONTAINER, ESRCH, "container %s is not running", b->name);
  if (!json_is_object(hc) || !json_is_object(cfg))
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "the inspect of %s has no HostConfig or Config", b->name);
  if (json_is_true(json_object_get(hc, "Privileged")))
    return refuse(err, "container %s is privileged", b->name);
  *pid = (pid_t) p;
  if (spec_caps(hc, s, err) < 0 || spec_ulimits(hc, s, err) < 0 || spec_groups(b, hc, s, err) < 0
      || spec_env(cfg, s, err) < 0)
    return -1;
  spec_security_opts(hc, s);
  s->oom_score_adj = (int) json_integer_value(json_object_get(hc, "OomScoreAdj"));
  s->apparmor = dup_nonempty(json_object_get(info, "AppArmorProfile"), &e2);
  s->selinux = dup_nonempty(json_object_get(info, "ProcessLabel"), &e2);
  s->workdir = dup_nonempty(json_object_get(cfg, "WorkingDir"), &e2);
  if (e2 != NULL) {
    *err = e2;
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------ the pin */

/* A small file under /proc/PID or a cgroup directory of the init. */
static int
read_at(int dir, const char *name, char *buf, size_t len, berth_error_t *err)
{
  return berth_pin_read(dir, name, buf, len, BERTH_E_JOIN, err);
}

const char *
berth_join_status_field(const char *status, const char *name)
{
  size_t n = strlen(name);
  for (const char *p = status; p != NULL && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (strncmp(p, name, n) == 0 && p[n] == ':')
      return p + n + 1;
  return NULL;
}

/* The mount of a cgroup hierarchy on the host, from our mountinfo (read
 * once per pin: a host with many containers has many mounts): v1 by its
 * controller list (super options), v2 by type; its root must be "/". */
static int
hierarchy_mount(const char *mountinfo, const char *ctrls, char *out, size_t len)
{
  bool v2 = *ctrls == '\0';
  int ret = -1;

  for (const char *p = mountinfo, *nl; ret < 0 && *p != '\0'; p = *nl ? nl + 1 : nl) {
    char line[4096], root[1024], mnt[1024], type[64], src[256], opts[1024], *dash;
    size_t n;

    nl = strchrnul(p, '\n');
    n = (size_t) (nl - p);
    /* the filesystem type follows " - ": only cgroup lines are parsed */
    dash = memmem(p, n, " - cgroup", 9);
    if (dash == NULL || n >= sizeof(line))
      continue;
    memcpy(line, p, n);
    line[n] = '\0';
    dash = line + (dash - p);
    if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2
        || sscanf(dash + 3, "%63s %255s %1023s", type, src, opts) != 3 || strcmp(root, "/") != 0)
      continue;
    if (v2 ? strcmp(type, "cgroup2") != 0 : strcmp(type, "cgroup") != 0)
      continue;
    if (!v2) {
      /* every controller of the line among the mount's super options (one
       * controller lives in one v1 hierarchy only) */
      char want[256], have[1100], pat[300], *save = NULL;
      bool all = true;
      snprintf(want, sizeof(want), "%s", ctrls);
      snprintf(have, sizeof(have), ",%s,", opts);
      for (char *c = strtok_r(want, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
        snprintf(pat, sizeof(pat), ",%s,", c);
        all = all && strstr(have, pat) != NULL;
      }
      if (!all)
        continue;
    }
    snprintf(out, len, "%s", mnt);
    ret = 0;
  }
  return ret;
}

/* A frozen cgroup (docker pause between inspect and now) is refused. */
static int
check_thawed(int dir, bool v2, berth_error_t *err)
{
  char buf[256];
  berth_error_t ign = NULL;

  if (read_at(dir, v2 ? "cgroup.events" : "freezer.state", buf, sizeof(buf), &ign) < 0) {
    berth_error_release(&ign);
    return 0; /* not the freezer hierarchy */
  }
  if (v2 ? strstr(buf, "frozen 1") != NULL : strncmp(buf, "THAWED", 6) != 0)
    return refuse(err, "the container is %s", "paused (its cgroup is frozen)");
  return 0;
}

/* Every line of the init's /proc/PID/cgroup must name the container id;
 * the directory of each is opened on the host. */
static int
open_cgroups(struct berth_join_target *t, const char *id, berth_error_t *err)
{
  char buf[8192], *save = NULL;
  cleanup_free char *mountinfo = NULL;
  size_t mlen = 0;

  if (read_at(t->pin.procfd, "cgroup", buf, sizeof(buf), err) < 0
      || berth_read_file("/proc/self/mountinfo", 4u << 20, &mountinfo, &mlen, err) < 0)
    return -1;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, mnt[1024];
    cleanup_free char *path = NULL;
    int fd;

    /* ESTALE: another process has the pid now (a restart, pid reuse) */
    if (c2 == NULL || strstr(c2 + 1, id) == NULL)
      return berth_error_make(err, BERTH_E_JOIN, ESTALE,
                              "the process %ld is not the container's init any more (its cgroup "
                              "%s does not name the container)",
                              (long) t->pin.pid, c2 ? c2 + 1 : line);
    *c2 = '\0';
    if (strstr(c2 + 1, "/../") != NULL)
      return refuse(err, "the init's cgroup %s is not a plain path", c2 + 1);
    if (hierarchy_mount(mountinfo, c1 + 1, mnt, sizeof(mnt)) < 0)
      return berth_error_make(err, BERTH_E_JOIN, ENOENT,
                              "the cgroup hierarchy %s is not mounted on the host", c1 + 1);
    if (strstr(c2 + 1, "/libpod-") != NULL)
      t->podman = true;
    if (t->n_cg == BERTH_JOIN_CG_MAX)
      return berth_error_make(err, BERTH_E_JOIN, E2BIG, "too many cgroup hierarchies");
    if ((path = berth_asprintf(err, "%s%s", mnt, c2 + 1)) == NULL)
      return -1;
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      return berth_error_errno(err, BERTH_E_JOIN, errno, "opening the cgroup %s", path);
    t->cg[t->n_cg++] = fd;
    if (check_thawed(fd, c1[1] == '\0', err) < 0)
      return -1;
  }
  return 0;
}

static int
open_namespaces(struct berth_join_target *t, berth_error_t *err)
{
  for (size_t i = 0; i < BERTH_JOIN_NS_N; i++) {
    char self[64], rel[32];
    struct stat a, b;
    int fd;

    snprintf(rel, sizeof(rel), "ns/%s", berth_join_ns_names[i]);
    snprintf(self, sizeof(self), "/proc/self/ns/%s", berth_join_ns_names[i]);
    fd = openat(t->pin.procfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &a) < 0) {
      int e = errno;
      if (fd >= 0)
        close(fd);
      return berth_error_errno(err, BERTH_E_JOIN, e, "opening the init's %s namespace",
                               berth_join_ns_names[i]);
    }
    /* one we are in already (host network, no user namespace): not joined */
    if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      close(fd);
    else
      t->ns[i] = fd;
  }
  return 0;
}

/* The signals an exec'd process starts with ignored.  runc's exec does not
 * reset ignored dispositions, so under Docker it inherits containerd-shim's
 * (the init's parent, which has dockerd's: signal 32 ignored is common), read
 * on the host's /proc where PPid is the shim's host pid (unreadable: none).
 * Podman runs each exec under a conmon of its own, which leaves signal 32
 * ignored and nothing else (not the init's conmon's SIGPIPE).  Both checked
 * against the engine's own exec by tests/engine/test_join.sh. */
static void
shim_sig_ign(const char *init_status, bool podman, struct berth_join_spec *s)
{
  const char *f = berth_join_status_field(init_status, "PPid");
  char dir[32], status[8192];
  cleanup_close int fd = -1;
  long ppid = f != NULL ? strtol(f, NULL, 10) : 0;

  s->sig_ign = podman ? UINT64_C(1) << 31 : 0;
  if (podman || ppid <= 1)
    return;
  snprintf(dir, sizeof(dir), "/proc/%ld", ppid);
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0 && read_at(fd, "status", status, sizeof(status), NULL) == 0
      && (f = berth_join_status_field(status, "SigIgn")) != NULL)
    s->sig_ign = strtoull(f, NULL, 16);
}

/* The init's own view of what the spec gives, where the inspect says
 * nothing: unlisted rlimits (daemon defaults, the shim's), the bounding
 * set when CapDrop is not ALL, no_new_privs.  Never weaker than the spec:
 * the init cannot raise a hard limit or its bounding set. */
static int
init_facts(struct berth_join_target *t, berth_error_t *err)
{
  char status[8192];
  const char *f;

  for (int r = 0; r < BERTH_JOIN_RLIM_N; r++) {
    struct rlimit cur;
    if (t->spec.rlim_set & (1u << r))
      continue;
    if (prlimit(t->pin.pid, (enum __rlimit_resource) r, NULL, &cur) < 0)
      return berth_error_errno(err, BERTH_E_JOIN, errno, "reading the init's limit %d", r);
    t->spec.rlim[r] = cur;
  }
  if (read_at(t->pin.procfd, "status", status, sizeof(status), err) < 0)
    return -1;
  f = berth_join_status_field(status, "NoNewPrivs");
  if (f != NULL && strtol(f, NULL, 10) == 1)
    t->spec.nnp = true;
  f = berth_join_status_field(status, "Speculation_Store_Bypass");
  t->spec.ssb_allow = f != NULL && strstr(f, "mitigated") == NULL;
  shim_sig_ign(status, t->podman, &t->spec);
  f = berth_join_status_field(status, "CapBnd");
  if (f == NULL)
    return berth_error_make(err, BERTH_E_JOIN, EPROTO, "cannot read the init's bounding set");
  if (!t->spec.caps_known)
    t->spec.cap_bnd = strtoull(f, NULL, 16);
  else
    t->spec.cap_bnd &= strtoull(f, NULL, 16);
  return 0;
}

int
berth_join_pin(struct berth_join_target *t, pid_t pid, const char *id,
               unsigned long long expect_start, berth_error_t *err)
{
  /* EAGAIN: the init is gone; join_prepare_warm then asks the engine */
  if (berth_pin_open(&t->pin, pid, BERTH_E_JOIN, EAGAIN, err) < 0)
    return -1;
  if (expect_start != 0 && expect_start != t->pin.start_time)
    return berth_error_make(err, BERTH_E_JOIN, EAGAIN,
                            "the container's init %ld is not the one recorded", (long) pid);
  if (open_cgroups(t, id, err) < 0 || open_namespaces(t, err) < 0 || init_facts(t, err) < 0)
    return -1;
  /* Podman's exec -u uid:gid gets GroupAdd only, Docker's the gid too
   * (checked by tests/engine/test_join.sh on both) */
  if (t->podman && t->spec.n_groups > 0) {
    memmove(t->spec.groups, t->spec.groups + 1, (t->spec.n_groups - 1) * sizeof(gid_t));
    t->spec.n_groups--;
  }
  /* Everything above was read through /proc/PID: it was this process's
   * only if it is still alive now (pin.h) */
  if (!berth_pin_alive(&t->pin))
    return berth_error_make(err, BERTH_E_JOIN, EAGAIN,
                            "the container's init %ld exited while being pinned", (long) pid);
  return berth_join_check_caps(&t->spec, t->ns[0] >= 0, err);
}

int
berth_join_check_caps(const struct berth_join_spec *s, bool own_userns, berth_error_t *err)
{
  /* CVE-2016-9962, CVE-2019-5736: a container that can ptrace reaches the
   * joining process while it is root in the container's namespaces */
  if ((s->cap_bnd & (1ULL << CAP_SYS_PTRACE)) && !own_userns)
    return refuse(err, "the container has %s without a user namespace", "CAP_SYS_PTRACE");
  return 0;
}
