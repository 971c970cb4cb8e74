/* audit_pam.c - the sshd PAM stack: a reader that follows @include,
 * include and substack as libpam does, the walk of which lines run for a
 * user (skip counts, pam_succeed_if), and the rules for pam_env,
 * pam_berth and pam_systemd. */
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

/* libpam refuses deeper include nesting (PAM_SUBSTACK_MAX_LEVEL). */
#define PAM_MAX_DEPTH 16

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
    w = berth_malloc0(strlen(p) + 1, err);
    if (w == NULL)
      goto fail;
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
    if (audit_strv_push(&v, w, err) < 0)
      goto fail;
  }
  if (v == NULL && audit_strv_push(&v, "", err) < 0)
    return NULL;
  return v;
fail:
  berth_strv_free(v);
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
      nl = realloc(logical, used + (size_t) (end - s) + 2);
      if (nl == NULL)
        return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      logical = nl;
      memcpy(logical + used, s, (size_t) (end - s));
      used += (size_t) (end - s);
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
      snprintf(buf, len, "%.*s", (int) (n - eq - 1), w + eq + 1);
      return buf;
    }
    if (eq == 7 && strncmp(w, "default", 7) == 0 && def == NULL) {
      snprintf(buf, len, "%.*s", (int) (n - eq - 1), w + eq + 1);
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
      skip = (size_t) strtoul(action, NULL, 10);
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
        && audit_add_fmt(
               a, BERTH_AUDIT_DOOR, "pam-env-user-readenv", NULL,
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
        berth = (ssize_t) i;
        break;
      }
    if (berth < 0
        && audit_add_fmt(
               a, BERTH_AUDIT_DOOR, "pam-berth-missing", u->name,
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
        bool after = berth >= 0 && (ssize_t) i > berth;
        bool readenv = berth_strv_contains(e->args, "user_readenv=1");
        if (after
            && audit_add_fmt(a, BERTH_AUDIT_DOOR, "pam-env-after-berth", u->name,
                             "what it sets reaches the host processes sshd starts, after pam_berth "
                             "reduced the environment",
                             "move the pam_berth line after every pam_env line",
                             "pam: %s:%d: pam_env.so comes after pam_berth.so (%s:%d)", e->file,
                             e->line, st->e[berth].file, st->e[berth].line)
                   < 0)
          goto oom;
        if (readenv && (berth < 0 || after)
            && audit_add_fmt(
                   a, BERTH_AUDIT_DOOR, "pam-env-user-readenv", u->name,
                   "~/.pam_environment, written from inside the container, sets the "
                   "environment of the host processes sshd starts (LD_PRELOAD runs the user's "
                   "code on the host)",
                   FIX_READENV, "pam: %s:%d: pam_env.so user_readenv=1", e->file, e->line)
                   < 0)
          goto oom;
        /* pam_berth scrubs after it; say so, since pam_berth is optional and
         * a failed open may not get that far */
        if (readenv && berth >= 0 && !after
            && audit_add_fmt(
                   a, BERTH_AUDIT_NOTE, "pam-env-user-readenv", u->name,
                   "~/.pam_environment is read from the user's home; only pam_berth's scrub "
                   "after it keeps it from the host processes sshd starts",
                   FIX_READENV,
                   "pam: %s:%d: pam_env.so user_readenv=1 (pam_berth.so at %s:%d scrubs it)",
                   e->file, e->line, st->e[berth].file, st->e[berth].line)
                   < 0)
          goto oom;
      }
      if (berth_pam_is(e, "pam_systemd.so")
          && audit_add_fmt(
                 a, BERTH_AUDIT_DOOR, "pam-systemd", u->name,
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

/* The sshd PAM stack O->PAM_DIR/sshd, audited when sshd may use it
 * (asked: UsePAM is not "no" for some user, or sshd could not say); a
 * missing stack is a problem then, or when the directory was named
 * (pam_dir_set).  -1 (err set) only when out of memory. */
int
audit_pam_file(struct berth_audit *a, const struct berth_audit_opts *o, bool pam_dir_set,
               bool asked, const struct berth_audit_user *users, size_t n_users, berth_error_t *err)
{
  cleanup_free char *pam_path = NULL;

  pam_path = berth_asprintf(err, "%s/sshd", o->pam_dir);
  if (pam_path == NULL)
    return -1;
  if (access(pam_path, F_OK) != 0) {
    if ((asked || pam_dir_set)
        && audit_add_fmt(a, BERTH_AUDIT_PROBLEM, "pam-stack-missing", NULL,
                         "sshd runs without pam_berth, and its stack is unknown",
                         "install etc/pam.d-sshd.example as /etc/pam.d/sshd", "pam: %s: %s",
                         pam_path, strerror(errno))
               < 0)
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  } else if (asked) {
    struct berth_pam_stack *st = NULL;
    berth_error_t lerr = NULL;
    if (berth_pam_load(o->pam_dir, "sshd", &st, &lerr) < 0) {
      int r = audit_add_fmt(a, BERTH_AUDIT_PROBLEM, "pam-stack-unreadable", NULL,
                            "the sshd PAM stack cannot be audited (libpam may refuse it too)",
                            "repair the file named", "pam: %s", lerr->msg);
      berth_error_release(&lerr);
      if (r < 0)
        return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    } else {
      int r = berth_audit_pam(a, st, users, n_users, &lerr);
      berth_error_release(&lerr);
      berth_pam_stack_free(st);
      if (r < 0)
        return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    }
  }
  return 0;
}
