/* test_http.c - the HTTP head parser, and the engine client against a fake
 * engine on a unix socket (version negotiation, errors, pull streams, the
 * hijack handshake, bounds, timeouts, connection reuse, proxy variables). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/engine.h"
#include "berth/http.h"
#include "berth/util.h"
#include "../lib/fake_engine.h"
#include "../lib/testlib.h"

/* ================================================================ head parser */

static long
parse(const char *s, int *status)
{
  berth_error_t err = NULL;
  long r = berth_http_parse_head(s, strlen(s), status, &err);
  if (r < 0) {
    assert_non_null(err);
    assert_int_equal(err->kind, BERTH_E_ENGINE_REPLY);
  } else {
    assert_null(err);
  }
  berth_error_release(&err);
  return r;
}

TEST(test_head_complete)
{
  const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n";
  int status = 0;

  assert_int_equal(parse(h, &status), strlen(h));
  assert_int_equal(status, 200);
  /* no reason phrase, HTTP/1.0, header without space after the colon */
  assert_int_equal(parse("HTTP/1.0 204\r\nX:y\r\n\r\n", &status), 21);
  assert_int_equal(status, 204);
  /* no headers at all */
  assert_int_equal(parse("HTTP/1.1 304 Not Modified\r\n\r\n", &status), 29);
  assert_int_equal(status, 304);
}

TEST(test_head_incomplete)
{
  const char *h = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
  size_t n = strlen(h);

  /* every proper prefix is "incomplete", never an error, never a length */
  for (size_t i = 0; i < n; i++) {
    int status = 0;
    berth_error_t err = NULL;
    assert_int_equal(berth_http_parse_head(h, i, &status, &err), 0);
    assert_null(err);
  }
}

TEST(test_head_101_with_stream)
{
  /* the first stream bytes arrive in the same read as the head */
  const char head[] = "HTTP/1.1 101 UPGRADED\r\n"
                      "Content-Type: application/vnd.docker.raw-stream\r\n"
                      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
  char buf[512];
  const char stream[] = "\x01\0\0\0\0\0\0\x05hello\r\n\r\n";
  int status = 0;
  berth_error_t err = NULL;

  memcpy(buf, head, sizeof(head) - 1);
  memcpy(buf + sizeof(head) - 1, stream, sizeof(stream) - 1);
  long r = berth_http_parse_head(buf, sizeof(head) - 1 + sizeof(stream) - 1, &status, &err);
  assert_null(err);
  assert_int_equal(status, 101);
  assert_int_equal(r, sizeof(head) - 1);
  /* the remainder is exactly the stream, CRLFs inside it included */
  assert_memory_equal(buf + r, stream, sizeof(stream) - 1);
}

TEST(test_head_404_with_body)
{
  const char *h = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                  "Content-Length: 45\r\n\r\n";
  char buf[256];
  int status = 0;

  snprintf(buf, sizeof(buf), "%s%s", h, "{\"message\":\"No such exec instance: abc\"}\n");
  assert_int_equal(parse(buf, &status), strlen(h));
  assert_int_equal(status, 404);
}

TEST(test_head_malformed)
{
  static const char *bad[] = {
    "HTTP/2 200 OK\r\n\r\n",
    "HTTP/1.1 20 OK\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 abc OK\r\n\r\n",
    "HTTP/1.1 600 Whatever\r\n\r\n",
    "HTTP/1.1  200 OK\r\n\r\n",
    "HTTP/1.1 200OK\r\n\r\n",
    "http/1.1 200 OK\r\n\r\n",
    "ICY 200 OK\r\n\r\n",
    "{\"message\":\"x\"}",
    "HTTP/1.1 200 OK\nContent-Length: 0\n\n",   /* bare LF */
    "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", /* space in a name */
    "HTTP/1.1 200 OK\r\n: empty\r\n\r\n",
    "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
    "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", /* obsolete folding */
    "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",    /* bare CR */
    "HTTP/1.1 200 O\001K\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int status = 0;
    berth_error_t err = NULL;
    long r = berth_http_parse_head(bad[i], strlen(bad[i]), &status, &err);
    if (r != -1)
      fail_msg("accepted malformed head #%zu: %s", i, bad[i]);
    assert_non_null(err);
    berth_error_release(&err);
  }
  /* garbage is refused as soon as it shows, before a full line */
  int status = 0;
  assert_int_equal(parse("XTTP", &status), -1);
  /* a NUL byte inside the head */
  berth_error_t err = NULL;
  assert_int_equal(berth_http_parse_head("HTTP/1.1 200 OK\r\nA: \0\r\n\r\n", 25, &status, &err),
                   -1);
  berth_error_release(&err);
}

