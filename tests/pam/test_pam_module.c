/* test_pam_module.c - drives pam_berth.so through libpam with
 * pam_start_confdir (a service file in a temporary directory; /etc/pam.d is
 * never touched), for each return code and module option, and checks what a
 * user or admin sees: the return code, the conversation messages, syslog
 * (captured, see syslog_capture.c), BERTH_CONTAINER, the container and home.
 *
 * Run by test_pam_module.sh.  Without BERTH_PAM_TEST_ENGINE=1 only the
 * scenarios that need neither root nor dockerd run, then it skips (77; a
 * failure under CI=true).  The engine scenarios run in a forked child, in a
 * private mount namespace whose /etc holds copies of passwd and group with a
 * test user added (setup_user), so the host's files never change.
 *
 * Output is TAP-like; exit 0 pass, 1 fail, 77 skip. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "berth/env.h" /* BERTH_ENV_HOST_PATH */
#include "syslog_capture.h"

#define SERVICE "berth-test"

static int n_checks, failures;
static char tmp[256];              /* our temporary directory */
static char module[PATH_MAX + 32]; /* absolute path of the built pam_berth.so */
static char conf[PATH_MAX];        /* the berth.conf the module reads */
static char user[64];              /* the test user (engine scenarios) */
static char container[96];         /* berth-<user> */
static uid_t test_uid;
static const char *image;
static bool is_parent = true; /* forked children leave cleanup to the parent */

/* ---------------------------------------------------------------- reporting */

static bool __attribute__((format(printf, 2, 3))) check(bool cond, const char *fmt, ...)
{
  va_list ap;

  n_checks++;
  printf("%s %d - ", cond ? "ok" : "not ok", n_checks);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
  if (!cond)
    failures++;
  return cond;
}

static void __attribute__((noreturn, format(printf, 1, 2))) bail(const char *fmt, ...)
{
  va_list ap;

  printf("Bail out! ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  exit(1);
}

/* ---------------------------------------------------------------- conversation */

struct message {
  int style;
  char text[1024];
};
static struct message msgs[32];
static int n_msgs;

static int
conv(int n, const struct pam_message **m, struct pam_response **resp, void *appdata)
{
  for (int i = 0; i < n; i++) {
    if (strncmp(m[i]->msg, "open_session=", 13) == 0
        || strncmp(m[i]->msg, "close_session=", 14) == 0)
      continue; /* pam_debug's, see write_service() */
    if (n_msgs < (int) (sizeof(msgs) / sizeof(msgs[0]))) {
      msgs[n_msgs].style = m[i]->msg_style;
      snprintf(msgs[n_msgs].text, sizeof(msgs[n_msgs].text), "%s", m[i]->msg);
      n_msgs++;
    }
    fprintf(stderr, "# conv<%d>: %s\n", m[i]->msg_style, m[i]->msg);
  }
  *resp = calloc((size_t) n, sizeof(**resp));
  return *resp ? PAM_SUCCESS : PAM_BUF_ERR;
}

static void
reset(void)
{
  n_msgs = 0;
  captured_log_reset();
}

/* The one error line shown to the user, or NULL. */
static const char *
error_message(void)
{
  const char *found = NULL;
  for (int i = 0; i < n_msgs; i++)
    if (msgs[i].style == PAM_ERROR_MSG)
      found = msgs[i].text;
  return found;
}

/* The captured syslog line of pam_berth's `action` (login, logout) for who,
 * or NULL. */
static const char *
action_line(const char *action, const char *who)
{
  char needle[160];
  snprintf(needle, sizeof(needle), "(" SERVICE ":session): action=%s user=%s ", action, who);
  return captured_log_line(needle);
}

/* The whole line pam_syslog makes at priority pri (6 info, 3 err) from msg. */
static const char *
want_line(int pri, const char *msg)
{
  static char line[2 * PATH_MAX + 64];
  snprintf(line, sizeof(line), "<%d>pam_berth(" SERVICE ":session): %s", pri, msg);
  return line;
}

/* The number after " key=" in line, or -1 (absent, or not a number). */
static long
key_number(const char *line, const char *key)
{
  char needle[64];
  const char *p;
  char *end;
  long v;

  snprintf(needle, sizeof(needle), " %s=", key);
  if (line == NULL || (p = strstr(line, needle)) == NULL)
    return -1;
  p += strlen(needle);
  if (*p < '0' || *p > '9')
    return -1;
  v = strtol(p, &end, 10);
  return *end == ' ' || *end == '\0' ? v : -1;
}

static bool
has(const char *line, const char *needle)
{
  if (line == NULL || strstr(line, needle) == NULL) {
    fprintf(stderr, "# want \"%s\" in: %s\n", needle, line ? line : "(no line)");
    return false;
  }
  return true;
}

static bool
plain_line(const char *s)
{
  return s != NULL && strncmp(s, "berth: ", 7) == 0 && strchr(s, '\n') == NULL
         && strstr(s, "please contact your administrator") != NULL;
}

/* ---------------------------------------------------------------- files */

static void __attribute__((format(printf, 2, 3))) write_file(const char *path, const char *fmt, ...)
{
  va_list ap;
  FILE *f = fopen(path, "w");

  if (f == NULL)
    bail("cannot write %s: %s", path, strerror(errno));
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  if (fclose(f) != 0)
    bail("cannot write %s: %s", path, strerror(errno));
}

/* A valid berth.conf; `exclude` is listed in policy.exclude_users. */
static void
write_conf_ex(const char *socket, long timeout_ms, const char *on_logout, const char *exclude)
{
  write_file(
      conf,
      "# written by test_pam_module\n"
      "engine = { socket = \"%s\"; timeout_ms = %ld; };\n"
      "image = \"%s\";\n"
      "pull = \"never\";\n"
      "home = { mount = true; create = true; skel = \"%s/skel\"; };\n"
      "container = {\n"
      "  network = \"none\"; memory = \"256m\"; pids = 64;\n"
      /* a keeper that stops at once on SIGTERM; the PAM tier doesn't
       * depend on berth-keeper being installed */
      "  keeper = [ \"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\" ];\n"
      "  on_logout = \"%s\";\n"
      "};\n"
      "policy = { exclude_users = [ \"%s\" ]; };\n",
      socket, timeout_ms, image, tmp, on_logout, exclude);
}

static void
write_conf(const char *socket, long timeout_ms, const char *on_logout)
{
  write_conf_ex(socket, timeout_ms, on_logout, "root");
}

/* The service file: the module with these arguments, in a stack that shows
 * its own return code.  A lone module's PAM_IGNORE would come back from libpam
 * as PAM_PERM_DENIED; here it falls through to pam_debug, which answers
 * PAM_NO_MODULE_DATA (pam_berth never returns that; pam_rc() maps it back).
 * Success ends the stack, any failure returns the module's code at once. */
static void
write_service(const char *args)
{
  char path[PATH_MAX + 32];

  snprintf(path, sizeof(path), "%s/pam.d/" SERVICE, tmp);
  write_file(
      path,
      "session [success=done ignore=ignore default=die] %s config=%s %s\n"
      "session requisite pam_debug.so open_session=no_module_data close_session=no_module_data\n",
      module, conf, args);
}

static int
pam_rc(int rc)
{
  return rc == PAM_NO_MODULE_DATA ? PAM_IGNORE : rc;
}

static int
open_session(pam_handle_t *pamh, int flags)
{
  return pam_rc(pam_open_session(pamh, flags));
}

static int
close_session(pam_handle_t *pamh, int flags)
{
  return pam_rc(pam_close_session(pamh, flags));
}

/* ---------------------------------------------------------------- PAM */

static pam_handle_t *
start(const char *name)
{
  static struct pam_conv c = { conv, NULL };
  char confdir[PATH_MAX + 8];
  pam_handle_t *pamh = NULL;
  int rc;

  snprintf(confdir, sizeof(confdir), "%s/pam.d", tmp);
  rc = pam_start_confdir(SERVICE, name, &c, confdir, &pamh);
  if (rc != PAM_SUCCESS)
    bail("pam_start_confdir: %s", pam_strerror(pamh, rc));
  return pamh;
}

/* open_session for name with args; returns its code and ends the handle. */
static int
open_once(const char *name, const char *args, int flags)
{
  pam_handle_t *pamh;
  int rc;

  write_service(args);
  reset();
  pamh = start(name);
  rc = open_session(pamh, flags);
  pam_end(pamh, rc);
  return rc;
}

static bool
env_has(pam_handle_t *pamh, const char *want)
{
  char **env = pam_getenvlist(pamh);
  bool found = false;

  for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
    if (strcmp(env[i], want) == 0)
      found = true;
    free(env[i]);
  }
  free(env);
  return found;
}

