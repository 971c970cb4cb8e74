/* audit.h - the deployment audit behind `berthctl check`: which host side
 * doors (sshd settings, the sshd PAM stack, berth-shell's install, other
 * services that act on files in a home) are open for berthed users.
 *
 * The parsers and the per-user rules are pure functions over text, tested
 * with fixtures; berth_audit_run() is the probing part (NSS, `sshd -T`,
 * files).  Nothing here prints: the findings go back to the front end. */
#ifndef BERTH_AUDIT_H
#define BERTH_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include "berth/config.h"
#include "berth/error.h"

enum berth_audit_severity {
  BERTH_AUDIT_OK,   /* looked at and fine, said because it is not obvious (restricted PermitOpen) */
  BERTH_AUDIT_NOTE, /* worth knowing, not a way onto the host by itself */
  BERTH_AUDIT_DOOR, /* a berthed user can run code or reach services on the host */
  BERTH_AUDIT_PROBLEM, /* broken or unverifiable deployment (cannot audit, logins would fail) */
};

struct berth_audit_finding {
  char *id; /* stable token for scripts, e.g. "sshd-tcp-forwarding" */
  enum berth_audit_severity severity;
  char *what;   /* what is set where, e.g. "sshd: AllowTcpForwarding yes" */
  char *risk;   /* what a berthed user can do through it */
  char *fix;    /* the change that closes it */
  char **users; /* the audited users it applies to (NULL: not user-specific) */
};

struct berth_audit {
  struct berth_audit_finding *findings;
  size_t n;
  char **audited; /* "alice (login shell berth-shell)": who sshd was asked about */
};

/* Where to look; NULL fields take the defaults in brackets. */
struct berth_audit_opts {
  const char *sshd;        /* [/usr/sbin/sshd] */
  const char *sshd_config; /* [sshd's own default]; set: a missing file is a problem */
  const char *pam_dir;     /* [/etc/pam.d]; the stack is PAM_DIR/sshd */
  const char *shell_path;  /* berth-shell as installed [/usr/bin/berth-shell] */
  const char *shells_file; /* [/etc/shells] */
};

/* Audit the deployment for the berthed users of cfg.  Fails only on
 * resource exhaustion; everything that cannot be checked becomes a
 * BERTH_AUDIT_PROBLEM finding. */
int berth_audit_run(const struct berth_config *cfg, const struct berth_audit_opts *opts,
                    struct berth_audit **out, berth_error_t *err);
void berth_audit_free(struct berth_audit *a);
/* true while a finding is a door or a problem: check's exit status */
bool berth_audit_failed(const struct berth_audit *a);
const char *berth_audit_severity_name(enum berth_audit_severity s);

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

#endif
