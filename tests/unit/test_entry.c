/* test_entry.c - the exec create body: what reaches the engine, byte for byte. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/entry_internal.h"
#include "../lib/testlib.h"

static struct berth_user user = {
  .name = (char *) "alice",
  .uid = 1234,
  .gid = 5678,
  .home = (char *) "/home/alice",
};
static struct berth_box box = {
  .user = &user,
  .name = (char *) "berth-alice",
  .shell = (char *) "/bin/sh",
};

/* Encode and decode again, as the engine would: what survives is what the
 * engine sees. */
static json_t *
round_trip(json_t *spec)
{
  char *s = json_dumps(spec, JSON_COMPACT);
  json_error_t jerr;
  json_t *back;

  assert_non_null(s);
  back = json_loads(s, 0, &jerr);
  free(s);
  assert_non_null(back);
  return back;
}

static void
assert_strv_json(json_t *a, char *const *want)
{
  size_t n = 0;
  while (want[n])
    n++;
  assert_true(json_is_array(a));
  assert_int_equal(json_array_size(a), n);
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(a, i);
    assert_true(json_is_string(s));
    assert_int_equal(json_string_length(s), strlen(want[i]));
    assert_memory_equal(json_string_value(s), want[i], strlen(want[i]));
  }
}

TEST(test_spec_fields)
{
  char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "id -un", NULL };
  char *env[] = { (char *) "HOME=/home/alice", (char *) "TERM=xterm-256color", NULL };
  struct berth_exec_req r = { .argv = argv, .env = env, .workdir = "/home/alice", .tty = false };
  berth_error_t err = NULL;
  json_t *spec = berth_exec_spec(&box, &r, 24, 80, true, &err);
  json_t *back;

  assert_non_null(spec);
  assert_null(err);
  back = round_trip(spec);
  assert_true(json_is_true(json_object_get(back, "AttachStdin")));
  assert_true(json_is_true(json_object_get(back, "AttachStdout")));
  assert_true(json_is_true(json_object_get(back, "AttachStderr")));
  assert_true(json_is_false(json_object_get(back, "Tty")));
  assert_string_equal(json_string_value(json_object_get(back, "User")), "1234:5678");
  assert_string_equal(json_string_value(json_object_get(back, "WorkingDir")), "/home/alice");
  assert_string_equal(json_string_value(json_object_get(back, "DetachKeys")), BERTH_DETACH_KEYS);
  assert_strv_json(json_object_get(back, "Cmd"), argv);
  assert_strv_json(json_object_get(back, "Env"), env);
  /* no TTY: no console size even when the API offers it */
  assert_null(json_object_get(back, "ConsoleSize"));
  /* nothing else: no Privileged, no Detach */
  assert_int_equal(json_object_size(back), 9);
  json_decref(back);
  json_decref(spec);
}

TEST(test_console_size)
{
  char *argv[] = { (char *) "/bin/bash", (char *) "-l", NULL };
  char *env[] = { NULL };
  struct berth_exec_req r = { .argv = argv, .env = env, .workdir = NULL, .tty = true };
  berth_error_t err = NULL;
  json_t *spec, *cs;

  /* API 1.42+: [rows, cols] */
  spec = berth_exec_spec(&box, &r, 50, 132, true, &err);
  assert_non_null(spec);
  assert_true(json_is_true(json_object_get(spec, "Tty")));
  cs = json_object_get(spec, "ConsoleSize");
  assert_true(json_is_array(cs));
  assert_int_equal(json_array_size(cs), 2);
  assert_int_equal(json_integer_value(json_array_get(cs, 0)), 50);
  assert_int_equal(json_integer_value(json_array_get(cs, 1)), 132);
  /* no workdir asked: the container's own */
  assert_null(json_object_get(spec, "WorkingDir"));
  assert_int_equal(json_array_size(json_object_get(spec, "Env")), 0);
  json_decref(spec);

  /* API 1.41: never sent */
  spec = berth_exec_spec(&box, &r, 50, 132, false, &err);
  assert_non_null(spec);
  assert_null(json_object_get(spec, "ConsoleSize"));
  json_decref(spec);

  /* unknown size (0x0): never sent */
  spec = berth_exec_spec(&box, &r, 0, 0, true, &err);
  assert_non_null(spec);
  assert_null(json_object_get(spec, "ConsoleSize"));
  json_decref(spec);
}

/* Commands with shell and JSON metacharacters arrive byte-exact, and JSON
 * injection cannot add keys to the body. */
