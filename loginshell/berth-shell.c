/* berth-shell.c - setuid-root login shell and ForceCommand: puts every SSH
 * session of a berthed user into the user's container, and hands excluded
 * users their host shell.
 *
 * The privilege story (docs/security.md): sanitize the process, identify the
 * caller by getuid() only, load the compiled-in config; as root, and on
 * admin-controlled input only (config, NSS), open the engine connections and
 * prepare the container; drop to the user for good; only then look at what
 * the user controls (argv, the saved environment).
 *
 * Logging (docs/logging.md): one syslog line when a session enters the
 * container or the host shell (action=entry, or the failure that refused it)
 * and one when it leaves the container (action=exit); session= is our pid. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "berth/config.h"
#include "berth/box.h"
#include "berth/entry.h"
#include "berth/agent.h"
#include "berth/x11fwd.h"
#include "berth/env.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/login.h"
#include "berth/privs.h"
#include "berth/session.h"
#include "berth/user.h"
#include "berth/util.h"

/* PATH inside the container: Docker's own default, so images behave as
 * under `docker run`.  On the host, the usual Debian login PATHs. */
#define CONTAINER_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOST_PATH_USER BERTH_ENV_HOST_PATH
#define HOST_PATH_ROOT "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define RESCUE_SHELL "/bin/sh"

/* Exit statuses of berth's own failures (a command's status passes through). */
#define EXIT_FAILURE_BERTH 1
#define EXIT_USAGE 2
#define EXIT_CANNOT_START 126

/* Variables carried from the caller's environment, as opaque data.  The
 * container gets the SPEC's whitelist (berth_env_passes, shared with
 * pam_berth); SSH_TTY names a host terminal that does not exist inside, so
 * only the host shell gets it, along with what sshd/PAM set for a host
 * session (agent socket, X11, Kerberos cache...): the host shell runs with
 * nothing but the user's own privileges. */
static const char *const keep_host_only[] = {
  "SSH_TTY",           "SSH_AUTH_SOCK",
  "DISPLAY",           "MAIL",
  "KRB5CCNAME",        "XDG_RUNTIME_DIR",
  "XDG_SESSION_ID",    "XDG_SESSION_TYPE",
  "XDG_SESSION_CLASS", "DBUS_SESSION_BUS_ADDRESS",
  "MOTD_SHOWN",        NULL,
};

struct kept_var {
  char *kv;       /* "NAME=VALUE" */
  bool container; /* also passed into the container */
};

static struct kept_var *kept;
static size_t n_kept;

/* For the syslog lines. */
static const char *log_user = "-";
static const char *log_container = "-";
static const char *log_engine = "-";
static bool entered;       /* the entry line was logged: a failure ends the session */
static int64_t entered_ms; /* berth_now_ms() then */

static struct rlimit saved_fsize;
static mode_t saved_umask;

/* ------------------------------------------------------------ reporting */

static _Noreturn void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static _Noreturn void
die(int status, const char *fmt, ...)
{
  va_list ap;
  fputs("berth: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(status);
}

/* The syslog line of a failure that ends us with `status`: the failed entry
 * or, once the session was in the container, its failed exit.  Usage errors
 * (the client's doing) are notices and name no engine. */
static void
log_failure(const berth_error_t err, int status)
{
  bool usage = err->kind == BERTH_E_USAGE;
  char extra[64];
  struct berth_action a = { .user = log_user,
                            .container = log_container,
                            .session = (long) getpid(),
                            .engine = usage ? NULL : log_engine,
                            .outcome = "failed",
                            .err = err };

  if (entered) {
    snprintf(extra, sizeof(extra), "duration=%lld status=%d",
             (long long) ((berth_now_ms() - entered_ms) / 1000), status);
    a.extra = extra;
  }
  berth_log_action(usage ? LOG_NOTICE : LOG_ERR, entered ? "exit" : "entry", &a);
}

/* One plain line for the user, one detailed line for syslog, then exit.
 * what: "your container could not be started" and the like. */
static _Noreturn void
fail(berth_error_t *err, const char *what, int status)
{
  log_failure(*err, status);
  die(status, "%s (%s); please contact your administrator", what, berth_error_reason(*err));
}

/* ------------------------------------------------------------ step a: sanitize */

static void
sanitize_fds(void)
{
  /* 0, 1 and 2 must be open: otherwise the next open() lands there and
   * whatever we print goes into, say, a file we opened as root. */
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int n = open("/dev/null", O_RDWR);
      if (n != fd)
        _exit(EXIT_FAILURE_BERTH);
    }
  }
  /* Nothing inherited beyond them is ours: close it all, so no root-opened
   * descriptor of a parent leaks into the container or the host shell. */
  if (close_range(3, ~0U, 0) < 0) {
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 ? max : 65536); fd++)
      close((int) fd);
  }
}

