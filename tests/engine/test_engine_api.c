/* test_engine_api.c - the engine client against the live engine
 * (/var/run/docker.sock, or $BERTH_TEST_SOCKET: Docker or Podman's
 * Docker-compatible service; tests/engine/test_podman.sh runs it on Podman).
 *
 * Exits 77 (skip) without root or a answering engine, except under CI=true
 * where that is a failure.  Uses the image $BERTH_TEST_IMAGE (default
 * berth-test:latest), building it with tests/lib/build-image.sh when absent,
 * or, failing that, importing a private busybox image.  Every container is
 * named berth-enginetest-<pid>-* and labelled berth.test.engine=<pid>; the
 * group teardown removes them whatever happened. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/engine.h"
#include "berth/log.h"
#include "berth/util.h"
#include "../lib/testlib.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

static const char *sock = "/var/run/docker.sock";
static char image[256];
static char own_image[128]; /* set when this test imported its own image */
static char label[64];      /* berth.test.engine=<pid> */
static char label_value[32];
static struct berth_engine *E;
static bool podman; /* the engine is Podman's compat service */

/* die_skip, must: tests/lib/testlib.h */
#define must_ok must

static char *
cname(const char *suffix)
{
  char *s = NULL;
  assert_true(asprintf(&s, "berth-enginetest-%d-%s", (int) getpid(), suffix) > 0);
  return s;
}

/* ---------------------------------------------------------------- tar */

static void
tar_octal(char *field, size_t width, unsigned long long v)
{
  snprintf(field, width, "%0*llo", (int) width - 1, v);
}

/* One regular file in a ustar archive. */
static size_t
tar_one(char *out, size_t cap, const char *name, const char *data, size_t len)
{
  size_t padded = (len + 511) / 512 * 512;
  unsigned sum = 0;
  char *h = out;

  assert_true(512 + padded + 1024 <= cap);
  memset(out, 0, 512 + padded + 1024);
  snprintf(h, 100, "%s", name);
  tar_octal(h + 100, 8, 0644);
  tar_octal(h + 108, 8, 0);
  tar_octal(h + 116, 8, 0);
  tar_octal(h + 124, 12, len);
  tar_octal(h + 136, 12, 1700000000);
  memset(h + 148, ' ', 8);
  h[156] = '0';
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  for (int i = 0; i < 512; i++)
    sum += (unsigned char) h[i];
  snprintf(h + 148, 8, "%06o", sum);
  memcpy(out + 512, data, len);
  return 512 + padded + 1024;
}

/* Content of the first regular file in a tar, or NULL. */
static char *
tar_first_file(const char *tar, size_t len, char *name, size_t namesz)
{
  for (size_t off = 0; off + 512 <= len;) {
    const char *h = tar + off;
    unsigned long long size = strtoull(h + 124, NULL, 8);
    if (h[0] == '\0')
      return NULL;
    if ((h[156] == '0' || h[156] == '\0') && off + 512 + size <= len) {
      char *s = malloc(size + 1);
      assert_non_null(s);
      memcpy(s, h + 512, size);
      s[size] = '\0';
      snprintf(name, namesz, "%.100s", h);
      return s;
    }
    off += 512 + (size + 511) / 512 * 512;
  }
  return NULL;
}

/* ---------------------------------------------------------------- streams */

struct captured {
  char out[65536];
  size_t n_out;
  char err[4096];
  size_t n_err;
};

static int
capture(void *ctx, int stream, const char *data, size_t len)
{
  struct captured *c = ctx;
  if (stream == 2) {
    if (c->n_err + len > sizeof(c->err))
      return -ENOSPC;
    memcpy(c->err + c->n_err, data, len);
    c->n_err += len;
  } else {
    if (c->n_out + len > sizeof(c->out))
      return -ENOSPC;
    memcpy(c->out + c->n_out, data, len);
    c->n_out += len;
  }
  return 0;
}

/* One read on the hijacked stream within timeout_ms: bytes (> 0), 0 at the
 * end, -2 when it stayed silent, -1 with errno from the error. */
static ssize_t
hread(struct berth_hijack *h, char *buf, size_t len, int timeout_ms)
{
  berth_error_t err = NULL;
  ssize_t r = berth_conn_recv_wait(h->conn, buf, len, berth_now_ms() + timeout_ms, &err);

  if (r < 0) {
    r = err->kind == BERTH_E_ENGINE_TIMEOUT ? -2 : -1;
    errno = err->status;
    berth_error_release(&err);
  }
  return r;
}

/* Read the hijacked stream to EOF (bounded by 10 s of silence); framed
 * streams go through the demuxer, raw ones straight into out. */
static void
read_stream(struct berth_hijack *h, bool framed, struct captured *c)
{
  struct berth_demux d;
  berth_error_t err = NULL;
  char buf[4096];

  berth_demux_init(&d);
  if (h->n_pending > 0) {
    if (framed)
      must_ok(berth_demux_feed(&d, h->pending, h->n_pending, capture, c, &err), &err);
    else
      assert_int_equal(capture(c, 1, h->pending, h->n_pending), 0);
  }
  for (;;) {
    ssize_t r = hread(h, buf, sizeof(buf), 10000);
    if (r == -2)
      fail_msg("the exec stream went silent for 10 s");
    if (r < 0 && errno == EIO && !framed)
      break;
    assert_true(r >= 0);
    if (r == 0)
      break;
    if (framed)
      must_ok(berth_demux_feed(&d, buf, (size_t) r, capture, c, &err), &err);
    else
      assert_int_equal(capture(c, 1, buf, (size_t) r), 0);
  }
  if (framed)
    assert_true(berth_demux_idle(&d));
}

