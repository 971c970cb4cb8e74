/* test_audit.c - the deployment audit's parsers and rules over fixture text
 * (tests/fixtures/audit): real `sshd -T` output of Debian 12's stock config
 * and of etc/sshd_config.example, Debian 12's stock /etc/pam.d/sshd with its
 * common-* files, etc/pam.d-sshd.example, and stacks written here. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <cmocka.h>

#include "berth/audit.h"
#include "berth/util.h"
#include "../../lib/audit-internal.h"
#include "../lib/testlib.h"

#define FIX TOP_SRCDIR "/tests/fixtures/audit"
#define SHELL "/usr/bin/berth-shell"

static struct berth_sshd_settings *
load_sshd(const char *name)
{
  berth_error_t err = NULL;
  cleanup_free char *path = berth_asprintf(NULL, "%s/%s", FIX, name);
  cleanup_free char *text = NULL;
  struct berth_sshd_settings *s = NULL;
  size_t len;

  assert_int_equal(berth_read_file(path, 1 << 20, &text, &len, &err), 0);
  assert_int_equal(berth_sshd_parse(text, &s, &err), 0);
  assert_null(err);
  return s;
}

static const struct berth_audit_finding *
find(const struct berth_audit *a, const char *id)
{
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->findings[i].id, id) == 0)
      return &a->findings[i];
  return NULL;
}

static bool
has_door(const struct berth_audit *a, const char *id)
{
  const struct berth_audit_finding *f = find(a, id);
  return f && f->severity == BERTH_AUDIT_DOOR;
}

/* The finding `id` is there, at `severity`, its text mentioning `what`. */
static const struct berth_audit_finding *
expect_finding(const struct berth_audit *a, const char *id, enum berth_audit_severity severity,
               const char *what)
{
  const struct berth_audit_finding *f = find(a, id);
  assert_non_null(f);
  assert_int_equal(f->severity, severity);
  assert_non_null(strstr(f->what, what));
  return f;
}

/* Every id in `doors` is a door; no id in `absent` is found at all. */
static void
expect_doors(const struct berth_audit *a, const char *const *doors, const char *const *absent)
{
  for (size_t i = 0; doors[i]; i++)
    if (!has_door(a, doors[i]))
      fail_msg("%s: not a door", doors[i]);
  for (size_t i = 0; absent[i]; i++)
    if (find(a, absent[i]) != NULL)
      fail_msg("%s: found, expected none", absent[i]);
}

/* No finding at all; the unexpected ones are printed. */
static void
assert_no_findings(const struct berth_audit *a)
{
  for (size_t i = 0; i < a->n; i++)
    print_message("unexpected: %s %s\n", a->findings[i].id, a->findings[i].what);
  assert_int_equal(a->n, 0);
}

/* The sshd findings for one user under `sshd -T` text `fixture`.  netns:
 * pam_berth moves their sessions into the container's network namespace (a
 * local engine, network not "host"). */
static struct berth_audit *
audit_user(const char *fixture, const char *name, const char *shell, bool netns)
{
  berth_error_t err = NULL;
  struct berth_sshd_settings *s = load_sshd(fixture);
  struct berth_audit *a = NULL;
  struct berth_audit_user u = { .name = (char *) name, .shell = (char *) shell, .netns = netns };

  assert_int_equal(berth_audit_new(&a, &err), 0);
  assert_int_equal(berth_audit_sshd_user(a, s, &u, SHELL, &err), 0);
  berth_sshd_settings_free(s);
  return a;
}

/* ---------------------------------------------------------------- sshd -T */

TEST(sshd_parse_stock)
{
  struct berth_sshd_settings *s = load_sshd("sshd-T-debian12.txt");
  assert_string_equal(berth_sshd_get(s, "allowtcpforwarding"), "yes");
  assert_string_equal(berth_sshd_get(s, "x11forwarding"), "yes");
  assert_string_equal(berth_sshd_get(s, "forcecommand"), "none");
  assert_string_equal(berth_sshd_subsystem(s, "sftp"), "/usr/lib/openssh/sftp-server");
  assert_null(berth_sshd_subsystem(s, "sft"));
  assert_null(berth_sshd_get(s, "nosuchkeyword"));
  berth_sshd_settings_free(s);
}