/* ---------------------------------------------------------------- process state */

static int
count_fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  struct dirent *de;
  int n = 0;

  if (d == NULL)
    bail("opendir /proc/self/fd: %s", strerror(errno));
  while ((de = readdir(d)) != NULL)
    if (de->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the directory's own fd */
}

static int
count_threads(void)
{
  char line[256];
  int n = -1;
  FILE *f = fopen("/proc/self/status", "r");

  while (f != NULL && fgets(line, sizeof(line), f) != NULL)
    if (sscanf(line, "Threads: %d", &n) == 1)
      break;
  if (f != NULL)
    fclose(f);
  return n;
}

/* A fingerprint of every signal disposition. */
static void
signal_state(void *out[65])
{
  for (int s = 1; s < 65; s++) {
    struct sigaction sa;
    out[s] = sigaction(s, NULL, &sa) == 0 ? (void *) sa.sa_handler : NULL;
  }
}

/* ---------------------------------------------------------------- docker */

/* docker inspect -f FORMAT NAME, trimmed; NULL when the container is absent. */
static char *
inspect(const char *format)
{
  char cmd[512], out[512] = "";
  FILE *p;
  size_t n;

  snprintf(cmd, sizeof(cmd), "docker inspect -f '%s' %s 2>/dev/null", format, container);
  p = popen(cmd, "r");
  if (p == NULL)
    bail("popen: %s", strerror(errno));
  n = fread(out, 1, sizeof(out) - 1, p);
  out[n] = '\0';
  if (pclose(p) != 0)
    return NULL;
  out[strcspn(out, "\n")] = '\0';
  return strdup(out);
}

