/* audit.c - the deployment audit behind `berthctl check`.
 *
 * A berthed user's home is writable from inside their container, and sshd
 * (with its PAM stack) starts host processes for a session before and beside
 * berth-shell.  Each setting that lets such a process read a file from the
 * home, or lets sshd itself serve the user on the host, is a door; this file
 * finds them.  Pure parsers and rules first (tests/unit/test_audit.c drives
 * them over fixtures), then the probing: NSS, `sshd -T`, files. */
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

#define DEFAULT_SSHD "/usr/sbin/sshd"
#define DEFAULT_PAM_DIR "/etc/pam.d"
#define DEFAULT_SHELLS "/etc/shells"
#ifndef BERTH_SHELL_PATH
#define BERTH_SHELL_PATH "/usr/bin/berth-shell"
#endif

/* libpam refuses deeper include nesting (PAM_SUBSTACK_MAX_LEVEL). */
#define PAM_MAX_DEPTH 16
/* sshd is asked about this many distinct kinds of user at most, so check
 * stays quick on a host with thousands of directory accounts. */
#define MAX_PROFILES 32
#define MAX_CANDIDATES 4096
#define PROBE_OUTPUT_MAX (1024 * 1024)
#define PROBE_TIMEOUT_MS 15000

/* ---------------------------------------------------------------- findings */

const char *
berth_audit_severity_name(enum berth_audit_severity s)
{
  switch (s) {
  case BERTH_AUDIT_OK:
    return "ok";
  case BERTH_AUDIT_NOTE:
    return "note";
  case BERTH_AUDIT_DOOR:
    return "door";
  case BERTH_AUDIT_PROBLEM:
    return "problem";
  }
  return "?";
}

int
berth_audit_new(struct berth_audit **out, berth_error_t *err)
{
  *out = berth_malloc0(sizeof(**out), err);
  return *out ? 0 : -1;
}

void
berth_audit_free(struct berth_audit *a)
{
  if (a == NULL)
    return;
  for (size_t i = 0; i < a->n; i++) {
    free(a->findings[i].id);
    free(a->findings[i].what);
    free(a->findings[i].risk);
    free(a->findings[i].fix);
    berth_strv_free(a->findings[i].users);
  }
  free(a->findings);
  berth_strv_free(a->audited);
  free(a);
}

bool
berth_audit_failed(const struct berth_audit *a)
{
  for (size_t i = 0; a && i < a->n; i++)
    if (a->findings[i].severity == BERTH_AUDIT_DOOR
        || a->findings[i].severity == BERTH_AUDIT_PROBLEM)
      return true;
  return false;
}

