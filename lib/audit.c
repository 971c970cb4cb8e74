/* audit.c - the deployment audit behind `berthctl check`.
 *
 * A berthed user's home is writable from inside their container, and sshd
 * (with its PAM stack) starts host processes for a session before and beside
 * berth-shell.  Each setting that lets such a process read a file from the
 * home, or lets sshd itself serve the user on the host, is a door.  This
 * file runs the audit: which users to ask sshd about, then each side in
 * turn (audit_sshd.c, audit_pam.c, audit_host.c) into one findings list
 * (audit_findings.c). */
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
#include "berth/netns.h"
#include "berth/user.h"
#include "berth/util.h"
#include "audit-internal.h"

#define DEFAULT_SSHD "/usr/sbin/sshd"
#define DEFAULT_PAM_DIR "/etc/pam.d"
#define DEFAULT_SHELLS "/etc/shells"
#ifndef BERTH_SHELL_PATH
#define BERTH_SHELL_PATH "/usr/bin/berth-shell"
#endif

/* sshd is asked about this many distinct kinds of user at most, so check
 * stays quick on a host with thousands of directory accounts. */
#define MAX_PROFILES 32
#define MAX_CANDIDATES 4096

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

/* Whether pam_berth moves bu's sessions into their container's network
 * namespace: a local engine and an effective container.network other than
 * "host" (berth_netns_applies' rule, before any box exists). */
static bool
user_netns(const struct berth_config *cfg, const struct berth_user *bu)
{
  struct berth_container_conf *c = NULL;
  bool r;

  if (!berth_config_engine_local(cfg) || berth_config_resolve(cfg, bu, &c, NULL) < 0)
    return false;
  r = berth_netns_own_network(c->network);
  berth_container_conf_free(c);
  return r;
}

/* Add c's user to *u unless the policy excludes them or a user with the
 * same (shell, groups) is in already; *skipped counts the kinds beyond
 * MAX_PROFILES.  -1 with err set when out of memory. */
static int
profile_add(const struct berth_config *cfg, const struct cand *c, struct berth_audit_user **u,
            size_t *n, char ***profiles, size_t *skipped, berth_error_t *err)
{
  struct berth_user *bu = NULL;
  berth_error_t lerr = NULL;
  cleanup_free char *key = NULL;
  struct berth_audit_user *nu;

  if (berth_user_lookup(c->name, &bu, &lerr) < 0) {
    berth_error_release(&lerr); /* gone between listing and lookup */
    return 0;
  }
  if (berth_config_policy(cfg, bu, NULL, NULL) == BERTH_POLICY_EXCLUDED) {
    berth_user_free(bu);
    return 0;
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
  if (key == NULL || berth_strv_contains(*profiles, key)) {
    berth_user_free(bu);
    if (key == NULL)
      return -1;
    return 0;
  }
  if (*n >= MAX_PROFILES) {
    (*skipped)++;
    berth_user_free(bu);
    return 0;
  }
  nu = realloc(*u, (*n + 1) * sizeof(*nu));
  if (nu == NULL || audit_strv_push(profiles, key, err) < 0) {
    berth_user_free(bu);
    if (nu)
      *u = nu;
    if (*err == NULL)
      berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    return -1;
  }
  *u = nu;
  memset(&(*u)[*n], 0, sizeof((*u)[*n]));
  (*u)[*n].name = strdup(bu->name);
  (*u)[*n].shell = strdup(bu->shell ? bu->shell : "");
  (*u)[*n].why = strdup(c->why);
  (*u)[*n].netns = user_netns(cfg, bu);
  (*n)++;
  for (size_t g = 0; g < bu->n_groups; g++)
    if (bu->groups[g].name && audit_strv_push(&(*u)[*n - 1].groups, bu->groups[g].name, err) < 0)
      break;
  berth_user_free(bu);
  if (*err || !(*u)[*n - 1].name || !(*u)[*n - 1].shell || !(*u)[*n - 1].why) {
    if (*err == NULL)
      berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    return -1;
  }
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
    if (audit_is_berth_shell(pw->pw_shell, shell_path)
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

  for (size_t i = 0; i < nc; i++)
    if (profile_add(cfg, &c[i], &u, &n, &profiles, skipped, err) < 0)
      goto out;
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

int
berth_audit_run(const struct berth_config *cfg, const struct berth_audit_opts *opts,
                struct berth_audit **out, berth_error_t *err)
{
  struct berth_audit_opts o = *opts;
  struct berth_audit *a = NULL;
  struct berth_audit_user *users = NULL;
  size_t n_users = 0, skipped = 0;
  bool usepam = false, sshd_ok = false;
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
      && audit_add_fmt(
             a, BERTH_AUDIT_NOTE, "audit-users-capped", NULL,
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
    if (audit_add_fmt(a, BERTH_AUDIT_NOTE, "audit-no-berthed-user", NULL,
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
    if (line == NULL || audit_strv_push(&a->audited, line, err) < 0)
      goto out;
  }

  if (access(o.sshd, X_OK) != 0) {
    if (audit_add_fmt(a, opts->sshd_config ? BERTH_AUDIT_PROBLEM : BERTH_AUDIT_NOTE, "sshd-missing",
                      NULL, "sshd's settings are not audited", "install openssh-server",
                      "sshd: %s: %s", o.sshd, strerror(errno))
        < 0)
      goto oom;
  } else {
    sshd_ok = true;
    for (size_t i = 0; i < n_users; i++)
      if (audit_sshd_probe(a, &o, &users[i], o.shell_path, &usepam) < 0)
        goto oom;
  }

  if (audit_pam_file(a, &o, opts->pam_dir != NULL, usepam || !sshd_ok, users, n_users, err) < 0)
    goto oom;

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