static bool
container_state(const char *want) /* "running", "exited", or NULL = absent */
{
  char *got = inspect("{{.State.Status}}");
  bool same = want == NULL ? got == NULL : got != NULL && strcmp(got, want) == 0;
  if (!same)
    fprintf(stderr, "# container %s: want %s, got %s\n", container, want ? want : "(absent)",
            got ? got : "(absent)");
  free(got);
  return same;
}

static void
remove_container(void)
{
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "docker rm -f %s >/dev/null 2>&1", container);
  if (system(cmd) < 0)
    fprintf(stderr, "# docker rm failed\n");
}

/* Records of the container owned by pid (RUNDIR/sessions/NAME/PID-START). */
static bool
has_record(pid_t pid)
{
  char dir[PATH_MAX], prefix[32];
  struct dirent *de;
  bool found = false;
  DIR *d;

  snprintf(dir, sizeof(dir), BERTH_RUNDIR "/sessions/%s", container);
  snprintf(prefix, sizeof(prefix), "%ld-", (long) pid);
  d = opendir(dir);
  while (d != NULL && (de = readdir(d)) != NULL)
    if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
      found = true;
  if (d != NULL)
    closedir(d);
  return found;
}

static double
now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- scenarios: no engine */

#define BOGUS_SOCKET "/nonexistent/berth-test-engine.sock"

static void
test_excluded(void)
{
  pam_handle_t *pamh;
  int rc;

  /* root never reaches the config or the engine: a broken file doesn't matter */
  write_file(conf, "this is not libconfig\n");
  write_service("debug frobnicate timeout=soon config=relative.conf");
  reset();
  pamh = start("root");
  rc = open_session(pamh, 0);
  check(rc == PAM_IGNORE,
        "root: open_session returns PAM_IGNORE, even with a broken config (got %s)",
        pam_strerror(pamh, rc));
  check(n_msgs == 0, "root sees no message");
  check(captured_log_has("frobnicate"), "an unknown module argument is logged, not fatal");
  check(captured_log_has("timeout=soon"), "an invalid timeout= is logged and ignored");
  check(captured_log_has("config=relative.conf"), "a relative config= is logged and ignored");
  check(captured_log_has("<7>pam_berth(" SERVICE ":session): user=root excluded"),
        "debug: the log says why the user is excluded, at debug priority");
  rc = close_session(pamh, 0);
  check(rc == PAM_IGNORE, "root: close_session returns PAM_IGNORE (got %s)",
        pam_strerror(pamh, rc));
  check(!captured_log_has("action="), "excluded user: no login or logout line, even with debug");
  pam_end(pamh, rc);

  /* policy.exclude_users, for an ordinary account */
  write_conf_ex(BOGUS_SOCKET, 1000, "keep", "nobody");
  rc = open_once("nobody", "debug", 0);
  check(rc == PAM_IGNORE, "user in policy.exclude_users: PAM_IGNORE (got %s)",
        pam_strerror(NULL, rc));
  check(captured_log_has("exclude_users") || captured_log_has("excluded"),
        "debug: exclusion is logged");
  check(n_msgs == 0, "excluded user sees no message");
  rc = open_once("nobody", "", 0);
  check(rc == PAM_IGNORE && captured_log()[0] == '\0',
        "without debug nothing is logged for an excluded user");
  {
    pam_handle_t *pamh2;
    reset();
    pamh2 = start("nobody");
    rc = close_session(pamh2, 0);
    pam_end(pamh2, rc);
    check(rc == PAM_IGNORE && captured_log()[0] == '\0', "nor at close_session");
  }
}

static void
test_unknown_user(void)
{
  const char *m;
  int rc;

  write_conf(BOGUS_SOCKET, 1000, "keep");
  rc = open_once("berth-no-such-user-xyz", "", 0);
  check(rc == PAM_SESSION_ERR, "unknown user: PAM_SESSION_ERR (got %s)", pam_strerror(NULL, rc));
  m = error_message();
  check(plain_line(m) && strstr(m, "could not be resolved") != NULL,
        "unknown user: one plain line to the user (%s)", m ? m : "none");
  {
    char want[256];
    snprintf(want, sizeof(want),
             "action=login user=berth-no-such-user-xyz container=- session=%ld engine=- "
             "outcome=failed error=user: ",
             (long) getpid());
    m = captured_log_line("action=login");
    check(m != NULL && strncmp(m, want_line(3, want), strlen(want_line(3, want))) == 0,
          "unknown user: one err line action=login user= container=- session=PID "
          "outcome=failed error=user: ... (%s)",
          m ? m : "none");
  }
  check(captured_log_count("action=") == 1, "unknown user: exactly one action line");
}

static void
test_bad_config(void)
{
  char where[PATH_MAX + 8];
  const char *m;
  int rc;

  write_file(conf, "image = \"x\";\npull = \"never\";\nbogus_key = 1;\n");
  snprintf(where, sizeof(where), "%s:3", conf);
  rc = open_once("nobody", "", 0);
  check(rc == PAM_SESSION_ERR, "unknown config key: PAM_SESSION_ERR (got %s)",
        pam_strerror(NULL, rc));
  m = error_message();
  check(plain_line(m) && strstr(m, "configuration is invalid") != NULL,
        "bad config: plain line to the user (%s)", m ? m : "none");
  check(m != NULL && strstr(m, "bogus_key") == NULL && strstr(m, conf) == NULL,
        "bad config: no detail leaks to the user");
  m = action_line("login", "nobody");
  check(has(m, "container=- ") && has(m, "outcome=failed error=config: ") && has(m, where)
            && has(m, "bogus_key") && strncmp(m, "<3>", 3) == 0,
        "bad config: the failed login line names %s and the key", where);

  rc = open_once("nobody", "quiet", 0);
  check(rc == PAM_SESSION_ERR && n_msgs == 0, "quiet: still PAM_SESSION_ERR, no message");
  check(captured_log_has(where), "quiet: still logged");
  rc = open_once("nobody", "", PAM_SILENT);
  check(rc == PAM_SESSION_ERR && n_msgs == 0, "PAM_SILENT: still PAM_SESSION_ERR, no message");
}