TEST(sshd_parse_text)
{
  berth_error_t err = NULL;
  struct berth_sshd_settings *s = NULL;
  assert_int_equal(
      berth_sshd_parse(
          "Port 22\nsubsystem  foo /bin/foo -x\n\nsubsystem sftp internal-sftp -l INFO", &s, &err),
      0);
  assert_string_equal(berth_sshd_get(s, "port"), "22");
  assert_string_equal(berth_sshd_subsystem(s, "foo"), "/bin/foo -x");
  assert_string_equal(berth_sshd_subsystem(s, "sftp"), "internal-sftp -l INFO");
  berth_sshd_settings_free(s);
}

TEST(permitopen_restricted)
{
  assert_false(berth_sshd_permitopen_restricted("any"));
  assert_false(berth_sshd_permitopen_restricted(NULL));
  assert_false(berth_sshd_permitopen_restricted(""));
  assert_false(berth_sshd_permitopen_restricted("*:22"));
  assert_false(berth_sshd_permitopen_restricted("inner:*"));
  assert_false(berth_sshd_permitopen_restricted("inner:22 any"));
  assert_false(berth_sshd_permitopen_restricted("inner"));
  assert_true(berth_sshd_permitopen_restricted("none"));
  assert_true(berth_sshd_permitopen_restricted("inner1.example:22"));
  assert_true(berth_sshd_permitopen_restricted("inner1.example:22 [2001:db8::1]:22"));
}

/* Debian's stock sshd_config, a user with berth-shell as login shell: every
 * forwarding is a door; ~/.ssh/rc runs through berth-shell (no door). */
TEST(stock_login_shell)
{
  struct berth_audit *a = audit_user("sshd-T-debian12.txt", "alice", SHELL, false);
  const struct berth_audit_finding *f
      = expect_finding(a, "sshd-tcp-forwarding", BERTH_AUDIT_DOOR, "AllowTcpForwarding yes");
  assert_string_equal(f->users[0], "alice");
  assert_non_null(strstr(f->fix, "PermitOpen"));
  expect_doors(a,
               (const char *[]){ "sshd-streamlocal-forwarding", "sshd-agent-forwarding",
                                 "sshd-x11-forwarding", NULL },
               (const char *[]){ "sshd-tunnel",        /* Debian: PermitTunnel no */
                                 "sshd-user-rc",       /* berth-shell runs ~/.ssh/rc inside */
                                 "sshd-internal-sftp", /* stock: sftp-server */
                                 "sshd-user-environment", "sshd-no-berth-shell", NULL });
  assert_true(berth_audit_failed(a));
  berth_audit_free(a);
}

/* The same config for a user berthed by policy whose shell is /bin/sh and
 * who has no ForceCommand: a host shell, and ~/.ssh/rc on the host. */
TEST(stock_plain_shell)
{
  struct berth_audit *a = audit_user("sshd-T-debian12.txt", "bob", "/bin/sh", false);
  assert_true(has_door(a, "sshd-no-berth-shell"));
  assert_true(has_door(a, "sshd-user-rc"));
  berth_audit_free(a);
  /* nologin refuses every command, but forwarding needs no shell */
  a = audit_user("sshd-T-debian12.txt", "svc", "/usr/sbin/nologin", false);
  assert_null(find(a, "sshd-no-berth-shell"));
  assert_true(has_door(a, "sshd-tcp-forwarding"));
  berth_audit_free(a);
}

/* etc/sshd_config.example's Match block, for a member with /bin/sh whose
 * sessions pam_berth moves into the container's network: no door; TCP and
 * agent forwarding are reported as landing in the container. */
TEST(guide_clean)
{
  struct berth_audit *a = audit_user("sshd-T-guide.txt", "carol", "/bin/sh", true);
  expect_finding(a, "sshd-tcp-forwarding", BERTH_AUDIT_OK, "lands in the user's container");
  expect_finding(a, "sshd-agent-forwarding", BERTH_AUDIT_OK, "AllowAgentForwarding yes");
  assert_int_equal(a->n, 2);
  assert_false(berth_audit_failed(a));
  berth_audit_free(a);
}

/* The same block for a user whose container has network = "host" (or a
 * remote engine): TCP and agent forwarding land on the host, doors. */
TEST(guide_host_network)
{
  struct berth_audit *a = audit_user("sshd-T-guide.txt", "carl", "/bin/sh", false);
  expect_doors(a, (const char *[]){ "sshd-tcp-forwarding", "sshd-agent-forwarding", NULL },
               (const char *[]){ "sshd-x11-forwarding", "sshd-streamlocal-forwarding", NULL });
  assert_non_null(strstr(find(a, "sshd-tcp-forwarding")->risk, "network = \"host\""));
  assert_true(berth_audit_failed(a));
  berth_audit_free(a);
}

