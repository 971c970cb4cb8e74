/* testlib.c - skip, must and sh for the C tests (testlib.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "testlib.h"

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
