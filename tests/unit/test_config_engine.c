/* test_config_engine.c - berth.conf's engine section: socket, host
 * (unix:// and tcp://), tls, and the rules between them (config_engine.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/config.h"
#include "berth/error.h"
#include "conf_fixture.h"
#include "../lib/testlib.h"

static char ca[256], cert[256], key[256];

/* root-owned PEM stand-ins: the loader checks paths, owners and modes, the
 * contents are the transport's business */
static int
setup(void **state)
{
  char *p;

  if (conf_fixture_setup(state) != 0)
    return -1;
  p = write_conf_mode("ca.pem", "ca\n", 0644);
  snprintf(ca, sizeof(ca), "%s", p);
  free(p);
  p = write_conf_mode("cert.pem", "cert\n", 0644);
  snprintf(cert, sizeof(cert), "%s", p);
  free(p);
  p = write_conf_mode("key.pem", "key\n", 0600);
  snprintf(key, sizeof(key), "%s", p);
  free(p);
  return 0;
}

static char *
tls_conf(const char *host, const char *extra)
{
  return xasprintf("engine = { host = \"%s\";\n"
                   "  tls = { ca = \"%s\"; cert = \"%s\"; key = \"%s\"; }; %s};\n",
                   host, ca, cert, key, extra);
}

TEST(test_unix)
{
  struct berth_config *cfg;

  cfg = load_ok("image = \"x\";\n");
  assert_string_equal(cfg->engine.socket, "/var/run/docker.sock");
  assert_true(berth_config_engine_local(cfg));
  assert_string_equal(berth_config_engine_name(cfg), "/var/run/docker.sock");
  berth_config_free(cfg);
  cfg = load_ok("engine = { host = \"unix:///run/podman/podman.sock\"; };\n");
  assert_string_equal(cfg->engine.socket, "/run/podman/podman.sock");
  assert_null(cfg->engine.tcp_host);
  assert_true(berth_config_engine_local(cfg));
  berth_config_free(cfg);
}

TEST(test_tcp)
{
  struct berth_config *cfg;
  char *t = tls_conf("tcp://engine1.example:2376", "");

  cfg = load_ok(t);
  free(t);
  assert_null(cfg->engine.socket);
  assert_string_equal(cfg->engine.tcp_host, "engine1.example");
  assert_int_equal(cfg->engine.tcp_port, 2376);
  assert_string_equal(cfg->engine.tls.key, key);
  assert_false(berth_config_engine_local(cfg));
  assert_string_equal(berth_config_engine_name(cfg), "tcp://engine1.example:2376");
  /* join needs the container's processes here: a remote engine uses exec
   * (entry = "join" is refused by this version's loader until join lands;
   * then add it to tls_conf and this still holds) */
  assert_int_equal(cfg->entry, BERTH_ENTRY_EXEC);
  berth_config_free(cfg);

  t = tls_conf("tcp://[fd00::7]:443", "timeout_ms = 2000; ");
  cfg = load_ok(t);
  free(t);
  assert_string_equal(cfg->engine.tcp_host, "fd00::7");
  assert_int_equal(cfg->engine.tcp_port, 443);
  assert_int_equal(cfg->engine.timeout_ms, 2000);
  berth_config_free(cfg);
}

static void
expect_refused(const char *text, const char *key_name, const char *problem)
{
  char *path = write_conf(text);
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;
  char prefix[512];

  if (berth_config_load(path, &cfg, &err) == 0)
    fail_msg("should be refused:\n%s", text);
  assert_int_equal(err->kind, BERTH_E_CONFIG);
  snprintf(prefix, sizeof(prefix), "%s:", path);
  if (strncmp(err->msg, prefix, strlen(prefix)) != 0 || strstr(err->msg, key_name) == NULL
      || strstr(err->msg, problem) == NULL)
    fail_msg("expected \"%s<line>: %s: ...%s\", got \"%s\"", prefix, key_name, problem, err->msg);
  berth_error_release(&err);
  free(path);
}