/* ForceCommand through bash: bash -c reads ~/.bashrc on the host. */
TEST(forcecommand_bash)
{
  /* the guide's forwardings: in the container, two ok lines */
  struct berth_audit *a = audit_user("sshd-T-guide.txt", "dave", "/bin/bash", true);
  expect_finding(a, "sshd-forcecommand-rc-shell", BERTH_AUDIT_DOOR, "/bin/bash");
  assert_int_equal(a->n, 3);
  berth_audit_free(a);
  a = audit_user("sshd-T-guide.txt", "erin", "/bin/dash", true);
  assert_int_equal(a->n, 2);
  assert_false(berth_audit_failed(a));
  berth_audit_free(a);
}

/* The bastion: local forwarding to listed host:port pairs only is reported,
 * as ok, and fails nothing. */
TEST(bastion_restricted)
{
  struct berth_audit *a = audit_user("sshd-T-bastion.txt", "frank", "/bin/sh", false);
  expect_finding(a, "sshd-tcp-forwarding", BERTH_AUDIT_OK, "inner1.example:22");
  assert_false(berth_audit_failed(a));
  berth_audit_free(a);
}

/* internal-sftp, PermitUserEnvironment and PermitTunnel; DisableForwarding
 * yes closes the forwardings whatever Allow* say. */
TEST(internal_sftp)
{
  struct berth_audit *a = audit_user("sshd-T-internal-sftp.txt", "gina", SHELL, false);
  expect_doors(
      a, (const char *[]){ "sshd-internal-sftp", "sshd-user-environment", "sshd-tunnel", NULL },
      (const char *[]){ "sshd-streamlocal-forwarding", "sshd-x11-forwarding",
                        "sshd-agent-forwarding", NULL });
  berth_audit_free(a);
}

/* One door shared by several users is one finding naming them all. */
TEST(findings_merge)
{
  berth_error_t err = NULL;
  struct berth_audit *a = NULL;
  assert_int_equal(berth_audit_new(&a, &err), 0);
  assert_int_equal(berth_audit_add(a, BERTH_AUDIT_DOOR, "x", "u1", "w", "r", "f", &err), 0);
  assert_int_equal(berth_audit_add(a, BERTH_AUDIT_DOOR, "x", "u2", "w", "r", "f", &err), 0);
  assert_int_equal(berth_audit_add(a, BERTH_AUDIT_DOOR, "x", "u1", "w", "r", "f", &err), 0);
  assert_int_equal(berth_audit_add(a, BERTH_AUDIT_DOOR, "x", "u3", "other", "r", "f", &err), 0);
  assert_int_equal(a->n, 2);
  assert_int_equal(berth_strv_len(a->findings[0].users), 2);
  assert_string_equal(a->findings[0].users[1], "u2");
  berth_audit_free(a);
}

/* ---------------------------------------------------------------- PAM */

static char tmpdir[64];

/* A PAM dir: Debian 12's common-* files plus an sshd file given here. */
static const char *
pam_dir_with(const char *sshd_text)
{
  static const char *common[] = { "common-auth",     "common-account",
                                  "common-session",  "common-session-noninteractive",
                                  "common-password", NULL };
  char path[512], target[512];
  FILE *f;

  snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-audit-XXXXXX");
  assert_non_null(mkdtemp(tmpdir));
  for (size_t i = 0; common[i]; i++) {
    snprintf(path, sizeof(path), "%s/%s", tmpdir, common[i]);
    snprintf(target, sizeof(target), "%s/pam.d-debian12/%s", FIX, common[i]);
    assert_int_equal(symlink(target, path), 0);
  }
  snprintf(path, sizeof(path), "%s/sshd", tmpdir);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(sshd_text, f);
  fclose(f);
  return tmpdir;
}

static void
pam_dir_remove(void)
{
  assert_int_equal(sh("rm -rf -- '%s'", tmpdir), 0);
}

static char *
read_fixture(const char *rel)
{
  berth_error_t err = NULL;
  cleanup_free char *path = berth_asprintf(NULL, "%s/%s", TOP_SRCDIR, rel);
  char *text = NULL;
  size_t len;
  assert_int_equal(berth_read_file(path, 1 << 20, &text, &len, &err), 0);
  return text;
}

static struct berth_pam_stack *
load_pam(const char *dir)
{
  berth_error_t err = NULL;
  struct berth_pam_stack *st = NULL;
  if (berth_pam_load(dir, "sshd", &st, &err) < 0)
    fail_msg("%s", err->msg);
  return st;
}