TEST(test_head_oversized)
{
  size_t cap = 40000;
  char *buf = malloc(cap + 1);
  size_t n;
  int status = 0;
  berth_error_t err = NULL;

  assert_non_null(buf);
  n = (size_t) snprintf(buf, cap, "HTTP/1.1 200 OK\r\n");
  while (n + 32 < cap)
    n += (size_t) snprintf(buf + n, cap - n, "X-Filler: aaaaaaaaaaaaaaaa\r\n");
  /* no end of head within 16 KiB: an error, not "incomplete" forever */
  assert_int_equal(berth_http_parse_head(buf, n, &status, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->status, EMSGSIZE);
  berth_error_release(&err);
  /* a little under the bound is still just incomplete */
  assert_int_equal(berth_http_parse_head(buf, 16000, &status, &err), 0);
  assert_null(err);
  free(buf);
}

/* ================================================================ chunked bodies */

static int
dechunk_str(const char *in, char *out, size_t outsz, size_t *outlen, size_t *consumed)
{
  return berth_http_dechunk(in, strlen(in), out, outsz, outlen, consumed);
}

TEST(test_dechunk)
{
  char out[64];
  size_t olen = 0, used = 0;
  static const char *bad[] = {
    "5\r\nhelloXX0\r\n\r\n", /* the case: no CRLF after the chunk */
    "5\r\nhello\n0\r\n\r\n", /* bare LF after the chunk */
    "5\r\nhello\rX0\r\n\r\n",   "5\n\rhello\r\n0\r\n\r\n", /* bare LF after the size */
    "5\rX\nhello\r\n0\r\n\r\n", "0x5\r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n0\r\n\r\n",
    "+5\r\nhello\r\n0\r\n\r\n", "5 \r\nhello\r\n0\r\n\r\n",  "\r\nhello\r\n0\r\n\r\n",
    "fffffffffffffffff\r\n", /* overflows */
  };

  assert_int_equal(
      dechunk_str("5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n", out, sizeof(out), &olen, &used), 1);
  assert_int_equal(olen, 11);
  assert_memory_equal(out, "hello world", 11);
  assert_int_equal(used, strlen("5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n"));
  /* incomplete: more is needed, not an error */
  assert_int_equal(dechunk_str("5\r\nhel", out, sizeof(out), &olen, &used), 0);
  assert_int_equal(dechunk_str("5\r\nhello", out, sizeof(out), &olen, &used), 0);
  assert_int_equal(dechunk_str("5\r\nhello\r", out, sizeof(out), &olen, &used), 0);
  assert_int_equal(dechunk_str("5\r\nhello\r\n0\r\n", out, sizeof(out), &olen, &used), 0);
  assert_int_equal(
      dechunk_str("A\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n", out, sizeof(out), &olen, &used), 1);
  assert_int_equal(olen, 10);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (dechunk_str(bad[i], out, sizeof(out), &olen, &used) != -1)
      fail_msg("accepted malformed chunked body #%zu", i);
}

/* ================================================================ fake engine */

/* The engine itself is tests/lib/fake_engine.c; this file keeps its paths. */
static char tmpdir[64];
static char sock_path[100];
static char log_path[128];
static pid_t server_pid = -1;

static void
start_server(const struct route *routes)
{
  server_pid = fake_engine_start(sock_path, log_path, routes);
}

static int
setup(void **state)
{
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-test-http-XXXXXX");
  if (mkdtemp(tmpdir) == NULL)
    return -1;
  snprintf(sock_path, sizeof(sock_path), "%s/engine.sock", tmpdir);
  snprintf(log_path, sizeof(log_path), "%s/requests.log", tmpdir);
  server_pid = -1;
  return 0;
}

static int
teardown(void **state)
{
  fake_engine_stop(server_pid);
  server_pid = -1;
  unlink(sock_path);
  unlink(log_path);
  rmdir(tmpdir);
  return 0;
}

static char *
read_log(void)
{
  return fake_engine_log(log_path);
}

static int
count_connections(const char *log)
{
  return fake_engine_connections(log);
}

static struct berth_engine *
new_engine(long timeout_ms)
{
  struct berth_engine *e = NULL;
  berth_error_t err = NULL;
  assert_int_equal(berth_engine_new(sock_path, timeout_ms, &e, &err), 0);
  assert_null(err);
  return e;
}

/* The engine every client test starts from: the fake serving ROUTES and a
 * client with TIMEOUT_MS; pinged_engine also has it negotiate. */
static struct berth_engine *
serve(const struct route *routes, long timeout_ms)
{
  start_server(routes);
  return new_engine(timeout_ms);
}

/* A client whose ping has negotiated, against the fake already running. */
static struct berth_engine *
engine_up(long timeout_ms)
{
  berth_error_t err = NULL;
  struct berth_engine *e = new_engine(timeout_ms);

  if (berth_engine_ping(e, &err) != 0 || err != NULL)
    fail_msg("ping failed: %s", err ? err->msg : "no error set");
  return e;
}

static struct berth_engine *
pinged_engine(const struct route *routes, long timeout_ms)
{
  start_server(routes);
  return engine_up(timeout_ms);
}

/* For tests that start several engines in turn: the fake and its log go. */
static void
stop_server(void)
{
  fake_engine_stop(server_pid);
  server_pid = -1;
  unlink(log_path);
}

#define PING_143 "HTTP/1.1 200 OK\r\nApi-Version: 1.44\r\nContent-Length: 2\r\n\r\nOK"
static const char json_ok_list[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 2\r\n\r\n[]";
/* Every fake starts with a ping route and ends with the terminator. */
static const struct route route_ping_143 = { "GET /_ping ", PING_143, 0, RESPOND };
static const struct route route_end = { NULL, NULL, 0, RESPOND };

/* The usual fake: our ping and ONE more route.  The array may go with this
 * frame: the server is a forked child that never returns into it. */
static void
start_server_one(struct route one)
{
  const struct route routes[] = { route_ping_143, one, route_end };

  start_server(routes);
}

static char *
json_reply(const char *status, const char *body)
{
  return xasprintf("HTTP/1.1 %s\r\nApi-Version: 1.44\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n%s",
                   status, strlen(body), body);
}

/* ---------------------------------------------------------------- negotiation */

TEST_FIXTURE(test_ping_negotiates_down_to_ours, setup, teardown)
{
  char *inspect = json_reply("200 OK", "{\"Id\":\"abc\",\"State\":{}}");
  berth_error_t err = NULL;
  json_t *info = NULL;
  struct berth_engine *e;

  start_server_one((struct route){ "GET /v1.43/containers/box/json ", inspect, 0, RESPOND });
  e = engine_up(2000);

  assert_string_equal(berth_engine_api_version(e), "1.43");
  assert_true(berth_engine_api_at_least(e, 1, 41));
  assert_true(berth_engine_api_at_least(e, 1, 43));
  assert_false(berth_engine_api_at_least(e, 1, 44));
  assert_false(berth_engine_api_at_least(e, 2, 0));
  assert_int_equal(berth_engine_container_inspect(e, "box", &info, &err), 0);
  assert_string_equal(json_string_value(json_object_get(info, "Id")), "abc");
  json_decref(info);
  berth_engine_free(e);
  free(inspect);
}

/* One engine per row: what /_ping (and /version, when there is a route for
 * it) answers, and what the client makes of it. */
struct ping_case {
  const char *what;
  const char *ping;           /* the whole /_ping reply */
  const char *version_body;   /* JSON of /version; NULL: no such route */
  int rc;                     /* of berth_engine_ping */
  const char *version;        /* negotiated, when rc == 0 */
  int minor_yes, minor_no;    /* api_at_least(1, yes) holds, (1, no) not; 0: unchecked */
  enum berth_error_kind kind; /* when rc < 0 */
  const char *msg[2];         /* substrings of the error message */
  const char *logged;         /* a request the fake must have seen */
};

static const struct ping_case ping_cases[] = {
  { .what = "keeps an older engine's version",
    .ping = "HTTP/1.1 200 OK\r\nAPI-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK",
    .rc = 0,
    .version = "1.41",
    .minor_yes = 41,
    .minor_no = 42 /* no ConsoleSize */ },
  { .what = "refuses an engine older than ours",
    .ping = "HTTP/1.1 200 OK\r\nApi-Version: 1.40\r\nContent-Length: 2\r\n\r\nOK",
    .rc = -1,
    .kind = BERTH_E_ENGINE,
    .msg = { "1.40", "1.41" } },
  /* an old Podman: no Api-Version on /_ping, semver in /version */
  { .what = "falls back to /version",
    .ping = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
    .version_body = "{\"Version\":\"3.0.1\",\"ApiVersion\":\"1.41.0\"}",
    .rc = 0,
    .version = "1.41",
    .logged = "GET /version HTTP/1.1" },
  { .what = "refuses a garbage version",
    .ping = "HTTP/1.1 200 OK\r\nApi-Version: one.two\r\nContent-Length: 2\r\n\r\nOK",
    .rc = -1,
    .kind = BERTH_E_ENGINE_REPLY },
};

static void
run_ping_case(const struct ping_case *c)
{
  cleanup_free char *version = c->version_body ? json_reply("200 OK", c->version_body) : NULL;
  const struct route routes[] = {
    { "GET /_ping ", c->ping, 0, RESPOND },
    { c->version_body ? "GET /version " : NULL, version, 0, RESPOND },
    route_end,
  };
  berth_error_t err = NULL;
  struct berth_engine *e;

  e = serve(routes, 2000);
  if (berth_engine_ping(e, &err) != c->rc)
    fail_msg("ping %s: not %d", c->what, c->rc);
  if (c->rc == 0) {
    assert_null(err);
    assert_string_equal(berth_engine_api_version(e), c->version);
    if (c->minor_yes)
      assert_true(berth_engine_api_at_least(e, 1, c->minor_yes));
    if (c->minor_no)
      assert_false(berth_engine_api_at_least(e, 1, c->minor_no));
  } else {
    assert_non_null(err);
    assert_int_equal(err->kind, c->kind);
    for (size_t i = 0; i < 2 && c->msg[i]; i++)
      if (strstr(err->msg, c->msg[i]) == NULL)
        fail_msg("ping %s: '%s' lacks '%s'", c->what, err->msg, c->msg[i]);
  }
  berth_error_release(&err);
  berth_engine_free(e);
  if (c->logged) {
    cleanup_free char *log = read_log();
    assert_non_null(strstr(log, c->logged));
  }
  stop_server();
}

TEST_FIXTURE(test_ping_cases, setup, teardown)
{
  for (size_t i = 0; i < sizeof(ping_cases) / sizeof(ping_cases[0]); i++)
    run_ping_case(&ping_cases[i]);
}

/* ---------------------------------------------------------------- errors */

TEST(test_check_surfaces_engine_message)
{
  berth_error_t err = NULL;
  json_t *reply = json_pack("{s:s}", "message", "No such image: x");

  assert_int_equal(berth_engine_check(200, reply, BERTH_E_ENGINE, "inspecting image", &err), 0);
  assert_int_equal(berth_engine_check(304, NULL, BERTH_E_ENGINE, "x", &err), 0);
  assert_null(err);
  assert_int_equal(berth_engine_check(404, reply, BERTH_E_IMAGE_MISSING, "inspecting image", &err),
                   -1);
  assert_string_equal(err->msg, "inspecting image: engine said: No such image: x (HTTP 404)");
  assert_int_equal(err->kind, BERTH_E_IMAGE_MISSING);
  assert_int_equal(err->status, ENOENT);
  berth_error_release(&err);
  assert_int_equal(berth_engine_check(500, NULL, BERTH_E_ENGINE, "listing", &err), -1);
  assert_non_null(strstr(err->msg, "HTTP 500"));
  berth_error_release(&err);
  json_decref(reply);
}

TEST_FIXTURE(test_errors_through_the_client, setup, teardown)
{
  char *boom = json_reply("500 Internal Server Error", "{\"message\":\"boom\"}");
  char *conflict
      = json_reply("409 Conflict",
                   "{\"message\":\"Conflict. The container name \\\"/box\\\" is already in use\"}");
  char *gone = json_reply("404 Not Found", "{\"message\":\"No such container: box\"}");
  char *nostart = json_reply("304 Not Modified", "");
  const struct route routes[] = {
    route_ping_143,
    { "GET /v1.43/images/bad/json ", boom, 0, RESPOND },
    { "GET /v1.43/images/missing/json ", gone, 0, RESPOND },
    { "POST /v1.43/containers/create?name=box ", conflict, 0, RESPOND },
    { "DELETE /v1.43/containers/box?force=1&v=1 ", gone, 0, RESPOND },
    { "POST /v1.43/containers/box/start ", nostart, 0, RESPOND },
    { "GET /v1.43/containers/box/json ", gone, 0, RESPOND },
    route_end,
  };
  struct berth_engine *e;
  berth_error_t err = NULL;
  char *id = (char *) "unchanged";
  json_t *spec = json_pack("{s:s}", "Image", "x");
  json_t *info = NULL;

  e = serve(routes, 2000);
  assert_int_equal(berth_engine_image_inspect(e, "bad", &id, &err), -1);
  assert_non_null(strstr(err->msg, "engine said: boom (HTTP 500)"));
  berth_error_release(&err);
  assert_int_equal(berth_engine_image_inspect(e, "missing", &id, &err), 1);
  assert_null(id);
  must_fail(berth_engine_container_create(e, "box", spec, &id, &err), &err, BERTH_E_CONTAINER,
            EEXIST, "already in use");
  assert_int_equal(berth_engine_container_remove(e, "box", true, &err), 0); /* already gone */
  assert_int_equal(berth_engine_container_start(e, "box", &err), 0);        /* 304: running */
  assert_int_equal(berth_engine_container_inspect(e, "box", &info, &err), 1);
  assert_null(info);
  /* no route: 404 */
  must_fail(berth_engine_container_stop(e, "box", 0, &err), &err, BERTH_E_CONTAINER, ENOENT, NULL);
  berth_engine_free(e);
  json_decref(spec);
  free(boom);
  free(conflict);
  free(gone);
  free(nostart);
}

/* ---------------------------------------------------------------- requests on the wire */

TEST_FIXTURE(test_requests_on_the_wire, setup, teardown)
{
  char *created = json_reply("201 Created", "{\"Id\":\"c0ffee\",\"Warnings\":[]}");
  char *list = json_reply("200 OK", "[]");
  char *ok = json_reply("200 OK", "");
  const char *nocontent = "HTTP/1.1 204 No Content\r\n\r\n";
  const struct route routes[] = {
    route_ping_143,
    { "POST /v1.43/containers/create", created, 0, RESPOND },
    { "POST /v1.43/containers/c0ffee/start ", nocontent, 0, RESPOND },
    { "GET /v1.43/containers/json", list, 0, RESPOND },
    { "PUT /v1.43/containers/c0ffee/archive", ok, 0, RESPOND },
    { "POST /v1.43/exec/e%2F1/resize?h=40&w=120 ", ok, 0, RESPOND },
    route_end,
  };
  struct berth_engine *e;
  berth_error_t err = NULL;
  char *id = NULL;
  json_t *spec = json_pack("{s:s,s:{s:s}}", "Image", "img", "Labels", "berth.user", "alice");
  json_t *arr = NULL;

  e = serve(routes, 2000);
  assert_int_equal(berth_engine_container_create(e, "berth-a b", spec, &id, &err), 0);
  assert_string_equal(id, "c0ffee");
  assert_int_equal(berth_engine_container_start(e, id, &err), 0);
  assert_int_equal(berth_engine_container_list(e, "berth.user=alice", &arr, &err), 0);
  assert_true(json_is_array(arr));
  assert_int_equal(berth_engine_archive_put(e, id, "/etc", "tarbytes", 8, &err), 0);
  assert_int_equal(berth_engine_exec_resize(e, "e/1", 40, 120, &err), 0);
  assert_null(err);
  berth_engine_free(e);

  cleanup_free char *log = read_log();
  /* the first request pinged; every body is JSON with the right type */
  assert_non_null(strstr(log, "GET /_ping HTTP/1.1 ct=- "));
  assert_non_null(
      strstr(log, "POST /v1.43/containers/create?name=berth-a%20b HTTP/1.1 ct=application/json "));
  assert_non_null(strstr(log, "body={\"Image\":\"img\",\"Labels\":{\"berth.user\":\"alice\"}}"));
  /* a body-less POST carries no (form) content type */
  assert_non_null(strstr(log, "POST /v1.43/containers/c0ffee/start HTTP/1.1 ct=- "));
  assert_non_null(strstr(log, "GET /v1.43/containers/json?all=1&filters="
                              "%7B%22label%22%3A%5B%22berth.user%3Dalice%22%5D%7D HTTP/1.1"));
  assert_non_null(strstr(log, "PUT /v1.43/containers/c0ffee/archive?path=%2Fetc HTTP/1.1 "
                              "ct=application/x-tar up=-/- body=tarbytes"));
  /* all of it on one kept connection */
  assert_int_equal(count_connections(log), 1);
  free(id);
  json_decref(arr);
  json_decref(spec);
  free(created);
  free(list);
  free(ok);
}

TEST(test_escape)
{
  berth_error_t err = NULL;
  char *s = berth_engine_escape("a b/c?d=e&f%g~h_i.j-k\xc3\xa9", &err);
  assert_string_equal(s, "a%20b%2Fc%3Fd%3De%26f%25g~h_i.j-k%C3%A9");
  free(s);
  s = berth_engine_escape("", &err);
  assert_string_equal(s, "");
  free(s);
}

/* ---------------------------------------------------------------- pull */

static const char pull_progress[]
    = "{\"status\":\"Pulling from library/img\",\"id\":\"latest\"}\r\n"
      "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2},\"id\":\"abc\"}"
      "\r\n";

TEST_FIXTURE(test_pull_reference_split, setup, teardown)
{
  const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 32\r\n\r\n"
                   "{\"status\":\"Status: Downloaded\"}\n";
  struct berth_engine *e;
  berth_error_t err = NULL;

  start_server_one((struct route){ "POST /v1.43/images/create?", ok, 0, RESPOND });
  e = new_engine(2000);
  assert_int_equal(berth_engine_image_pull(e, "debian:bookworm", &err), 0);
  assert_int_equal(berth_engine_image_pull(e, "busybox", &err), 0);
  assert_int_equal(berth_engine_image_pull(e, "host:5000/team/img", &err), 0);
  assert_int_equal(berth_engine_image_pull(e, "host:5000/team/img:1.2", &err), 0);
  assert_int_equal(berth_engine_image_pull(e, "img@sha256:0123abcd", &err), 0);
  assert_int_equal(berth_engine_image_pull(e, "", &err), -1);
  berth_error_release(&err);
  assert_int_equal(berth_engine_image_pull(e, "img:", &err), -1);
  berth_error_release(&err);
  berth_engine_free(e);

  cleanup_free char *log = read_log();
  assert_non_null(strstr(log, "?fromImage=debian&tag=bookworm "));
  assert_non_null(strstr(log, "?fromImage=busybox&tag=latest "));
  assert_non_null(strstr(log, "?fromImage=host%3A5000%2Fteam%2Fimg&tag=latest "));
  assert_non_null(strstr(log, "?fromImage=host%3A5000%2Fteam%2Fimg&tag=1.2 "));
  assert_non_null(strstr(log, "?fromImage=img&tag=sha256%3A0123abcd "));
}

static void
run_pull_error(const char *response, const char *want)
{
  berth_error_t err = NULL;
  struct berth_engine *e;

  start_server_one((struct route){ "POST /v1.43/images/create?", response, 0, RESPOND_CLOSE });
  e = new_engine(2000);
  must_fail(berth_engine_image_pull(e, "nosuch/img", &err), &err, BERTH_E_PULL, 0, want);
  berth_engine_free(e);
  stop_server();
}

TEST_FIXTURE(test_pull_error_in_200_stream, setup, teardown)
{
  char resp[2048];

  /* newline separated, the error after progress, sent chunked */
  char body[1024];
  snprintf(body, sizeof(body), "%s%s", pull_progress,
           "{\"errorDetail\":{\"message\":\"manifest for nosuch/img:latest not found\"},"
           "\"error\":\"manifest for nosuch/img:latest not found\"}\r\n");
  snprintf(resp, sizeof(resp),
           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           "%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
           (size_t) 30, 30, body, strlen(body + 30), body + 30);
  run_pull_error(resp, "engine said: manifest for nosuch/img:latest not found (HTTP 200)");

  /* objects back to back, no separators, only "error" */
  snprintf(body, sizeof(body),
           "{\"status\":\"a\"}{\"status\":\"b\"}{\"error\":\"denied: access\"}");
  snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
           body);
  run_pull_error(resp, "denied: access");

  /* an HTTP error with a plain message (Docker: registry unreachable) */
  snprintf(body, sizeof(body), "{\"message\":\"Get \\\"https://nosuch/v2/\\\": no such host\"}\n");
  snprintf(resp, sizeof(resp),
           "HTTP/1.1 500 Internal Server Error\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
           body);
  run_pull_error(resp, "no such host (HTTP 500)");

  /* a stream that is not JSON */
  snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!");
  run_pull_error(resp, "not JSON");

  /* a truncated last object */
  snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"status\":\"a");
  run_pull_error(resp, "not JSON");
}