static void
test_not_root(void)
{
  int rc;

  write_conf(BOGUS_SOCKET, 1000, "keep");
  rc = open_once("nobody", "", 0);
  check(rc == PAM_SESSION_ERR && captured_log_has("root"),
        "not root: PAM_SESSION_ERR, the log says the module needs root");
}

/* What ~/.pam_environment could hold after pam_env user_readenv=1, put
 * into the PAM environment by the application before the session opens, as
 * a module stacked before pam_berth would. */
static const char *const planted_env[] = {
  "LD_PRELOAD=/home/u/e.so", "BASH_ENV=/home/u/x.sh", "LANG=C.UTF-8", "PATH=/home/u/bin", NULL,
};

static pam_handle_t *
open_planted(const char *name, int *rc)
{
  pam_handle_t *pamh;

  write_service("");
  reset();
  pamh = start(name);
  for (size_t i = 0; planted_env[i] != NULL; i++)
    if (pam_putenv(pamh, planted_env[i]) != PAM_SUCCESS)
      bail("pam_putenv %s", planted_env[i]);
  *rc = open_session(pamh, 0);
  return pamh;
}

/* Reduced to the whitelist: LANG kept, PATH berth's, the rest gone. */
static bool
scrubbed(pam_handle_t *pamh)
{
  return !env_has(pamh, planted_env[0]) && !env_has(pamh, planted_env[1])
         && env_has(pamh, "LANG=C.UTF-8") && env_has(pamh, "PATH=" BERTH_ENV_HOST_PATH);
}

/* The environment is reduced whenever the user is not positively excluded,
 * however the open ends: the host processes sshd starts get it even when
 * the container cannot be started. */
static void
test_env_scrub(void)
{
  pam_handle_t *pamh;
  int rc;

  write_file(conf, "image = \"x\";\npull = \"never\";\nbogus_key = 1;\n");
  pamh = open_planted("nobody", &rc);
  check(rc == PAM_SESSION_ERR && scrubbed(pamh),
        "bad config: the PAM environment is reduced to the whitelist anyway (fail closed)");
  pam_end(pamh, rc);

  write_conf(BOGUS_SOCKET, 1000, "keep");
  pamh = open_planted("berth-no-such-user-xyz", &rc);
  check(rc == PAM_SESSION_ERR && scrubbed(pamh), "unknown user: the PAM environment is reduced");
  pam_end(pamh, rc);

  pamh = open_planted("nobody", &rc);
  check(rc == PAM_SESSION_ERR && scrubbed(pamh),
        "berthed, container cannot be started: the PAM environment is reduced, LANG kept, "
        "PATH fixed, LD_PRELOAD and BASH_ENV gone");
  pam_end(pamh, rc);

  write_conf_ex(BOGUS_SOCKET, 1000, "keep", "nobody");
  pamh = open_planted("nobody", &rc);
  check(rc == PAM_IGNORE && env_has(pamh, planted_env[0]) && env_has(pamh, planted_env[3]),
        "excluded user: the PAM environment is left alone");
  pam_end(pamh, rc);
}

/* ---------------------------------------------------------------- scenarios: engine */

static char *
read_all(const char *path)
{
  FILE *f = fopen(path, "r");
  char *buf = calloc(1, 1 << 20);
  size_t n;

  if (f == NULL || buf == NULL)
    bail("cannot read %s: %s", path, strerror(errno));
  n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* The test user exists only in this process's mount namespace: /etc there is
 * a tmpfs holding our own passwd and group and bind mounts of every other
 * entry of the host's /etc.  (Binding just the two files is not enough: when
 * another process on the host replaces /etc/passwd, say useradd, a bind
 * mount on the old file is dropped.)  Only the forked child that runs the
 * engine scenarios enters it; the parent cleans up from the host's view, so
 * its rm -rf never meets a bind mount of the host's /etc. */
