/* testlib.c - case registry, skip, must, must_fail, xasprintf and sh for the
 * C tests (testlib.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/engine.h"
#include "testlib.h"

/* Filled by constructors before main(), read once by testlib_run: no lock. */
static const struct testlib_case **cases;
static size_t n_cases;
static CMFixtureFunction group_setup, group_teardown;

void
testlib_register(const struct testlib_case *c)
{
  const struct testlib_case **more = realloc(cases, (n_cases + 1) * sizeof(*cases));

  if (more == NULL) {
    fprintf(stderr, "testlib: out of memory registering %s\n", c->name);
    exit(1);
  }
  cases = more;
  cases[n_cases++] = c;
}

void
testlib_register_group(CMFixtureFunction setup, CMFixtureFunction teardown)
{
  group_setup = setup;
  group_teardown = teardown;
}

static int
by_line(const void *a, const void *b)
{
  const struct testlib_case *x = *(const struct testlib_case *const *) a;
  const struct testlib_case *y = *(const struct testlib_case *const *) b;

  return (x->line > y->line) - (x->line < y->line);
}

int
testlib_run(void)
{
  struct CMUnitTest *tests;
  int rc;

  if (n_cases == 0) {
    fprintf(stderr, "FAIL: no test case registered\n");
    return 1;
  }
  /* constructors run in no promised order */
  qsort(cases, n_cases, sizeof(*cases), by_line);
  tests = calloc(n_cases, sizeof(*tests));
  if (tests == NULL)
    return 1;
  for (size_t i = 0; i < n_cases; i++) {
    tests[i].name = cases[i]->name;
    tests[i].test_func = cases[i]->fn;
    tests[i].setup_func = cases[i]->setup;
    tests[i].teardown_func = cases[i]->teardown;
  }
  rc = _cmocka_run_group_tests("tests", tests, n_cases, group_setup, group_teardown);
  free(tests);
  free(cases);
  cases = NULL;
  n_cases = 0;
  return rc;
}

void
die_skip(const char *why)
{
  const char *ci = getenv("CI");

  if (ci != NULL && strcmp(ci, "true") == 0) {
    fprintf(stderr, "FAIL: %s (under CI=true a skip is a failure)\n", why);
    exit(1);
  }
  fprintf(stderr, "SKIP: %s\n", why);
  exit(77);
}

struct berth_engine *
test_engine_or_skip(const char *sock, long timeout_ms)
{
  berth_error_t err = NULL;
  struct berth_engine *e = NULL;
  char why[512];

  signal(SIGPIPE, SIG_IGN);
  if (geteuid() != 0)
    die_skip("engine tests need root");
  if (access(sock, F_OK) != 0)
    die_skip("no engine socket");
  if (berth_engine_new(sock, timeout_ms, &e, &err) < 0 || berth_engine_ping(e, &err) < 0) {
    snprintf(why, sizeof(why), "the engine does not answer: %s", err ? err->msg : "?");
    die_skip(why);
  }
  return e;
}

void
must(int r, berth_error_t *err)
{
  if (r < 0)
    fail_msg("unexpected error: %s", *err ? (*err)->msg : "(no message)");
}

int
sh(const char *fmt, ...)
{
  char cmd[4096];
  va_list ap;
  int st;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

const char *
sh_out(const char *fmt, ...)
{
  static char buf[8192];
  char cmd[4096];
  va_list ap;
  FILE *p;
  size_t n;

  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  p = popen(cmd, "r");
  assert_non_null(p);
  n = fread(buf, 1, sizeof(buf) - 1, p);
  buf[n] = '\0';
  pclose(p);
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  return buf;
}

void
must_fail(long r, berth_error_t *err, enum berth_error_kind kind, int status, const char *want)
{
  const struct berth_error_s *e = *err;

  if (r != -1 || e == NULL || e->kind != kind || (status != 0 && e->status != status)
      || (want != NULL && strstr(e->msg, want) == NULL))
    fail_msg("expected -1 and an error of kind %s, status %d, saying \"%s\"\n"
             "     got %ld and %s%s, status %d: %s",
             berth_error_kind_name(kind), status, want ? want : "", r,
             e ? "an error of kind " : "no error", e ? berth_error_kind_name(e->kind) : "",
             e ? e->status : 0, e ? e->msg : "");
  berth_error_release(err);
}

char *
xvasprintf(const char *fmt, va_list ap)
{
  char *s = NULL;

  if (vasprintf(&s, fmt, ap) < 0)
    fail_msg("out of memory formatting \"%s\"", fmt);
  return s;
}

char *
xasprintf(const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start(ap, fmt);
  s = xvasprintf(fmt, ap);
  va_end(ap);
  return s;
}