/* ---------------------------------------------------------------- bounds, timeouts, reachability */

TEST_FIXTURE(test_reply_bound, setup, teardown)
{
  size_t big = 17u * 1024 * 1024;
  char *resp = malloc(big + 128);
  int hl;
  const char *tiny = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                     "0123456789012345678901234567890123456789012345678901234567890123456789"
                     "012345678901234567890123456789";
  struct berth_engine *e;
  berth_error_t err = NULL;
  json_t *arr = NULL;
  char *tar = NULL;
  size_t len = 0;

  assert_non_null(resp);
  hl = snprintf(resp, 128,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                big);
  memset(resp + hl, ' ', big);
  resp[hl] = '[';
  resp[hl + big - 1] = ']';
  const struct route routes[] = {
    route_ping_143,
    { "GET /v1.43/containers/json", resp, (size_t) hl + big, RESPOND },
    { "GET /v1.43/containers/box/archive", tiny, 0, RESPOND },
    route_end,
  };
  e = serve(routes, 5000);
  must_fail(berth_engine_container_list(e, NULL, &arr, &err), &err, BERTH_E_ENGINE_REPLY, EFBIG,
            NULL);
  assert_int_equal(berth_engine_archive_get(e, "box", "/etc/passwd", 99, &tar, &len, &err), -1);
  assert_int_equal(err->status, EFBIG);
  berth_error_release(&err);
  assert_int_equal(berth_engine_archive_get(e, "box", "/etc/passwd", 100, &tar, &len, &err), 0);
  assert_int_equal(len, 100);
  assert_memory_equal(tar, "0123456789", 10);
  free(tar);
  berth_engine_free(e);
  free(resp);
}

