/* test_backend_load.c - loading the engine client plugin (backend.h,
 * lib/backend_load.c) the way berth-shell and pam_berth do, as root: the
 * built engine-docker.so loads from a directory only root can change and
 * works, its engine and the TLS side it lends conn.c (their errors reach
 * the core intact); a copy that is group- or
 * world-writable, not root's, in a directory others can write, missing,
 * not a plugin, or from another build is refused with an engine error that
 * names the file and why, and is never run.  As another user the test's
 * directory is that user's, so every copy is refused for that reason. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/backend.h"
#include "berth/engine.h"
#include "berth/log.h"
#include "../../lib/backend-internal.h"
#include "../../lib/conn-internal.h"
#include "../lib/testlib.h"

/* mkdtemp in /tmp: root's sticky directory, so a directory root makes there
 * is one only root can change */
static char dir[] = "/tmp/berth-plugin-XXXXXX";
static char plugin[sizeof(dir) + 32];
/* why everything is refused when the test does not run as root */
#define NOT_ROOTS "could be replaced by someone other than root: it is owned by uid"

static void
copy_in(const char *from, const char *name, mode_t mode)
{
  assert_int_equal(
      sh("cp '%s' '%s/%s' && chmod %o '%s/%s'", from, dir, name, (unsigned) mode, dir, name), 0);
}

/* Loading path must fail with an engine error whose message holds want. */
static void
refused(const char *path, const char *want)
{
  const struct berth_backend_plugin *p = (const void *) 1;
  berth_error_t err = NULL;

  assert_int_equal(berth_backend_load(path, &p, &err), -1);
  assert_null(p);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_ENGINE_UNREACHABLE);
  if (strstr(err->msg, want) == NULL)
    fail_msg("loading %s: '%s' lacks '%s'", path, err->msg, want);
  berth_error_release(&err);
}

TEST(root_owned_plugin_loads_and_works)
{
  const struct berth_backend_plugin *p = NULL;
  const struct berth_backend_host host
      = { .log = berth_log, .debug_enabled = berth_log_debug_enabled };
  struct berth_engine *e = NULL;
  struct berth_conn c = { .fd = -2 };
  berth_error_t err = NULL;

  if (geteuid() != 0) {
    refused(plugin, NOT_ROOTS);
    return;
  }
  must(berth_backend_load(plugin, &p, &err), &err);
  assert_string_equal(p->name, "docker");
  assert_string_equal(p->version, PACKAGE_VERSION);
  must(p->global_init(&host, &err), &err);
  /* an engine made by the plugin, its error object handed to the core */
  must(p->engine_new(&(struct berth_endpoint){ .socket = "/nonexistent/docker.sock" }, 1000, &e,
                     &err),
       &err);
  assert_int_equal(e->ops->ping(e, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_ENGINE_UNREACHABLE);
  assert_non_null(strstr(err->msg, "/nonexistent/docker.sock"));
  assert_string_equal(berth_error_reason(err), "the container service is not reachable");
  berth_error_release(&err);
  e->ops->free(e);
  /* the TLS side it lends the core's conn.c: its errors cross over too */
  assert_non_null(p->conn_tls);
  assert_int_equal(p->conn_tls->open(&(struct berth_endpoint){ .host = "127.0.0.1",
                                                               .port = 9,
                                                               .ca = "/nonexistent/ca.pem",
                                                               .cert = "/nonexistent/c.pem",
                                                               .key = "/nonexistent/k.pem" },
                                     1000, false, &c, &err),
                   -1);
  assert_int_equal(c.fd, -1);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_ENGINE_UNREACHABLE);
  if (strstr(err->msg, "cannot use engine.tls.ca") == NULL)
    fail_msg("the plugin's TLS open: '%s'", err->msg);
  berth_error_release(&err);
}

TEST(writable_plugin_refused)
{
  char path[sizeof(plugin) + 16];

  snprintf(path, sizeof(path), "%s/g.so", dir);
  copy_in(plugin, "g.so", 0664);
  refused(path, geteuid() == 0 ? "writable by group or others (mode 0664)" : NOT_ROOTS);
  snprintf(path, sizeof(path), "%s/o.so", dir);
  copy_in(plugin, "o.so", 0646);
  refused(path, geteuid() == 0 ? "writable by group or others (mode 0646)" : NOT_ROOTS);
}

TEST(plugin_not_roots_refused)
{
  char path[sizeof(plugin) + 16];

  if (geteuid() != 0)
    return; /* every file is the user's: the cases above */
  snprintf(path, sizeof(path), "%s/nobody.so", dir);
  copy_in(plugin, "nobody.so", 0755);
  assert_int_equal(sh("chown 65534 '%s'", path), 0);
  refused(path, "owned by uid 65534, not root");
}

TEST(directory_others_can_write_refused)
{
  char sub[sizeof(dir) + 8], path[sizeof(dir) + 32];

  snprintf(sub, sizeof(sub), "%s/w", dir);
  snprintf(path, sizeof(path), "%s/engine.so", sub);
  assert_int_equal(sh("mkdir -m 0777 '%s' && chmod 0777 '%s' && cp '%s' '%s' && chmod 0755 '%s'",
                      sub, sub, plugin, path, path),
                   0);
  refused(path, geteuid() == 0 ? "writable by group or others (mode 0777)" : NOT_ROOTS);
}

TEST(missing_or_not_a_plugin_refused)
{
  char path[sizeof(dir) + 32];

  snprintf(path, sizeof(path), "%s/missing.so", dir);
  refused(path, geteuid() == 0 ? "missing.so" : NOT_ROOTS);
  if (geteuid() != 0)
    return;
  snprintf(path, sizeof(path), "%s/text.so", dir);
  assert_int_equal(sh("echo 'not an ELF file' >'%s' && chmod 0644 '%s'", path, path), 0);
  refused(path, "cannot be loaded");
  /* a real shared object without the descriptor */
  snprintf(path, sizeof(path), "%s/pam.so", dir);
  copy_in(TOP_BUILDDIR "/.libs/pam_berth.so", "pam.so", 0644);
  refused(path, "has no " BERTH_BACKEND_SYMBOL);
  /* the descriptor of another build: never called */
  snprintf(path, sizeof(path), "%s/other.so", dir);
  copy_in(TOP_BUILDDIR "/tests/unit/.libs/fake_backend.so", "other.so", 0644);
  refused(path, "from another build of berth (version 0.0.0-another-build");
}

int
main(void)
{
  int rc;

  if (mkdtemp(dir) == NULL || chmod(dir, 0755) < 0) {
    perror(dir);
    return 1;
  }
  snprintf(plugin, sizeof(plugin), "%s/engine-docker.so", dir);
  if (sh("install -m 0644 '%s' '%s'", TOP_BUILDDIR "/.libs/engine-docker.so", plugin) != 0)
    return 1;
  rc = testlib_run();
  sh("rm -rf '%s'", dir);
  return rc;
}