/* Read a raw (TTY) stream until needle has arrived, consuming h->pending
 * first, so a test can act only after the command reached a given point. */
static void
read_raw_until(struct berth_hijack *h, struct captured *c, const char *needle)
{
  char buf[4096];

  if (h->n_pending > 0) {
    assert_int_equal(capture(c, 1, h->pending, h->n_pending), 0);
    h->n_pending = 0;
  }
  for (;;) {
    c->out[c->n_out < sizeof(c->out) ? c->n_out : sizeof(c->out) - 1] = '\0';
    if (strstr(c->out, needle) != NULL)
      return;
    ssize_t r = hread(h, buf, sizeof(buf), 10000);
    if (r == -2)
      fail_msg("no '%s' within 10 s: '%s'", needle, c->out);
    assert_true(r > 0);
    assert_int_equal(capture(c, 1, buf, (size_t) r), 0);
  }
}

static void
wait_exec_done(const char *exec_id, int *code)
{
  berth_error_t err = NULL;
  bool running = true;
  long pid = 0;

  for (int i = 0; i < 100 && running; i++) {
    must_ok(berth_engine_exec_inspect(E, exec_id, &running, code, &pid, &err), &err);
    if (running)
      usleep(50 * 1000);
  }
  assert_false(running);
}

static char *
exec_create(const char *container, bool tty, json_t *cmd)
{
  berth_error_t err = NULL;
  char *id = NULL;
  json_t *spec
      = json_pack("{s:b,s:b,s:b,s:b,s:o,s:s}", "AttachStdin", 1, "AttachStdout", 1, "AttachStderr",
                  1, "Tty", tty, "Cmd", cmd, "DetachKeys", "ctrl-^,ctrl-@");
  assert_non_null(spec);
  must_ok(berth_engine_exec_create(E, container, spec, &id, &err), &err);
  json_decref(spec);
  assert_non_null(id);
  return id;
}

static void
attach(const char *exec_id, bool tty, struct berth_hijack *h)
{
  berth_error_t err = NULL;
  struct berth_conn *c = berth_engine_hijack_connect(sock, &err);
  must_ok(c ? 0 : -1, &err);
  if (berth_engine_exec_attach(c, berth_engine_api_version(E), exec_id, tty, 5000, h, &err) < 0) {
    berth_conn_free(c);
    must_ok(-1, &err);
  }
}

/* ---------------------------------------------------------------- tests */

TEST(test_ping_and_version)
{
  struct berth_engine *e = NULL;
  berth_error_t err = NULL;

  must_ok(berth_engine_new(sock, 5000, &e, &err), &err);
  must_ok(berth_engine_ping(e, &err), &err);
  assert_true(berth_engine_api_at_least(e, 1, 41));
  /* never above what berth knows */
  assert_false(berth_engine_api_at_least(e, 1, 44));
  const char *v = berth_engine_api_version(e);
  assert_true(strcmp(v, "1.41") == 0 || strcmp(v, "1.42") == 0 || strcmp(v, "1.43") == 0);
  /* the negotiated version is accepted by the engine */
  long status = 0;
  json_t *reply = NULL;
  must_ok(berth_engine_request(e, "GET", "/version", NULL, &status, &reply, &err), &err);
  assert_int_equal(status, 200);
  assert_non_null(json_string_value(json_object_get(reply, "ApiVersion")));
  json_decref(reply);
  berth_engine_free(e);
}

TEST(test_image_inspect)
{
  berth_error_t err = NULL;
  char *id = NULL;
  char absent[128];

  assert_int_equal(berth_engine_image_inspect(E, image, &id, &err), 0);
  assert_non_null(id);
  assert_int_equal(strncmp(id, "sha256:", 7), 0);
  free(id);
  snprintf(absent, sizeof(absent), "berth-enginetest-absent-%d:nope", (int) getpid());
  id = (char *) "x";
  assert_int_equal(berth_engine_image_inspect(E, absent, &id, &err), 1);
  assert_null(id);
  assert_null(err);
}

TEST(test_check_surfaces_engine_message)
{
  berth_error_t err = NULL;
  long status = 0;
  json_t *reply = NULL;
  char path[128];

  snprintf(path, sizeof(path), "/images/berth-enginetest-absent-%d/json", (int) getpid());
  must_ok(berth_engine_request(E, "GET", path, NULL, &status, &reply, &err), &err);
  assert_int_equal(status, 404);
  assert_int_equal(
      berth_engine_check(status, reply, BERTH_E_IMAGE_MISSING, "inspecting image", &err), -1);
  assert_non_null(strstr(err->msg, "inspecting image: engine said: "));
  assert_non_null(strstr(err->msg, "o such image"));
  assert_non_null(strstr(err->msg, "(HTTP 404)"));
  assert_int_equal(err->kind, BERTH_E_IMAGE_MISSING);
  berth_error_release(&err);
  json_decref(reply);
}