static ssize_t
index_of(const struct berth_pam_stack *st, const char *type, const char *mod, size_t nth)
{
  for (size_t i = 0; i < st->n; i++)
    if (strcmp(st->e[i].type, type) == 0 && berth_pam_is(&st->e[i], mod) && nth-- == 0)
      return (ssize_t) i;
  return -1;
}

static struct berth_audit *
audit_pam_text(const char *sshd_text, char **groups)
{
  berth_error_t err = NULL;
  struct berth_audit *a = NULL;
  struct berth_pam_stack *st = load_pam(pam_dir_with(sshd_text));
  struct berth_audit_user u
      = { .name = (char *) "alice", .shell = (char *) SHELL, .groups = groups };
  assert_int_equal(berth_audit_new(&a, &err), 0);
  assert_int_equal(berth_audit_pam(a, st, &u, 1, &err), 0);
  berth_pam_stack_free(st);
  pam_dir_remove();
  return a;
}

/* @include is followed in place, with each line's file and number kept. */
TEST(pam_load_debian)
{
  struct berth_pam_stack *st = load_pam(FIX "/pam.d-debian12");
  ssize_t unix_auth = index_of(st, "auth", "pam_unix.so", 0);
  ssize_t nologin = index_of(st, "account", "pam_nologin.so", 0);
  ssize_t env2 = index_of(st, "session", "pam_env.so", 1);
  ssize_t sysd = index_of(st, "session", "pam_systemd.so", 0);

  assert_true(unix_auth >= 0 && nologin > unix_auth);
  assert_non_null(strstr(st->e[unix_auth].file, "/common-auth"));
  assert_string_equal(st->e[unix_auth].control, "[success=1 default=ignore]");
  assert_true(berth_strv_contains(st->e[env2].args, "user_readenv=1"));
  assert_non_null(strstr(st->e[env2].file, "/sshd"));
  assert_int_equal(st->e[env2].line, 47);
  assert_true(sysd >= 0 && sysd < env2);
  assert_non_null(strstr(st->e[sysd].file, "/common-session"));
  assert_int_equal(index_of(st, "session", "pam_berth.so", 0), -1);
  berth_pam_stack_free(st);
}

/* An include loop is an error naming the file and line, not a hang. */
TEST(pam_loop)
{
  berth_error_t err = NULL;
  struct berth_pam_stack *st = NULL;
  assert_int_equal(berth_pam_load(FIX "/pam.d-loop", "sshd", &st, &err), -1);
  assert_int_equal(err->status, ELOOP);
  assert_non_null(strstr(err->msg, "include loop"));
  assert_non_null(strstr(err->msg, "common-b:4"));
  berth_error_release(&err);
}

/* `include` takes only the lines of its own type; continuation lines join;
 * a missing included file is an error naming where it is included. */
TEST(pam_include_type)
{
  berth_error_t err = NULL;
  struct berth_pam_stack *st;
  ssize_t env;

  st = load_pam(pam_dir_with("session include common-session\n"
                             "-session optional pam_env.so \\\n user_readenv=1 # comment\n"));
  assert_int_equal(index_of(st, "auth", "pam_unix.so", 0), -1);
  assert_true(index_of(st, "session", "pam_systemd.so", 0) >= 0);
  env = index_of(st, "session", "pam_env.so", 0);
  assert_true(env >= 0);
  assert_int_equal(st->e[env].line, 2);
  assert_string_equal(st->e[env].args[0], "user_readenv=1");
  assert_null(st->e[env].args[1]);
  berth_pam_stack_free(st);
  pam_dir_remove();

  pam_dir_with("@include common-nothere\n");
  assert_int_equal(berth_pam_load(tmpdir, "sshd", &st, &err), -1);
  assert_non_null(strstr(err->msg, "sshd:1"));
  assert_non_null(strstr(err->msg, "common-nothere"));
  berth_error_release(&err);
  pam_dir_remove();
}

/* The skip line: pam_succeed_if ... user ingroup G with success=N jumps
 * over the next N modules for members only; [default=1] pam_permit always
 * jumps; sufficient success ends the stack; an unknown condition is never
 * taken for a guard. */