/* expect_refused for the text made from fmt */
static void expect_refused_fmt(const char *key_name, const char *problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
expect_refused_fmt(const char *key_name, const char *problem, const char *fmt, ...)
{
  va_list ap;
  char *t;

  va_start(ap, fmt);
  t = xvasprintf(fmt, ap);
  va_end(ap);
  expect_refused(t, key_name, problem);
  free(t);
}

TEST(test_refused)
{
  char *t;

  expect_refused("engine = { host = \"tcp://10.0.0.1:2375\"; };\n", ":1: engine.host",
                 "plain TCP to an engine is refused");
  expect_refused("engine = { socket = \"/run/d.sock\";\n host = \"unix:///run/e.sock\"; };\n",
                 ":2: engine.host", "engine.socket is set too (line 1)");
  expect_refused("engine = { host = \"http://e:2376\"; };\n", "engine.host",
                 "neither unix:///PATH nor tcp://HOST:PORT");
  expect_refused("engine = { host = \"unix://run/d.sock\"; };\n", "engine.host",
                 "not an absolute path");
  expect_refused("engine = { host = \"tcp://e\"; };\n", "engine.host", "not tcp://HOST:PORT");
  expect_refused("engine = { host = \"tcp://e:0\"; };\n", "engine.host", "port from 1 to 65535");
  expect_refused("engine = { host = \"tcp://e:99999\"; };\n", "engine.host", "port from 1");
  expect_refused("engine = { host = \"tcp://e:23x\"; };\n", "engine.host", "port from 1");
  expect_refused("engine = { host = \"tcp://:2376\"; };\n", "engine.host", "has no host");
  expect_refused("engine = { host = \"tcp://fd00::7:2376\"; };\n", "engine.host", "HOST:PORT");
  expect_refused("engine = { host = \"tcp://e/x:2376\"; };\n", "engine.host", "the host may");
  expect_refused("engine = {\n tls = { ca = \"/a\"; }; };\n", ":2: engine.tls.ca",
                 "cannot use \"/a\"");
  t = tls_conf("unix:///run/d.sock", "");
  expect_refused(t, "engine.tls", "for a tcp:// engine.host only");
  free(t);
}

TEST(test_tls_files)
{
  char *p;

  expect_refused_fmt(":2: engine.tls", "needs all of ca, cert and key",
                     "engine = { host = \"tcp://e:2376\";\n"
                     "  tls = { ca = \"%s\"; cert = \"%s\"; }; };\n",
                     ca, cert);
  expect_refused_fmt("engine.tls.ca", "not an absolute path",
                     "engine = { host = \"tcp://e:2376\";\n  tls = { ca = \"ca.pem\"; }; };\n");
  expect_refused_fmt(
      "engine.tls.colour", "unknown key",
      "engine = { tls = { ca = \"%s\"; cert = \"%s\"; key = \"%s\"; colour = 1; }; };\n", ca, cert,
      key);

  /* a key others can read, a certificate someone else owns or may write */
  p = write_conf_mode("key-0640.pem", "key\n", 0640);
  expect_refused_fmt(":3: engine.tls.key", "readable by root alone",
                     "engine = { host = \"tcp://e:2376\";\n  tls = { ca = \"%s\"; cert = "
                     "\"%s\";\n key = \"%s\"; }; };\n",
                     ca, cert, p);
  free(p);
  p = write_conf_mode("cert-0664.pem", "cert\n", 0664);
  expect_refused_fmt(":2: engine.tls.cert", "not writable by group or others",
                     "engine = { host = \"tcp://e:2376\";\n  tls = { ca = \"%s\"; cert = \"%s\"; "
                     "key = \"%s\"; }; };\n",
                     ca, p, key);
  if (geteuid() == 0) {
    assert_int_equal(chown(p, 65534, 0), 0);
    assert_int_equal(chmod(p, 0644), 0);
    expect_refused_fmt("engine.tls.cert", "owner uid 65534",
                       "engine = { host = \"tcp://e:2376\";\n  tls = { ca = \"%s\"; cert = "
                       "\"%s\"; key = \"%s\"; }; };\n",
                       ca, p, key);
  }
  free(p);
}

TEST_GROUP(setup, conf_fixture_teardown);