TEST(test_pull_nonexistent_fails_clearly)
{
  struct berth_engine *e = NULL;
  berth_error_t err = NULL;
  int64_t t0;

  /* nothing listens on port 9: the engine fails the pull at once, over
   * HTTP 500 or inside a 200 stream depending on the engine */
  must_ok(berth_engine_new(sock, 2000, &e, &err), &err);
  t0 = berth_now_ms();
  assert_int_equal(berth_engine_image_pull(e, "127.0.0.1:9/berth/nonexistent:latest", &err), -1);
  assert_true(berth_now_ms() - t0 < 25000); /* within the pull bound (10 x 2 s) plus slack */
  assert_non_null(err);
  if (err->kind != BERTH_E_PULL && err->kind != BERTH_E_ENGINE_TIMEOUT)
    fail_msg("pull failed with kind %s: %s", berth_error_kind_name(err->kind), err->msg);
  if (err->kind == BERTH_E_PULL)
    assert_non_null(strstr(err->msg, "engine said: "));
  fprintf(stderr, "# pull error: %s\n", err->msg);
  berth_error_release(&err);
  berth_engine_free(e);
}

TEST(test_container_lifecycle)
{
  berth_error_t err = NULL;
  cleanup_free char *name = cname("life");
  cleanup_free char *id = NULL;
  char *dup = NULL;
  json_t *info = NULL, *list = NULL;
  json_t *spec = json_pack("{s:s,s:[s,s,s],s:s,s:{s:s,s:s},s:{s:s}}", "Image", image, "Cmd",
                           "/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done", "User",
                           "1000:1000", "Labels", "berth.test.engine", label_value, "berth.user",
                           "enginetest", "HostConfig", "NetworkMode", "none");

  /* create, and a second create under the same name */
  must_ok(berth_engine_container_create(E, name, spec, &id, &err), &err);
  assert_true(strlen(id) >= 12);
  assert_int_equal(berth_engine_container_create(E, name, spec, &dup, &err), -1);
  assert_null(dup);
  assert_int_equal(err->status, EEXIST);
  assert_int_equal(err->kind, BERTH_E_CONTAINER);
  berth_error_release(&err);

  /* inspect by name: user and labels as created, not running */
  assert_int_equal(berth_engine_container_inspect(E, name, &info, &err), 0);
  assert_string_equal(json_string_value(json_object_get(info, "Id")), id);
  json_t *config = json_object_get(info, "Config");
  assert_string_equal(json_string_value(json_object_get(config, "User")), "1000:1000");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(config, "Labels"), "berth.user")),
      "enginetest");
  assert_false(json_is_true(json_object_get(json_object_get(info, "State"), "Running")));
  json_decref(info);

  /* list by label finds exactly it */
  must_ok(berth_engine_container_list(E, "berth.user=enginetest", &list, &err), &err);
  bool found = false;
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) found
      |= strcmp(json_string_value(json_object_get(c, "Id")), id) == 0;
  assert_true(found);
  json_decref(list);

  /* archive put before start, archive get back */
  static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                               "enginetest:x:1000:1000:engine test:/tmp:/bin/sh\n";
  char tar[4096], fname[128];
  size_t n = tar_one(tar, sizeof(tar), "etc/passwd", passwd, sizeof(passwd) - 1);
  must_ok(berth_engine_archive_put(E, id, "/", tar, n, &err), &err);
  char *got = NULL;
  size_t glen = 0;
  must_ok(berth_engine_archive_get(E, id, "/etc/passwd", 1 << 20, &got, &glen, &err), &err);
  char *content = tar_first_file(got, glen, fname, sizeof(fname));
  assert_non_null(content);
  assert_string_equal(fname, "passwd");
  assert_string_equal(content, passwd);
  free(content);
  free(got);
  assert_int_equal(berth_engine_archive_get(E, id, "/no/such/file", 1 << 20, &got, &glen, &err), 1);
  /* archive put below a file is an error with the engine's words */
  assert_int_equal(berth_engine_archive_put(E, id, "/etc/passwd", tar, n, &err), -1);
  assert_int_equal(err->kind, BERTH_E_CONTAINER);
  assert_non_null(strstr(err->msg, "engine said:"));
  /* Podman's words vary from run to run ("exists but is not a directory",
   * or "passing bulk input to subprocess: ... broken pipe" when its copier
   * dies first); Docker's are stable. */
  if (!podman)
    assert_non_null(strstr(err->msg, "not a directory"));
  berth_error_release(&err);
  if (!podman) {
    /* Docker refuses a missing target directory (404) ... */
    assert_int_equal(berth_engine_archive_put(E, id, "/no/such/dir", tar, n, &err), -1);
    assert_int_equal(err->kind, BERTH_E_CONTAINER);
    assert_int_equal(err->status, ENOENT);
    assert_non_null(strstr(err->msg, "engine said:"));
    berth_error_release(&err);
  } else {
    /* ... Podman creates it (mkdir -p) and extracts there */
    must_ok(berth_engine_archive_put(E, id, "/no/such/dir", tar, n, &err), &err);
    must_ok(berth_engine_archive_get(E, id, "/no/such/dir/etc/passwd", 1 << 20, &got, &glen, &err),
            &err);
    content = tar_first_file(got, glen, fname, sizeof(fname));
    assert_non_null(content);
    assert_string_equal(content, passwd);
    free(content);
    free(got);
  }

  /* start, start again (already running: 304) */
  must_ok(berth_engine_container_start(E, id, &err), &err);
  must_ok(berth_engine_container_start(E, id, &err), &err);
  assert_int_equal(berth_engine_container_inspect(E, id, &info, &err), 0);
  assert_true(json_is_true(json_object_get(json_object_get(info, "State"), "Running")));
  json_decref(info);

  /* ---- exec without a TTY: stdin in, EOF by half-close, stdout and stderr apart */
  {
    static const char input[] = "hello engine\n\0\001\377binary\n";
    char *exec_id = exec_create(
        id, false, json_pack("[s,s,s]", "sh", "-c", "cat; echo err >&2; id -un; exit 3"));
    struct berth_hijack h;
    struct captured *cap = calloc(1, sizeof(*cap));
    int code = -1;
    attach(exec_id, false, &h);
    must_ok(berth_conn_send_all(h.conn, input, sizeof(input) - 1, -1, &err), &err);
    must_ok(berth_conn_shutdown_write(h.conn, &err), &err);
    read_stream(&h, true, cap);
    berth_hijack_close(&h);
    char want[128];
    memcpy(want, input, sizeof(input) - 1);
    memcpy(want + sizeof(input) - 1, "enginetest\n", 11);
    assert_int_equal(cap->n_out, sizeof(input) - 1 + 11);
    assert_memory_equal(cap->out, want, cap->n_out);
    assert_int_equal(cap->n_err, 4);
    assert_memory_equal(cap->err, "err\n", 4);
    wait_exec_done(exec_id, &code);
    assert_int_equal(code, 3);
    free(cap);
    free(exec_id);
  }

  /* ---- exec with a TTY: raw stream, resize reaches the terminal; on
   * Podman the size given at the start is there from the first instant */
  {
    char *exec_id = exec_create(id, true,
                                json_pack("[s,s,s]", "sh", "-c",
                                          "echo first:$(stty size); stty -echo; read x; stty size; "
                                          "echo tty:$x; exit 0"));
    struct berth_hijack h;
    struct captured *cap = calloc(1, sizeof(*cap));
    bool running = false;
    int code = -1;
    long pid = 0;
    struct berth_conn *hc = berth_engine_hijack_connect(sock, &err);
    must_ok(hc ? 0 : -1, &err);
    if (berth_engine_exec_attach_size(hc, berth_engine_api_version(E), exec_id, true, 22, 77, 5000,
                                      &h, &err)
        < 0) {
      berth_conn_free(hc);
      must_ok(-1, &err);
    }
    for (int k = 0; k < 100 && !(running && pid > 0); k++) {
      must_ok(berth_engine_exec_inspect(E, exec_id, &running, &code, &pid, &err), &err);
      if (!(running && pid > 0))
        usleep(20 * 1000);
    }
    assert_true(running);
    assert_true(pid > 0); /* the host PID, needed to kill it on hangup */
    /* resize only once the first size has been printed: otherwise the
     * resize can win the race against the command's first stty */
    read_raw_until(&h, cap, "first:");
    read_raw_until(&h, cap, "\n");
    must_ok(berth_engine_exec_resize(E, exec_id, 33, 111, &err), &err);
    usleep(100 * 1000); /* let "stty -echo" run before the input arrives */
    must_ok(berth_conn_send_all(h.conn, "go\r", 3, -1, &err), &err);
    read_stream(&h, false, cap);
    berth_hijack_close(&h);
    cap->out[cap->n_out < sizeof(cap->out) ? cap->n_out : sizeof(cap->out) - 1] = '\0';
    if (strstr(cap->out, "33 111") == NULL || strstr(cap->out, "tty:go") == NULL)
      fail_msg("tty output: '%s'", cap->out);
    if (podman && strstr(cap->out, "first:22 77") == NULL)
      fail_msg("podman: the size given at start is not the first size: '%s'", cap->out);
    /* raw: no frame header in front, and the terminal's CRLF */
    assert_false(cap->out[0] == 1 && cap->out[1] == 0);
    assert_non_null(strstr(cap->out, "\r\n"));
    wait_exec_done(exec_id, &code);
    assert_int_equal(code, 0);
    free(cap);
    free(exec_id);
  }

  /* ---- a command that does not exist: 126/127, or a clear error */
  {
    char *exec_id = exec_create(id, false, json_pack("[s]", "/no/such/command"));
    struct berth_hijack h;
    struct captured *cap = calloc(1, sizeof(*cap));
    struct berth_conn *hc = berth_engine_hijack_connect(sock, &err);
    int code = -1;
    must_ok(hc ? 0 : -1, &err);
    if (berth_engine_exec_attach(hc, berth_engine_api_version(E), exec_id, false, 5000, &h, &err)
        == 0) {
      must_ok(berth_conn_shutdown_write(h.conn, &err), &err);
      read_stream(&h, true, cap);
      berth_hijack_close(&h);
      wait_exec_done(exec_id, &code);
      if (code != 126 && code != 127)
        fail_msg("exit code %d for a missing command", code);
      fprintf(stderr, "# missing command: exit code %d, output '%.*s'\n", code,
              (int) (cap->n_out > 200 ? 200 : cap->n_out), cap->out);
    } else {
      berth_conn_free(hc);
      fprintf(stderr, "# missing command: %s\n", err->msg);
      assert_int_equal(err->kind, BERTH_E_EXEC);
      assert_non_null(strstr(err->msg, "engine said"));
      berth_error_release(&err);
    }
    free(cap);
    free(exec_id);
  }

  /* ---- exec errors: unknown exec id, resize of an unknown exec */
  {
    struct berth_hijack h;
    struct berth_conn *hc = berth_engine_hijack_connect(sock, &err);
    must_ok(hc ? 0 : -1, &err);
    assert_int_equal(berth_engine_exec_attach(hc, berth_engine_api_version(E), "berthnosuchexec",
                                              false, 5000, &h, &err),
                     -1);
    berth_conn_free(hc);
    assert_int_equal(err->kind, BERTH_E_EXEC);
    assert_non_null(strstr(err->msg, "berthnosuchexec"));
    assert_non_null(strstr(err->msg, "(HTTP 404)"));
    berth_error_release(&err);
    assert_int_equal(berth_engine_exec_resize(E, "berthnosuchexec", 10, 10, &err), -1);
    assert_int_equal(err->kind, BERTH_E_EXEC);
    berth_error_release(&err);
    bool running;
    int code;
    long pid;
    assert_int_equal(berth_engine_exec_inspect(E, "berthnosuchexec", &running, &code, &pid, &err),
                     -1);
    berth_error_release(&err);
  }

  /* stop (twice: the second is a 304), remove, gone */
  must_ok(berth_engine_container_stop(E, id, 5, &err), &err);
  assert_int_equal(berth_engine_container_inspect(E, id, &info, &err), 0);
  assert_false(json_is_true(json_object_get(json_object_get(info, "State"), "Running")));
  json_decref(info);
  must_ok(berth_engine_container_stop(E, id, 1, &err), &err);
  /* exec into a stopped container is refused with the engine's words */
  {
    char *x = NULL;
    json_t *es = json_pack("{s:[s]}", "Cmd", "true");
    assert_int_equal(berth_engine_exec_create(E, id, es, &x, &err), -1);
    assert_int_equal(err->kind, BERTH_E_EXEC);
    assert_non_null(strstr(err->msg, "engine said:"));
    berth_error_release(&err);
    json_decref(es);
  }
  must_ok(berth_engine_container_remove(E, id, true, &err), &err);
  assert_int_equal(berth_engine_container_inspect(E, id, &info, &err), 1);
  assert_null(info);
  must_ok(berth_engine_container_remove(E, id, true, &err), &err); /* already gone */
  json_decref(spec);
}