TEST_FIXTURE(test_timeout, setup, teardown)
{
  const struct route routes[] = {
    { "GET /_ping ", NULL, 0, HANG },
    route_end,
  };
  struct berth_engine *e;
  berth_error_t err = NULL;
  int64_t t0;

  e = serve(routes, 300);
  t0 = berth_now_ms();
  must_fail(berth_engine_ping(e, &err), &err, BERTH_E_ENGINE_TIMEOUT, 0, sock_path);
  assert_true(berth_now_ms() - t0 < 2000);
  berth_engine_free(e);
}

TEST_FIXTURE(test_unreachable, setup, teardown)
{
  struct berth_engine *e;
  berth_error_t err = NULL;
  char path[100];
  int64_t t0 = berth_now_ms();

  /* no socket at all */
  snprintf(path, sizeof(path), "%s/nothing.sock", tmpdir);
  assert_int_equal(berth_engine_new(path, 5000, &e, &err), 0);
  must_fail(berth_engine_ping(e, &err), &err, BERTH_E_ENGINE_UNREACHABLE, ENOENT, path);
  /* a later request is refused the same way, it does not hang */
  json_t *info = NULL;
  must_fail(berth_engine_container_inspect(e, "x", &info, &err), &err, BERTH_E_ENGINE_UNREACHABLE,
            0, NULL);
  berth_engine_free(e);
  assert_null(berth_engine_hijack_connect(path, &err));
  assert_int_equal(err->kind, BERTH_E_ENGINE_UNREACHABLE);
  assert_non_null(strstr(err->msg, path));
  berth_error_release(&err);

  /* a socket nobody listens on any more */
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof(sa)), 0);
  close(l);
  assert_int_equal(berth_engine_new(path, 5000, &e, &err), 0);
  must_fail(berth_engine_ping(e, &err), &err, BERTH_E_ENGINE_UNREACHABLE, ECONNREFUSED, NULL);
  berth_engine_free(e);
  unlink(path);
  assert_true(berth_now_ms() - t0 < 1000);

  /* invalid paths are refused up front */
  assert_int_equal(berth_engine_new("", 5000, &e, &err), -1);
  berth_error_release(&err);
  char longp[200];
  memset(longp, 'a', sizeof(longp) - 1);
  longp[sizeof(longp) - 1] = '\0';
  assert_int_equal(berth_engine_new(longp, 5000, &e, &err), -1);
  berth_error_release(&err);
}

