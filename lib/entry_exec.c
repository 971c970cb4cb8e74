/* entry_exec.c - exec mode (entry.h): the exec create body, exec create on
 * the control connection, start on a hijacked connection, the stdio proxy
 * (proxy.c) with signal forwarding, hangup and the kill timers, and the
 * forensics that turn what the engine says into the exit status
 * (exit_status.c).  Its prepare opens the start connections as root. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/exit_status.h"
#include "berth/log.h"
#include "berth/proxy.h"
#include "berth/signals.h"
#include "berth/tty.h"
#include "berth/util.h"
#include "entry_internal.h"

/* After asking the command to end (SIGHUP, SIGTERM, SIGPIPE), how long it
 * gets before SIGKILL, and how long we then wait for the stream to close. */
#define GRACE_MS 2000
#define KILL_WAIT_MS 2000
/* How long to wait for the engine to learn the PID of a running command. */
#define PID_WAIT_MS 1000

bool
berth_utf8_valid(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *) s;
  size_t i = 0;

  while (i < len) {
    unsigned char c = p[i];
    size_t n;
    uint32_t cp;

    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false; /* continuation byte, overlong lead (c0/c1) or > U+10FFFF lead */
    }
    if (len - i <= n)
      return false;
    for (size_t k = 1; k <= n; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    /* overlongs, surrogates, beyond Unicode */
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff
        || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

/* jansson refuses invalid UTF-8 (json_string returns NULL).  Docker could
 * not carry such bytes anyway (Go replaces them with U+FFFD), so a string
 * that is not UTF-8 is refused with a clear error instead of being mangled. */
static json_t *
utf8_string(const char *s, const char *what, size_t idx, berth_error_t *err)
{
  json_t *j;

  if (!berth_utf8_valid(s, strlen(s))) {
    berth_error_make(err, BERTH_E_USAGE, EILSEQ, "%s %zu is not valid UTF-8", what, idx);
    return NULL;
  }
  j = json_string(s);
  if (j == NULL)
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return j;
}

static json_t *
string_array(char *const *v, const char *what, berth_error_t *err)
{
  json_t *a = json_array();

  if (a == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    return NULL;
  }
  for (size_t i = 0; v && v[i]; i++) {
    json_t *s = utf8_string(v[i], what, i, err);
    if (s == NULL || json_array_append_new(a, s) < 0) {
      if (s != NULL)
        berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

json_t *
berth_exec_spec(const struct berth_box *b, const struct berth_exec_req *r, unsigned rows,
                unsigned cols, bool console_size, berth_error_t *err)
{
  json_t *spec, *cmd, *env;
  char user[64];

  if (r->argv == NULL || r->argv[0] == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "empty command");
    return NULL;
  }
  cmd = string_array(r->argv, "command argument", err);
  if (cmd == NULL)
    return NULL;
  env = string_array(r->env, "environment entry", err);
  if (env == NULL) {
    json_decref(cmd);
    return NULL;
  }
  /* Numeric uid:gid: no name lookup in the image's passwd, so it cannot
   * resolve to anybody else (nor fail on an image without the user). */
  snprintf(user, sizeof(user), "%lu:%lu", (unsigned long) b->user->uid,
           (unsigned long) b->user->gid);
  spec = json_pack("{s:b, s:b, s:b, s:b, s:o, s:o, s:s, s:s}", "AttachStdin", 1, "AttachStdout", 1,
                   "AttachStderr", 1, "Tty", r->tty ? 1 : 0, "Cmd", cmd, "Env", env, "User", user,
                   "DetachKeys", BERTH_DETACH_KEYS);
  if (spec == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    return NULL;
  }
  if (r->workdir != NULL) {
    json_t *w = utf8_string(r->workdir, "working directory", 0, err);
    if (w == NULL || json_object_set_new(spec, "WorkingDir", w) < 0) {
      json_decref(spec);
      return NULL;
    }
  }
  /* ConsoleSize exists from API 1.42 on; older engines reject nothing but
   * ignore it, and we resize right after start anyway. */
  if (r->tty && console_size && rows > 0 && cols > 0) {
    if (json_object_set_new(spec, "ConsoleSize",
                            json_pack("[I, I]", (json_int_t) rows, (json_int_t) cols))
        < 0) {
      json_decref(spec);
      berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      return NULL;
    }
  }
  return spec;
}

/* ------------------------------------------------------------ the command */

struct session {
  struct berth_engine *e;
  const char *exec_id;
  bool tty;
  struct berth_proxy px;

  bool remote;        /* a tcp:// engine: its PIDs are another host's */
  long pid;           /* host PID of the exec'd process, 0 until known */
  int pidfd;          /* pins pid against reuse, -1 when unavailable */
  int ending_sig;     /* the signal we asked the command to end with, 0 = none */
  int64_t kill_at;    /* when to send SIGKILL (0 = not armed) */
  int64_t give_up_at; /* when to stop waiting for the stream (0 = not armed) */
  bool killed;
};

static int
pidfd_open_compat(long pid)
{
#ifdef SYS_pidfd_open
  return (int) syscall(SYS_pidfd_open, (pid_t) pid, 0);
#else
  (void) pid;
  errno = ENOSYS;
  return -1;
#endif
}

/* Learn the host PID of the exec'd process and pin it with a pidfd.
 * Returns 1 when running with a known PID (s->pid), 0 otherwise, -1 on
 * error.  *seen_running and *seen_pid (may be NULL) get what the engine
 * said: Docker sets Running before it starts the process and Pid only
 * after its runtime call returns, so early output can see Running with
 * Pid 0; a process that ended keeps its Pid; one that never started has
 * Running false and Pid 0. */
static int
learn_pid(struct session *s, bool *seen_running, long *seen_pid, berth_error_t *err)
{
  bool running = false;
  int code = 0;
  long pid = 0;

  if (berth_engine_exec_inspect(s->e, s->exec_id, &running, &code, &pid, err) < 0)
    return -1;
  if (seen_running != NULL)
    *seen_running = running;
  if (seen_pid != NULL)
    *seen_pid = pid;
  if (!running || pid <= 0)
    return 0;
  if (s->pid == pid)
    return 1;
  if (s->pidfd >= 0)
    close(s->pidfd);
  s->pidfd = s->remote ? -1 : pidfd_open_compat(pid);
  s->pid = pid;
  if (s->pidfd >= 0) {
    /* The pidfd (close-on-exec by definition) was opened after the
     * inspect: it is the exec'd process only if that is still running now
     * (a PID is not reused while its process lives). */
    running = false;
    if (berth_engine_exec_inspect(s->e, s->exec_id, &running, &code, &pid, err) < 0)
      return -1;
    if (!running || pid != s->pid) {
      close(s->pidfd);
      s->pidfd = -1;
      s->pid = 0;
      return 0;
    }
  }
  return 1;
}

/* Wait up to ms for the pinned process to exit.  true when it has. */
static bool
pidfd_exited(int pidfd, int ms)
{
  struct pollfd p = { .fd = pidfd, .events = POLLIN };
  int64_t deadline = berth_now_ms() + ms;

  for (;;) {
    int left = (int) (deadline - berth_now_ms());
    int r = poll(&p, 1, left > 0 ? left : 0);
    if (r > 0)
      return true;
    if (r == 0 || errno != EINTR)
      return r < 0; /* a pidfd we cannot poll: do not hang on it */
  }
}

/* runc setsid()s an exec'd process, with or without a terminal: it leads
 * its own group, and what it started (the `sleep` of `sh -c '...; sleep'`)
 * must get the signal too, as a terminal's hangup delivers it.  Only while
 * the pidfd says the leader still runs: then its PID, and so the group's
 * id, is not reused. */
static bool
leads_group(struct session *s)
{
  return s->pidfd >= 0 && !pidfd_exited(s->pidfd, 0) && getpgid((pid_t) s->pid) == (pid_t) s->pid;
}

/* The exec API has no kill: signal the process by its host PID.  It runs
 * with the invoking user's uid, the same uid berth-shell has dropped to, so
 * the kernel lets us.  Not with a remote engine: its PID names a process on
 * the engine host, and the same number here is some other process of this
 * user; the session then ends by closing the stream (docs/security.md). */
static void
signal_command(struct session *s, int sig)
{
  berth_error_t err = NULL;
  int64_t deadline = berth_now_ms() + PID_WAIT_MS;
  bool running = false;
  int r;

  if (s->remote) {
    berth_debug("exec=%.12s signal %d not sent: the engine is remote", s->exec_id, sig);
    return;
  }
  /* A command that floods its output can be hung up before the engine has
   * recorded its PID (Running, Pid 0): ask again for a moment. */
  for (;;) {
    r = learn_pid(s, &running, NULL, &err);
    if (r < 0) {
      berth_log(LOG_WARNING, "exec=%.12s cannot find the command to signal: %s", s->exec_id,
                err->msg);
      berth_error_release(&err);
      return;
    }
    if (r > 0 || !running || berth_now_ms() >= deadline)
      break;
    usleep(2000);
  }
  if (r == 0)
    return;
  if (leads_group(s))
    r = kill(-(pid_t) s->pid, sig);
  else if (s->pidfd >= 0)
    r = berth_pidfd_signal(s->pidfd, sig);
  else
    r = kill((pid_t) s->pid, sig);
  if (r < 0 && errno != ESRCH)
    berth_log(LOG_WARNING, "exec=%.12s pid=%ld cannot send signal %d: %m", s->exec_id, s->pid, sig);
}

/* ------------------------------------------------------------ proxy hooks */

/* First output: did the process start?  A process that already ended still
 * has its Pid in the inspect; one the engine could not start has none. */
static int
on_started(void *ctx, berth_error_t *err)
{
  struct session *s = ctx;
  bool running = false;
  long pid = 0;

  if (learn_pid(s, &running, &pid, err) < 0)
    return -1;
  return running || pid > 0;
}

/* Ask the command to end with sig, then SIGKILL after a grace period. */
static void
on_end(void *ctx, int sig)
{
  struct session *s = ctx;

  if (s->ending_sig != 0)
    return;
  s->ending_sig = sig;
  signal_command(s, sig);
  s->kill_at = berth_now_ms() + GRACE_MS;
}

static void
do_resize(struct session *s)
{
  berth_error_t err = NULL;
  unsigned rows, cols;

  if (!berth_tty_size(STDIN_FILENO, &rows, &cols))
    return;
  if (berth_engine_exec_resize(s->e, s->exec_id, rows, cols, &err) < 0) {
    berth_debug("exec=%.12s resize failed: %s", s->exec_id, err->msg);
    berth_error_release(&err);
  }
}

static void
on_signal(void *ctx, int sig)
{
  struct session *s = ctx;

  switch (sig) {
  case SIGWINCH:
    if (s->tty)
      do_resize(s);
    break;
  case SIGINT:
  case SIGQUIT:
    /* Forwarded like a terminal would deliver them; the command decides. */
    signal_command(s, sig);
    break;
  case SIGTERM: on_end(s, SIGTERM); break;
  case SIGHUP: berth_proxy_hangup(&s->px, SIGHUP); break;
  }
}

/* The kill timers: SIGKILL when the grace is over, then give up on a
 * stream that still does not end. */
static int
on_tick(void *ctx)
{
  struct session *s = ctx;
  int64_t now = berth_now_ms();

  if (s->kill_at == 0)
    return -1;
  if (now >= s->kill_at && !s->killed) {
    s->killed = true;
    signal_command(s, SIGKILL);
    s->give_up_at = now + KILL_WAIT_MS;
  }
  if (s->give_up_at > 0 && now >= s->give_up_at) {
    berth_log(LOG_WARNING, "exec=%.12s stream still open after SIGKILL, giving up", s->exec_id);
    return BERTH_PROXY_STOP;
  }
  return (int) ((s->killed ? s->give_up_at : s->kill_at) - now);
}

static const struct berth_proxy_ops exec_proxy_ops = {
  .started = on_started,
  .end = on_end,
  .signal = on_signal,
  .tick = on_tick,
};

/* ------------------------------------------------------------ after the stream */

/* After the stream closed: the engine records the exit code when the
 * container runtime reports the exit, which can trail the stream's end by
 * a little.  Poll with a short backoff, bounded. */
static int
wait_exit(struct session *s, long timeout_ms, struct berth_exit_facts *f, berth_error_t *err)
{
  int64_t deadline = berth_now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
  useconds_t delay = 500;

  for (;;) {
    if (berth_engine_exec_inspect(s->e, s->exec_id, &f->running, &f->code, &f->pid, err) < 0)
      return -1;
    if (!f->running || berth_now_ms() >= deadline)
      return 0;
    usleep(delay);
    if (delay < 50000)
      delay *= 2;
  }
}

/* The stream can end while the command lives on: when the detach keys are
 * typed, Docker closes the stream, reports the exec as not running with
 * ExitCode 126, and leaves the process alive.  A session never outlives its
 * proxy: the pidfd tells the truth, the engine's Running is the fallback
 * when we have no PID at all. */
static int
settle(struct session *s, struct berth_exit_facts *f, berth_error_t *err)
{
  if (wait_exit(s, s->ending_sig ? 200 : 1000, f, err) < 0)
    return -1;
  if (s->pidfd < 0 && !s->remote && !f->running && f->code == 126 && f->pid > 0) {
    /* Docker's detach signature: a process that started (it has a Pid) and
     * "exited" 126.  Whether it is still alive, its pidfd says; the stream
     * ended only now, too soon for its PID to have been reused. */
    s->pidfd = pidfd_open_compat(f->pid);
  }
  if (s->pidfd >= 0 && !pidfd_exited(s->pidfd, f->running ? 0 : 200)) {
    f->forced = s->killed ? SIGKILL : SIGHUP;
    berth_pidfd_signal(s->pidfd, f->forced);
    if (f->forced != SIGKILL && !pidfd_exited(s->pidfd, GRACE_MS)) {
      f->forced = SIGKILL;
      berth_pidfd_signal(s->pidfd, SIGKILL);
    }
    pidfd_exited(s->pidfd, KILL_WAIT_MS);
    if (f->running && wait_exit(s, KILL_WAIT_MS, f, err) < 0)
      return -1;
  }
  if (f->running && s->ending_sig == 0 && f->forced == 0) {
    s->ending_sig = SIGHUP;
    signal_command(s, SIGHUP);
    if (wait_exit(s, GRACE_MS, f, err) < 0)
      return -1;
  }
  if (f->running) {
    signal_command(s, SIGKILL);
    if (wait_exit(s, KILL_WAIT_MS, f, err) < 0)
      return -1;
  }
  return 0;
}

/* The proxy has ended: what became of the command. */
static int
finish(struct session *s, const struct berth_box *b, const struct berth_exec_req *r,
       berth_error_t *err)
{
  struct berth_exit_facts f = { 0 };
  bool enoent = false;
  int status;

  if (settle(s, &f, err) < 0)
    return -1;
  f.start_failed = s->px.start_failed;
  status = berth_exit_status(&f, &enoent);
  if (status == BERTH_EXIT_NOT_STARTED) {
    cleanup_free char *why = berth_proxy_held_text(&s->px);
    return berth_error_make(err, BERTH_E_EXEC, enoent ? ENOENT : EACCES,
                            "the engine could not start %s in %s: %s", r->argv[0], b->name,
                            why && *why ? why : "no reason given");
  }
  /* Not a start failure after all (the process ran and ended before we
   * looked): the held output is delivered too. */
  berth_proxy_drain(&s->px);
  if (f.running)
    berth_log(LOG_WARNING, "exec=%.12s still running after SIGKILL", s->exec_id);
  return status;
}

/* ------------------------------------------------------------ the exec */

static int
exec_create(struct berth_engine *e, const struct berth_box *b, const struct berth_exec_req *r,
            unsigned rows, unsigned cols, char **exec_id, berth_error_t *err)
{
  json_t *spec = berth_exec_spec(b, r, rows, cols, berth_engine_api_at_least(e, 1, 42), err);
  int ret;

  if (spec == NULL)
    return -1;
  ret = berth_engine_exec_create(e, b->id ? b->id : b->name, spec, exec_id, err);
  json_decref(spec);
  if (ret < 0)
    return berth_error_wrap(err, "creating the exec in %s", b->name);
  return 0;
}

/* Proxy the started exec until its stream ends, then learn its status. */
static int
exec_session(struct session *s, struct berth_conn *conn, struct berth_hijack *h, int sig_fd,
             const struct berth_box *b, const struct berth_exec_req *r, berth_error_t *err)
{
  struct berth_tty tty = { 0 };
  unsigned rows, cols;
  int ret = -1;

  if (r->tty)
    berth_tty_raw(STDIN_FILENO, &tty);
  if (berth_proxy_init(&s->px, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, conn, r->tty, err) < 0) {
    berth_tty_restore(STDIN_FILENO, &tty);
    return -1;
  }
  s->px.sig_fd = sig_fd;
  s->px.ops = &exec_proxy_ops;
  s->px.ctx = s;
  s->px.verified = false;
  /* API 1.41 has no ConsoleSize; and even where it exists, a resize right
   * after start is what makes full-screen programs draw at the right size. */
  if (r->tty && berth_tty_size(STDIN_FILENO, &rows, &cols))
    do_resize(s);
  if (berth_proxy_run(&s->px, h->pending, h->n_pending, err) < 0)
    signal_command(s, SIGKILL);
  else
    ret = finish(s, b, r, err);
  berth_proxy_release(&s->px);
  berth_tty_restore(STDIN_FILENO, &tty);
  return ret;
}

int
berth_entry_exec(struct berth_engine *e, struct berth_conn *hijack, const struct berth_box *b,
                 const struct berth_exec_req *r, berth_error_t *err)
{
  cleanup_conn struct berth_conn *conn = hijack;
  cleanup_free char *exec_id = NULL;
  struct berth_hijack h = { 0 };
  struct berth_signals sigs;
  struct session s = { .e = e, .tty = r->tty, .pidfd = -1 };
  unsigned rows = 0, cols = 0;
  int ret;

  s.remote = b->cfg != NULL && !berth_config_engine_local(b->cfg);
  if (r->tty)
    berth_tty_size(STDIN_FILENO, &rows, &cols);
  if (exec_create(e, b, r, rows, cols, &exec_id, err) < 0)
    return -1;
  s.exec_id = exec_id;
  /* Caught before the command starts, so none is lost between start and
   * the proxy loop. */
  if (berth_signals_catch(&sigs, err) < 0)
    return -1;
  /* The size also rides on the start request: Podman applies it before the
   * process runs (its 101 comes too late for a resize); Docker ignores it. */
  if (berth_engine_exec_attach_size(conn, berth_engine_api_version(e), exec_id, r->tty, rows, cols,
                                    b->cfg ? b->cfg->engine.timeout_ms : 0, &h, err)
      < 0) {
    berth_signals_restore(&sigs);
    return berth_error_wrap(err, "starting the exec in %s", b->name);
  }
  conn = NULL; /* transferred: h.conn is the stream now */
  ret = exec_session(&s, h.conn, &h, berth_signals_fd(&sigs), b, r, err);
  if (s.pidfd >= 0)
    close(s.pidfd);
  berth_hijack_close(&h);
  berth_signals_restore(&sigs);
  return ret;
}

/* ------------------------------------------------------------ the mode */

/* Connections for the start, opened as root: after the drop no connection
 * to the root-owned socket can be opened.  The second, under a memory limit,
 * is for the one retry after an out-of-memory restart (berth_box_after_kill). */
struct exec_state {
  struct berth_conn *conn[2];
  size_t used;
};

static int
open_hijack(const struct berth_box *b, struct berth_conn **out, berth_error_t *err)
{
  struct berth_endpoint ep;

  berth_engine_endpoint(b->cfg, &ep);
  *out = berth_engine_hijack_connect_endpoint(&ep,
                                              berth_config_engine_local(b->cfg)
                                                  ? BERTH_HIJACK_CONNECT_TIMEOUT_MS
                                                  : b->cfg->engine.timeout_ms,
                                              err);
  return *out == NULL ? -1 : 0;
}

static void
exec_release(void *state)
{
  struct exec_state *st = state;

  if (st == NULL)
    return;
  for (size_t i = 0; i < 2; i++)
    berth_conn_free(st->conn[i]);
  free(st);
}

static int
exec_prepare(struct berth_engine *e, const struct berth_box *b, void **state, berth_error_t *err)
{
  struct exec_state *st = berth_malloc0(sizeof(*st), err);

  (void) e;
  if (st == NULL)
    return -1;
  if (open_hijack(b, &st->conn[0], err) < 0) {
    exec_release(st);
    return -1;
  }
  /* Best effort: without it an out-of-memory restart asks to log in again. */
  if (b->conf->memory > 0 && open_hijack(b, &st->conn[1], err) < 0)
    berth_error_release(err);
  *state = st;
  return 0;
}

static int
exec_run(struct berth_engine *e, const struct berth_box *b, void *state,
         const struct berth_exec_req *r, berth_error_t *err)
{
  struct exec_state *st = state;
  struct berth_conn *c = st->used < 2 ? st->conn[st->used] : NULL;

  if (c == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOTCONN,
                            "no engine connection left for another exec");
  st->conn[st->used++] = NULL;
  return berth_entry_exec(e, c, b, r, err);
}

static bool
exec_can_rerun(const void *state)
{
  const struct exec_state *st = state;
  return st->used < 2 && st->conn[st->used] != NULL;
}

const struct berth_entry_mode berth_entry_mode_exec = {
  .name = "exec",
  .prepare = exec_prepare,
  .run = exec_run,
  .can_rerun = exec_can_rerun,
  .release = exec_release,
};