static void
setup_user(void)
{
  char view[PATH_MAX], path[PATH_MAX + 300];
  struct dirent *de;
  DIR *d;

  snprintf(view, sizeof(view), "%s/etc", tmp);
  if (mkdir(view, 0755) < 0)
    bail("mkdir %s: %s", view, strerror(errno));
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
      || mount("berth-test-etc", view, "tmpfs", 0, "mode=0755") < 0)
    bail("private mount namespace: %s", strerror(errno));
  d = opendir("/etc");
  if (d == NULL)
    bail("opendir /etc: %s", strerror(errno));
  while ((de = readdir(d)) != NULL) {
    char src[300], target[PATH_MAX];
    struct stat st;
    ssize_t n;
    int rc;

    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0
        || strcmp(de->d_name, "passwd") == 0 || strcmp(de->d_name, "group") == 0)
      continue;
    snprintf(src, sizeof(src), "/etc/%s", de->d_name);
    snprintf(path, sizeof(path), "%s/%s", view, de->d_name);
    if (lstat(src, &st) < 0)
      continue;
    if (S_ISLNK(st.st_mode)) {
      if ((n = readlink(src, target, sizeof(target) - 1)) < 0)
        continue;
      target[n] = '\0';
      if (symlink(target, path) < 0)
        bail("symlink %s: %s", path, strerror(errno));
      continue;
    }
    if (S_ISDIR(st.st_mode))
      rc = mkdir(path, 0755);
    else if (S_ISREG(st.st_mode))
      rc = mknod(path, S_IFREG | 0644, 0);
    else
      continue; /* sockets, fifos: nothing the tests need */
    if (rc < 0 || mount(src, path, NULL, MS_BIND | MS_REC, NULL) < 0)
      bail("bind %s: %s", src, strerror(errno));
  }
  closedir(d);
  {
    char *pw = read_all("/etc/passwd"), *gr = read_all("/etc/group");
    snprintf(path, sizeof(path), "%s/passwd", view);
    write_file(path, "%s%s:x:%u:%u:berth pam test:%s/home/%s:/bin/sh\n", pw, user, test_uid,
               test_uid, tmp, user);
    chmod(path, 0644);
    snprintf(path, sizeof(path), "%s/group", view);
    write_file(path, "%s%s:x:%u:\n%sg:x:%u:%s\n", gr, user, test_uid, user, test_uid + 1, user);
    chmod(path, 0644);
    free(pw);
    free(gr);
  }
  if (mount(view, "/etc", NULL, MS_BIND | MS_REC, NULL) < 0)
    bail("bind %s on /etc: %s", view, strerror(errno));
  snprintf(path, sizeof(path), "%s/skel", tmp);
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/skel/.berth-skel", tmp);
  write_file(path, "from skel\n");
  if (getpwnam(user) == NULL)
    bail("test user %s not visible through NSS", user);
  printf("# test user %s uid %u, container %s, image %s\n", user, test_uid, container, image);
}

static void
test_engine_unreachable(void)
{
  char sock[PATH_MAX + 16];
  const char *m;
  double t0;
  int fds0 = count_fds(), rc;

  snprintf(sock, sizeof(sock), "%s/no-engine.sock", tmp);
  write_conf(sock, 10000, "remove");
  t0 = now_s();
  rc = open_once(user, "", 0);
  check(rc == PAM_SESSION_ERR, "engine unreachable: PAM_SESSION_ERR (got %s)",
        pam_strerror(NULL, rc));
  check(now_s() - t0 < 5, "engine unreachable: fails fast (%.1fs)", now_s() - t0);
  m = error_message();
  check(plain_line(m) && strstr(m, "not reachable") != NULL,
        "engine unreachable: plain line to the user (%s)", m ? m : "none");
  {
    char want[2 * PATH_MAX];
    const char *l = action_line("login", user);
    snprintf(want, sizeof(want),
             "action=login user=%s container=%s session=%ld engine=%s outcome=failed "
             "error=engine-unreachable: ",
             user, container, (long) getpid(), sock);
    check(l != NULL && strncmp(l, want_line(3, want), strlen(want_line(3, want))) == 0,
          "engine unreachable: err line with user=, container=, session=, engine=, outcome=failed "
          "and the error (%s)",
          l ? l : "none");
    check(captured_log_count("action=") == 1, "engine unreachable: exactly one action line");
  }
  check(count_fds() == fds0, "no fd left open after the first call (curl init included)");
  rc = open_once(user, "quiet", 0);
  check(rc == PAM_SESSION_ERR && n_msgs == 0 && captured_log_has("engine-unreachable"),
        "engine unreachable + quiet: no message, still logged");
  rc = open_once(user, "", PAM_SILENT);
  check(rc == PAM_SESSION_ERR && n_msgs == 0, "engine unreachable + PAM_SILENT: no message");
  check(container_state(NULL), "no container was created");
}

/* An engine that accepts connections and never answers. */
static int slow_fd = -1;
static char slow_sock[PATH_MAX + 16];