static bool
name_in(const char *const *list, const char *kv, size_t name_len)
{
  for (size_t i = 0; list[i]; i++)
    if (strlen(list[i]) == name_len && strncmp(list[i], kv, name_len) == 0)
      return true;
  return false;
}

static bool
already_kept(const char *kv, size_t name_len)
{
  for (size_t i = 0; i < n_kept; i++)
    if (strncmp(kept[i].kv, kv, name_len + 1) == 0)
      return true;
  return false;
}

/* Copy the whitelisted variables, then empty the environment: no library we
 * call as root (libcurl reads proxy and CURL_* variables, NSS modules read
 * their own) can be steered by the caller.  glibc has already dropped LD_*
 * and friends because we are setuid (AT_SECURE). */
static void
take_environment(void)
{
  extern char **environ;
  size_t n = berth_strv_len(environ);

  kept = calloc(n + 1, sizeof(*kept));
  if (kept == NULL)
    die(EXIT_FAILURE_BERTH, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const char *kv = environ[i];
    const char *eq = strchr(kv, '=');
    size_t len;
    bool c, h;

    if (eq == NULL)
      continue;
    len = (size_t) (eq - kv);
    c = berth_env_passes(kv, len);
    h = !c && name_in(keep_host_only, kv, len);
    /* the first occurrence wins, as for getenv() */
    if ((!c && !h) || already_kept(kv, len))
      continue;
    kept[n_kept].kv = strdup(kv);
    if (kept[n_kept].kv == NULL)
      die(EXIT_FAILURE_BERTH, "out of memory");
    kept[n_kept++].container = c;
  }
  if (clearenv() != 0)
    die(EXIT_FAILURE_BERTH, "cannot clear the environment");
}

static const char *
kept_value(const char *name)
{
  size_t len = strlen(name);
  for (size_t i = 0; i < n_kept; i++)
    if (strncmp(kept[i].kv, name, len) == 0 && kept[i].kv[len] == '=')
      return kept[i].kv + len + 1;
  return NULL;
}

static void
sanitize_process(void)
{
  sigset_t none;
  struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };
  berth_error_t err = NULL;

  sanitize_fds();
  /* A caller-chosen RLIMIT_FSIZE would truncate what root writes (session
   * records, the home skeleton); lifted while root, restored after the drop. */
  if (getrlimit(RLIMIT_FSIZE, &saved_fsize) < 0)
    saved_fsize = inf;
  setrlimit(RLIMIT_FSIZE, &inf);
  /* A blocked signal mask survives execve; start clean. */
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  saved_umask = umask(022);
  if (berth_privs_harden(&err) < 0)
    die(EXIT_FAILURE_BERTH, "cannot harden the process: %s", err->msg);
  take_environment();
  openlog("berth", LOG_PID, LOG_AUTHPRIV);
}

/* ------------------------------------------------------------ invocation */

struct invocation {
  bool login;      /* argv[0] starts with '-', or -l */
  const char *cmd; /* NULL: interactive */
  char **extra;    /* arguments after -c CMD ($0 $1 ... for the shell) */
};

static bool
is_ourselves(const char *cmd)
{
  const char *base = strrchr(BERTH_SHELL_PATH, '/');
  return strcmp(cmd, BERTH_SHELL_PATH) == 0 || strcmp(cmd, base ? base + 1 : BERTH_SHELL_PATH) == 0;
}

