/* test_names.c - templates, container-name and hostname sanitizing: the
 * results must be accepted by Docker / DNS and never collide. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/user.h"
#include "../lib/testlib.h"
#include "../lib/fixture_users.h"

static bool
is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Docker's own rule: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
static void
assert_docker_name(const char *s)
{
  size_t n = strlen(s);
  assert_true(n >= 2);
  assert_true(n <= BERTH_NAME_MAX);
  assert_true(is_alnum(s[0]));
  for (size_t i = 1; i < n; i++)
    assert_true(is_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-');
}

/* One RFC 1123 label: [a-z0-9-], 1..63, no leading or trailing '-'. */
static void
assert_hostname(const char *s)
{
  size_t n = strlen(s);
  assert_true(n >= 1 && n <= 63);
  assert_true(s[0] != '-' && s[n - 1] != '-');
  for (size_t i = 0; i < n; i++)
    assert_true((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-');
}

/* A sanitizer's result for `in`, which must come out and pass `check`. */
static char *
sanitized(char *(*sanitize)(const char *, berth_error_t *), void (*check)(const char *),
          const char *what, const char *in)
{
  berth_error_t err = NULL;
  char *out = sanitize(in, &err);
  if (out == NULL)
    fail_msg("%s(%s): %s", what, in, err->msg);
  assert_null(err);
  check(out);
  return out;
}

static char *
name_ok(const char *in)
{
  return sanitized(berth_sanitize_name, assert_docker_name, "sanitize_name", in);
}

static char *
host_ok(const char *in)
{
  return sanitized(berth_sanitize_hostname, assert_hostname, "sanitize_hostname", in);
}

/* name_ok or host_ok: what a sanitizer turns `in` into. */
typedef char *sanitizer(const char *in);

static void
assert_is(sanitizer *ok, const char *in, const char *want)
{
  char *out = ok(in);
  assert_string_equal(out, want);
  free(out);
}

static void
assert_differ(sanitizer *ok, const char *a, const char *b)
{
  char *x = ok(a), *y = ok(b);
  if (strcmp(x, y) == 0)
    fail_msg("\"%s\" and \"%s\" both sanitize to \"%s\"", a, b, x);
  free(x);
  free(y);
}

/* Two 100-byte strings of `c` that differ only in their last byte. */
static void
long_pair(char a[101], char b[101], char c, char last)
{
  memset(a, c, 100);
  a[100] = '\0';
  memcpy(b, a, 101);
  b[99] = last;
}

/* ---------------------------------------------------------------- names */

TEST(test_plain_names_unchanged)
{
  assert_is(name_ok, "berth-alice", "berth-alice");
  assert_is(name_ok, "berth-Bob.Smith", "berth-Bob.Smith"); /* Docker allows uppercase */
  assert_is(name_ok, "berth-alice_corp.example", "berth-alice_corp.example");
  assert_is(name_ok, "berth-first.middle.last", "berth-first.middle.last");
  assert_is(name_ok, "ab", "ab");
}

TEST(test_ad_name)
{
  /* the suffix is SHA-256("berth-alice@corp.example")[:8], computed with
   * python3 hashlib, independently of lib/sha256.c */
  assert_is(name_ok, "berth-alice@corp.example", "berth-alice_corp.example-9e98cd15");
  assert_differ(name_ok, "berth-alice@corp.example", "berth-alice_corp.example");
  assert_differ(name_ok, "berth-CORP\\alice", "berth-CORP_alice");
}

TEST(test_collisions)
{
  const char *set[] = { "a@b",
                        "a_b",
                        "a b",
                        "a#b",
                        "a/b",
                        "a:b",
                        "a\tb",
                        "a\xc3\xa9"
                        "b",
                        "a__b",
                        "a_b-7508d8b5" /* looks like sanitize("a@b") */ };
  size_t n = sizeof(set) / sizeof(set[0]);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      assert_differ(name_ok, set[i], set[j]);
  /* a literal name that looks hashed gets hashed itself */
  {
    char *h = name_ok("a@b");
    assert_string_equal(h, "a_b-7508d8b5");
    assert_differ(name_ok, h, "a@b");
    free(h);
  }
}

TEST(test_long_names)
{
  char a[101], b[101], *x, *y, *x2;

  long_pair(a, b, 'a', 'b');
  x = name_ok(a);
  y = name_ok(b);
  x2 = name_ok(a);
  assert_int_equal(strlen(x), BERTH_NAME_MAX);
  assert_string_equal(x, x2);             /* stable */
  assert_string_not_equal(x, y);          /* distinct though only the end differs */
  assert_int_equal(strncmp(x, a, 54), 0); /* readable prefix kept */
  assert_int_equal(x[54], '-');
  free(x);
  free(y);
  free(x2);

  /* exactly at the limit: unchanged; one over: shortened */
  memset(a, 'c', BERTH_NAME_MAX);
  a[BERTH_NAME_MAX] = '\0';
  assert_is(name_ok, a, a);
  a[BERTH_NAME_MAX] = 'c';
  a[BERTH_NAME_MAX + 1] = '\0';
  x = name_ok(a);
  assert_int_equal(strlen(x), BERTH_NAME_MAX);
  free(x);
}

TEST(test_leading_and_short)
{
  char *x = name_ok(".alice"), *y = name_ok("_alice"), *z = name_ok("-alice");
  assert_string_not_equal(x, y);
  assert_string_not_equal(y, z);
  assert_string_not_equal(x, z);
  assert_non_null(strstr(x, ".alice"));
  free(x);
  free(y);
  free(z);
  /* Docker needs two characters */
  x = name_ok("a");
  assert_string_not_equal(x, "a");
  free(x);
}

TEST(test_empty_and_garbage)
{
  berth_error_t err = NULL;
  char *x;

  assert_null(berth_sanitize_name("", &err));
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_CONFIG);
  berth_error_release(&err);
  assert_null(berth_sanitize_name(NULL, &err));
  assert_non_null(err);
  berth_error_release(&err);

  assert_differ(name_ok, "@@@", "###");
  assert_differ(name_ok, "\xff\xfe", "\xfe\xff");
  x = name_ok("\n\r\t ");
  free(x);
}

/* ------------------------------------------------------------ hostnames */

TEST(test_hostnames)
{
  char a[101], b[101], *x, *y;

  assert_is(host_ok, "alice-box", "alice-box");
  assert_is(host_ok, "alice@corp.example-box", "alice-corp-example-box");
  assert_is(host_ok, "Bob.Smith-box", "bob-smith-box");
  assert_is(host_ok, "first_last-box", "first-last-box");

  /* lossy: other bytes, trimmed ends -> suffixed, so still distinct */
  assert_differ(host_ok, "j\xc3\xbcrgen-box", "j\xc3\xa4rgen-box");
  x = host_ok("-alice-");
  assert_string_not_equal(x, "alice");
  free(x);

  /* never empty */
  assert_differ(host_ok, "@@@", "---");

  /* long: at most 63, stable, distinct */
  long_pair(a, b, 'q', 'r');
  x = host_ok(a);
  y = host_ok(b);
  assert_int_equal(strlen(x), 63);
  assert_string_not_equal(x, y);
  free(y);
  y = host_ok(a);
  assert_string_equal(x, y);
  free(x);
  free(y);

  /* a cut that lands on a separator leaves no trailing '-' before the hash */
  memset(a, 'q', 100);
  a[53] = '.';
  a[100] = '\0';
  x = host_ok(a);
  assert_null(strstr(x, "--"));
  free(x);

  {
    berth_error_t err = NULL;
    assert_null(berth_sanitize_hostname("", &err));
    assert_non_null(err);
    berth_error_release(&err);
  }
}

/* ------------------------------------------------------------ templates */

static struct berth_user alice = TEST_USER_NO_GROUPS(
    "alice@corp.example", 1234, 5678, "/home/corp.example/alice", "/bin/bash", "domain users");

static void
assert_expands(const struct berth_user *u, const char *tmpl, const char *want)
{
  berth_error_t err = NULL;
  char *out = berth_expand_template(tmpl, u, &err);
  if (out == NULL)
    fail_msg("expand(%s): %s", tmpl, err->msg);
  assert_string_equal(out, want);
  free(out);
}

static void
assert_template_error(const char *tmpl)
{
  berth_error_t err = NULL;
  char *out = berth_expand_template(tmpl, &alice, &err);
  if (out != NULL)
    fail_msg("expand(%s) gave \"%s\", expected an error", tmpl, out);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_CONFIG);
  assert_non_null(strstr(err->msg, tmpl));
  berth_error_release(&err);
}