TEST_FIXTURE(test_proxy_variables_ignored, setup, teardown)
{
  const struct route routes[] = {
    route_ping_143,
    route_end,
  };
  static const char *vars[]
      = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy" };
  struct berth_engine *e;

  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    setenv(vars[i], "http://127.0.0.1:9", 1);
  setenv("NO_PROXY", "", 1);
  setenv("CURL_HOME", tmpdir, 1);
  e = pinged_engine(routes, 2000);
  berth_engine_free(e);
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    unsetenv(vars[i]);
  unsetenv("NO_PROXY");
  unsetenv("CURL_HOME");
  cleanup_free char *log = read_log();
  assert_non_null(strstr(log, "GET /_ping HTTP/1.1"));
}

/* ---------------------------------------------------------------- connection keeping */

TEST_FIXTURE(test_pinned_connection_is_not_reopened, setup, teardown)
{
  const char *closing = "HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nConnection: close\r\n"
                        "Content-Length: 2\r\n\r\nOK";
  char *inspect = json_reply("200 OK", "{\"Id\":\"abc\"}");
  const struct route routes[] = {
    { "GET /_ping ", closing, 0, RESPOND_CLOSE },
    { "GET /v1.43/containers/box/json ", inspect, 0, RESPOND },
    route_end,
  };
  struct berth_engine *e;
  berth_error_t err = NULL;
  json_t *info = NULL;

  start_server(routes);
  /* unpinned: the engine closed, the next request reconnects */
  e = engine_up(2000);
  assert_int_equal(berth_engine_container_inspect(e, "box", &info, &err), 0);
  json_decref(info);
  berth_engine_free(e);
  {
    cleanup_free char *log = read_log();
    assert_int_equal(count_connections(log), 2);
  }
  /* pinned: the same situation is an error, not a silent reconnect */
  e = engine_up(2000);
  berth_engine_pin_connection(e);
  must_fail(berth_engine_container_inspect(e, "box", &info, &err), &err, BERTH_E_ENGINE_UNREACHABLE,
            0, "kept connection");
  berth_engine_free(e);
  {
    cleanup_free char *log = read_log();
    assert_int_equal(count_connections(log), 3); /* 2 before + the pinned ping */
  }
  free(inspect);
}