TEST(test_create_errors)
{
  berth_error_t err = NULL;
  cleanup_free char *name = cname("noimage");
  char *id = NULL;
  char img[128];

  snprintf(img, sizeof(img), "berth-enginetest-absent-%d:nope", (int) getpid());
  json_t *spec
      = json_pack("{s:s,s:{s:s}}", "Image", img, "Labels", "berth.test.engine", label_value);
  assert_int_equal(berth_engine_container_create(E, name, spec, &id, &err), -1);
  assert_int_equal(err->kind, BERTH_E_CONTAINER);
  assert_int_equal(err->status, ENOENT);
  assert_non_null(strstr(err->msg, "engine said:"));
  berth_error_release(&err);
  json_decref(spec);
  /* start of an unknown container */
  assert_int_equal(berth_engine_container_start(E, name, &err), -1);
  assert_int_equal(err->status, ENOENT);
  berth_error_release(&err);
}

static void
network_rm(const char *name)
{
  berth_error_t err = NULL;
  char path[160];
  long status = 0;

  snprintf(path, sizeof(path), "/networks/%s", name);
  if (berth_engine_request(E, "DELETE", path, NULL, &status, NULL, &err) < 0)
    berth_error_release(&err);
}

static json_t *
network_get(const char *name)
{
  berth_error_t err = NULL;
  json_t *reply = NULL;
  char path[160];
  long status = 0;

  snprintf(path, sizeof(path), "/networks/%s", name);
  must_ok(berth_engine_request(E, "GET", path, NULL, &status, &reply, &err), &err);
  assert_int_equal(status, 200);
  return reply;
}

