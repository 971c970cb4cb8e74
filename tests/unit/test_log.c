/* test_log.c - the escaping of logged values and the sink's last guard:
 * nothing a user or a directory controls can start a line or a key. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berth/log.h"
#include "../lib/testlib.h"

static void
assert_value(const char *in, const char *want)
{
  assert_string_equal(BERTH_LOG_VAL(in), want);
}

TEST(test_plain_values_unchanged)
{
  assert_value("alice", "alice");
  assert_value("alice@corp.example", "alice@corp.example");
  assert_value("/home/corp.example/alice", "/home/corp.example/alice");
  assert_value("berth-Bob.Smith_1-2+3,~:x", "berth-Bob.Smith_1-2+3,~:x");
  assert_value(NULL, "-");
  assert_value("", "\"\"");
}

TEST(test_forgery_is_quoted_and_escaped)
{
  /* the attack of issue 8: a newline and a forged line */
  assert_value("--x\naction=entry user=root outcome=ok",
               "\"--x\\naction=entry user=root outcome=ok\"");
  assert_value("a b", "\"a b\"");
  assert_value("user=root", "\"user=root\"");
  assert_value("q\"uote", "\"q\\\"uote\"");
  assert_value("back\\slash", "\"back\\\\slash\"");
  assert_value("\r\t\x01\x1b[31m\x7f", "\"\\r\\t\\x01\\x1b[31m\\x7f\"");
  /* bytes from 0x80: escaped, so no C1 control or broken UTF-8 reaches a
   * terminal that shows the log */
  assert_value("J\xc3\xbcrgen", "\"J\\xc3\\xbcrgen\"");
  assert_value("\xc2\x9b"
               "31m",
               "\"\\xc2\\x9b31m\"");
}

static void
assert_no_control(const char *s)
{
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    assert_true(*p >= 0x20 && *p < 0x7f);
}

TEST(test_values_are_bounded)
{
  char in[4096];
  const char *out;

  memset(in, 'a', sizeof(in) - 1);
  in[sizeof(in) - 1] = '\0';
  out = BERTH_LOG_VAL(in);
  assert_int_equal(strlen(out), BERTH_LOG_VALUE_MAX);
  assert_string_equal(out + BERTH_LOG_VALUE_MAX - 3, "...");
  assert_memory_equal(out, in, BERTH_LOG_VALUE_MAX - 3);

  /* a quoted one keeps its closing quote and is cut between escapes,
   * never inside one */
  for (size_t i = 0; i + 1 < sizeof(in); i++)
    in[i] = i % 2 ? '\n' : ' ';
  out = BERTH_LOG_VAL(in);
  assert_true(strlen(out) <= BERTH_LOG_VALUE_MAX);
  assert_int_equal(out[0], '"');
  assert_string_equal(out + strlen(out) - 4, "...\"");
  assert_non_null(strstr(out, " \\n"));
  assert_null(strstr(out, "\\\"")); /* no escape cut in half before the quote */
  assert_no_control(out);

  /* exactly at the bound: not cut */
  memset(in, 'b', BERTH_LOG_VALUE_MAX);
  in[BERTH_LOG_VALUE_MAX] = '\0';
  assert_string_equal(BERTH_LOG_VAL(in), in);
}

TEST(test_text)
{
  char in[8192];
  const char *out;

  /* spaces, quotes and '=' stay readable at the end of a line */
  assert_string_equal(BERTH_LOG_TEXT("unsupported argument '--x=1 \"y\"'"),
                      "unsupported argument '--x=1 \"y\"'");
  assert_string_equal(BERTH_LOG_TEXT("unsupported argument '--x\naction=entry user=root'"),
                      "unsupported argument '--x\\naction=entry user=root'");
  assert_string_equal(BERTH_LOG_TEXT("a\\n"), "a\\\\n");
  assert_string_equal(BERTH_LOG_TEXT(NULL), "-");

  for (size_t i = 0; i + 1 < sizeof(in); i++)
    in[i] = "x\n\001"[i % 3];
  in[sizeof(in) - 1] = '\0';
  out = BERTH_LOG_TEXT(in);
  assert_true(strlen(out) <= BERTH_LOG_TEXT_MAX);
  assert_string_equal(out + strlen(out) - 3, "...");
  assert_no_control(out);
}

/* the sink: whatever slipped through unescaped stays on one line */
static char last[2048];
static void
capture(void *ctx, int priority, const char *msg)
{
  snprintf(last, sizeof(last), "%s", msg);
}

TEST(test_sink_guard)
{
  berth_log_set_sink(capture, NULL);
  berth_log(LOG_INFO, "user=%s x=%s", "a\nuser=root\r\x1b", BERTH_LOG_VAL("b c"));
  assert_string_equal(last, "user=a?user=root?? x=\"b c\"");
  berth_log_set_sink(NULL, NULL);
}

/* the action line: fixed key order, names escaped, optional keys left out */
TEST(test_action_line)
{
  berth_error_t err = NULL;

  berth_log_set_sink(capture, NULL);
  berth_log_action(LOG_INFO, "login",
                   &(struct berth_action){ .user = "alice",
                                           .container = "berth-alice",
                                           .session = 42,
                                           .extra = "home=created",
                                           .outcome = "ok" });
  assert_string_equal(last, "action=login user=alice container=berth-alice session=42 "
                            "home=created outcome=ok");
  berth_error_make(&err, BERTH_E_ENGINE, 0, "no such\ncontainer");
  berth_log_action(LOG_ERR, "rm",
                   &(struct berth_action){ .user = "a b\nuser=root",
                                           .container = NULL,
                                           .trigger = "gc",
                                           .extra = "idle=7",
                                           .engine = "/s",
                                           .outcome = "failed",
                                           .tail = "reason=x",
                                           .err = err });
  assert_string_equal(last, "action=rm user=\"a b\\nuser=root\" container=- trigger=gc idle=7 "
                            "engine=/s outcome=failed reason=x error=engine: no such\\ncontainer");
  berth_log_action(LOG_ERR, "login",
                   &(struct berth_action){ .user = "bob", .no_container = true, .err = err });
  assert_string_equal(last, "action=login user=bob error=engine: no such\\ncontainer");
  berth_log_action(
      LOG_NOTICE, "sweep",
      &(struct berth_action){
          .no_user = true, .no_container = true, .extra = "leftover=home-temp", .outcome = "ok" });
  assert_string_equal(last, "action=sweep leftover=home-temp outcome=ok");
  berth_log_action(LOG_ERR, "logout", &(struct berth_action){ .outcome = "failed" });
  assert_string_equal(last, "action=logout user=- container=- outcome=failed "
                            "error=internal: an internal error occurred");
  berth_error_release(&err);
  berth_log_set_sink(NULL, NULL);
}