/* How sshd runs us (session.c do_child):
 *   login shell, interactive:  argv = {"-berth-shell"}
 *   exec request / scp / rsync: argv = {"berth-shell", "-c", CMD}
 *   sftp subsystem:             argv = {"berth-shell", "-c", "/usr/lib/openssh/sftp-server"}
 *   ForceCommand F:             sshd runs the user's shell as `SHELL -c F` with
 *                               SSH_ORIGINAL_COMMAND = the client's command (unset
 *                               for an interactive session).  With F = berth-shell
 *                               and a POSIX shell as SHELL we get {"berth-shell"} and
 *                               no other argument; with berth-shell as SHELL too, we
 *                               get {"berth-shell", "-c", "/usr/bin/berth-shell"}.
 * su/runuser pass {"berth-shell"} or {"-berth-shell"} (su -), and "-c CMD". */
static int
parse_invocation(int argc, char **argv, struct invocation *inv, berth_error_t *err)
{
  const char *argv0 = argc > 0 && argv[0] ? argv[0] : "berth-shell";
  int i = 1;

  memset(inv, 0, sizeof(*inv));
  inv->login = argv0[0] == '-';
  /* argc can be 0 (execve with an empty argv): then argv[1] would be the
   * environment, so never look past argc. */
  for (; i < argc; i++) {
    if (strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "--login") == 0)
      inv->login = true;
    else if (strcmp(argv[i], "-i") == 0)
      ; /* interactive: what we are without -c anyway */
    else
      break;
  }
  if (i < argc) {
    if (strcmp(argv[i], "-c") != 0)
      return berth_error_make(err, BERTH_E_USAGE, EINVAL, "unsupported argument '%s'", argv[i]);
    if (i + 1 >= argc)
      return berth_error_make(err, BERTH_E_USAGE, EINVAL, "option -c needs a command");
    inv->cmd = argv[i + 1];
    inv->extra = &argv[i + 2];
    if (is_ourselves(inv->cmd) && inv->extra[0] == NULL) {
      /* ForceCommand run by berth-shell as the login shell. */
      inv->cmd = kept_value("SSH_ORIGINAL_COMMAND");
      inv->login = inv->cmd == NULL;
    }
    return 0;
  }
  if (!inv->login && argc <= 1) {
    /* ForceCommand through a POSIX login shell: the command, if any, is in
     * SSH_ORIGINAL_COMMAND; none means an interactive session, which
     * deserves a login shell like any other. */
    inv->cmd = kept_value("SSH_ORIGINAL_COMMAND");
    inv->login = inv->cmd == NULL;
  }
  return 0;
}

/* sshd serves `Subsystem sftp internal-sftp` inside itself, on the host,
 * except under a ForceCommand: then it runs the forced command with
 * SSH_ORIGINAL_COMMAND = "internal-sftp [ARGS]" (session.c do_exec; an exec
 * request can name it as well).  No program of that name exists outside
 * sshd, so berth runs the system's sftp-server instead, which takes the
 * same ARGS: through the shell, like the `-c /usr/lib/openssh/sftp-server`
 * subsystem, from where the distributions keep it, with one plain line
 * when there is none.  cmd is replaced; anything else is left alone. */
#define SFTP_SERVERS                                               \
  "/usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server " \
  "/usr/lib/ssh/sftp-server /usr/libexec/sftp-server /usr/lib/sftp-server"
static void
map_internal_sftp(struct invocation *inv)
{
  static const char name[] = "internal-sftp";
  const char *args;
  char *cmd;

  if (inv->cmd == NULL || strncmp(inv->cmd, name, sizeof(name) - 1) != 0)
    return;
  args = inv->cmd + sizeof(name) - 1;
  if (*args != '\0' && *args != ' ' && *args != '\t')
    return; /* internal-sftpd or the like: some other command */
  if (asprintf(&cmd,
               "for p in " SFTP_SERVERS "; do if [ -x \"$p\" ]; then exec \"$p\"%s; fi; "
               "done; echo 'berth: sftp is not available here (no sftp-server is installed); "
               "please contact your administrator' >&2; exit 127",
               args)
      < 0)
    die(EXIT_FAILURE_BERTH, "out of memory");
  inv->cmd = cmd;
}

