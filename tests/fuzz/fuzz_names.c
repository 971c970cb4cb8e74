/* fuzz_names.c - %-templates and name sanitizing (lib/names.c) with a
 * template and a user name from the input (template, "\n--\n", name).
 * Properties: a sanitized container name matches [a-zA-Z0-9][a-zA-Z0-9_.-]*
 * within BERTH_NAME_MAX, a hostname [a-z0-9-] without a leading or trailing
 * '-', and sanitizing is deterministic. */
#include "config.h"

#include "fuzz.h"
#include "berth/user.h"

static bool
alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void
check_names(const char *in)
{
  berth_error_t e1 = NULL, e2 = NULL, e3 = NULL;
  char *n = berth_sanitize_name(in, &e1), *n2 = berth_sanitize_name(in, &e2);
  char *h = berth_sanitize_hostname(in, &e3);

  if (n != NULL) {
    size_t len = strlen(n);
    FUZZ_ASSERT(len >= 1 && len <= BERTH_NAME_MAX && alnum(n[0]));
    for (size_t i = 0; i < len; i++)
      FUZZ_ASSERT(alnum(n[i]) || n[i] == '_' || n[i] == '.' || n[i] == '-');
    FUZZ_ASSERT(n2 != NULL && strcmp(n, n2) == 0);
  }
  if (h != NULL) {
    size_t len = strlen(h);
    FUZZ_ASSERT(len >= 1 && len <= 63 && h[0] != '-' && h[len - 1] != '-');
    for (size_t i = 0; i < len; i++)
      FUZZ_ASSERT((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= '0' && h[i] <= '9') || h[i] == '-');
  }
  FUZZ_ASSERT((n == NULL) == (e1 != NULL) && (h == NULL) == (e3 != NULL));
  berth_error_release(&e1);
  berth_error_release(&e2);
  berth_error_release(&e3);
  free(n);
  free(n2);
  free(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *tmpl, *name;
  berth_error_t err = NULL;

  fuzz_split(data, size, &tmpl, &name);
  struct berth_user u = {
    .name = name,
    .uid = 1000,
    .gid = 1000,
    .gecos = (char *) "",
    .home = (char *) "/home/x",
    .shell = (char *) "/bin/sh",
    .group = name,
  };
  char *out = berth_expand_template(tmpl, &u, &err);
  FUZZ_ASSERT((out == NULL) == (err != NULL));
  berth_error_release(&err);
  check_names(tmpl);
  if (out != NULL)
    check_names(out);
  free(out);
  free(tmpl);
  free(name);
  return 0;
}