/* berth's own network: created when missing with the isolation option and
 * label; a second ensure and a lost create race are no-ops; an existing
 * network is read, never changed.  Docker keeps enable_icc=false; Podman
 * 4.3 creates the network but drops the option, and ensure must say so. */
TEST(test_network_ensure)
{
  berth_error_t err = NULL;
  cleanup_free char *name = cname("net");
  cleanup_free char *open_name = cname("net-open");
  json_t *body, *reply = NULL, *info;
  const char *icc;
  bool isolated = !podman;
  long status = 0;

  network_rm(name);
  network_rm(open_name);
  must_ok(berth_engine_network_ensure(E, name, &isolated, &err), &err);
  assert_true(isolated == !podman);
  info = network_get(name);
  assert_string_equal(json_string_value(json_object_get(info, "Driver")), "bridge");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(info, "Labels"), "berth.network")), "true");
  icc = json_string_value(
      json_object_get(json_object_get(info, "Options"), "com.docker.network.bridge.enable_icc"));
  if (podman)
    assert_null(icc);
  else
    assert_string_equal(icc, "false");
  json_decref(info);

  isolated = podman;
  must_ok(berth_engine_network_ensure(E, name, &isolated, &err), &err);
  assert_true(isolated == !podman);

  /* the create a concurrent login loses: 409 on both engines */
  body = json_pack("{s:s, s:s, s:b}", "Name", name, "Driver", "bridge", "CheckDuplicate", 1);
  must_ok(berth_engine_request(E, "POST", "/networks/create", body, &status, &reply, &err), &err);
  assert_int_equal(status, 409);
  json_decref(reply);
  json_decref(body);

  /* a network someone made without the option stays as it is, and reads as
   * not isolated */
  body = json_pack("{s:s, s:s}", "Name", open_name, "Driver", "bridge");
  must_ok(berth_engine_request(E, "POST", "/networks/create", body, &status, NULL, &err), &err);
  assert_true(status == 201 || status == 200);
  json_decref(body);
  isolated = true;
  must_ok(berth_engine_network_ensure(E, open_name, &isolated, &err), &err);
  assert_false(isolated);
  info = network_get(open_name);
  assert_null(json_object_get(json_object_get(info, "Labels"), "berth.network"));
  json_decref(info);

  network_rm(name);
  network_rm(open_name);
}