TEST_FIXTURE(test_pinned_connection_still_serves, setup, teardown)
{
  char *inspect = json_reply("200 OK", "{\"Id\":\"abc\"}");
  struct berth_engine *e;
  berth_error_t err = NULL;
  json_t *info = NULL;

  start_server_one((struct route){ "GET /v1.43/containers/box/json ", inspect, 0, RESPOND });
  e = engine_up(2000);
  berth_engine_pin_connection(e);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(berth_engine_container_inspect(e, "box", &info, &err), 0);
    json_decref(info);
  }
  berth_engine_free(e);
  cleanup_free char *log = read_log();
  assert_int_equal(count_connections(log), 1);
  free(inspect);
}

/* A failed /version request (here: a reply over its bound, so the buffered
 * part is already allocated) must not leak that part: LeakSanitizer in the
 * ASan pass of the unit tests catches it. */
TEST_FIXTURE(test_ping_version_failure_frees_reply, setup, teardown)
{
  size_t big = 2u * 1024 * 1024;
  char *resp = malloc(big + 128);
  int hl;

  assert_non_null(resp);
  hl = snprintf(resp, 128,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Content-Length: %zu\r\n\r\n",
                big);
  memset(resp + hl, ' ', big);
  const struct route routes[] = {
    { "GET /_ping ", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", 0, RESPOND },
    { "GET /version ", resp, (size_t) hl + big, RESPOND },
    route_end,
  };
  struct berth_engine *e;
  berth_error_t err = NULL;

  e = serve(routes, 5000);
  must_fail(berth_engine_ping(e, &err), &err, BERTH_E_ENGINE_REPLY, EFBIG, NULL);
  berth_engine_free(e);
  free(resp);
}

/* libcurl 7.88.1 (Debian 12) reads freed memory when a reused easy handle
 * gets a folded header line right after the status line (curl #11101).
 * Under ASan that was a heap-use-after-free here; now each request has its
 * own easy handle and the reply is simply refused. */
TEST_FIXTURE(test_folded_header_after_status, setup, teardown)
{
  static const char folded[] = "HTTP/1.1 200 OK\n :\n\n";
  const struct route routes[] = {
    route_ping_143,
    { "GET /v1.43/containers/box/json ", folded, 0, RESPOND_CLOSE },
    { "GET /v1.43/containers/json", json_ok_list, 0, RESPOND },
    route_end,
  };
  struct berth_engine *e;
  berth_error_t err = NULL;
  json_t *info = NULL, *list = NULL;

  e = pinged_engine(routes, 2000);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(berth_engine_container_inspect(e, "box", &info, &err), -1);
    assert_non_null(err);
    berth_error_release(&err);
    assert_null(info);
  }
  /* the client still works afterwards */
  assert_int_equal(berth_engine_container_list(e, NULL, &list, &err), 0);
  assert_true(json_is_array(list));
  json_decref(list);
  berth_engine_free(e);
}

