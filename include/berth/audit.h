/* audit.h - the deployment audit behind `berthctl check`: which host side
 * doors (sshd settings, the sshd PAM stack, berth-shell's install, other
 * services that act on files in a home) are open for berthed users.
 *
 * berth_audit_run() probes (NSS, `sshd -T`, files); the parsers and per-user
 * rules under it are pure functions over text, declared in
 * lib/audit-internal.h for the fixture tests.  Nothing here prints: the
 * findings go back to the front end. */
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

#endif