/* ------------------------------------------------------------ environment */

struct envb {
  char **v;
  size_t n, cap;
};

static void
env_add(struct envb *e, const char *name, const char *value)
{
  char *kv;
  if (value == NULL)
    return;
  if (e->n + 2 > e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 32;
    char **v = realloc(e->v, cap * sizeof(char *));
    if (v == NULL)
      die(EXIT_FAILURE_BERTH, "out of memory");
    e->v = v;
    e->cap = cap;
  }
  if (name != NULL) {
    if (asprintf(&kv, "%s=%s", name, value) < 0)
      die(EXIT_FAILURE_BERTH, "out of memory");
  } else if ((kv = strdup(value)) == NULL) {
    die(EXIT_FAILURE_BERTH, "out of memory");
  }
  e->v[e->n++] = kv;
  e->v[e->n] = NULL;
}

static void
env_add_kept(struct envb *e, bool for_container)
{
  for (size_t i = 0; i < n_kept; i++)
    if (kept[i].container || !for_container)
      env_add(e, NULL, kept[i].kv);
}

/* ------------------------------------------------------------ host shell */

/* The entry line of a host shell; word: berth_log_command_word's. */
static void
log_host_entry(const struct berth_user *u, const char *shell, const char *word, const char *why)
{
  char extra[BERTH_LOG_VALUE_MAX + 128], tail[BERTH_LOG_VALUE_MAX + 16];

  snprintf(extra, sizeof(extra), "mode=host shell=%s tty=%s command=%s", BERTH_LOG_VAL(shell),
           isatty(STDIN_FILENO) ? "yes" : "no", word);
  snprintf(tail, sizeof(tail), "excluded=%s", BERTH_LOG_VAL(why));
  berth_log_action(LOG_INFO, "entry",
                   &(struct berth_action){ .user = u ? u->name : "root",
                                           .container = NULL,
                                           .session = (long) getpid(),
                                           .extra = extra,
                                           .outcome = "ok",
                                           .tail = tail });
}

/* Excluded users (root always) get the configured host shell, as themselves.
 * Never reached by a berthed user. */
static _Noreturn void
exec_host_shell(const struct berth_user *u, uid_t uid, const char *shell, const char *why, int argc,
                char **argv)
{
  char word[64];
  struct envb env = { 0 };
  struct invocation inv;
  berth_error_t err = NULL;
  const char *base;
  char *arg0;
  char **args;
  size_t n = 0;

  if (strcmp(shell, BERTH_SHELL_PATH) == 0 || access(shell, X_OK) != 0)
    shell = RESCUE_SHELL; /* never loop into ourselves, never leave an admin without a shell */

  if (uid != 0) {
    if (u == NULL)
      die(EXIT_FAILURE_BERTH, "cannot resolve uid %u", (unsigned) uid);
    if (geteuid() == 0) {
      cleanup_free gid_t *gids = calloc(u->n_groups + 1, sizeof(gid_t));
      if (gids == NULL)
        die(EXIT_FAILURE_BERTH, "out of memory");
      for (size_t i = 0; i < u->n_groups; i++)
        gids[i] = u->groups[i].gid;
      if (berth_privs_drop(u->uid, u->gid, gids, u->n_groups, &err) < 0)
        fail(&err, "your shell could not be started", EXIT_FAILURE_BERTH);
    } else if (geteuid() != uid) {
      die(EXIT_FAILURE_BERTH, "refusing to run with euid %u for uid %u", (unsigned) geteuid(),
          (unsigned) uid);
    }
  }
  setrlimit(RLIMIT_FSIZE, &saved_fsize);
  umask(saved_umask);

  /* Only now, as the user: the arguments. */
  if (parse_invocation(argc, argv, &inv, &err) < 0) {
    log_failure(err, EXIT_USAGE);
    die(EXIT_USAGE, "%s; usage: berth-shell [-l] [-c COMMAND [ARG...]]", err->msg);
  }
  berth_log_command_word(inv.cmd, word, sizeof(word));
  map_internal_sftp(&inv);
  log_host_entry(u, shell, word, why);
  base = strrchr(shell, '/');
  base = base ? base + 1 : shell;
  if (asprintf(&arg0, "%s%s", inv.login && inv.cmd == NULL ? "-" : "", base) < 0)
    die(EXIT_FAILURE_BERTH, "out of memory");
  args = calloc(berth_strv_len(inv.extra) + 4, sizeof(char *));
  if (args == NULL)
    die(EXIT_FAILURE_BERTH, "out of memory");
  args[n++] = arg0;
  if (inv.cmd != NULL) {
    args[n++] = (char *) "-c";
    args[n++] = (char *) inv.cmd;
    for (size_t i = 0; inv.extra && inv.extra[i]; i++)
      args[n++] = inv.extra[i];
  }
  args[n] = NULL;

  env_add(&env, "HOME", u && u->home ? u->home : "/");
  env_add(&env, "USER", u ? u->name : "root");
  env_add(&env, "LOGNAME", u ? u->name : "root");
  env_add(&env, "SHELL", shell);
  env_add(&env, "PATH", uid == 0 ? HOST_PATH_ROOT : HOST_PATH_USER);
  env_add_kept(&env, false);

  closelog();
  execve(shell, args, env.v);
  die(EXIT_FAILURE_BERTH, "cannot run %s: %s", shell, strerror(errno));
}