TEST(pam_skip_logic)
{
  char *berthed[] = { (char *) "users", (char *) "berthed", NULL };
  char *other[] = { (char *) "users", NULL };
  bool r[16];
  struct berth_pam_stack *st = load_pam(pam_dir_with(
      "session [default=1] pam_permit.so\n" /* 0 */
      "session requisite pam_deny.so\n"     /* 1 */
      "session [success=1 default=ignore] pam_succeed_if.so quiet user ingroup admins:berthed\n"
      "session optional pam_systemd.so\n"                                  /* 3 */
      "session [success=1 default=ignore] pam_succeed_if.so uid >= 1000\n" /* 4 */
      "session optional pam_systemd.so\n"                                  /* 5 */
      "session [success=2 default=ignore] pam_succeed_if.so user notingroup berthed\n"
      "session optional pam_mail.so\n"                      /* 7 */
      "auth required pam_unix.so\n"                         /* 8 */
      "session optional pam_limits.so\n"                    /* 9 */
      "session optional pam_berth.so\n"                     /* 10 */
      "session sufficient pam_succeed_if.so user = alice\n" /* 11 */
      "session optional pam_motd.so\n"));                   /* 12 */
  assert_int_equal(st->n, 13);

  berth_pam_reached(st, "session", "alice", berthed, r);
  assert_true(r[0]);
  assert_false(r[1]); /* jumped over by [default=1] pam_permit */
  assert_false(r[3]); /* the guard covers berthed */
  assert_true(r[5]);  /* uid >= 1000: not a guard the audit can evaluate */
  assert_true(r[7]);  /* alice is in berthed: notingroup fails, no jump */
  assert_false(r[8]); /* another type */
  assert_true(r[10]);
  assert_false(r[12]); /* sufficient succeeded for alice: the stack ends */

  berth_pam_reached(st, "session", "bob", other, r);
  assert_true(r[3]);
  assert_false(r[7]); /* success=2 skips pam_mail and pam_limits, not the auth line */
  assert_false(r[9]);
  assert_true(r[10]);
  assert_true(r[12]);
  berth_pam_stack_free(st);
  pam_dir_remove();
}

static const char *
with_berth(const char *extra)
{
  static char buf[16384];
  cleanup_free char *stock = read_fixture("tests/fixtures/audit/pam.d-debian12/sshd");
  snprintf(buf, sizeof(buf), "%s%s", stock, extra);
  return buf;
}

/* Debian's stock stack: no pam_berth, so user_readenv is a door; with
 * pam_berth appended it is scrubbed (a note); pam_systemd stays a door. */
TEST(pam_stock)
{
  char *groups[] = { (char *) "berthed", NULL };
  struct berth_audit *a = audit_pam_text(with_berth(""), groups);
  assert_true(has_door(a, "pam-berth-missing"));
  assert_true(has_door(a, "pam-env-user-readenv"));
  assert_true(has_door(a, "pam-systemd"));
  assert_non_null(strstr(find(a, "pam-env-user-readenv")->what, "sshd:47"));
  berth_audit_free(a);

  a = audit_pam_text(with_berth("session optional pam_berth.so\n"), groups);
  assert_null(find(a, "pam-berth-missing"));
  assert_int_equal(find(a, "pam-env-user-readenv")->severity, BERTH_AUDIT_NOTE);
  assert_true(has_door(a, "pam-systemd"));
  assert_null(find(a, "pam-env-after-berth"));
  berth_audit_free(a);
}

/* pam_berth before pam_env, and pam_env user_readenv=1 in the auth stack
 * (pam_setcred runs it after session open): doors wherever pam_berth is. */
TEST(pam_order)
{
  char *groups[] = { (char *) "berthed", NULL };
  struct berth_audit *a = audit_pam_text(
      "session optional pam_berth.so\nsession required pam_env.so envfile=/etc/default/locale\n",
      groups);
  assert_true(has_door(a, "pam-env-after-berth"));
  assert_null(find(a, "pam-env-user-readenv"));
  berth_audit_free(a);

  a = audit_pam_text("auth required pam_env.so user_readenv=1\n"
                     "session required pam_env.so\nsession optional pam_berth.so\n",
                     groups);
  assert_true(has_door(a, "pam-env-user-readenv"));
  assert_non_null(strstr(find(a, "pam-env-user-readenv")->what, "auth"));
  assert_null(find(a, "pam-env-after-berth"));
  berth_audit_free(a);
}

/* etc/pam.d-sshd.example over Debian's common-* files: clean for a member
 * of berthed; for a user outside the group the guard does not apply. */
TEST(pam_guide)
{
  char *member[] = { (char *) "berthed", NULL };
  char *outsider[] = { (char *) "staff", NULL };
  cleanup_free char *guide = read_fixture("etc/pam.d-sshd.example");
  struct berth_audit *a = audit_pam_text(guide, member);
  assert_no_findings(a);
  berth_audit_free(a);
  a = audit_pam_text(guide, outsider);
  assert_true(has_door(a, "pam-systemd"));
  berth_audit_free(a);
}