/* Connection reuse without a reused easy handle: ping and ten requests, one
 * connect (the benchmarked berth-shell path depends on it). */
TEST_FIXTURE(test_one_connection_for_many_requests, setup, teardown)
{
  struct berth_engine *e;
  berth_error_t err = NULL;
  json_t *list = NULL;

  start_server_one((struct route){ "GET /v1.43/containers/json", json_ok_list, 0, RESPOND });
  e = engine_up(2000);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(berth_engine_container_list(e, NULL, &list, &err), 0);
    json_decref(list);
  }
  berth_engine_free(e);
  cleanup_free char *log = read_log();
  assert_int_equal(count_connections(log), 1);
  assert_non_null(strstr(log, "GET /_ping HTTP/1.1"));
}

/* ---------------------------------------------------------------- hijack handshake */

static int
attach(const char *exec_id, bool tty, long timeout_ms, struct berth_hijack *h, berth_error_t *err)
{
  struct berth_conn *c = berth_engine_hijack_connect(sock_path, err);
  int r;
  if (c == NULL)
    return -1;
  r = berth_engine_exec_attach(c, "1.43", exec_id, tty, timeout_ms, h, err);
  if (r < 0)
    berth_conn_free(c);
  return r;
}

TEST_FIXTURE(test_attach_101_keeps_pending_bytes, setup, teardown)
{
  const char *up = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                   "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n$ prompt";
  const struct route routes[] = {
    { "POST /v1.43/exec/abc/start ", up, 0, STREAM_MORE },
    route_end,
  };
  struct berth_hijack h;
  berth_error_t err = NULL;
  char buf[64];
  size_t n = 0;

  start_server(routes);
  assert_int_equal(attach("abc", true, 2000, &h, &err), 0);
  assert_non_null(h.conn);
  assert_true(fcntl(berth_conn_pollfd(h.conn), F_GETFD) & FD_CLOEXEC);
  assert_int_equal(h.n_pending, 8);
  assert_memory_equal(h.pending, "$ prompt", 8);
  for (;;) {
    ssize_t r = berth_conn_recv_wait(h.conn, buf + n, sizeof(buf) - n, -1, &err);
    assert_true(r >= 0);
    if (r == 0)
      break;
    n += (size_t) r;
  }
  assert_int_equal(n, 4);
  assert_memory_equal(buf, "MORE", 4);
  berth_hijack_close(&h);
  assert_null(h.conn);

  cleanup_free char *log = read_log();
  assert_non_null(strstr(log, "POST /v1.43/exec/abc/start HTTP/1.1 ct=application/json "
                              "up=Upgrade/tcp body={\"Detach\":false,\"Tty\":true}"));
}