/* ------------------------------------------------------------ main's phases */

/* b), c) who is calling (the real uid, nothing else) and what the
 * compiled-in config's policy says (never a path from the caller); the
 * shared login preparation, lib/login.c.  Returns only for a berthed
 * user: excluded users (uid 0 always) get their host shell here. */
static void
identify_and_decide(struct berth_login *l, uid_t uid, int argc, char **argv)
{
  berth_error_t err = NULL;

  if (berth_login_identify_uid(l, uid, &err) < 0) {
    if (uid == 0) {
      /* not an entry line: the host shell's follows */
      berth_log(LOG_ERR, "user=root error=%s: %s", berth_error_kind_name(err->kind),
                BERTH_LOG_TEXT(err->msg));
      exec_host_shell(NULL, 0, RESCUE_SHELL, "uid 0 is never berthed", argc, argv);
    }
    fail(&err, "your container could not be started", EXIT_FAILURE_BERTH);
  }
  log_user = l->u->name;
  switch (berth_login_decide(l, BERTH_CONFIG_PATH, 0, &err)) {
  case BERTH_POLICY_EXCLUDED:
    if (l->cfg == NULL) {
      /* Root is never berthed: it keeps a shell to repair the config.
       * Not an entry line: the host shell's follows. */
      berth_log(LOG_ERR, "user=root error=%s: %s", berth_error_kind_name(l->cfg_err->kind),
                BERTH_LOG_TEXT(l->cfg_err->msg));
      fprintf(stderr, "berth: %s\n", l->cfg_err->msg);
      exec_host_shell(l->u, uid, RESCUE_SHELL, l->why, argc, argv);
    }
    log_engine = berth_config_engine_name(l->cfg);
    exec_host_shell(l->u, uid, l->cfg->shell.host, l->why ? l->why : "policy", argc, argv);
  case BERTH_POLICY_BERTHED: log_engine = berth_config_engine_name(l->cfg); return;
  case BERTH_POLICY_DENIED:
  default:
    /* Neither a container nor the host shell: not knowing whether the user
     * is excluded must never read as "excluded". */
    if (l->cfg != NULL)
      log_engine = berth_config_engine_name(l->cfg);
    fail(&err, "your container could not be started", EXIT_FAILURE_BERTH);
  }
}

/* d) berthed.  Root from here to the drop, for one reason: the engine
 * socket is root's.  Every input in this phase is the admin's (config)
 * or NSS's; nothing the user controls is read yet.  *entry: the entry
 * mode's root-side part (exec: its engine connections, opened now because
 * after the drop none can be). */