/* Append s to the NULL-terminated vector *v. */
static int
strv_push(char ***v, const char *s, berth_error_t *err)
{
  size_t n = berth_strv_len(*v);
  char **nv = realloc(*v, (n + 2) * sizeof(char *));
  if (nv == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  *v = nv;
  nv[n] = strdup(s);
  nv[n + 1] = NULL;
  if (nv[n] == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return 0;
}

int
berth_audit_add(struct berth_audit *a, enum berth_audit_severity sev, const char *id,
                const char *user, const char *what, const char *risk, const char *fix,
                berth_error_t *err)
{
  struct berth_audit_finding *f, *nf;

  for (size_t i = 0; i < a->n; i++) {
    f = &a->findings[i];
    if (strcmp(f->id, id) == 0 && strcmp(f->what, what) == 0 && f->severity == sev) {
      if (user == NULL || berth_strv_contains(f->users, user))
        return 0;
      return strv_push(&f->users, user, err);
    }
  }
  nf = realloc(a->findings, (a->n + 1) * sizeof(*nf));
  if (nf == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  a->findings = nf;
  f = &nf[a->n];
  memset(f, 0, sizeof(*f));
  f->severity = sev;
  f->id = strdup(id);
  f->what = strdup(what);
  f->risk = strdup(risk ? risk : "");
  f->fix = strdup(fix ? fix : "");
  a->n++; /* counted now so berth_audit_free releases a partial finding */
  if (!f->id || !f->what || !f->risk || !f->fix)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return user ? strv_push(&f->users, user, err) : 0;
}

/* berth_audit_add with a formatted what */
static int __attribute__((format(printf, 7, 8)))
add_fmt(struct berth_audit *a, enum berth_audit_severity sev, const char *id, const char *user,
        const char *risk, const char *fix, const char *fmt, ...)
{
  cleanup_free char *what = NULL;
  va_list ap;
  int r;

  va_start(ap, fmt);
  r = vasprintf(&what, fmt, ap);
  va_end(ap);
  if (r < 0) {
    what = NULL;
    return -1;
  }
  return berth_audit_add(a, sev, id, user, what, risk, fix, NULL);
}

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
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
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
          *c = (char)(*c - 'A' + 'a');
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
    len = (size_t)(end - p);
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
static bool
is_berth_shell(const char *path, const char *shell_path)
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
  if (is_berth_shell(shell, shell_path))
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
} simple_doors[] = {
  { "allowstreamlocalforwarding", "AllowStreamLocalForwarding", "sshd-streamlocal-forwarding",
    "sshd connects and listens on unix sockets of the host for the user (the host's own "
    "systemd, D-Bus and service sockets)",
    true },
  { "allowagentforwarding", "AllowAgentForwarding", "sshd-agent-forwarding",
    "sshd puts the forwarded agent's socket on the host, outside the container, and runs the "
    "forwarding there",
    true },
  { "x11forwarding", "X11Forwarding", "sshd-x11-forwarding",
    "sshd runs xauth on the host for the user (reading the home) and serves X11 connections "
    "there",
    true },
  { "permittunnel", "PermitTunnel", "sshd-tunnel",
    "tun/tap devices carry the user's packets into the host's networks", false },
  { "permituserenvironment", "PermitUserEnvironment", "sshd-user-environment",
    "sshd reads ~/.ssh/environment and environment= in authorized_keys (both in the home) into "
    "the host processes it starts: LD_PRELOAD runs the user's code on the host",
    false },
};

#define FIX_MATCH                                                                                  \
  "under `Match Group` for the berthed groups in sshd_config (etc/sshd_config.example)"

int
berth_audit_sshd_user(struct berth_audit *a, const struct berth_sshd_settings *s,
                      const struct berth_audit_user *u, const char *shell_path, berth_error_t *err)
{
  const char *fc = berth_sshd_get(s, "forcecommand");
  const char *tcp = berth_sshd_get(s, "allowtcpforwarding");
  const char *popen = berth_sshd_get(s, "permitopen");
  const char *plisten = berth_sshd_get(s, "permitlisten");
  const char *rc = berth_sshd_get(s, "permituserrc");
  const char *sftp = berth_sshd_subsystem(s, "sftp");
  bool login_berth = is_berth_shell(u->shell, shell_path);
  bool fc_berth, nofwd = value_is(berth_sshd_get(s, "disableforwarding"), "yes");
  char word[256];

  if (value_is(fc, "none"))
    fc = NULL;
  fc_berth = fc && is_berth_shell(first_word(fc, word, sizeof(word)), shell_path);

  if (!login_berth && !fc_berth && !shell_refuses(u->shell)
      && add_fmt(a, BERTH_AUDIT_DOOR, "sshd-no-berth-shell", u->name,
                 "the policy berths these users, but their sessions run on the host, not in a "
                 "container",
                 "give them berth-shell as login shell, or ForceCommand berth-shell " FIX_MATCH,
                 "sshd: login shell %s and ForceCommand %s: not berth-shell", u->shell,
                 fc ? fc : "none")
             < 0)
    goto fail;
  if (fc && !login_berth && !shell_refuses(u->shell) && shell_reads_rc(u->shell, shell_path)
      && add_fmt(a, BERTH_AUDIT_DOOR, "sshd-forcecommand-rc-shell", u->name,
                 "sshd runs the forced command as `SHELL -c` on the host, and this shell first "
                 "reads its rc files from the home (~/.bashrc, ~/.zshenv), which the user writes "
                 "from inside the container",
                 "give ForceCommand users /bin/sh (dash) or berth-shell as login shell",
                 "sshd: ForceCommand %s through login shell %s", fc, u->shell)
             < 0)
    goto fail;

  if (!nofwd) {
    bool local = value_is(tcp, "yes") || value_is(tcp, "all") || value_is(tcp, "local");
    bool remote = value_is(tcp, "yes") || value_is(tcp, "all") || value_is(tcp, "remote");
    bool local_open = local && !berth_sshd_permitopen_restricted(popen);
    bool remote_open = remote && !value_is(plisten, "none");
    if (tcp && (local_open || remote_open)) {
      if (add_fmt(a, BERTH_AUDIT_DOOR, "sshd-tcp-forwarding", u->name,
                  "sshd serves -L/-D/-W/-R itself, on the host: the user reaches services "
                  "listening on the host's 127.0.0.1 and networks, or listens on the host",
                  "AllowTcpForwarding no " FIX_MATCH "; a bastion for ProxyJump: "
                  "AllowTcpForwarding local and PermitOpen host:port ...",
                  "sshd: AllowTcpForwarding %s, PermitOpen %s, PermitListen %s", tcp,
                  popen ? popen : "any", plisten ? plisten : "any")
          < 0)
        goto fail;
    } else if (tcp && !value_is(tcp, "no")) {
      if (add_fmt(a, BERTH_AUDIT_OK, "sshd-tcp-forwarding", u->name,
                  "forwardings reach only the listed host:port pairs (ProxyJump)", "",
                  "sshd: AllowTcpForwarding %s restricted to PermitOpen %s", tcp,
                  popen ? popen : "none")
          < 0)
        goto fail;
    }
  }
  for (size_t i = 0; i < sizeof(simple_doors) / sizeof(simple_doors[0]); i++) {
    const struct simple_door *d = &simple_doors[i];
    const char *v = berth_sshd_get(s, d->key);
    cleanup_free char *fix = NULL;
    if (v == NULL || value_is(v, "no") || (d->forwarding && nofwd))
      continue;
    fix = berth_asprintf(err, "%s no " FIX_MATCH, d->name);
    if (fix == NULL
        || add_fmt(a, BERTH_AUDIT_DOOR, d->id, u->name, d->risk, fix, "sshd: %s %s", d->name, v)
               < 0)
      goto fail;
  }
  if (sftp && strcmp(first_word(sftp, word, sizeof(word)), "internal-sftp") == 0 && !fc_berth
      && add_fmt(a, BERTH_AUDIT_DOOR, "sshd-internal-sftp", u->name,
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
      && add_fmt(a, BERTH_AUDIT_DOOR, "sshd-user-rc", u->name,
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

/* ---------------------------------------------------------------- PAM stack */

static void
pam_entry_clear(struct berth_pam_entry *e)
{
  free(e->type);
  free(e->control);
  free(e->module);
  berth_strv_free(e->args);
  free(e->file);
}

void
berth_pam_stack_free(struct berth_pam_stack *st)
{
  if (st == NULL)
    return;
  for (size_t i = 0; i < st->n; i++)
    pam_entry_clear(&st->e[i]);
  free(st->e);
  free(st->file);
  free(st);
}

bool
berth_pam_is(const struct berth_pam_entry *e, const char *base)
{
  const char *b = strrchr(e->module, '/');
  return strcmp(b ? b + 1 : e->module, base) == 0;
}

/* Split one logical line the way libpam does (pam_handlers.c): blanks
 * separate words, except inside [...] (a control or an argument), where
 * "\]" stands for "]". */
static char **
pam_words(const char *line, berth_error_t *err)
{
  char **v = NULL;
  const char *p = line;

  for (;;) {
    cleanup_free char *w = NULL;
    size_t n = 0;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\0')
      break;
    w = malloc(strlen(p) + 1);
    if (w == NULL)
      goto oom;
    if (*p == '[') {
      while (*p && *p != ']') {
        if (p[0] == '\\' && p[1] == ']')
          p++;
        w[n++] = *p++;
      }
      if (*p == ']')
        w[n++] = *p++;
    }
    while (*p && *p != ' ' && *p != '\t')
      w[n++] = *p++;
    w[n] = '\0';
    if (strv_push(&v, w, err) < 0) {
      berth_strv_free(v);
      return NULL;
    }
  }
  if (v == NULL && strv_push(&v, "", err) < 0)
    return NULL;
  return v;
oom:
  berth_strv_free(v);
  berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return NULL;
}

struct pam_chain {
  const char *file;
  const struct pam_chain *up;
};

static int pam_load_file(const char *dir, const char *name, const char *only_type,
                         const struct pam_chain *up, int depth, struct berth_pam_stack *st,
                         const char *from, int from_line, berth_error_t *err);

static int
pam_add(struct berth_pam_stack *st, char **w, const char *file, int line, berth_error_t *err)
{
  struct berth_pam_entry *ne = realloc(st->e, (st->n + 1) * sizeof(*ne)), *e;
  size_t nw = berth_strv_len(w);

  if (ne == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  st->e = ne;
  e = &ne[st->n];
  memset(e, 0, sizeof(*e));
  st->n++;
  e->type = strdup(w[0][0] == '-' ? w[0] + 1 : w[0]);
  e->control = strdup(w[1]);
  e->module = strdup(w[2]);
  e->file = strdup(file);
  e->line = line;
  e->args = berth_strv_dup(nw > 3 ? w + 3 : (char *const[]){ NULL }, err);
  if (!e->type || !e->control || !e->module || !e->file || !e->args)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return 0;
}

static int
pam_load_text(const char *dir, const char *path, char *text, const char *only_type,
              const struct pam_chain *chain, int depth, struct berth_pam_stack *st,
              berth_error_t *err)
{
  char *p = text;
  int lineno = 0;

  while (p && *p) {
    cleanup_strv char **w = NULL;
    cleanup_free char *logical = NULL;
    size_t used = 0;
    int first = 0;

    /* A logical line as libpam assembles it (_pam_assemble_line): text
     * before a '#' ends it; a trailing '\' joins the next line; blank and
     * comment lines are skipped, even inside a continuation. */
    while (p && *p) {
      char *eol = strchr(p, '\n'), *s = p, *end, *hash;
      bool more = false;
      char *nl;
      lineno++;
      if (eol)
        *eol = '\0';
      p = eol ? eol + 1 : NULL;
      s += strspn(s, " \t\r");
      if (*s == '\0' || *s == '#')
        continue;
      if (first == 0)
        first = lineno;
      hash = strchr(s, '#');
      if (hash)
        *hash = '\0';
      end = s + strlen(s);
      while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
      if (hash == NULL && end > s && end[-1] == '\\') {
        end[-1] = ' ';
        more = true;
      }
      nl = realloc(logical, used + (size_t)(end - s) + 2);
      if (nl == NULL)
        return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      logical = nl;
      memcpy(logical + used, s, (size_t)(end - s));
      used += (size_t)(end - s);
      logical[used++] = ' ';
      logical[used] = '\0';
      if (!more)
        break;
    }
    if (logical == NULL)
      break;
    w = pam_words(logical, err);
    if (w == NULL)
      return -1;
    if (w[0][0] == '\0')
      continue;
    if (strcmp(w[0], "@include") == 0) {
      if (w[1] == NULL)
        return berth_error_make(err, BERTH_E_CONFIG, EINVAL, "%s:%d: @include without a file", path,
                                first);
      if (pam_load_file(dir, w[1], only_type, chain, depth + 1, st, path, first, err) < 0)
        return -1;
      continue;
    }
    if (berth_strv_len(w) < 3)
      return berth_error_make(err, BERTH_E_CONFIG, EINVAL, "%s:%d: not a PAM line", path, first);
    if (only_type && strcmp(w[0][0] == '-' ? w[0] + 1 : w[0], only_type) != 0)
      continue;
    if (strcmp(w[1], "include") == 0 || strcmp(w[1], "substack") == 0) {
      /* substack keeps jumps inside it; this audit flattens both, which only
       * matters for a jump that would leave the substack (see reached) */
      if (pam_load_file(dir, w[2], w[0][0] == '-' ? w[0] + 1 : w[0], chain, depth + 1, st, path,
                        first, err)
          < 0)
        return -1;
      continue;
    }
    if (pam_add(st, w, path, first, err) < 0)
      return -1;
  }
  return 0;
}

static int
pam_load_file(const char *dir, const char *name, const char *only_type, const struct pam_chain *up,
              int depth, struct berth_pam_stack *st, const char *from, int from_line,
              berth_error_t *err)
{
  cleanup_free char *path = NULL, *text = NULL;
  struct pam_chain here;
  size_t len;

  path = name[0] == '/' ? berth_strdup(name, err) : berth_asprintf(err, "%s/%s", dir, name);
  if (path == NULL)
    return -1;
  for (const struct pam_chain *c = up; c; c = c->up)
    if (strcmp(c->file, path) == 0)
      return berth_error_make(err, BERTH_E_CONFIG, ELOOP, "%s:%d: include loop: %s includes itself",
                              from, from_line, path);
  if (depth > PAM_MAX_DEPTH)
    return berth_error_make(err, BERTH_E_CONFIG, ELOOP,
                            "%s:%d: includes nested deeper than %d levels", from, from_line,
                            PAM_MAX_DEPTH);
  if (berth_read_file(path, 1024 * 1024, &text, &len, err) < 0) {
    if (from)
      return berth_error_wrap(err, "%s:%d: included file", from, from_line);
    return -1;
  }
  here.file = path;
  here.up = up;
  return pam_load_text(dir, path, text, only_type, &here, depth, st, err);
}

int
berth_pam_load(const char *dir, const char *service, struct berth_pam_stack **out,
               berth_error_t *err)
{
  struct berth_pam_stack *st = berth_malloc0(sizeof(*st), err);

  if (st == NULL)
    return -1;
  st->file
      = service[0] == '/' ? berth_strdup(service, err) : berth_asprintf(err, "%s/%s", dir, service);
  if (st->file == NULL || pam_load_file(dir, service, NULL, NULL, 0, st, NULL, 0, err) < 0) {
    berth_pam_stack_free(st);
    return -1;
  }
  *out = st;
  return 0;
}

/* What a control does on a return value: "ok", "done", "die", "bad",
 * "ignore", "reset" or a jump count as digits. */
static const char *
control_action(const char *control, const char *value, char *buf, size_t len)
{
  const char *p, *def = NULL;

  if (control[0] != '[') {
    bool success = strcmp(value, "success") == 0;
    if (strcmp(control, "required") == 0)
      return success ? "ok" : "bad";
    if (strcmp(control, "requisite") == 0)
      return success ? "ok" : "die";
    if (strcmp(control, "sufficient") == 0)
      return success ? "done" : "ignore";
    return success ? "ok" : "ignore"; /* optional, and anything unknown */
  }
  p = control + 1;
  while (*p && *p != ']') {
    size_t n = strcspn(p, " \t]"), eq;
    const char *w = p;
    p += n;
    while (*p == ' ' || *p == '\t')
      p++;
    eq = strcspn(w, "=");
    if (eq >= n)
      continue;
    if (eq == strlen(value) && strncmp(w, value, eq) == 0) {
      snprintf(buf, len, "%.*s", (int)(n - eq - 1), w + eq + 1);
      return buf;
    }
    if (eq == 7 && strncmp(w, "default", 7) == 0 && def == NULL) {
      snprintf(buf, len, "%.*s", (int)(n - eq - 1), w + eq + 1);
      def = buf;
    }
  }
  return def ? def : "ignore";
}

static bool
in_list(const char *colon_list, char *const *names, const char *single)
{
  const char *p = colon_list;
  while (*p) {
    size_t n = strcspn(p, ":");
    if (single && strlen(single) == n && strncmp(p, single, n) == 0)
      return true;
    for (size_t i = 0; names && names[i]; i++)
      if (strlen(names[i]) == n && strncmp(p, names[i], n) == 0)
        return true;
    p += n;
    if (*p == ':')
      p++;
  }
  return false;
}

/* pam_succeed_if's verdict for a user: 1 success, 0 failure, -1 unknown
 * (a condition on something other than the user's name or groups). */
static int
succeed_if(char *const *args, const char *user, char *const *groups)
{
  static const char *const flags[]
      = { "debug", "use_uid", "quiet", "quiet_fail", "quiet_success", "audit", NULL };
  size_t n = berth_strv_len(args), i = 0;
  bool all = true, conds = false;

  while (i < n) {
    bool flag = false;
    for (size_t f = 0; flags[f]; f++)
      flag |= strcmp(args[i], flags[f]) == 0;
    if (flag) {
      i++;
      continue;
    }
    if (i + 2 >= n)
      return -1;
    if (strcmp(args[i], "user") != 0)
      return -1;
    {
      const char *op = args[i + 1], *val = args[i + 2];
      bool r;
      if (strcmp(op, "ingroup") == 0)
        r = in_list(val, groups, NULL);
      else if (strcmp(op, "notingroup") == 0)
        r = !in_list(val, groups, NULL);
      else if (strcmp(op, "=") == 0 || strcmp(op, "eq") == 0)
        r = strcmp(user, val) == 0;
      else if (strcmp(op, "!=") == 0 || strcmp(op, "ne") == 0)
        r = strcmp(user, val) != 0;
      else if (strcmp(op, "in") == 0)
        r = in_list(val, NULL, user);
      else if (strcmp(op, "notin") == 0)
        r = !in_list(val, NULL, user);
      else
        return -1;
      all = all && r;
      conds = true;
    }
    i += 3;
  }
  return conds ? (all ? 1 : 0) : -1;
}

void
berth_pam_reached(const struct berth_pam_stack *st, const char *type, const char *user,
                  char *const *groups, bool *reached)
{
  size_t skip = 0;
  bool stopped = false;

  for (size_t i = 0; i < st->n; i++) {
    const struct berth_pam_entry *e = &st->e[i];
    const char *action, *value;
    char buf[32];
    int verdict = -1;

    reached[i] = false;
    if (strcmp(e->type, type) != 0)
      continue;
    if (stopped)
      continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    reached[i] = true;
    if (berth_pam_is(e, "pam_permit.so"))
      verdict = 1;
    else if (berth_pam_is(e, "pam_deny.so"))
      verdict = 0;
    else if (berth_pam_is(e, "pam_succeed_if.so"))
      verdict = succeed_if(e->args, user, groups);
    if (verdict < 0)
      continue; /* unknown result: assume it neither jumps nor ends the stack */
    value = verdict ? "success" : "auth_err";
    action = control_action(e->control, value, buf, sizeof(buf));
    if (action[0] >= '0' && action[0] <= '9')
      skip = (size_t)strtoul(action, NULL, 10);
    else if (strcmp(action, "done") == 0 || strcmp(action, "die") == 0)
      stopped = true;
  }
}

#define FIX_READENV "drop user_readenv=1 from this line (etc/pam.d-sshd.example)"

int
berth_audit_pam(struct berth_audit *a, const struct berth_pam_stack *st,
                const struct berth_audit_user *users, size_t n_users, berth_error_t *err)
{
  cleanup_free bool *reached = calloc(st->n + 1, sizeof(bool));

  if (reached == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");

  /* sshd calls pam_setcred in the child it forks after the session opened,
   * and pam_env's setcred does what its open_session does: after pam_berth. */
  for (size_t i = 0; i < st->n; i++) {
    const struct berth_pam_entry *e = &st->e[i];
    if (strcmp(e->type, "auth") == 0 && berth_pam_is(e, "pam_env.so")
        && berth_strv_contains(e->args, "user_readenv=1")
        && add_fmt(a, BERTH_AUDIT_DOOR, "pam-env-user-readenv", NULL,
                   "sshd runs the auth stack's pam_env again (pam_setcred) after the session "
                   "opened, after pam_berth: ~/.pam_environment (LD_PRELOAD) reaches the host "
                   "processes sshd starts",
                   FIX_READENV, "pam: %s:%d: auth pam_env.so user_readenv=1", e->file, e->line)
               < 0)
      goto oom;
  }

  for (size_t k = 0; k < n_users; k++) {
    const struct berth_audit_user *u = &users[k];
    ssize_t berth = -1;

    berth_pam_reached(st, "session", u->name, u->groups, reached);
    for (size_t i = 0; i < st->n; i++)
      if (reached[i] && berth_pam_is(&st->e[i], "pam_berth.so")) {
        berth = (ssize_t)i;
        break;
      }
    if (berth < 0
        && add_fmt(a, BERTH_AUDIT_DOOR, "pam-berth-missing", u->name,
                   "nothing reduces the PAM environment (~/.pam_environment, /etc/environment, "
                   "other modules) to berth's whitelist before sshd starts host processes with it",
                   "add `session optional pam_berth.so` after every pam_env line of the session "
                   "stack (etc/pam.d-sshd.example)",
                   "pam: pam_berth.so does not run in the session stack of %s", st->file)
               < 0)
      goto oom;
    for (size_t i = 0; i < st->n; i++) {
      const struct berth_pam_entry *e = &st->e[i];
      if (!reached[i])
        continue;
      if (berth_pam_is(e, "pam_env.so")) {
        bool after = berth >= 0 && (ssize_t)i > berth;
        bool readenv = berth_strv_contains(e->args, "user_readenv=1");
        if (after
            && add_fmt(a, BERTH_AUDIT_DOOR, "pam-env-after-berth", u->name,
                       "what it sets reaches the host processes sshd starts, after pam_berth "
                       "reduced the environment",
                       "move the pam_berth line after every pam_env line",
                       "pam: %s:%d: pam_env.so comes after pam_berth.so (%s:%d)", e->file, e->line,
                       st->e[berth].file, st->e[berth].line)
                   < 0)
          goto oom;
        if (readenv && (berth < 0 || after)
            && add_fmt(a, BERTH_AUDIT_DOOR, "pam-env-user-readenv", u->name,
                       "~/.pam_environment, written from inside the container, sets the "
                       "environment of the host processes sshd starts (LD_PRELOAD runs the user's "
                       "code on the host)",
                       FIX_READENV, "pam: %s:%d: pam_env.so user_readenv=1", e->file, e->line)
                   < 0)
          goto oom;
        /* pam_berth scrubs after it; say so, since pam_berth is optional and
         * a failed open may not get that far */
        if (readenv && berth >= 0 && !after
            && add_fmt(a, BERTH_AUDIT_NOTE, "pam-env-user-readenv", u->name,
                       "~/.pam_environment is read from the user's home; only pam_berth's scrub "
                       "after it keeps it from the host processes sshd starts",
                       FIX_READENV,
                       "pam: %s:%d: pam_env.so user_readenv=1 (pam_berth.so at %s:%d scrubs it)",
                       e->file, e->line, st->e[berth].file, st->e[berth].line)
                   < 0)
          goto oom;
      }
      if (berth_pam_is(e, "pam_systemd.so")
          && add_fmt(a, BERTH_AUDIT_DOOR, "pam-systemd", u->name,
                     "logind starts a host `systemd --user` for the user, which runs the units in "
                     "~/.config/systemd/user (written from inside the container) on the host",
                     "skip it for berthed users: `session [success=1 default=ignore] "
                     "pam_succeed_if.so quiet user ingroup GROUP` right before it "
                     "(etc/pam.d-sshd.example)",
                     "pam: %s:%d: pam_systemd.so runs for berthed users", e->file, e->line)
                 < 0)
        goto oom;
    }
  }
  return 0;
oom:
  return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
}

/* ---------------------------------------------------------------- probing */

static void
audit_users_free(struct berth_audit_user *u, size_t n)
{
  for (size_t i = 0; u && i < n; i++) {
    free(u[i].name);
    free(u[i].shell);
    berth_strv_free(u[i].groups);
    free(u[i].why);
  }
  free(u);
}

/* Run argv (an absolute path, a clean environment, stdin /dev/null) and
 * collect its stdout and stderr, each at most PROBE_OUTPUT_MAX bytes; a
 * child still running after PROBE_TIMEOUT_MS (an NSS lookup hanging on a
 * dead directory) is killed.  *status is the wait status. */
static int
run_capture(const char *const argv[], char **out, char **errout, int *status, berth_error_t *err)
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
    execve(argv[0], (char *const *)argv, (char *const *)env);
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
    r = poll(pf, 2, (int)left);
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
      if (got <= 0 || used[i] + (size_t)got >= PROBE_OUTPUT_MAX)
        open_fd[i] = false;
      if (got > 0)
        used[i] += (size_t)got;
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
static void
chop_line(char *s)
{
  s[strcspn(s, "\n")] = '\0';
}

struct cand {
  char *name;
  char *why;
};

static int
cand_add(struct cand **c, size_t *n, const char *name, const char *why, berth_error_t *err)
{
  struct cand *nc;
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*c)[i].name, name) == 0)
      return 0;
  if (*n >= MAX_CANDIDATES)
    return 0;
  nc = realloc(*c, (*n + 1) * sizeof(*nc));
  if (nc == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  *c = nc;
  nc[*n].name = strdup(name);
  nc[*n].why = strdup(why);
  (*n)++;
  if (!nc[*n - 1].name || !nc[*n - 1].why)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return 0;
}

/* Who to ask sshd about.  sshd's Match blocks depend on the user's name and
 * groups, berth's doors also on the login shell; so: every NSS user whose
 * login shell is berth-shell, and every member of the policy.only_groups
 * groups (listed members and those whose primary group it is), kept when
 * the policy berths them, and of those one per distinct (shell, groups):
 * sshd says the same for two users that agree on both, unless a `Match
 * User` names one of them.  *skipped counts the kinds beyond MAX_PROFILES. */
static int
pick_users(const struct berth_config *cfg, const char *shell_path, struct berth_audit_user **out,
           size_t *n_out, size_t *skipped, berth_error_t *err)
{
  struct cand *c = NULL;
  size_t nc = 0, n = 0;
  struct berth_audit_user *u = NULL;
  char **profiles = NULL;
  char *const *only = cfg->policy.only_groups;
  int rc = -1;
  struct passwd *pw;

  size_t n_only = berth_strv_len(only);
  cleanup_free gid_t *only_gid = calloc(n_only + 1, sizeof(gid_t));
  cleanup_free bool *only_known = calloc(n_only + 1, sizeof(bool));

  if (only_gid == NULL || only_known == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  /* once, not per passwd entry: each is a directory query with LDAP */
  for (size_t g = 0; g < n_only; g++) {
    struct group *gr = getgrnam(only[g]);
    if (gr) {
      only_gid[g] = gr->gr_gid;
      only_known[g] = true;
    }
  }
  /* getpwent/getgrnam are not reentrant; berthctl is single-threaded and
   * nothing else in it enumerates meanwhile. */
  setpwent();
  while ((pw = getpwent()) != NULL) {
    if (is_berth_shell(pw->pw_shell, shell_path)
        && cand_add(&c, &nc, pw->pw_name, "login shell berth-shell", err) < 0)
      break;
    for (size_t g = 0; g < n_only; g++) {
      if (only_known[g] && only_gid[g] == pw->pw_gid) {
        cleanup_free char *why = berth_asprintf(err, "primary group %s", only[g]);
        if (why == NULL || cand_add(&c, &nc, pw->pw_name, why, err) < 0)
          goto out_ent;
      }
    }
  }
out_ent:
  endpwent();
  if (*err)
    goto out;
  for (size_t g = 0; only && only[g]; g++) {
    struct group *gr = getgrnam(only[g]);
    for (size_t m = 0; gr && gr->gr_mem && gr->gr_mem[m]; m++) {
      cleanup_free char *why = berth_asprintf(err, "member of %s", only[g]);
      if (why == NULL || cand_add(&c, &nc, gr->gr_mem[m], why, err) < 0)
        goto out;
    }
  }

  for (size_t i = 0; i < nc; i++) {
    struct berth_user *bu = NULL;
    berth_error_t lerr = NULL;
    cleanup_free char *key = NULL;
    struct berth_audit_user *nu;

    if (berth_user_lookup(c[i].name, &bu, &lerr) < 0) {
      berth_error_release(&lerr); /* gone between listing and lookup */
      continue;
    }
    if (berth_config_policy(cfg, bu, NULL, NULL) == BERTH_POLICY_EXCLUDED) {
      berth_user_free(bu);
      continue;
    }
    key = berth_asprintf(err, "%s", bu->shell ? bu->shell : "");
    for (size_t g = 0; key && g < bu->n_groups; g++) {
      char *k2;
      /* a user-private group (useradd -U) makes no user different */
      if (g == 0 && bu->groups[g].name && strcmp(bu->groups[g].name, bu->name) == 0)
        continue;
      k2 = berth_asprintf(err, "%s:%s", key, bu->groups[g].name ? bu->groups[g].name : "?");
      free(key);
      key = k2;
    }
    if (key == NULL || berth_strv_contains(profiles, key)) {
      berth_user_free(bu);
      if (key == NULL)
        goto out;
      continue;
    }
    if (n >= MAX_PROFILES) {
      (*skipped)++;
      berth_user_free(bu);
      continue;
    }
    nu = realloc(u, (n + 1) * sizeof(*nu));
    if (nu == NULL || strv_push(&profiles, key, err) < 0) {
      berth_user_free(bu);
      if (nu)
        u = nu;
      if (*err == NULL)
        berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      goto out;
    }
    u = nu;
    memset(&u[n], 0, sizeof(u[n]));
    u[n].name = strdup(bu->name);
    u[n].shell = strdup(bu->shell ? bu->shell : "");
    u[n].why = strdup(c[i].why);
    n++;
    for (size_t g = 0; g < bu->n_groups; g++)
      if (bu->groups[g].name && strv_push(&u[n - 1].groups, bu->groups[g].name, err) < 0)
        break;
    berth_user_free(bu);
    if (*err || !u[n - 1].name || !u[n - 1].shell || !u[n - 1].why) {
      if (*err == NULL)
        berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      goto out;
    }
  }
  *out = steal_pointer(&u);
  *n_out = n;
  rc = 0;
out:
  audit_users_free(u, n);
  for (size_t i = 0; i < nc; i++) {
    free(c[i].name);
    free(c[i].why);
  }
  free(c);
  berth_strv_free(profiles);
  return rc;
}

/* No berthed user known to NSS (a directory that does not enumerate, no
 * user set up yet): a made-up one with berth-shell as login shell, in the
 * only_groups.  sshd cannot resolve a made-up user's groups, so `Match
 * Group` blocks do not apply to it; the audit says so. */
static int
synthetic_user(const struct berth_config *cfg, const char *shell_path,
               struct berth_audit_user **out, berth_error_t *err)
{
  struct berth_audit_user *u = berth_malloc0(sizeof(*u), err);
  if (u == NULL)
    return -1;
  u->synthetic = true;
  u->name = strdup("berth-audit-nobody");
  u->shell = strdup(shell_path);
  u->why = strdup("made up: no berthed user found through NSS");
  u->groups = berth_strv_dup(
      cfg->policy.only_groups ? cfg->policy.only_groups : (char *const[]){ NULL }, err);
  if (!u->name || !u->shell || !u->why || !u->groups) {
    audit_users_free(u, 1);
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  }
  *out = u;
  return 0;
}

/* Group names in the policy that NSS does not resolve: SPEC "Policy" fails
 * closed on them, so logins are denied. */
static int
audit_policy_groups(struct berth_audit *a, const struct berth_config *cfg)
{
  for (int pass = 0; pass < 2; pass++) {
    char *const *v = pass == 0 ? cfg->policy.only_groups : cfg->policy.exclude_groups;
    const char *key = pass == 0 ? "policy.only_groups" : "policy.exclude_groups";
    for (size_t i = 0; v && v[i]; i++) {
      int e;
      errno = 0;
      if (getgrnam(v[i]) != NULL)
        continue;
      e = errno;
      if (add_fmt(a, BERTH_AUDIT_PROBLEM, "policy-group-unresolved", NULL,
                  "membership in it cannot be established, and the policy fails closed: users "
                  "not positively excluded are denied at login",
                  "create the group, repair NSS (`getent group NAME` must answer), or remove "
                  "the name",
                  "config: %s: group %s does not resolve through NSS%s%s", key, v[i],
                  e && e != ENOENT ? ": " : "", e && e != ENOENT ? strerror(e) : "")
          < 0)
        return -1;
    }
  }
  return 0;
}

static int
audit_shell_install(struct berth_audit *a, const char *shell_path, const char *shells_file,
                    const struct berth_audit_user *users, size_t n_users)
{
  struct stat st;
  cleanup_free char *shells = NULL;
  size_t len;
  berth_error_t lerr = NULL;

  if (stat(shell_path, &st) < 0)
    return add_fmt(a, BERTH_AUDIT_PROBLEM, "berth-shell-missing", NULL,
                   "berthed users cannot log in", "install berth (make install)",
                   "berth-shell: %s: %s", shell_path, strerror(errno));
  if ((st.st_mode & 0022) != 0
      && add_fmt(a, BERTH_AUDIT_DOOR, "berth-shell-writable", NULL,
                 "whoever can write it runs code as root", "chmod 4755 and chown root:root",
                 "berth-shell: %s: writable by group or others (mode %04o)", shell_path,
                 (unsigned)(st.st_mode & 07777))
             < 0)
    return -1;
  if ((st.st_uid != 0 || !(st.st_mode & S_ISUID))
      && add_fmt(a, BERTH_AUDIT_PROBLEM, "berth-shell-not-setuid", NULL,
                 "it cannot open the engine socket, so every berthed login is denied",
                 "chown root:root and chmod 4755 (make install does it unless configured with "
                 "--disable-setuid-install)",
                 "berth-shell: %s: not setuid root (mode %04o, uid %u)", shell_path,
                 (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid)
             < 0)
    return -1;

  if (berth_read_file(shells_file, 1024 * 1024, &shells, &len, &lerr) < 0) {
    berth_error_release(&lerr);
    shells = NULL;
  }
  for (size_t i = 0; i < n_users; i++) {
    bool listed = false;
    const char *p = shells;
    if (users[i].synthetic || !is_berth_shell(users[i].shell, shell_path))
      continue;
    while (p && *p) {
      size_t l = strcspn(p, "\n");
      if (l == strlen(users[i].shell) && strncmp(p, users[i].shell, l) == 0)
        listed = true;
      p += l;
      if (*p)
        p++;
    }
    if (!listed
        && add_fmt(a, BERTH_AUDIT_PROBLEM, "berth-shell-not-in-shells", users[i].name,
                   "chsh and the services that check /etc/shells (pam_shells, ftp) refuse users "
                   "whose login shell is not listed",
                   "add-shell (or add the path to /etc/shells)", "berth-shell: %s is not in %s",
                   users[i].shell, shells_file)
               < 0)
      return -1;
  }
  return 0;
}

/* Host services that act on files in a home without a login: an MTA runs
 * the pipes of ~/.forward (and through it ~/.procmailrc) on the host, as the
 * user.  Cron and at are no door: their tables live in /var/spool, written
 * only with crontab(1)/at(1) on the host, which a berthed user never runs. */
static int
audit_mail(struct berth_audit *a)
{
  static const struct {
    const char *path, *name, *fix;
  } mtas[] = {
    { "/usr/sbin/exim4", "exim4",
      "forbid_pipe, forbid_file and forbid_filter_run in the userforward router "
      "(/etc/exim4/conf.d/router/600_exim4-config_userforward), or remove exim4 when the host "
      "needs no local delivery" },
    { "/usr/sbin/exim", "exim",
      "forbid_pipe, forbid_file and forbid_filter_run in the userforward router, or remove exim" },
    { "/usr/sbin/postfix", "postfix",
      "postconf -e allow_mail_to_commands=alias allow_mail_to_files=alias, or remove postfix" },
    { "/usr/lib/sm.bin/sendmail", "sendmail",
      "restrict programs with smrsh (an empty /etc/mail/smrsh), or remove sendmail" },
    { "/usr/sbin/smtpd", "opensmtpd",
      "deliver local mail with an action that ignores ~/.forward (e.g. relay it elsewhere), or "
      "remove opensmtpd" },
  };
  for (size_t i = 0; i < sizeof(mtas) / sizeof(mtas[0]); i++) {
    if (access(mtas[i].path, X_OK) != 0)
      continue;
    if (strcmp(mtas[i].name, "postfix") == 0 && access("/usr/sbin/postconf", X_OK) == 0) {
      /* postfix is cheap to ask; the other MTAs are not */
      const char *const argv[] = { "/usr/sbin/postconf", "-h", "allow_mail_to_commands", NULL };
      cleanup_free char *o = NULL, *e = NULL;
      berth_error_t lerr = NULL;
      int status = 0;
      if (run_capture(argv, &o, &e, &status, &lerr) == 0 && WIFEXITED(status)
          && WEXITSTATUS(status) == 0 && strstr(o, "forward") == NULL
          && strstr(o, "include") == NULL) {
        chop_line(o);
        if (add_fmt(a, BERTH_AUDIT_OK, "mta-forward", NULL, "~/.forward pipes are not run", "",
                    "mail: postfix with allow_mail_to_commands = %s", o)
            < 0)
          return -1;
        continue;
      }
      berth_error_release(&lerr);
    }
    if (add_fmt(a, BERTH_AUDIT_DOOR, "mta-forward", NULL,
                "mail to a berthed user runs the pipes in ~/.forward (written from inside the "
                "container) on the host, as the user",
                mtas[i].fix, "mail: %s is installed (%s)", mtas[i].name, mtas[i].path)
        < 0)
      return -1;
  }
  return 0;
}

/* Ask sshd for u's effective settings: `sshd -T -C user=U,host=H,addr=A`.
 * host and addr are from TEST-NET-1, a remote client that no `Match
 * Address`/`Match Host` for a trusted network matches.  *pam_used is
 * set unless sshd says UsePAM no for this user. */
static int
audit_sshd_user(struct berth_audit *a, const struct berth_audit_opts *o,
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
  if (run_capture(argv, &out, &errtext, &status, &lerr) < 0) {
    r = add_fmt(a, BERTH_AUDIT_PROBLEM, "sshd-audit-failed", u->name,
                "sshd's settings for berthed users are unknown", "see the message",
                "sshd: cannot run %s -T: %s", o->sshd, lerr->msg);
    berth_error_release(&lerr);
    return r;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    chop_line(errtext);
    return add_fmt(a, BERTH_AUDIT_PROBLEM, "sshd-audit-failed", u->name,
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

int
berth_audit_run(const struct berth_config *cfg, const struct berth_audit_opts *opts,
                struct berth_audit **out, berth_error_t *err)
{
  struct berth_audit_opts o = *opts;
  struct berth_audit *a = NULL;
  struct berth_audit_user *users = NULL;
  size_t n_users = 0, skipped = 0;
  bool usepam = false, sshd_ok = false;
  cleanup_free char *pam_path = NULL;
  int rc = -1;

  if (o.sshd == NULL)
    o.sshd = DEFAULT_SSHD;
  if (o.pam_dir == NULL)
    o.pam_dir = DEFAULT_PAM_DIR;
  if (o.shell_path == NULL)
    o.shell_path = BERTH_SHELL_PATH;
  if (o.shells_file == NULL)
    o.shells_file = DEFAULT_SHELLS;

  if (berth_audit_new(&a, err) < 0)
    return -1;
  if (audit_policy_groups(a, cfg) < 0)
    goto oom;
  if (pick_users(cfg, o.shell_path, &users, &n_users, &skipped, err) < 0)
    goto out;
  if (skipped > 0
      && add_fmt(a, BERTH_AUDIT_NOTE, "audit-users-capped", NULL,
                 "their Match User blocks, if any, are not seen",
                 "audit them with a config whose policy.only_groups selects them",
                 "audit: %zu more berthed users with other shells or groups were not asked about "
                 "(at most %d kinds)",
                 skipped, MAX_PROFILES)
             < 0)
    goto oom;
  if (n_users == 0) {
    if (synthetic_user(cfg, o.shell_path, &users, err) < 0)
      goto out;
    n_users = 1;
    if (add_fmt(a, BERTH_AUDIT_NOTE, "audit-no-berthed-user", NULL,
                "sshd cannot resolve the groups of a made-up user: settings under `Match "
                "Group` are not seen",
                "give a berthed user berth-shell as login shell or add one to the "
                "policy.only_groups groups (a directory that does not enumerate users shows "
                "only listed group members)",
                "audit: no berthed user found through NSS; audited a made-up user with login "
                "shell %s",
                o.shell_path)
        < 0)
      goto oom;
  }
  for (size_t i = 0; i < n_users; i++) {
    cleanup_free char *line = berth_asprintf(err, "%s (%s)", users[i].name, users[i].why);
    if (line == NULL || strv_push(&a->audited, line, err) < 0)
      goto out;
  }

  if (access(o.sshd, X_OK) != 0) {
    if (add_fmt(a, opts->sshd_config ? BERTH_AUDIT_PROBLEM : BERTH_AUDIT_NOTE, "sshd-missing", NULL,
                "sshd's settings are not audited", "install openssh-server", "sshd: %s: %s", o.sshd,
                strerror(errno))
        < 0)
      goto oom;
  } else {
    sshd_ok = true;
    for (size_t i = 0; i < n_users; i++)
      if (audit_sshd_user(a, &o, &users[i], o.shell_path, &usepam) < 0)
        goto oom;
  }

  pam_path = berth_asprintf(err, "%s/sshd", o.pam_dir);
  if (pam_path == NULL)
    goto out;
  if (access(pam_path, F_OK) != 0) {
    if ((usepam || !sshd_ok || opts->pam_dir)
        && add_fmt(a, BERTH_AUDIT_PROBLEM, "pam-stack-missing", NULL,
                   "sshd runs without pam_berth, and its stack is unknown",
                   "install etc/pam.d-sshd.example as /etc/pam.d/sshd", "pam: %s: %s", pam_path,
                   strerror(errno))
               < 0)
      goto oom;
  } else if (usepam || !sshd_ok) {
    struct berth_pam_stack *st = NULL;
    berth_error_t lerr = NULL;
    if (berth_pam_load(o.pam_dir, "sshd", &st, &lerr) < 0) {
      int r = add_fmt(a, BERTH_AUDIT_PROBLEM, "pam-stack-unreadable", NULL,
                      "the sshd PAM stack cannot be audited (libpam may refuse it too)",
                      "repair the file named", "pam: %s", lerr->msg);
      berth_error_release(&lerr);
      if (r < 0)
        goto oom;
    } else {
      int r = berth_audit_pam(a, st, users, n_users, &lerr);
      berth_error_release(&lerr);
      berth_pam_stack_free(st);
      if (r < 0)
        goto oom;
    }
  }

  if (audit_shell_install(a, o.shell_path, o.shells_file, users, n_users) < 0 || audit_mail(a) < 0)
    goto oom;
  *out = steal_pointer(&a);
  rc = 0;
  goto out;
oom:
  if (*err == NULL)
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
out:
  audit_users_free(users, n_users);
  berth_audit_free(a);
  return rc;
}