TEST_FIXTURE(test_attach_200_is_a_stream, setup, teardown)
{
  /* Podman without an upgrade, and old Docker: 200 and then the raw stream */
  const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n";
  const struct route routes[] = {
    { "POST /v1.41/exec/abc/start ", ok, 0, STREAM_MORE },
    route_end,
  };
  struct berth_hijack h;
  berth_error_t err = NULL;
  struct berth_conn *c;
  char buf[8];

  start_server(routes);
  c = berth_engine_hijack_connect(sock_path, &err);
  assert_non_null(c);
  assert_int_equal(berth_engine_exec_attach(c, "1.41", "abc", false, 2000, &h, &err), 0);
  assert_int_equal(h.n_pending, 0);
  assert_int_equal(berth_conn_recv_wait(h.conn, buf, sizeof(buf), -1, &err), 4);
  berth_hijack_close(&h);
  cleanup_free char *log = read_log();
  assert_non_null(strstr(log, "body={\"Detach\":false,\"Tty\":false}"));
}

TEST_FIXTURE(test_attach_errors, setup, teardown)
{
  char *nosuch = json_reply("404 Not Found", "{\"message\":\"No such exec instance: nope\"}");
  /* chunked error body, message split over chunks */
  const char *chunked = "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"
                        "e\r\n{\"message\":\"Co\r\n"
                        "1a\r\nntainer box is not running\r\n"
                        "3\r\n\"}\n\r\n0\r\n\r\n";
  const char *plain = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!";
  const struct route routes[] = {
    { "POST /v1.43/exec/nope/start ", nosuch, 0, RESPOND },
    { "POST /v1.43/exec/stopped/start ", chunked, 0, RESPOND },
    { "POST /v1.43/exec/plain/start ", plain, 0, RESPOND },
    { "POST /v1.43/exec/garbage/start ", "SSH-2.0-OpenSSH\r\n\r\n", 0, RESPOND },
    { "POST /v1.43/exec/silent/start ", "", 0, RESPOND_CLOSE },
    { "POST /v1.43/exec/hang/start ", NULL, 0, HANG },
    route_end,
  };
  struct berth_hijack h;
  berth_error_t err = NULL;
  int64_t t0;

  /* exec id, the error kind, its status (0: unchecked), a message part */
  static const struct {
    const char *id;
    enum berth_error_kind kind;
    int status;
    const char *msg;
  } refused[] = {
    { "nope", BERTH_E_EXEC, ENOENT, "engine said: No such exec instance: nope (HTTP 404)" },
    { "stopped", BERTH_E_EXEC, 0, "engine said: Container box is not running (HTTP 409)" },
    { "plain", BERTH_E_EXEC, 0, "HTTP 500" },
    { "garbage", BERTH_E_ENGINE_REPLY, 0, NULL },
    { "silent", BERTH_E_ENGINE_REPLY, 0, NULL },
  };

  start_server(routes);
  for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    h.conn = (struct berth_conn *) &h; /* must be cleared on failure */
    if (attach(refused[i].id, false, 2000, &h, &err) != -1)
      fail_msg("attach %s did not fail", refused[i].id);
    assert_int_equal(err->kind, refused[i].kind);
    if (refused[i].status)
      assert_int_equal(err->status, refused[i].status);
    if (refused[i].msg && strstr(err->msg, refused[i].msg) == NULL)
      fail_msg("attach %s: '%s' lacks '%s'", refused[i].id, err->msg, refused[i].msg);
    assert_null(h.conn);
    berth_error_release(&err);
  }

  t0 = berth_now_ms();
  must_fail(attach("hang", false, 300, &h, &err), &err, BERTH_E_ENGINE_TIMEOUT, 0, NULL);
  assert_true(berth_now_ms() - t0 < 2000);

  /* nothing the caller passes can inject into the request */
  assert_int_equal(attach("x y\r\nEvil: 1", false, 2000, &h, &err), -1);
  berth_error_release(&err);
  assert_int_equal(berth_engine_exec_attach(NULL, "1.43\r\nX: y", "abc", false, 100, &h, &err), -1);
  assert_int_equal(err->status, EINVAL);
  berth_error_release(&err);
  cleanup_free char *log = read_log();
  assert_non_null(strstr(log, "POST /v1.43/exec/x%20y%0D%0AEvil%3A%201/start HTTP/1.1"));
  assert_null(strstr(log, "Evil: 1"));
  free(nosuch);
}

/* An engine that listens but never accepts (hung): once its accept queue is
 * full, connect() would block forever; the hijack connect must give up. */
TEST_FIXTURE(test_hijack_connect_hung_engine, setup, teardown)
{
  berth_error_t err = NULL;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int fds[8];
  size_t n = 0;

  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hung.sock", tmpdir);
  assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof(sa)), 0);
  assert_int_equal(listen(l, 0), 0);
  /* fill the queue with nonblocking connects until one would block */
  for (; n < 8; n++) {
    fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (connect(fds[n], (struct sockaddr *) &sa, sizeof(sa)) < 0) {
      assert_int_equal(errno, EAGAIN);
      close(fds[n]);
      break;
    }
  }
  assert_true(n < 8);
  int64_t t0 = berth_now_ms();
  assert_null(berth_engine_hijack_connect_timeout(sa.sun_path, 300, &err));
  int64_t dt = berth_now_ms() - t0;
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_ENGINE_TIMEOUT);
  assert_true(dt >= 250 && dt < 5000);
  berth_error_release(&err);
  for (size_t i = 0; i < n; i++)
    close(fds[i]);
  close(l);
}

int
main(void)
{
  /* a SIGPIPE would kill the test instead of failing it */
  signal(SIGPIPE, SIG_IGN);
  return testlib_run();
}
