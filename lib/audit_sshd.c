/* audit_sshd.c - sshd's side of the audit: `sshd -T -C user=...` run
 * for each audited user (a probe with a clean environment and a timeout),
 * its output parsed, and the rules that make a setting a door. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/audit.h"
#include "berth/user.h"
#include "berth/util.h"
#include "audit-internal.h"

#define PROBE_OUTPUT_MAX (1024 * 1024)
#define PROBE_TIMEOUT_MS 15000

/* ---------------------------------------------------------------- sshd -T */

void
berth_sshd_settings_free(struct berth_sshd_settings *s)
{
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n; i++) {
    free(s->keys[i]);
    free(s->values[i]);
  }
  free(s->keys);
  free(s->values);
  free(s);
}

int
berth_sshd_parse(const char *text, struct berth_sshd_settings **out, berth_error_t *err)
{
  struct berth_sshd_settings *s = berth_malloc0(sizeof(*s), err);
  const char *p = text;

  if (s == NULL)
    return -1;
  while (p && *p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t) (eol - p) : strlen(p);
    size_t k = 0, v;
    char **nk, **nv;

    while (k < len && p[k] != ' ' && p[k] != '\t')
      k++;
    v = k;
    while (v < len && (p[v] == ' ' || p[v] == '\t'))
      v++;
    if (k > 0) {
      nk = realloc(s->keys, (s->n + 1) * sizeof(char *));
      if (nk)
        s->keys = nk;
      nv = realloc(s->values, (s->n + 1) * sizeof(char *));
      if (nv)
        s->values = nv;
      if (!nk || !nv)
        goto oom;
      s->keys[s->n] = strndup(p, k);
      s->values[s->n] = strndup(p + v, len - v);
      s->n++;
      if (!s->keys[s->n - 1] || !s->values[s->n - 1])
        goto oom;
      /* keywords come in lower case from sshd -T; be lenient with fixtures */
      for (char *c = s->keys[s->n - 1]; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
          *c = (char) (*c - 'A' + 'a');
    }
    p = eol ? eol + 1 : NULL;
  }
  *out = s;
  return 0;
oom:
  berth_sshd_settings_free(s);
  return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
}

const char *
berth_sshd_get(const struct berth_sshd_settings *s, const char *key)
{
  for (size_t i = 0; s && i < s->n; i++)
    if (strcmp(s->keys[i], key) == 0)
      return s->values[i];
  return NULL;
}

const char *
berth_sshd_subsystem(const struct berth_sshd_settings *s, const char *name)
{
  size_t nl = strlen(name);
  for (size_t i = 0; s && i < s->n; i++) {
    const char *v = s->values[i];
    if (strcmp(s->keys[i], "subsystem") != 0 || strncmp(v, name, nl) != 0
        || (v[nl] != ' ' && v[nl] != '\t'))
      continue;
    v += nl;
    while (*v == ' ' || *v == '\t')
      v++;
    return v;
  }
  return NULL;
}

bool
berth_sshd_permitopen_restricted(const char *value)
{
  const char *p = value;
  bool any = false;

  if (value == NULL)
    return false;
  if (strcmp(value, "none") == 0)
    return true;
  while (*p) {
    const char *end, *colon;
    size_t len;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\0')
      break;
    end = p + strcspn(p, " \t");
    len = (size_t) (end - p);
    if ((len == 3 && strncmp(p, "any", 3) == 0) || (len == 4 && strncmp(p, "none", 4) == 0))
      return false; /* "any" alone means unrestricted; "none" mixed in is not sshd's output */
    /* host:port or [v6]:port; a * anywhere widens it */
    if (memchr(p, '*', len) != NULL)
      return false;
    colon = NULL;
    for (const char *c = p; c < end; c++)
      if (*c == ':')
        colon = c;
    if (colon == NULL || colon == p || colon + 1 == end)
      return false;
    any = true;
    p = end;
  }
  return any;
}