TEST(test_unreachable_quickly)
{
  struct berth_engine *e = NULL;
  berth_error_t err = NULL;
  int64_t t0 = berth_now_ms();
  char path[128];

  snprintf(path, sizeof(path), "/run/berth-enginetest-%d-nosuch.sock", (int) getpid());
  must_ok(berth_engine_new(path, 5000, &e, &err), &err);
  assert_int_equal(berth_engine_ping(e, &err), -1);
  assert_int_equal(err->kind, BERTH_E_ENGINE_UNREACHABLE);
  assert_non_null(strstr(err->msg, path));
  assert_string_equal(berth_error_reason(err), "the container service is not reachable");
  berth_error_release(&err);
  berth_engine_free(e);
  assert_null(berth_engine_hijack_connect(path, &err));
  assert_int_equal(err->kind, BERTH_E_ENGINE_UNREACHABLE);
  berth_error_release(&err);
  assert_true(berth_now_ms() - t0 < 1000);
}

/* berth-shell's situation: connections opened as root, then privileges
 * dropped for good.  The kept connection and the early hijack socket still
 * work; a new connection as the user is refused (EACCES). */
TEST(test_connections_survive_privilege_drop)
{
  struct stat st;
  pid_t pid;
  int status = 0;

  assert_int_equal(stat(sock, &st), 0);
  if ((st.st_mode & 0007) != 0) {
    fprintf(stderr, "# %s is world-accessible; skipping the EACCES part\n", sock);
    return;
  }
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct berth_engine *e = NULL, *e2 = NULL;
    berth_error_t err = NULL;
    struct berth_hijack h;
    struct berth_conn *c;
    if (berth_engine_new(sock, 5000, &e, &err) < 0 || berth_engine_ping(e, &err) < 0)
      _exit(10);
    berth_engine_pin_connection(e);
    c = berth_engine_hijack_connect(sock, &err);
    if (c == NULL)
      _exit(11);
    if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0
        || setresuid(65534, 65534, 65534) < 0 || setuid(0) == 0)
      _exit(12);
    /* the kept connection */
    if (berth_engine_image_inspect(e, image, NULL, &err) != 0)
      _exit(13);
    /* the early hijack socket answers (an unknown exec: the engine's 404) */
    if (berth_engine_exec_attach(c, berth_engine_api_version(e), "berthnosuchexec", false, 5000, &h,
                                 &err)
            != -1
        || err->kind != BERTH_E_EXEC || strstr(err->msg, "(HTTP 404)") == NULL)
      _exit(14);
    berth_error_release(&err);
    /* anything new is refused */
    if (berth_engine_new(sock, 5000, &e2, &err) < 0)
      _exit(15);
    if (berth_engine_ping(e2, &err) != -1 || err->kind != BERTH_E_ENGINE_UNREACHABLE
        || err->status != EACCES)
      _exit(16);
    berth_error_release(&err);
    if (berth_engine_hijack_connect(sock, &err) != NULL || err->status != EACCES)
      _exit(17);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

static bool spare_used;

static void
watch_log(void *ctx, int priority, const char *msg)
{
  (void) ctx;
  (void) priority;
  if (strstr(msg, "using a spare") != NULL)
    spare_used = true;
}

/* The child of test_podman_idle_close, as berth-shell: connect and pin as
 * root, drop to nobody, run a TTY session that idles longer than the
 * service's idle window (twice), then ask for the exit code.  The exit status
 * says which step failed. */