TEST(test_templates)
{
  struct berth_user nogroup = alice;

  assert_expands(&alice, "%u", "alice@corp.example");
  assert_expands(&alice, "%U", "1234");
  assert_expands(&alice, "%g", "domain users");
  assert_expands(&alice, "%G", "5678");
  assert_expands(&alice, "%h", "/home/corp.example/alice");
  assert_expands(&alice, "%%", "%");
  assert_expands(&alice, "berth-%u", "berth-alice@corp.example");
  assert_expands(&alice, "/srv/%U/%G:%h", "/srv/1234/5678:/home/corp.example/alice");
  assert_expands(&alice, "100%%", "100%");
  assert_expands(&alice, "%%u", "%u");
  assert_expands(&alice, "", "");
  assert_expands(&alice, "plain", "plain");
  nogroup.group = NULL;
  assert_expands(&nogroup, "%g-%G", "5678-5678");

  assert_template_error("%x");
  assert_template_error("berth-%");
  assert_template_error("a%Zb");
  assert_template_error("%u%");
}

/* A name that is "." or ".." (or a home with such a component) must not
 * widen a path template: /srv/%u with user ".." is not "/srv/..". */
static void
assert_widening_refused(const struct berth_user *u, const char *tmpl, const char *component)
{
  berth_error_t err = NULL;
  char *out = berth_expand_template(tmpl, u, &err);
  char want[64];

  if (out != NULL)
    fail_msg("expand(%s) gave \"%s\", expected a refusal", tmpl, out);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_USER);
  assert_non_null(strstr(err->msg, tmpl));
  snprintf(want, sizeof(want), "path component \"%s\" is refused", component);
  if (strstr(err->msg, want) == NULL)
    fail_msg("expand(%s): \"%s\" does not name %s", tmpl, err->msg, want);
  berth_error_release(&err);
}

