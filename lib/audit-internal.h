/* audit-internal.h - what the files of the deployment audit share
 * (audit.c runs it; audit_findings.c, audit_sshd.c, audit_pam.c and
 * audit_host.c each check one side of the host), and the parsers and rules
 * tests/unit/test_audit.c drives over fixtures.  Not installed: the public
 * API is include/berth/audit.h. */
#ifndef BERTH_AUDIT_INTERNAL_H
#define BERTH_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "berth/audit.h"
#include "berth/config.h"
#include "berth/error.h"

/* ---------------------------------------------------------------- findings */

int berth_audit_new(struct berth_audit **out, berth_error_t *err);
/* Add a finding; one with the same id and what gets user appended to its
 * users instead, so one door shared by many users is one line. */
int berth_audit_add(struct berth_audit *a, enum berth_audit_severity sev, const char *id,
                    const char *user, const char *what, const char *risk, const char *fix,
                    berth_error_t *err);

/* ---------------------------------------------------------------- sshd -T */

/* `sshd -T` output: one "keyword value..." line per setting, keywords in
 * lower case; some (subsystem) repeat. */
struct berth_sshd_settings {
  char **keys;
  char **values;
  size_t n;
};
int berth_sshd_parse(const char *text, struct berth_sshd_settings **out, berth_error_t *err);
void berth_sshd_settings_free(struct berth_sshd_settings *s);
/* The first value of key, NULL when absent. */
const char *berth_sshd_get(const struct berth_sshd_settings *s, const char *key);
/* The command of `subsystem NAME COMMAND`, NULL when there is none. */
const char *berth_sshd_subsystem(const struct berth_sshd_settings *s, const char *name);
/* true when a PermitOpen value allows only explicit host:port pairs (or
 * nothing): the ProxyJump bastion case. */
bool berth_sshd_permitopen_restricted(const char *value);

/* An audited user: name, login shell, group names. */
struct berth_audit_user {
  char *name;
  char *shell;
  char **groups;
  char *why;      /* why they were picked, for the report */
  bool synthetic; /* made up: no berthed user is known to NSS */
  bool netns;     /* pam_berth moves their sessions into the container's network
                   * namespace (netns.h: local engine, network not "host") */
};

/* Add the doors sshd's effective settings s open for user u.  shell_path is
 * berth-shell's installed path. */
int berth_audit_sshd_user(struct berth_audit *a, const struct berth_sshd_settings *s,
                          const struct berth_audit_user *u, const char *shell_path,
                          berth_error_t *err);

/* ---------------------------------------------------------------- PAM */

struct berth_pam_entry {
  char *type;    /* auth account session password ("-" prefix dropped) */
  char *control; /* as written: "required", "[success=1 default=ignore]" */
  char *module;  /* as written */
  char **args;
  char *file; /* where the line is, for messages */
  int line;
};

/* One service's stack with every @include, include and substack followed,
 * in the order libpam runs it. */
struct berth_pam_stack {
  char *file; /* DIR/SERVICE */
  struct berth_pam_entry *e;
  size_t n;
};

/* Load DIR/SERVICE.  Errors (BERTH_E_CONFIG, "FILE:LINE: problem"): an
 * unreadable file, a missing included file, an include loop, nesting deeper
 * than libpam allows. */
int berth_pam_load(const char *dir, const char *service, struct berth_pam_stack **out,
                   berth_error_t *err);
void berth_pam_stack_free(struct berth_pam_stack *st);
/* true when entry e is the module named base ("pam_env.so"), whatever its directory */
bool berth_pam_is(const struct berth_pam_entry *e, const char *base);
/* Which entries of st run for a user in groups (user name user): reached[i]
 * for every entry i.  Jumps are followed for modules whose result is known
 * (pam_permit, pam_deny, pam_succeed_if on user/group conditions); every
 * other module is assumed to succeed without jumping.  reached has st->n
 * elements. */
void berth_pam_reached(const struct berth_pam_stack *st, const char *type, const char *user,
                       char *const *groups, bool *reached);

/* Add the doors of the sshd PAM stack st for the audited users. */
int berth_audit_pam(struct berth_audit *a, const struct berth_pam_stack *st,
                    const struct berth_audit_user *users, size_t n_users, berth_error_t *err);

/* ---------------------------------------------------------------- shared */

/* Append s to the NULL-terminated vector *v. */
int audit_strv_push(char ***v, const char *s, berth_error_t *err);
/* berth_audit_add with a formatted what; -1 only when out of memory (the
 * caller reports it: berth_audit_run says "out of memory"). */
int audit_add_fmt(struct berth_audit *a, enum berth_audit_severity sev, const char *id,
                  const char *user, const char *risk, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* berth-shell by path or by name (an admin may call it through a symlink) */
bool audit_is_berth_shell(const char *path, const char *shell_path);
/* Run argv with a clean environment and a timeout, collecting its output. */
int audit_run_capture(const char *const argv[], char **out, char **errout, int *status,
                      berth_error_t *err);
/* The first line of s, for a one-line message. */
void audit_chop_line(char *s);

/* audit_sshd.c: `sshd -T` asked about u, its doors added to a */
int audit_sshd_probe(struct berth_audit *a, const struct berth_audit_opts *o,
                     const struct berth_audit_user *u, const char *shell_path, bool *pam_used);
/* audit_pam.c: the stack PAM_DIR/sshd read and audited for the users */
int audit_pam_file(struct berth_audit *a, const struct berth_audit_opts *o, bool pam_dir_set,
                   bool asked, const struct berth_audit_user *users, size_t n_users,
                   berth_error_t *err);
/* audit_host.c: the host outside sshd */
int audit_policy_groups(struct berth_audit *a, const struct berth_config *cfg);
int audit_shell_install(struct berth_audit *a, const char *shell_path, const char *shells_file,
                        const struct berth_audit_user *users, size_t n_users);
int audit_mail(struct berth_audit *a);

#endif
