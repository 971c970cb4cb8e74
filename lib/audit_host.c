/* audit_host.c - the host outside sshd: policy groups that do not
 * resolve, the berth-shell install (setuid, /etc/shells) and MTAs that run
 * ~/.forward pipes on the host. */
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

/* Group names in the policy that NSS does not resolve: SPEC "Policy" fails
 * closed on them, so logins are denied. */
int
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
      if (audit_add_fmt(
              a, BERTH_AUDIT_PROBLEM, "policy-group-unresolved", NULL,
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

int
audit_shell_install(struct berth_audit *a, const char *shell_path, const char *shells_file,
                    const struct berth_audit_user *users, size_t n_users)
{
  struct stat st;
  cleanup_free char *shells = NULL;
  size_t len;
  berth_error_t lerr = NULL;

  if (stat(shell_path, &st) < 0)
    return audit_add_fmt(a, BERTH_AUDIT_PROBLEM, "berth-shell-missing", NULL,
                         "berthed users cannot log in", "install berth (make install)",
                         "berth-shell: %s: %s", shell_path, strerror(errno));
  if ((st.st_mode & 0022) != 0
      && audit_add_fmt(a, BERTH_AUDIT_DOOR, "berth-shell-writable", NULL,
                       "whoever can write it runs code as root", "chmod 4755 and chown root:root",
                       "berth-shell: %s: writable by group or others (mode %04o)", shell_path,
                       (unsigned) (st.st_mode & 07777))
             < 0)
    return -1;
  if ((st.st_uid != 0 || !(st.st_mode & S_ISUID))
      && audit_add_fmt(
             a, BERTH_AUDIT_PROBLEM, "berth-shell-not-setuid", NULL,
             "it cannot open the engine socket, so every berthed login is denied",
             "chown root:root and chmod 4755 (make install does it unless configured with "
             "--disable-setuid-install)",
             "berth-shell: %s: not setuid root (mode %04o, uid %u)", shell_path,
             (unsigned) (st.st_mode & 07777), (unsigned) st.st_uid)
             < 0)
    return -1;

  if (berth_read_file(shells_file, 1024 * 1024, &shells, &len, &lerr) < 0) {
    berth_error_release(&lerr);
    shells = NULL;
  }
  for (size_t i = 0; i < n_users; i++) {
    bool listed = false;
    const char *p = shells;
    if (users[i].synthetic || !audit_is_berth_shell(users[i].shell, shell_path))
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
        && audit_add_fmt(
               a, BERTH_AUDIT_PROBLEM, "berth-shell-not-in-shells", users[i].name,
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
int
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
      if (audit_run_capture(argv, &o, &e, &status, &lerr) == 0 && WIFEXITED(status)
          && WEXITSTATUS(status) == 0 && strstr(o, "forward") == NULL
          && strstr(o, "include") == NULL) {
        audit_chop_line(o);
        if (audit_add_fmt(a, BERTH_AUDIT_OK, "mta-forward", NULL, "~/.forward pipes are not run",
                          "", "mail: postfix with allow_mail_to_commands = %s", o)
            < 0)
          return -1;
        continue;
      }
      berth_error_release(&lerr);
    }
    if (audit_add_fmt(
            a, BERTH_AUDIT_DOOR, "mta-forward", NULL,
            "mail to a berthed user runs the pipes in ~/.forward (written from inside the "
            "container) on the host, as the user",
            mtas[i].fix, "mail: %s is installed (%s)", mtas[i].name, mtas[i].path)
        < 0)
      return -1;
  }
  return 0;
}