static void
test_engine_timeout(void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  const char *m;
  double t0, dt;
  int rc;

  snprintf(slow_sock, sizeof(slow_sock), "%s/slow.sock", tmp);
  if (strlen(slow_sock) >= sizeof(sa.sun_path))
    bail("socket path too long: %s", slow_sock);
  memcpy(sa.sun_path, slow_sock, strlen(slow_sock) + 1);
  slow_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (slow_fd < 0 || bind(slow_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
      || listen(slow_fd, 128) < 0)
    bail("slow engine socket: %s", strerror(errno));
  write_conf(slow_sock, 60000, "remove");
  t0 = now_s();
  rc = open_once(user, "timeout=500", 0);
  dt = now_s() - t0;
  check(rc == PAM_SESSION_ERR, "engine never answers: PAM_SESSION_ERR (got %s)",
        pam_strerror(NULL, rc));
  check(dt < 5, "timeout=500 overrides engine.timeout_ms=60000 (took %.1fs)", dt);
  m = error_message();
  check(plain_line(m) && strstr(m, "did not answer in time") != NULL,
        "engine timeout: plain line to the user (%s)", m ? m : "none");
  check(captured_log_has("error=engine-timeout"), "engine timeout: logged as engine-timeout");
}

static void
test_success_remove(void)
{
  char want[160], home[PATH_MAX], skel[PATH_MAX + 16];
  void *sig0[65], *sig1[65];
  pam_handle_t *pamh;
  struct stat st;
  int fds0, thr0, rc;
  char *s;
  bool info = false, sigs_same = true;

  write_conf("/var/run/docker.sock", 60000, "remove");
  write_service("");
  reset();
  fds0 = count_fds();
  thr0 = count_threads();
  signal_state(sig0);
  pamh = start(user);
  rc = open_session(pamh, 0);
  check(rc == PAM_SUCCESS, "open_session: PAM_SUCCESS (got %s)", pam_strerror(pamh, rc));
  check(error_message() == NULL, "no error message on success");
  snprintf(want, sizeof(want), "BERTH_CONTAINER=%s", container);
  check(env_has(pamh, want), "%s in the PAM environment", want);
  check(container_state("running"), "container %s is running", container);
  s = inspect("{{index .Config.Labels \"berth.user\"}}");
  check(s != NULL && strcmp(s, user) == 0, "container labelled berth.user=%s (%s)", user,
        s ? s : "-");
  free(s);
  s = inspect("{{.Config.User}}");
  snprintf(want, sizeof(want), "%u:%u", test_uid, test_uid);
  check(s != NULL && strcmp(s, want) == 0, "container runs as %s (%s)", want, s ? s : "-");
  free(s);
  snprintf(home, sizeof(home), "%s/home/%s", tmp, user);
  check(stat(home, &st) == 0 && st.st_uid == test_uid && st.st_gid == test_uid
            && (st.st_mode & 07777) == 0700,
        "home %s created, owned by the user, mode 0700", home);
  snprintf(skel, sizeof(skel), "%s/.berth-skel", home);
  check(stat(skel, &st) == 0 && st.st_uid == test_uid,
        "skel copied into the home, owned by the user");
  for (int i = 0; i < n_msgs; i++)
    if (msgs[i].style == PAM_TEXT_INFO && strstr(msgs[i].text, home) != NULL)
      info = true;
  check(info, "the user is told the home was created");
  check(has_record(getpid()), "session recorded as owned by this process");
  {
    char msg[512];
    const char *l = action_line("login", user);
    snprintf(msg, sizeof(msg),
             "action=login user=%s container=%s session=%ld home=created outcome=ok", user,
             container, (long) getpid());
    check(l != NULL && strcmp(l, want_line(6, msg)) == 0, "login line: %s (got %s)", msg,
          l ? l : "none");
    check(captured_log_count("action=login") == 1, "exactly one login line at open");
    check(captured_log_count("action=create user=") == 1,
          "the core logs the container's creation once");
  }
  sleep(2);
  reset();
  rc = close_session(pamh, 0);
  check(rc == PAM_SUCCESS, "close_session: PAM_SUCCESS (got %s)", pam_strerror(pamh, rc));
  {
    char msg[512];
    const char *l = action_line("logout", user);
    long d = key_number(l, "duration");
    snprintf(msg, sizeof(msg),
             "action=logout user=%s container=%s session=%ld duration=%ld "
             "remaining=0 on_logout=remove outcome=ok",
             user, container, (long) getpid(), d);
    check(l != NULL && strcmp(l, want_line(6, msg)) == 0,
          "logout line: user=, container=, session=, duration, remaining=0, on_logout=remove, "
          "outcome=ok (got %s)",
          l ? l : "none");
    check(d >= 2 && d < 30, "logout line: duration is the seconds since open (2 s slept, got %ld)",
          d);
    check(captured_log_count("action=logout") == 1, "exactly one logout line at close");
    check(captured_log_count("action=rm user=") == 1
              && captured_log_has(" trigger=logout outcome=ok"),
          "the core logs the removal at the last logout once");
  }
  pam_end(pamh, rc);
  check(container_state(NULL), "on_logout = remove: container gone after the last close");
  check(!has_record(getpid()), "session record released");
  check(count_fds() == fds0, "no fd leaked by open+close (%d before, %d after)", fds0, count_fds());
  check(count_threads() == thr0, "no thread left behind (%d before, %d after)", thr0,
        count_threads());
  signal_state(sig1);
  for (int sig = 1; sig < 65; sig++)
    if (sig0[sig] != sig1[sig]) {
      fprintf(stderr, "# signal %d (%s): handler %p -> %p\n", sig, strsignal(sig), sig0[sig],
              sig1[sig]);
      sigs_same = false;
    }
  check(sigs_same, "no signal disposition changed");
}

/* A session of user opened with args (checked: PAM_SUCCESS), still open. */
static pam_handle_t *
open_user(const char *args, const char *what)
{
  pam_handle_t *pamh;
  int rc;

  write_service(args);
  reset();
  pamh = start(user);
  rc = open_session(pamh, 0);
  check(rc == PAM_SUCCESS, "%s: open_session PAM_SUCCESS (got %s)", what, pam_strerror(pamh, rc));
  return pamh;
}

static void
open_close(const char *args, const char *what)
{
  pam_handle_t *pamh = open_user(args, what);
  int rc;

  rc = close_session(pamh, 0);
  check(rc == PAM_SUCCESS, "%s: close_session PAM_SUCCESS (got %s)", what, pam_strerror(pamh, rc));
  pam_end(pamh, rc);
}

static void
test_keep_stop(void)
{
  bool info = false;

  write_conf("/var/run/docker.sock", 60000, "keep");
  open_close("debug", "keep");
  for (int i = 0; i < n_msgs; i++)
    info = info || msgs[i].style == PAM_TEXT_INFO;
  check(!info, "an existing home is not announced again");
  check(action_line("login", user) != NULL && strstr(action_line("login", user), "home=") == NULL,
        "login line: no home=created for an existing home");
  check(has(action_line("logout", user), " remaining=0 on_logout=keep outcome=ok"),
        "on_logout = keep: logout line says remaining=0 on_logout=keep");
  check(container_state("running"), "on_logout = keep: still running after the last logout");

  write_conf("/var/run/docker.sock", 60000, "stop");
  open_close("", "stop");
  check(container_state("exited"), "on_logout = stop: stopped, not removed, after the last logout");
  check(has(action_line("logout", user), " remaining=0 on_logout=stop outcome=ok")
            && captured_log_has("action=stop user=")
            && captured_log_has(" trigger=logout outcome=ok"),
        "on_logout = stop: logout line says on_logout=stop, the core logs the stop");
  {
    pam_handle_t *pamh = open_user("", "stopped container");
    check(container_state("running"), "a stopped container starts again at login");
    pam_end(pamh, close_session(pamh, 0));
  }
  check(container_state("exited"), "and stops again at logout");
  remove_container();
}

/* A session held by another process, as sshd's monitors of two connections. */
static pid_t
spawn_session(int *go_fd)
{
  int up[2], down[2], rc = -1;
  pid_t pid;

  if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0)
    bail("pipe: %s", strerror(errno));
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    bail("fork: %s", strerror(errno));
  if (pid == 0) {
    pam_handle_t *pamh = NULL;
    struct pam_conv c = { conv, NULL };
    char confdir[PATH_MAX + 8], x;
    int rc2 = PAM_SYSTEM_ERR;

    is_parent = false;
    snprintf(confdir, sizeof(confdir), "%s/pam.d", tmp);
    if (pam_start_confdir(SERVICE, user, &c, confdir, &pamh) == PAM_SUCCESS)
      rc = open_session(pamh, 0);
    if (write(up[1], &rc, sizeof(rc)) != sizeof(rc) || read(down[0], &x, 1) != 1)
      _exit(3); /* told to vanish without closing */
    rc2 = close_session(pamh, 0);
    pam_end(pamh, rc2);
    _exit(rc == PAM_SUCCESS && rc2 == PAM_SUCCESS ? 0 : 1);
  }
  close(up[1]);
  close(down[0]);
  if (read(up[0], &rc, sizeof(rc)) != sizeof(rc))
    rc = -1;
  close(up[0]);
  check(rc == PAM_SUCCESS, "a session opened in process %ld (got %d)", (long) pid, rc);
  *go_fd = down[1];
  return pid;
}