/* berth-shell by path or by name (an admin may call it through a symlink) */
bool
audit_is_berth_shell(const char *path, const char *shell_path)
{
  const char *base;
  if (path == NULL || *path == '\0')
    return false;
  if (shell_path && strcmp(path, shell_path) == 0)
    return true;
  base = strrchr(path, '/');
  base = base ? base + 1 : path;
  return strcmp(base, "berth-shell") == 0;
}

/* The first word of a command line, in buf. */
static const char *
first_word(const char *cmd, char *buf, size_t len)
{
  size_t n = strcspn(cmd, " \t");
  if (n >= len)
    n = len - 1;
  memcpy(buf, cmd, n);
  buf[n] = '\0';
  return buf;
}

/* sshd runs a ForceCommand as `LOGINSHELL -c CMD`.  bash started by sshd
 * reads ~/.bashrc even non-interactively (Debian builds it with
 * SSH_SOURCE_BASHRC), zsh reads ~/.zshenv always; sh and dash read nothing
 * for -c. */
static bool
shell_reads_rc(const char *shell, const char *shell_path)
{
  const char *base;
  if (audit_is_berth_shell(shell, shell_path))
    return false;
  base = strrchr(shell, '/');
  base = base ? base + 1 : shell;
  return strcmp(base, "sh") != 0 && strcmp(base, "dash") != 0;
}

/* nologin and false refuse every `-c`: no session command runs through them
 * (forwardings still work without a shell) */
static bool
shell_refuses(const char *shell)
{
  const char *base = strrchr(shell, '/');
  base = base ? base + 1 : shell;
  return strcmp(base, "nologin") == 0 || strcmp(base, "false") == 0;
}

static bool
value_is(const char *v, const char *want)
{
  return v != NULL && strcmp(v, want) == 0;
}

/* Settings that are a door unless "no".  forwarding: DisableForwarding yes
 * turns it off whatever it says. */
static const struct simple_door {
  const char *key, *name, *id, *risk;
  bool forwarding;
  const char *inside; /* not a door when the session is in the container's network: why */
} simple_doors[] = {
  { "allowstreamlocalforwarding", "AllowStreamLocalForwarding", "sshd-streamlocal-forwarding",
    "sshd connects and listens on unix sockets of the host for the user (the host's own "
    "systemd, D-Bus and service sockets)",
    true },
  { "allowagentforwarding", "AllowAgentForwarding", "sshd-agent-forwarding",
    "sshd puts the forwarded agent's socket on the host, outside the container, and runs the "
    "forwarding there",
    true, "berth-shell relays the forwarded agent into the user's container (agent.h)" },
  { "x11forwarding", "X11Forwarding", "sshd-x11-forwarding",
    "sshd runs xauth on the host for the user, on ~/.Xauthority in the home the user writes "
    "from inside the container (the X11 connections themselves reach the container where "
    "pam_berth moves the session into its network)",
    true },
  { "permittunnel", "PermitTunnel", "sshd-tunnel",
    "tun/tap devices carry the user's packets into the host's networks", false },
  { "permituserenvironment", "PermitUserEnvironment", "sshd-user-environment",
    "sshd reads ~/.ssh/environment and environment= in authorized_keys (both in the home) into "
    "the host processes it starts: LD_PRELOAD runs the user's code on the host",
    false },
};

#define FIX_MATCH \
  "under `Match Group` for the berthed groups in sshd_config (etc/sshd_config.example)"

/* AllowTcpForwarding for u: in the container (pam_berth moves the session
 * into its network), a door on the host, or restricted to PermitOpen's
 * pairs (the ProxyJump bastion).  -1 only when out of memory. */
