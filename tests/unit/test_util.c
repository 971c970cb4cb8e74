/* test_util.c - the error contract (lib/error.c) and the shared helpers of
 * util.h: jstr, the growable buffer, steal_fd. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/error.h"
#include "berth/util.h"
#include "../lib/testlib.h"

/* ---------------------------------------------------------------- errors */

static int
fails_with(berth_error_t *err)
{
  return berth_error_make(err, BERTH_E_ENGINE, EEXIST, "name %s taken", "berth-alice");
}

TEST(test_error_make_and_wrap)
{
  berth_error_t err = NULL;

  assert_int_equal(fails_with(&err), -1);
  assert_int_equal(berth_error_wrap(&err, "creating container %s", "berth-alice"), -1);
  assert_string_equal(err->msg, "creating container berth-alice: name berth-alice taken");
  /* the innermost layer decides the kind and status */
  assert_int_equal(err->kind, BERTH_E_ENGINE);
  assert_int_equal(err->status, EEXIST);
  assert_string_equal(berth_error_kind_name(err->kind), "engine");
  berth_error_release(&err);
  assert_null(err);
  berth_error_release(&err); /* safe on NULL */

  assert_int_equal(berth_error_errno(&err, BERTH_E_HOME, ENOENT, "open %s", "/home/x"), -1);
  assert_string_equal(err->msg, "open /home/x: No such file or directory");
  assert_string_equal(berth_error_reason(err), "your home directory could not be prepared");
  berth_error_release(&err);
}

/* A second failure replaces the first (error.h): the newest is reported and
 * the first is freed (the ASan run of the unit tests catches a leak). */
TEST(test_error_make_replaces)
{
  berth_error_t err = NULL;

  berth_error_make(&err, BERTH_E_PULL, EIO, "pull failed");
  berth_error_make(&err, BERTH_E_IMAGE_MISSING, ENOENT, "image absent");
  assert_int_equal(err->kind, BERTH_E_IMAGE_MISSING);
  assert_string_equal(err->msg, "image absent");
  berth_error_release(&err);
  /* no error wanted: still -1, nothing to free */
  assert_int_equal(berth_error_make(NULL, BERTH_E_USAGE, 0, "ignored"), -1);
  assert_int_equal(berth_error_wrap(NULL, "ignored"), -1);
}

/* A callee that returned -1 without an error still yields a message. */
TEST(test_error_wrap_of_nothing)
{
  berth_error_t err = NULL;

  assert_int_equal(berth_error_wrap(&err, "reading %s", "berth.conf"), -1);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_INTERNAL);
  assert_string_equal(err->msg, "reading berth.conf: failed without an error message");
  assert_string_equal(berth_error_reason(err), "an internal error occurred");
  berth_error_release(&err);
}

/* ---------------------------------------------------------------- jstr */

TEST(test_jstr)
{
  json_error_t je;
  cleanup_json json_t *j = json_loads(
      "{\"State\":{\"Status\":\"running\",\"Pid\":7},\"Id\":\"abc\",\"L\":[\"x\"]}", 0, &je);

  assert_non_null(j);
  assert_string_equal(jstr(j, "Id"), "abc");
  assert_string_equal(jstr(j, "State", "Status"), "running");
  assert_null(jstr(j, "State", "Pid"));      /* not a string */
  assert_null(jstr(j, "State"));             /* an object */
  assert_null(jstr(j, "Missing", "Status")); /* missing on the way */
  assert_null(jstr(j, "L", "x"));            /* an array on the way */
  assert_null(jstr(NULL, "Id"));
}

/* ---------------------------------------------------------------- buffer */

TEST(test_buf_append_consume_steal)
{
  cleanup_buf struct berth_buf b = { 0 };
  berth_error_t err = NULL;
  char chunk[700];
  size_t len = 0;
  char *s;

  assert_string_equal(berth_buf_bytes(&b), "");
  assert_int_equal(berth_buf_append_str(&b, "HTTP/1.1 200 OK\r\n", &err), 0);
  assert_int_equal(berth_buf_append(&b, "body", 4, &err), 0);
  assert_int_equal(b.len, 21);
  berth_buf_consume(&b, 17);
  assert_string_equal(berth_buf_bytes(&b), "body");
  /* grows past its first allocation, keeping what is held */
  memset(chunk, 'x', sizeof(chunk));
  for (int i = 0; i < 10; i++)
    assert_int_equal(berth_buf_append(&b, chunk, sizeof(chunk), &err), 0);
  assert_int_equal(b.len, 4 + 10 * sizeof(chunk));
  assert_memory_equal(berth_buf_bytes(&b), "bodyxxx", 7);
  assert_int_equal(strlen(berth_buf_bytes(&b)), b.len);
  berth_buf_consume(&b, 4 + 10 * sizeof(chunk) - 2);
  assert_string_equal(berth_buf_bytes(&b), "xx");
  s = berth_buf_steal(&b, &len, &err);
  assert_string_equal(s, "xx");
  assert_int_equal(len, 2);
  free(s);
  /* emptied: a steal now hands out "" */
  assert_int_equal(b.len, 0);
  s = berth_buf_steal(&b, NULL, &err);
  assert_string_equal(s, "");
  free(s);
  assert_null(err);
}

TEST(test_buf_max)
{
  cleanup_buf struct berth_buf b = { .max = 8 };
  berth_error_t err = NULL;

  assert_int_equal(berth_buf_append(&b, "12345678", 8, &err), 0);
  assert_int_equal(berth_buf_append(&b, "9", 1, &err), -1);
  assert_int_equal(err->status, E2BIG);
  berth_error_release(&err);
  /* nothing was added; consuming makes room again */
  assert_string_equal(berth_buf_bytes(&b), "12345678");
  berth_buf_consume(&b, 4);
  assert_int_equal(berth_buf_append(&b, "9abc", 4, &err), 0);
  assert_string_equal(berth_buf_bytes(&b), "56789abc");
}

/* ---------------------------------------------------------------- ownership */

TEST(test_steal_fd)
{
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  {
    cleanup_close int r = fds[0];
    int kept = steal_fd(&r);
    assert_int_equal(r, -1);
    assert_int_equal(kept, fds[0]);
  }
  /* still open after the cleanup ran: it was handed out */
  assert_int_equal(close(fds[0]), 0);
  assert_int_equal(close(fds[1]), 0);
}