static void
test_concurrent_sessions(void)
{
  int go, status = -1;
  pid_t pid;

  write_conf("/var/run/docker.sock", 60000, "remove");
  write_service("");
  pid = spawn_session(&go);
  check(has_record(pid), "the other process's session is recorded under its pid");
  open_close("", "second session");
  check(container_state("running"),
        "the container survives one logout while another session is open");
  check(has(action_line("logout", user), " remaining=1 on_logout=remove outcome=ok"),
        "logout with another session open: remaining=1");
  if (write(go, "x", 1) != 1)
    bail("write: %s", strerror(errno));
  close(go);
  waitpid(pid, &status, 0);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the other session closed cleanly");
  check(container_state(NULL), "removed when the last session closes");

  /* sshd killed mid-session: its record no longer counts */
  pid = spawn_session(&go);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  close(go);
  check(container_state("running"), "container running while the killed session's record remains");
  open_close("", "after a killed session");
  check(container_state(NULL),
        "a killed session's record doesn't count: removed at the last real logout");
}

static void
test_close_without_data(void)
{
  pam_handle_t *pamh;
  int rc;

  write_conf("/var/run/docker.sock", 60000, "remove");
  pamh = open_user("", "handle ended without close");
  pam_end(pamh, PAM_SUCCESS); /* drops the module's pam_set_data */
  check(container_state("running"), "container running");
  sleep(2);
  reset();
  pamh = start(user);
  rc = close_session(pamh, 0);
  check(rc == PAM_SUCCESS, "close_session on a fresh handle: PAM_SUCCESS (got %s)",
        pam_strerror(pamh, rc));
  pam_end(pamh, rc);
  check(container_state(NULL) && !has_record(getpid()),
        "close without open's data recomputes from PAM_USER: session released, container removed");
  {
    const char *l = action_line("logout", user);
    long d = key_number(l, "duration");
    check(has(l, " remaining=0 on_logout=remove outcome=ok") && d >= 2 && d < 30,
          "close without open's data: duration from the session record (2 s slept, got %ld)", d);
  }
  reset();
  pamh = start(user);
  rc = close_session(pamh, 0);
  pam_end(pamh, rc);
  check(rc == PAM_SUCCESS && has(action_line("logout", user), " duration=unknown remaining=0 "),
        "close with neither data nor a record: duration=unknown, not a guess");
}