static void
prepare_as_root(struct berth_login *l, uid_t uid, struct berth_entry_prep **entry)
{
  berth_error_t err = NULL;
  pid_t owner;

  if (geteuid() != 0 || uid == 0) {
    berth_error_make(&err, BERTH_E_PERM, EPERM,
                     "berth-shell is not running setuid root (euid %u, uid %u)",
                     (unsigned) geteuid(), (unsigned) uid);
    fail(&err, "your container could not be started", EXIT_FAILURE_BERTH);
  }
  if (berth_login_box(l, &err) < 0)
    fail(&err, "your container could not be started", EXIT_FAILURE_BERTH);
  log_container = l->box->name;
  if (berth_entry_prepare_warm(l->box, entry, &err) < 0)
    fail(&err, "your container could not be started", EXIT_FAILURE_BERTH);
  if (*entry != NULL)
    return; /* join mode's warm path (pam_berth opened this session): no engine at all */
  /* The kept connection is the only one (pinned): after the drop a
   * reconnect would be made as the user, and must fail rather than be
   * tried.  Then the box, and the entry mode's root-side part on the
   * running container. */
  owner = berth_session_owned_by_ancestor(l->box->name) ? 0 : getpid();
  if (berth_login_connect(l, true, &err) < 0 || berth_box_open(l->engine, l->box, owner, &err) < 0
      || berth_entry_prepare(l->engine, l->box, entry, &err) < 0)
    fail(&err, "your container could not be started", EXIT_FAILURE_BERTH);
}

/* The drop: permanent, verified (privs.c re-reads every id and tries to
 * regain root), and the process stays non-dumpable, because it keeps two
 * (three under a memory limit) root-opened engine connections that the
 * user must never reach through ptrace or /proc/PID/fd. */
static void
drop_to_user(const struct berth_user *u, uid_t uid)
{
  berth_error_t err = NULL;
  cleanup_free gid_t *gids = calloc(u->n_groups + 1, sizeof(gid_t));
  uid_t ru, eu, su;
  gid_t rg, eg, sg;

  if (gids == NULL)
    die(EXIT_FAILURE_BERTH, "out of memory");
  for (size_t i = 0; i < u->n_groups; i++)
    gids[i] = u->groups[i].gid;
  if (berth_privs_drop(u->uid, u->gid, gids, u->n_groups, &err) < 0 || berth_privs_harden(&err) < 0)
    fail(&err, "your container could not be started", EXIT_FAILURE_BERTH);
  if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid || eu != uid
      || su != uid || rg != u->gid || eg != u->gid || sg != u->gid
      || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 || setuid(0) == 0) {
    berth_error_make(&err, BERTH_E_INTERNAL, EPERM, "privilege drop could not be verified");
    fail(&err, "your container could not be started", EXIT_FAILURE_BERTH);
  }
  setrlimit(RLIMIT_FSIZE, &saved_fsize);
  umask(saved_umask);
}

/* e) the user's input, as the user: the command to run, as argv for the
 * container's shell; word: what the entry line shows of it. */
static void
user_command(const struct berth_box *b, int argc, char **argv, struct berth_exec_req *req,
             char *word, size_t wlen)
{
  berth_error_t err = NULL;
  struct invocation inv;
  size_t n = 0;

  if (parse_invocation(argc, argv, &inv, &err) < 0) {
    log_failure(err, EXIT_USAGE);
    die(EXIT_USAGE, "%s; usage: berth-shell [-l] [-c COMMAND [ARG...]]", err->msg);
  }
  berth_log_command_word(inv.cmd, word, wlen); /* what the client asked for */
  map_internal_sftp(&inv);
  req->argv = calloc(berth_strv_len(inv.extra) + 4, sizeof(char *));
  if (req->argv == NULL)
    die(EXIT_FAILURE_BERTH, "out of memory");
  req->argv[n++] = b->shell;
  if (inv.cmd != NULL) {
    req->argv[n++] = (char *) "-c";
    req->argv[n++] = (char *) inv.cmd;
    for (size_t i = 0; inv.extra && inv.extra[i]; i++)
      req->argv[n++] = inv.extra[i];
  } else {
    /* Docker exec cannot set argv[0], so no "-sh": -l is understood by
     * bash, dash, zsh and busybox sh alike. */
    req->argv[n++] = (char *) "-l";
  }
  for (size_t i = 0; req->argv[i]; i++) {
    if (!berth_utf8_valid(req->argv[i], strlen(req->argv[i]))) {
      berth_error_make(&err, BERTH_E_USAGE, EILSEQ,
                       "argument %zu of the command is not valid UTF-8", i);
      log_failure(err, EXIT_FAILURE_BERTH);
      die(EXIT_FAILURE_BERTH, "your command is not valid UTF-8 text, and berth passes commands "
                              "into your container only as UTF-8; nothing was run");
    }
  }
}