static int
tcp_forwarding(struct berth_audit *a, const struct berth_sshd_settings *s,
               const struct berth_audit_user *u)
{
  const char *tcp = berth_sshd_get(s, "allowtcpforwarding");
  const char *popen = berth_sshd_get(s, "permitopen");
  const char *plisten = berth_sshd_get(s, "permitlisten");

  bool local = value_is(tcp, "yes") || value_is(tcp, "all") || value_is(tcp, "local");
  bool remote = value_is(tcp, "yes") || value_is(tcp, "all") || value_is(tcp, "remote");
  bool local_open = local && !berth_sshd_permitopen_restricted(popen);
  bool remote_open = remote && !value_is(plisten, "none");
  if (tcp && (local_open || remote_open) && u->netns) {
    if (audit_add_fmt(a, BERTH_AUDIT_OK, "sshd-tcp-forwarding", u->name,
                      "pam_berth moves the session into the container's network namespace: "
                      "-L/-D/-W connect from the container, -R listens in it",
                      "", "sshd: AllowTcpForwarding %s lands in the user's container", tcp)
        < 0)
      return -1;
  } else if (tcp && (local_open || remote_open)) {
    if (audit_add_fmt(a, BERTH_AUDIT_DOOR, "sshd-tcp-forwarding", u->name,
                      "sshd serves -L/-D/-W/-R itself, on the host (network = \"host\" or a "
                      "remote engine: pam_berth cannot move the session into the container's "
                      "network): the user reaches services listening on the host's 127.0.0.1 "
                      "and networks, or listens on the host",
                      "AllowTcpForwarding no " FIX_MATCH "; a bastion for ProxyJump: "
                      "AllowTcpForwarding local and PermitOpen host:port ...",
                      "sshd: AllowTcpForwarding %s, PermitOpen %s, PermitListen %s", tcp,
                      popen ? popen : "any", plisten ? plisten : "any")
        < 0)
      return -1;
  } else if (tcp && !value_is(tcp, "no")) {
    if (audit_add_fmt(a, BERTH_AUDIT_OK, "sshd-tcp-forwarding", u->name,
                      "forwardings reach only the listed host:port pairs (ProxyJump)", "",
                      "sshd: AllowTcpForwarding %s restricted to PermitOpen %s", tcp,
                      popen ? popen : "none")
        < 0)
      return -1;
  }
  return 0;
}