TEST(test_hostile_argv)
{
  char *hostile[] = {
    (char *) "/bin/sh",
    (char *) "-c",
    (char *) "echo \"a\" 'b' $(touch /tmp/pwn) `id` ; x && y || z \\ \\\\ \n second line\t\r",
    (char *) "\"}],\"Privileged\":true,\"x\":[\"",
    (char *) "\\u0000 \\\" </script> {\"a\":1}",
    (char *) "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3",
    (char *) "\x01\x02\x1b[31m\x7f",
    (char *) "",
    NULL,
  };
  char *env[] = { (char *) "SSH_ORIGINAL_COMMAND=\"}],\"User\":\"0:0\",\"y\":[\"", NULL };
  struct berth_exec_req r = { .argv = hostile, .env = env, .workdir = "/home/alice", .tty = false };
  berth_error_t err = NULL;
  json_t *spec = berth_exec_spec(&box, &r, 0, 0, false, &err);
  json_t *back;

  assert_non_null(spec);
  back = round_trip(spec);
  assert_strv_json(json_object_get(back, "Cmd"), hostile);
  assert_strv_json(json_object_get(back, "Env"), env);
  assert_null(json_object_get(back, "Privileged"));
  assert_null(json_object_get(back, "x"));
  assert_null(json_object_get(back, "y"));
  assert_string_equal(json_string_value(json_object_get(back, "User")), "1234:5678");
  json_decref(back);
  json_decref(spec);
}

TEST(test_invalid_utf8_refused)
{
  char *bad_argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "echo \xff\xfe", NULL };
  char *ok_argv[] = { (char *) "/bin/sh", NULL };
  char *bad_env[] = { (char *) "LANG=\xc3(", NULL };
  char *empty[] = { NULL };
  /* argv, env: refused with an error of kind, status, naming `names` */
  const struct {
    char **argv, **env;
    enum berth_error_kind kind;
    int status;
    const char *names;
  } cases[] = {
    { bad_argv, empty, BERTH_E_USAGE, EILSEQ, "argument 2" },
    { ok_argv, bad_env, BERTH_E_USAGE, EILSEQ, "environment entry 0" },
    { empty, empty, BERTH_E_INTERNAL, EINVAL, "empty command" },
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct berth_exec_req r = { .argv = cases[i].argv, .env = cases[i].env };
    berth_error_t err = NULL;

    assert_null(berth_exec_spec(&box, &r, 0, 0, false, &err));
    assert_non_null(err);
    assert_int_equal(err->kind, cases[i].kind);
    assert_int_equal(err->status, cases[i].status);
    assert_non_null(strstr(err->msg, cases[i].names));
    berth_error_release(&err);
  }
}

TEST(test_utf8_valid)
{
  static const struct {
    const char *s;
    size_t len;
    bool ok;
  } cases[] = {
    { "", 0, true },
    { "plain ascii $(x)", 16, true },
    { "caf\xc3\xa9", 5, true },
    { "\xe2\x82\xac", 3, true },     /* U+20AC */
    { "\xf0\x9f\x90\xb3", 4, true }, /* U+1F433 */
    { "\xf4\x8f\xbf\xbf", 4, true }, /* U+10FFFF */
    { "\xef\xbf\xbf", 3, true },     /* U+FFFF */
    { "a\0b", 3, true },             /* NUL is ASCII (never in argv) */
    { "\xff", 1, false },
    { "\xfe", 1, false },
    { "\x80", 1, false },     /* lone continuation */
    { "\xc0\xaf", 2, false }, /* overlong '/' */
    { "\xc1\xbf", 2, false },
    { "\xe0\x80\xaf", 3, false },     /* overlong */
    { "\xf0\x80\x80\xaf", 4, false }, /* overlong */
    { "\xed\xa0\x80", 3, false },     /* surrogate U+D800 */
    { "\xed\xbf\xbf", 3, false },     /* surrogate U+DFFF */
    { "\xf4\x90\x80\x80", 4, false }, /* U+110000 */
    { "\xf5\x80\x80\x80", 4, false },
    { "\xc3", 1, false }, /* truncated */
    { "\xe2\x82", 2, false },
    { "\xf0\x9f\x90", 3, false },
    { "\xc3(", 2, false }, /* bad continuation */
    { "ok\xe2\x28\xa1", 5, false },
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    if (berth_utf8_valid(cases[i].s, cases[i].len) != cases[i].ok)
      fail_msg("case %zu: expected %s", i, cases[i].ok ? "valid" : "invalid");
  }
}

/* The detach sequence is one the engine parses (ctrl-X or single
 * characters, comma separated), starts with no key people type alone, and
 * has no NUL (ctrl-@, typed as C-SPC). */
TEST(test_detach_keys)
{
  const char *k = BERTH_DETACH_KEYS;
  char copy[256];
  int n = 0;

  assert_true(strlen(k) < sizeof(copy));
  strcpy(copy, k);
  for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
    if (strlen(tok) != 1) {
      assert_int_equal(strncmp(tok, "ctrl-", 5), 0);
      assert_int_equal(strlen(tok), 6);
      assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz[\\]^_", tok[5]));
    }
    n++;
  }
  assert_true(n >= 6);
  assert_null(strstr(k, "ctrl-@"));
  assert_int_not_equal(strncmp(k, "ctrl-p", 6), 0);
}
