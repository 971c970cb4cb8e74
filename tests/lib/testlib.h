/* testlib.h - what the C tests share: self-registering test cases, a skip
 * that CI refuses, checked core calls, and shell commands.  Linked into every
 * C test program as tests/lib/libtestlib.la (Makefile.am); include it after
 * <cmocka.h>.  The fake engine is in fake_engine.h, shared users in
 * fixture_users.h. */
#ifndef BERTH_TESTLIB_H
#define BERTH_TESTLIB_H

#include "berth/error.h"

/* Test cases register themselves, in the order they are defined:
 *
 *   TEST(name) { ... }                          a case (void **state, as cmocka's)
 *   TEST_FIXTURE(name, setup, teardown) { ... } a case with its own fixtures (NULL for none)
 *   TEST_GROUP(setup, teardown);                fixtures of the whole program
 *
 * A program without a main() of its own gets testlib's (testlib_main.c),
 * which runs every case as one cmocka group; a program that must prepare
 * something first (an engine, a temp dir, a skip) writes its main() and ends
 * it with testlib_run().  There is no list to keep in step with the cases,
 * so no case can be written and never run. */
struct testlib_case {
  int line; /* cases run in the order of their definition */
  const char *name;
  CMUnitTestFunction fn;
  CMFixtureFunction setup, teardown;
};

void testlib_register(const struct testlib_case *c);
void testlib_register_group(CMFixtureFunction setup, CMFixtureFunction teardown);
/* Run every registered case as one group: cmocka's result (0 = all passed). */
int testlib_run(void);

#define TESTLIB_CASE_(name, setup, teardown)                             \
  static void name(void **state);                                        \
  static const struct testlib_case testlib_case_##name                   \
      = { __LINE__, #name, name, setup, teardown };                      \
  __attribute__((constructor)) static void testlib_register_##name(void) \
  {                                                                      \
    testlib_register(&testlib_case_##name);                              \
  }                                                                      \
  static void name(void **state __attribute__((unused)))
#define TEST(name) TESTLIB_CASE_(name, NULL, NULL)
#define TEST_FIXTURE(name, setup, teardown) TESTLIB_CASE_(name, setup, teardown)
#define TEST_GROUP(setup, teardown)                                      \
  __attribute__((constructor)) static void testlib_register_group_(void) \
  {                                                                      \
    testlib_register_group(setup, teardown);                             \
  }                                                                      \
  struct testlib_group_semicolon_

/* Skip the whole test program: print "SKIP: why" and exit 77 (automake's
 * skip).  Under CI=true a skip is a failure instead: "FAIL: ..." and exit 1,
 * so a CI machine that lacks what a tier needs cannot pass by skipping. */
void die_skip(const char *why) __attribute__((noreturn));

/* The engine tiers' start, as root: SIGPIPE ignored, the engine at the unix
 * socket SOCK, connected and answering a ping; die_skip otherwise. */
struct berth_engine *test_engine_or_skip(const char *sock, long timeout_ms);

/* A core call that must succeed: fails the current cmocka test with the
 * error's message when r < 0. */
void must(int r, berth_error_t *err);

/* Run a shell command built from fmt; returns its exit status (255 when it
 * did not exit normally or could not be run). */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* stdout of a shell command built from fmt, trailing newlines stripped.
 * The buffer is static: the next call overwrites it.  Fails the current
 * cmocka test when the command cannot be started. */
const char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A core call that must fail: r is -1 and *err a KIND error with errno
 * STATUS (0: not checked) whose message holds WANT (NULL: not checked).
 * Fails the current cmocka test otherwise; the error is released. */
void must_fail(long r, berth_error_t *err, enum berth_error_kind kind, int status,
               const char *want);

/* asprintf that must succeed: the string (free it); fails the current
 * cmocka test when it cannot be made.  (va_list: <stdarg.h>, which
 * <cmocka.h> needs before it.) */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