int
berth_audit_sshd_user(struct berth_audit *a, const struct berth_sshd_settings *s,
                      const struct berth_audit_user *u, const char *shell_path, berth_error_t *err)
{
  const char *fc = berth_sshd_get(s, "forcecommand");
  const char *rc = berth_sshd_get(s, "permituserrc");
  const char *sftp = berth_sshd_subsystem(s, "sftp");
  bool login_berth = audit_is_berth_shell(u->shell, shell_path);
  bool fc_berth, nofwd = value_is(berth_sshd_get(s, "disableforwarding"), "yes");
  char word[256];

  if (value_is(fc, "none"))
    fc = NULL;
  fc_berth = fc && audit_is_berth_shell(first_word(fc, word, sizeof(word)), shell_path);

  if (!login_berth && !fc_berth && !shell_refuses(u->shell)
      && audit_add_fmt(
             a, BERTH_AUDIT_DOOR, "sshd-no-berth-shell", u->name,
             "the policy berths these users, but their sessions run on the host, not in a "
             "container",
             "give them berth-shell as login shell, or ForceCommand berth-shell " FIX_MATCH,
             "sshd: login shell %s and ForceCommand %s: not berth-shell", u->shell,
             fc ? fc : "none")
             < 0)
    goto fail;
  if (fc && !login_berth && !shell_refuses(u->shell) && shell_reads_rc(u->shell, shell_path)
      && audit_add_fmt(
             a, BERTH_AUDIT_DOOR, "sshd-forcecommand-rc-shell", u->name,
             "sshd runs the forced command as `SHELL -c` on the host, and this shell first "
             "reads its rc files from the home (~/.bashrc, ~/.zshenv), which the user writes "
             "from inside the container",
             "give ForceCommand users /bin/sh (dash) or berth-shell as login shell",
             "sshd: ForceCommand %s through login shell %s", fc, u->shell)
             < 0)
    goto fail;

  if (!nofwd && tcp_forwarding(a, s, u) < 0)
    goto fail;
  for (size_t i = 0; i < sizeof(simple_doors) / sizeof(simple_doors[0]); i++) {
    const struct simple_door *d = &simple_doors[i];
    const char *v = berth_sshd_get(s, d->key);
    cleanup_free char *fix = NULL;
    if (v == NULL || value_is(v, "no") || (d->forwarding && nofwd))
      continue;
    if (d->inside != NULL && u->netns) {
      if (audit_add_fmt(a, BERTH_AUDIT_OK, d->id, u->name, d->inside, "", "sshd: %s %s", d->name, v)
          < 0)
        goto fail;
      continue;
    }
    fix = berth_asprintf(err, "%s no " FIX_MATCH, d->name);
    if (fix == NULL
        || audit_add_fmt(a, BERTH_AUDIT_DOOR, d->id, u->name, d->risk, fix, "sshd: %s %s", d->name,
                         v)
               < 0)
      goto fail;
  }
  if (sftp && strcmp(first_word(sftp, word, sizeof(word)), "internal-sftp") == 0 && !fc_berth
      && audit_add_fmt(
             a, BERTH_AUDIT_DOOR, "sshd-internal-sftp", u->name,
             "internal-sftp is served inside sshd, on the host: no shell runs, berth never "
             "sees it, and the user reads and writes the host's files",
             "Subsystem sftp /usr/lib/openssh/sftp-server (berth-shell runs it in the "
             "container), or ForceCommand berth-shell " FIX_MATCH,
             "sshd: Subsystem sftp %s", sftp)
             < 0)
    goto fail;
  /* sshd skips ~/.ssh/rc under an admin ForceCommand, and otherwise runs it
   * as `LOGINSHELL -c '/bin/sh ~/.ssh/rc'`: through berth-shell that is in
   * the container. */
  if (value_is(rc, "yes") && !login_berth && fc == NULL
      && audit_add_fmt(
             a, BERTH_AUDIT_DOOR, "sshd-user-rc", u->name,
             "sshd runs ~/.ssh/rc, which the user writes from inside the container, on the "
             "host",
             "PermitUserRC no " FIX_MATCH " (or berth-shell as login shell)",
             "sshd: PermitUserRC yes, login shell %s, no ForceCommand", u->shell)
             < 0)
    goto fail;
  return 0;
fail:
  return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
}

/* Run argv (an absolute path, a clean environment, stdin /dev/null) and
 * collect its stdout and stderr, each at most PROBE_OUTPUT_MAX bytes; a
 * child still running after PROBE_TIMEOUT_MS (an NSS lookup hanging on a
 * dead directory) is killed.  *status is the wait status. */
int
audit_run_capture(const char *const argv[], char **out, char **errout, int *status,
                  berth_error_t *err)
{
  static const char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
  int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
  char *buf[2] = { NULL, NULL };
  size_t used[2] = { 0, 0 };
  int64_t deadline = berth_now_ms() + PROBE_TIMEOUT_MS;
  pid_t pid;
  bool open_fd[2] = { true, true };

  if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
    int e = errno;
    berth_closep(&po[0]);
    berth_closep(&po[1]);
    return berth_error_errno(err, BERTH_E_INTERNAL, e, "pipe");
  }
  pid = fork();
  if (pid < 0) {
    int e = errno;
    close(po[0]);
    close(po[1]);
    close(pe[0]);
    close(pe[1]);
    return berth_error_errno(err, BERTH_E_INTERNAL, e, "fork");
  }
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC); /* dup2 clears it on fd 0 */
    if (null < 0 || dup2(null, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
      _exit(127);
    /* execve's prototype predates const; it writes neither vector */
    execve(argv[0], (char *const *) argv, (char *const *) env);
    _exit(127);
  }
  close(po[1]);
  close(pe[1]);
  for (int i = 0; i < 2; i++) {
    buf[i] = malloc(PROBE_OUTPUT_MAX + 1);
    if (buf[i] == NULL)
      open_fd[i] = false;
  }
  while (open_fd[0] || open_fd[1]) {
    struct pollfd pf[2]
        = { { po[0], open_fd[0] ? POLLIN : 0, 0 }, { pe[0], open_fd[1] ? POLLIN : 0, 0 } };
    int64_t left = deadline - berth_now_ms();
    int r;
    if (left <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    r = poll(pf, 2, (int) left);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      break;
    for (int i = 0; i < 2; i++) {
      ssize_t got;
      if (!open_fd[i] || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      got = read(pf[i].fd, buf[i] + used[i], PROBE_OUTPUT_MAX - used[i]);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0 || used[i] + (size_t) got >= PROBE_OUTPUT_MAX)
        open_fd[i] = false;
      if (got > 0)
        used[i] += (size_t) got;
    }
  }
  close(po[0]);
  close(pe[0]);
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) {
      *status = -1;
      break;
    }
  }
  if (buf[0] == NULL || buf[1] == NULL) {
    free(buf[0]);
    free(buf[1]);
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  }
  buf[0][used[0]] = '\0';
  buf[1][used[1]] = '\0';
  *out = buf[0];
  *errout = buf[1];
  return 0;
}