static int
idle_session(const char *isock, const char *id)
{
  struct berth_engine *e = NULL;
  berth_error_t err = NULL;
  struct berth_hijack h;
  char *exec_id = NULL;
  bool running = false;
  int code = -1;
  struct berth_conn *c;
  long pid = 0;
  char buf[4096];
  size_t got = 0;

  berth_log_set_sink(watch_log, NULL);
  berth_log_set_debug(true);
  if (berth_engine_new(isock, 5000, &e, &err) < 0 || berth_engine_ping(e, &err) < 0)
    return 10;
  berth_engine_pin_connection(e);
  c = berth_engine_hijack_connect(isock, &err);
  if (c == NULL)
    return 11;
  if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0
      || setresuid(65534, 65534, 65534) < 0 || setuid(0) == 0)
    return 12;
  json_t *spec = json_pack("{s:b,s:b,s:b,s:[s,s,s]}", "AttachStdout", 1, "AttachStderr", 1, "Tty",
                           1, "Cmd", "sh", "-c", "sleep 11; echo done; exit 4");
  if (berth_engine_exec_create(e, id, spec, &exec_id, &err) < 0)
    return 13;
  json_decref(spec);
  if (berth_engine_exec_attach(c, berth_engine_api_version(e), exec_id, true, 5000, &h, &err) < 0)
    return 14;
  /* > 2 x --time: the service closes the idle kept connection; a resize
   * may take the first spare */
  sleep(5);
  if (berth_engine_exec_resize(e, exec_id, 30, 100, &err) < 0) {
    fprintf(stderr, "# first resize: %s\n", err->msg);
    return 15;
  }
  if (!spare_used)
    return 16; /* the connection was never closed: nothing was shown */
  /* the first spare is closed too by now; the last one is not for a resize */
  sleep(5);
  if (berth_engine_exec_resize(e, exec_id, 31, 101, &err) != -1
      || err->kind != BERTH_E_ENGINE_UNREACHABLE)
    return 17;
  berth_error_release(&err);
  if (berth_engine_exec_inspect(e, exec_id, &running, &code, &pid, &err) < 0) {
    fprintf(stderr, "# inspect during the session: %s\n", err->msg);
    return 18;
  }
  if (!running || pid <= 0)
    return 19;
  if (h.n_pending > 0 && h.n_pending < sizeof(buf)) {
    memcpy(buf, h.pending, h.n_pending);
    got = h.n_pending;
  }
  for (;;) {
    ssize_t r = hread(&h, buf + got, sizeof(buf) - got, 10000);
    if (r == -2)
      return 20;
    if (r <= 0)
      break;
    got += (size_t) r;
    if (got == sizeof(buf))
      return 21;
  }
  berth_hijack_close(&h);
  if (memmem(buf, got, "done", 4) == NULL)
    return 22;
  for (int i = 0; i < 100; i++) {
    if (berth_engine_exec_inspect(e, exec_id, &running, &code, &pid, &err) < 0) {
      fprintf(stderr, "# inspect after the session: %s\n", err->msg);
      return 23;
    }
    if (!running)
      break;
    usleep(50 * 1000);
  }
  if (running || code != 4)
    return 24;
  free(exec_id);
  berth_engine_free(e);
  return 0;
}

/* Podman's service closes a kept connection idle for 2 x its --time (the
 * stock podman.service: 5 s, so 10 s).  berth-shell's pinned connection
 * must still give the exit code at the end of a longer session, whatever
 * resizes came before.  Runs a private service with --time=2 next to the one
 * under test. */
TEST(test_podman_idle_close)
{
  berth_error_t err = NULL;
  cleanup_free char *name = cname("idle");
  cleanup_free char *id = NULL;
  char isock[108], url[128];
  pid_t svc, child;
  int status = 0;

  if (!podman) {
    fprintf(stderr, "# not Podman: no idle close to survive\n");
    return;
  }
  json_t *spec = json_pack("{s:s,s:[s,s,s],s:{s:s},s:{s:s}}", "Image", image, "Cmd", "/bin/sh",
                           "-c", "trap 'exit 0' TERM; while :; do sleep 1; done", "Labels",
                           "berth.test.engine", label_value, "HostConfig", "NetworkMode", "none");
  must_ok(berth_engine_container_create(E, name, spec, &id, &err), &err);
  json_decref(spec);
  must_ok(berth_engine_container_start(E, id, &err), &err);

  snprintf(isock, sizeof(isock), "/run/berth-enginetest-%d-idle.sock", (int) getpid());
  snprintf(url, sizeof(url), "unix://%s", isock);
  unlink(isock);
  svc = fork();
  assert_true(svc >= 0);
  if (svc == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    execlp("podman", "podman", "system", "service", "--time=2", url, (char *) NULL);
    _exit(127);
  }
  /* the service exits 2 s after its last connection: connect at once */
  for (int i = 0; i < 200 && access(isock, F_OK) != 0; i++)
    usleep(50 * 1000);
  child = access(isock, F_OK) == 0 ? fork() : -2;
  if (child == 0)
    _exit(idle_session(isock, id));
  if (child > 0)
    assert_int_equal(waitpid(child, &status, 0), child);
  kill(svc, SIGTERM);
  waitpid(svc, NULL, 0);
  unlink(isock);
  if (child == -2)
    fail_msg("podman system service did not come up at %s", isock);
  assert_true(child > 0);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) != 0)
    fail_msg("idle session failed at step %d", WEXITSTATUS(status));
  must_ok(berth_engine_container_remove(E, id, true, &err), &err);
}

TEST(test_proxy_variables_do_not_matter)
{
  struct berth_engine *e = NULL;
  berth_error_t err = NULL;
  char *id = NULL;

  /* main() already set them for the whole run; check they are there */
  assert_string_equal(getenv("http_proxy"), "http://127.0.0.1:9");
  assert_string_equal(getenv("ALL_PROXY"), "http://127.0.0.1:9");
  must_ok(berth_engine_new(sock, 5000, &e, &err), &err);
  must_ok(berth_engine_ping(e, &err), &err);
  assert_int_equal(berth_engine_image_inspect(e, image, &id, &err), 0);
  free(id);
  berth_engine_free(e);
}

/* ---------------------------------------------------------------- setup */