/* e2) ssh -A and -X into the container (agent.h, x11fwd.h); without them
 * the session goes on as with ssh -a -x.  SSH_AUTH_SOCK= DISPLAY= XAUTHORITY= */
static char *fwd_env[3];

static void
not_forwarded(const char *what, berth_error_t *err)
{
  berth_log(LOG_WARNING, "user=%s container=%s %s not forwarded: %s", log_user, log_container, what,
            (*err)->msg);
  berth_error_release(err);
}

static void
start_forwarding(const struct berth_login *l)
{
  berth_error_t err = NULL;

  if (berth_agent_start(l->cfg, l->box->name, kept_value("SSH_AUTH_SOCK"), &fwd_env[0], &err) < 0)
    not_forwarded("agent", &err);
  if (berth_x11_start(l->box, kept_value("DISPLAY"), &fwd_env[1], &err) < 0)
    not_forwarded("X11", &err);
}

/* f) the container's environment */
static void
container_env(const struct berth_login *l, struct berth_exec_req *req)
{
  berth_error_t err = NULL;
  struct envb env = { 0 };

  env_add(&env, "HOME", l->u->home);
  env_add(&env, "USER", l->u->name);
  env_add(&env, "LOGNAME", l->u->name);
  env_add(&env, "SHELL", l->box->shell);
  env_add(&env, "PATH", CONTAINER_PATH);
  env_add_kept(&env, true);
  for (size_t i = 0; i < 3; i++)
    if (fwd_env[i] != NULL)
      env_add(&env, NULL, fwd_env[i]);
  for (size_t i = 0; i < env.n; i++) {
    if (!berth_utf8_valid(env.v[i], strlen(env.v[i]))) {
      const char *eq = strchr(env.v[i], '=');
      int len = eq ? (int) (eq - env.v[i]) : 0;
      berth_error_make(&err, BERTH_E_USAGE, EILSEQ, "environment variable %.*s is not valid UTF-8",
                       len, env.v[i]);
      log_failure(err, EXIT_FAILURE_BERTH);
      die(EXIT_FAILURE_BERTH,
          "the environment variable %.*s is not valid UTF-8 text and "
          "cannot be passed into your container; nothing was run",
          len, env.v[i]);
    }
  }
  req->env = env.v;
  req->workdir = l->cfg->home.mount ? l->u->home : NULL;
  req->tty = isatty(STDIN_FILENO);
}

/* g) the entry: the command runs in the container; its status is ours.
 * An out-of-memory kill right at the start gets one retry when the mode
 * can run again (exec: the spare connection prepare opened). */