/* The first line of s, for a one-line message. */
void
audit_chop_line(char *s)
{
  s[strcspn(s, "\n")] = '\0';
}

/* Ask sshd for u's effective settings: `sshd -T -C user=U,host=H,addr=A`.
 * host and addr are from TEST-NET-1, a remote client that no `Match
 * Address`/`Match Host` for a trusted network matches.  *pam_used is
 * set unless sshd says UsePAM no for this user. */
int
audit_sshd_probe(struct berth_audit *a, const struct berth_audit_opts *o,
                 const struct berth_audit_user *u, const char *shell_path, bool *pam_used)
{
  cleanup_free char *spec = NULL, *out = NULL, *errtext = NULL;
  berth_error_t lerr = NULL;
  struct berth_sshd_settings *s = NULL;
  const char *argv[8];
  int argc = 0, status = 0, r;

  if (strchr(u->name, ',') != NULL)
    return 0; /* cannot be said in -C; sshd refuses such names anyway */
  spec = berth_asprintf(NULL, "user=%s,host=berth-audit.invalid,addr=192.0.2.1", u->name);
  if (spec == NULL)
    return -1;
  argv[argc++] = o->sshd;
  argv[argc++] = "-T";
  argv[argc++] = "-C";
  argv[argc++] = spec;
  if (o->sshd_config) {
    argv[argc++] = "-f";
    argv[argc++] = o->sshd_config;
  }
  argv[argc] = NULL;
  *pam_used = true; /* until sshd says otherwise: audit the stack when in doubt */
  if (audit_run_capture(argv, &out, &errtext, &status, &lerr) < 0) {
    r = audit_add_fmt(a, BERTH_AUDIT_PROBLEM, "sshd-audit-failed", u->name,
                      "sshd's settings for berthed users are unknown", "see the message",
                      "sshd: cannot run %s -T: %s", o->sshd, lerr->msg);
    berth_error_release(&lerr);
    return r;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    audit_chop_line(errtext);
    return audit_add_fmt(a, BERTH_AUDIT_PROBLEM, "sshd-audit-failed", u->name,
                         "sshd's settings for berthed users are unknown (and sshd may not start)",
                         "fix the sshd configuration until `sshd -t` is quiet",
                         "sshd: %s -T%s%s failed: %s", o->sshd, o->sshd_config ? " -f " : "",
                         o->sshd_config ? o->sshd_config : "",
                         errtext[0]            ? errtext
                         : WIFSIGNALED(status) ? "killed (timed out)"
                                               : "no output");
  }
  if (berth_sshd_parse(out, &s, &lerr) < 0) {
    berth_error_release(&lerr);
    return -1;
  }
  if (!value_is(berth_sshd_get(s, "usepam"), "no"))
    *pam_used = true;
  r = berth_audit_sshd_user(a, s, u, shell_path, &lerr);
  berth_error_release(&lerr);
  berth_sshd_settings_free(s);
  return r;
}