TEST(test_templates_dot_names)
{
  struct berth_user dot = alice, dotdot = alice, empty = alice, slashy = alice, gdot = alice;
  struct berth_user badhome = alice, dots = alice;

  dot.name = (char *) ".";
  dotdot.name = (char *) "..";
  empty.name = (char *) "";
  slashy.name = (char *) "x/../y";
  gdot.group = (char *) "..";
  badhome.home = (char *) "/home/../etc";
  dots.name = (char *) "...";

  assert_widening_refused(&dot, "/srv/%u", ".");
  assert_widening_refused(&dot, "/srv/%u/data", ".");
  assert_widening_refused(&dotdot, "/srv/%u", "..");
  assert_widening_refused(&dotdot, "/srv/%u/x", "..");
  assert_widening_refused(&empty, "/srv/%u/x", "");
  assert_widening_refused(&empty, "/srv/%u", "");
  assert_widening_refused(&slashy, "/srv/%u", "..");
  assert_widening_refused(&gdot, "/shared/%g", "..");
  assert_widening_refused(&badhome, "%h/data", "..");
  assert_widening_refused(&dot, "%u", ".");
  assert_widening_refused(&dotdot, "%u", "..");

  /* together with the template's own dot it still makes ".." */
  assert_widening_refused(&dot, "/srv/.%u", "..");
  /* a name that only starts or ends with dots names its own directory */
  assert_expands(&dot, "/srv/x%u", "/srv/x.");
  assert_expands(&dots, "/srv/%u", "/srv/...");
  assert_expands(&dot, "berth-%u", "berth-.");
  assert_expands(&alice, "%h", "/home/corp.example/alice");
  assert_expands(&alice, "%h/data", "/home/corp.example/alice/data");
  /* the admin's own "." and ".." are not the user's doing (the mounts
   * check judges those) */
  assert_expands(&alice, "/srv/../%U", "/srv/../1234");
}