static int
enter(struct berth_login *l, struct berth_entry_prep *entry, struct berth_exec_req *req)
{
  berth_error_t err = NULL;
  struct berth_engine *e = l->engine; /* the kept connection */
  struct berth_box *b = l->box;
  int rc;

  rc = berth_entry_run(entry, req, &err);
  /* A container whose memory is full kills the command at once (137), or
   * runc cannot even set the exec up in it ("possibly OOM-killed": the
   * engine's start fails and nothing ran).  Both are asked about (no
   * engine on join mode's warm path: nothing to ask). */
  if (e != NULL && (rc == 137 || (rc < 0 && err->kind == BERTH_E_EXEC))) {
    berth_error_t start_err = rc < 0 ? steal_pointer(&err) : NULL;
    int r = berth_box_after_kill(e, b, 137, berth_now_ms() - entered_ms, &err);
    if (r == 0 && start_err != NULL) {
      berth_error_release(&err);
      err = steal_pointer(&start_err); /* not memory: the start failure stands */
    }
    berth_error_release(&start_err);
    if (rc < 0 && r != 0)
      rc = 137; /* nothing ran, and the container is why */
    if (r < 0 && err->status == ESRCH) {
      log_failure(err, rc);
      die(rc, "your session ended: your container was stopped or removed while it ran; log in "
              "again to get a new one");
    }
    if (r < 0 && err->status == ENOMEM) {
      log_failure(err, EXIT_FAILURE_BERTH);
      die(EXIT_FAILURE_BERTH,
          "your container is out of memory and your other sessions are using "
          "it; free memory there (delete large files in /tmp or /dev/shm) or end them, then log "
          "in again");
    }
    if (r < 0)
      fail(&err, "your container is out of memory and could not be restarted", EXIT_FAILURE_BERTH);
    if (r > 0 && !berth_entry_can_rerun(entry)) {
      berth_error_make(&err, BERTH_E_CONTAINER, ENOMEM, "%s: restarted (out of memory)", b->name);
      log_failure(err, rc);
      die(rc, "your container is out of memory; it has been restarted (files in /tmp and "
              "/dev/shm are gone): log in again");
    }
    if (r > 0) {
      fputs("berth: your container is out of memory; it has been restarted (files in /tmp and "
            "/dev/shm are gone)\n",
            stderr);
      rc = berth_entry_run(entry, req, &err);
    }
  }
  berth_entry_free(entry);
  if (rc < 0) {
    if (err->kind == BERTH_E_EXEC) {
      /* the engine ran nothing: like a shell's "cannot execute" */
      log_failure(err, EXIT_CANNOT_START);
      die(EXIT_CANNOT_START, "your command could not be started in your container; please "
                             "contact your administrator");
    }
    fail(&err, "your session in your container failed", EXIT_FAILURE_BERTH);
  }
  return rc;
}

/* The entry line (ok) and the exit line; word: berth_log_command_word's. */
static void
log_entry_ok(const char *action, const char *extra)
{
  berth_log_action(LOG_INFO, action,
                   &(struct berth_action){ .user = log_user,
                                           .container = log_container,
                                           .session = (long) getpid(),
                                           .extra = extra,
                                           .outcome = "ok" });
}

/* ------------------------------------------------------------ main */

int
main(int argc, char **argv)
{
  struct berth_login l = { 0 };
  struct berth_exec_req req = { 0 };
  uid_t uid;
  char word[64], extra[128];
  struct berth_entry_prep *entry = NULL;
  int rc;

  /* a) before anything else */
  sanitize_process();
  /* b), c) who, and the policy: excluded users leave here for the host */
  uid = getuid();
  identify_and_decide(&l, uid, argc, argv);
  /* d) as root: the box, the engine, the entry's streams, the container */
  prepare_as_root(&l, uid, &entry);
  drop_to_user(l.u, uid);
  /* e), f) as the user: the command and the container's environment */
  user_command(l.box, argc, argv, &req, word, sizeof(word));
  start_forwarding(&l);
  container_env(&l, &req);

  /* g) in */
  snprintf(extra, sizeof(extra), "mode=%s tty=%s command=%s",
           l.cfg->entry == BERTH_ENTRY_JOIN ? "join" : "exec", req.tty ? "yes" : "no", word);
  log_entry_ok("entry", extra);
  entered_ms = berth_now_ms();
  entered = true;
  rc = enter(&l, entry, &req);
  /* outcome is berth's; how the command itself did is its status */
  snprintf(extra, sizeof(extra), "duration=%lld status=%d",
           (long long) ((berth_now_ms() - entered_ms) / 1000), rc);
  log_entry_ok("exit", extra);
  return rc;
}