static void
test_close_bounded(void)
{
  pam_handle_t *pamh;
  double t0, dt;
  int rc;

  write_conf("/var/run/docker.sock", 60000, "remove");
  pamh = open_user("timeout=500", "timeout=500");
  write_conf(slow_sock, 60000, "remove"); /* the engine stops answering */
  reset();
  t0 = now_s();
  rc = close_session(pamh, 0);
  dt = now_s() - t0;
  check(rc == PAM_SESSION_ERR, "close on a hung engine: PAM_SESSION_ERR (got %s)",
        pam_strerror(pamh, rc));
  check(dt < 5, "close on a hung engine returns within the timeout (%.1fs)", dt);
  {
    char want[PATH_MAX + 64];
    const char *l = action_line("logout", user);
    snprintf(want, sizeof(want), " engine=%s outcome=failed error=engine-timeout: ", slow_sock);
    check(l != NULL && strncmp(l, "<3>", 3) == 0 && has(l, " remaining=0 on_logout=remove")
              && key_number(l, "duration") >= 0 && has(l, want),
          "close failure: one err logout line with duration, remaining, outcome=failed and the "
          "cause");
    check(captured_log_count("action=") == 1, "close failure: exactly one action line");
  }
  check(n_msgs == 0, "close shows the user nothing");
  check(!has_record(getpid()), "the session record is released even so");
  pam_end(pamh, rc);
  remove_container();
}

/* ---------------------------------------------------------------- main */

static void
cleanup(void)
{
  char cmd[PATH_MAX + 64];

  if (!is_parent || tmp[0] == '\0')
    return;
  if (container[0] != '\0') {
    remove_container();
    /* what the core keeps per container under the run directory */
    snprintf(cmd, sizeof(cmd),
             "rm -rf -- " BERTH_RUNDIR "/sessions/%s " BERTH_RUNDIR "/etc/%s " BERTH_RUNDIR
             "/lock/%s.lock",
             container, container, container);
    if (system(cmd) != 0)
      fprintf(stderr, "# could not clean up the run directory\n");
  }
  snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmp);
  if (system(cmd) != 0)
    fprintf(stderr, "# could not remove %s\n", tmp);
}

int
main(void)
{
  const char *top = getenv("top_builddir"), *ci = getenv("CI"),
             *engine = getenv("BERTH_PAM_TEST_ENGINE");
  char abs_top[PATH_MAX], dir[PATH_MAX + 8];
  int status = -1;
  pid_t pid;

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (realpath(top ? top : ".", abs_top) == NULL)
    bail("realpath %s: %s", top ? top : ".", strerror(errno));
  snprintf(module, sizeof(module), "%s/.libs/pam_berth.so", abs_top);
  if (access(module, R_OK) != 0)
    bail("%s: %s", module, strerror(errno));
  image = getenv("BERTH_TEST_IMAGE") ? getenv("BERTH_TEST_IMAGE") : "berth-test:latest";
  snprintf(tmp, sizeof(tmp), "/tmp/berth-pam.XXXXXX");
  if (mkdtemp(tmp) == NULL || chmod(tmp, 0755) < 0)
    bail("mkdtemp: %s", strerror(errno));
  atexit(cleanup);
  snprintf(dir, sizeof(dir), "%s/pam.d", tmp);
  mkdir(dir, 0755);
  snprintf(dir, sizeof(dir), "%s/pam.d/other", tmp);
  write_file(dir, "# libpam looks for this fallback service\n");
  snprintf(conf, sizeof(conf), "%s/berth.conf", tmp);

  test_excluded();
  test_unknown_user();
  test_bad_config();
  test_env_scrub();
  if (engine == NULL || strcmp(engine, "1") != 0) {
    if (geteuid() != 0)
      test_not_root();
    printf("1..%d\n", n_checks);
    if (failures)
      return 1;
    printf("# SKIP engine scenarios: need root and dockerd (BERTH_PAM_TEST_ENGINE=1)\n");
    return ci != NULL && strcmp(ci, "true") == 0 ? 1 : 77;
  }
  if (geteuid() != 0)
    bail("engine scenarios need root");
  snprintf(user, sizeof(user), "bpam%ld", (long) getpid());
  snprintf(container, sizeof(container), "berth-%s", user);
  test_uid = 61000 + (uid_t) (getpid() % 3000);
  while (getpwuid(test_uid) != NULL || getgrgid(test_uid) != NULL || getgrgid(test_uid + 1) != NULL)
    test_uid++;
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    bail("fork: %s", strerror(errno));
  if (pid == 0) {
    is_parent = false;
    setup_user();
    test_engine_unreachable();
    test_engine_timeout();
    test_success_remove();
    test_keep_stop();
    test_concurrent_sessions();
    test_close_without_data();
    test_close_bounded();
    if (slow_fd >= 0)
      close(slow_fd);
    printf("1..%d\n", n_checks);
    exit(failures ? 1 : 0);
  }
  if (waitpid(pid, &status, 0) < 0)
    bail("waitpid: %s", strerror(errno));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