static void
remove_test_containers(void)
{
  berth_error_t err = NULL;
  json_t *list = NULL, *c;
  size_t i;

  if (berth_engine_container_list(E, label, &list, &err) < 0) {
    fprintf(stderr, "# cleanup: %s\n", err->msg);
    berth_error_release(&err);
    return;
  }
  json_array_foreach(list, i, c)
  {
    const char *id = json_string_value(json_object_get(c, "Id"));
    if (id && berth_engine_container_remove(E, id, true, &err) < 0) {
      fprintf(stderr, "# cleanup: %s\n", err->msg);
      berth_error_release(&err);
    }
  }
  json_decref(list);
}

static int
group_teardown(void **state)
{
  remove_test_containers();
  if (own_image[0] != '\0') {
    cleanup_free char *q = berth_engine_escape(own_image, NULL);
    char path[256];
    long status = 0;
    berth_error_t err = NULL;
    snprintf(path, sizeof(path), "/images/%s?force=1", q ? q : "");
    if (berth_engine_request(E, "DELETE", path, NULL, &status, NULL, &err) < 0)
      berth_error_release(&err);
  }
  return 0;
}

static bool
have_image(const char *name)
{
  berth_error_t err = NULL;
  int r = berth_engine_image_inspect(E, name, NULL, &err);
  if (r < 0) {
    fprintf(stderr, "# image inspect %s: %s\n", name, err->msg);
    berth_error_release(&err);
  }
  return r == 0;
}

/* Podman's /version lists a "Podman Engine" component; Docker's does not. */
static bool
engine_is_podman(void)
{
  berth_error_t err = NULL;
  json_t *reply = NULL, *c;
  long status = 0;
  size_t i;
  bool found = false;

  if (berth_engine_request(E, "GET", "/version", NULL, &status, &reply, &err) < 0) {
    berth_error_release(&err);
    return false;
  }
  json_array_foreach(json_object_get(reply, "Components"), i, c)
  {
    const char *n = json_string_value(json_object_get(c, "Name"));
    found |= n != NULL && strstr(n, "Podman") != NULL;
  }
  json_decref(reply);
  return found;
}

static void
prepare_image(void)
{
  const char *env = getenv("BERTH_TEST_IMAGE");
  const char *top = getenv("top_srcdir");
  char cmd[1024];

  /* Podman resolves the short name berth-test:latest to
   * localhost/berth-test:latest, which is what `podman load` and
   * `podman import` name it. */
  snprintf(image, sizeof(image), "%s", env && *env ? env : "berth-test:latest");
  if (have_image(image))
    return;
  snprintf(cmd, sizeof(cmd), "%s/tests/lib/build-image.sh", top && *top ? top : TOP_SRCDIR);
  /* build-image.sh builds into Docker */
  if (!podman && access(cmd, R_OK) == 0) {
    char run[1400];
    snprintf(run, sizeof(run), "bash '%s' '%s' >/dev/null", cmd, image);
    if (system(run) == 0 && have_image(image))
      return;
    fprintf(stderr, "# %s did not produce %s; importing a private image\n", cmd, image);
  }
  snprintf(own_image, sizeof(own_image), "berth-enginetest-%d:latest", (int) getpid());
  snprintf(cmd, sizeof(cmd),
           "set -e; d=$(mktemp -d); trap 'rm -rf \"$d\"' EXIT; mkdir -p \"$d/bin\" \"$d/etc\" "
           "\"$d/tmp\"; "
           "cp /bin/busybox \"$d/bin/busybox\"; "
           "for a in $(/bin/busybox --list); do [ -e \"$d/bin/$a\" ] || ln -s busybox "
           "\"$d/bin/$a\"; done; "
           "echo 'root:x:0:0:root:/root:/bin/sh' >\"$d/etc/passwd\"; echo 'root:x:0:' "
           ">\"$d/etc/group\"; "
           "tar --numeric-owner -C \"$d\" -cf - . | %s import -c 'ENV PATH=/bin' - '%s' >/dev/null",
           podman ? "podman" : "docker", own_image);
  if (system(cmd) != 0 || !have_image(own_image))
    die_skip("no test image: tests/lib/build-image.sh and docker/podman import both failed");
  snprintf(image, sizeof(image), "%s", own_image);
}

TEST_GROUP(NULL, group_teardown);

int
main(void)
{
  const char *s = getenv("BERTH_TEST_SOCKET");
  static const char *proxies[]
      = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy" };
  int rc;

  if (s == NULL || *s == '\0')
    s = getenv("BERTH_TEST_ENGINE_SOCKET"); /* the older name */
  if (s && *s)
    sock = s;
  E = test_engine_or_skip(sock, 5000);
  podman = engine_is_podman();
  snprintf(label_value, sizeof(label_value), "%d", (int) getpid());
  snprintf(label, sizeof(label), "berth.test.engine=%s", label_value);
  prepare_image();
  fprintf(stderr, "# engine %s at %s, api %s, image %s\n", podman ? "podman" : "docker", sock,
          berth_engine_api_version(E), image);

  /* Everything below runs with proxy variables pointing at a dead port: the
   * client must not care. */
  for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
    setenv(proxies[i], "http://127.0.0.1:9", 1);
  setenv("NO_PROXY", "", 1);

  rc = testlib_run();
  berth_engine_free(E);
  return rc == 0 ? 0 : 1;
}
