/* test_config.c - berth.conf: defaults, the shipped file, every key, the
 * FILE:LINE: KEY errors of bad input, and override order (policy: test_policy.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
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
#include "berth/user.h"
#include "berth/util.h"
#include "../../lib/config-internal.h"
#include "conf_fixture.h"
#include "../lib/testlib.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

/* The error must read "PATH:LINE: KEY: ..." (key NULL: "PATH:LINE: ...")
 * and mention `problem`. */
static void
expect_error_at(const char *path, const char *text, int line, const char *key, const char *problem)
{
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;
  char prefix[512];

  if (berth_config_load(path, &cfg, &err) == 0) {
    berth_config_free(cfg);
    fail_msg("config should be rejected but loaded:\n%s", text);
  }
  assert_null(cfg);
  assert_non_null(err);
  if (err->kind != BERTH_E_CONFIG)
    fail_msg("error kind %d, not BERTH_E_CONFIG: %s", err->kind, err->msg);
  if (key)
    snprintf(prefix, sizeof(prefix), "%s:%d: %s: ", path, line, key);
  else
    snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
  if (strncmp(err->msg, prefix, strlen(prefix)) != 0 || strstr(err->msg, problem) == NULL)
    fail_msg("expected \"%s...%s\"\n          got \"%s\"\n--- config ---\n%s", prefix, problem,
             err->msg, text);
  berth_error_release(&err);
}

static void
expect_error(const char *text, int line, const char *key, const char *problem)
{
  char *path = write_conf(text);
  expect_error_at(path, text, line, key, problem);
  free(path);
}

/* Loading `path` fails with a config error whose message mentions `what`
 * and, unless NULL, `also`. */
static void
expect_refused(const char *path, const char *what, const char *also)
{
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;

  assert_int_equal(berth_config_load(path, &cfg, &err), -1);
  assert_int_equal(err->kind, BERTH_E_CONFIG);
  if (strstr(err->msg, what) == NULL || (also && strstr(err->msg, also) == NULL))
    fail_msg("%s: \"%s\" does not mention \"%s\"%s%s", path, err->msg, what, also ? " and " : "",
             also ? also : "");
  berth_error_release(&err);
}

struct bad {
  const char *text;
  int line;
  const char *key;
  const char *problem;
};

static void
expect_errors(const struct bad *cases, size_t n)
{
  for (size_t i = 0; i < n; i++)
    expect_error(cases[i].text, cases[i].line, cases[i].key, cases[i].problem);
}

#define EXPECT_ERRORS(cases) expect_errors(cases, sizeof(cases) / sizeof(cases[0]))

static size_t
strv_len(char **v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

static void
assert_strv(char **v, ...)
{
  va_list ap;
  const char *s;
  size_t i = 0;

  va_start(ap, v);
  while ((s = va_arg(ap, const char *)) != NULL) {
    if (v == NULL || v[i] == NULL)
      fail_msg("list too short: missing \"%s\" at %zu", s, i);
    assert_string_equal(v[i], s);
    i++;
  }
  va_end(ap);
  assert_int_equal(strv_len(v), i);
}

/* m is a mount of source on target, read-only or not. */
static void
assert_mount(const struct berth_mount *m, const char *source, const char *target, bool readonly)
{
  assert_string_equal(m->source, source);
  assert_string_equal(m->target, target);
  assert_int_equal(m->readonly, readonly);
}

/* Users are filled by hand: groups[] holds every group, primary first, as
 * berth_user_lookup() does. */
static struct berth_user *
make_user(const char *name, uid_t uid, const char *group, ...)
{
  struct berth_user *u = calloc(1, sizeof(*u));
  va_list ap;
  const char *g;

  assert_non_null(u);
  u->name = strdup(name);
  u->uid = uid;
  u->gid = uid;
  u->home = NULL;
  assert_true(asprintf(&u->home, "/home/%s", name) > 0);
  u->shell = strdup("/bin/bash");
  u->group = strdup(group);
  u->groups = calloc(16, sizeof(*u->groups));
  u->groups[0].gid = uid;
  u->groups[0].name = strdup(group);
  u->n_groups = 1;
  va_start(ap, group);
  while ((g = va_arg(ap, const char *)) != NULL && u->n_groups < 16) {
    u->groups[u->n_groups].gid = (gid_t) (5000 + u->n_groups);
    u->groups[u->n_groups].name = strdup(g);
    u->n_groups++;
  }
  va_end(ap);
  return u;
}

/* ------------------------------------------------------------------ defaults */

static void
assert_defaults(const struct berth_config *cfg)
{
  const struct berth_container_conf *c = &cfg->container;

  assert_string_equal(cfg->engine.socket, "/var/run/docker.sock");
  assert_int_equal(cfg->engine.timeout_ms, 10000);
  assert_int_equal(cfg->entry, BERTH_ENTRY_EXEC);
  assert_false(cfg->debug);
  assert_true(cfg->home.mount);
  assert_true(cfg->home.create);
  assert_string_equal(cfg->home.skel, "/etc/skel");
  assert_int_equal(cfg->home.mode, 0700);
  assert_string_equal(cfg->shell.fallback, "/bin/sh");
  assert_string_equal(cfg->shell.host, "/bin/bash");
  assert_string_equal(c->image, "debian:bookworm");
  assert_int_equal(c->pull, BERTH_PULL_MISSING);
  assert_string_equal(c->name, "berth-%u");
  assert_string_equal(c->hostname, "%u-box");
  assert_non_null(c->keeper);
  assert_int_equal(strv_len(c->keeper), 0);
  assert_int_equal(c->memory, 0);
  assert_true(c->cpus == 0.0);
  assert_int_equal(c->pids, BERTH_DEFAULT_PIDS);
  assert_int_equal(c->pids, 512);
  assert_string_equal(c->network, "berth");
  assert_false(c->readonly_rootfs);
  assert_int_equal(strv_len(c->tmpfs), 0);
  assert_true(c->no_new_privileges);
  assert_int_equal(c->n_mounts, 0);
  assert_int_equal(strv_len(c->env), 0);
  assert_int_equal(c->on_logout, BERTH_LOGOUT_KEEP);
  assert_int_equal(c->idle_timeout, 3600);
  assert_int_equal(strv_len(cfg->policy.only_groups), 0);
  assert_strv(cfg->policy.exclude_users, "root", NULL);
  assert_int_equal(strv_len(cfg->policy.exclude_groups), 0);
  assert_int_equal(cfg->n_groups, 0);
  assert_int_equal(cfg->n_users, 0);
}

TEST(test_defaults)
{
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;

  assert_int_equal(berth_config_defaults(&cfg, &err), 0);
  assert_defaults(cfg);
  berth_config_free(cfg);

  /* An empty file (comments only) is the defaults. */
  cfg = load_ok("# nothing here\n");
  assert_defaults(cfg);
  berth_config_free(cfg);
}

TEST(test_names)
{
  assert_string_equal(berth_pull_name(BERTH_PULL_NEVER), "never");
  assert_string_equal(berth_pull_name(BERTH_PULL_MISSING), "missing");
  assert_string_equal(berth_pull_name(BERTH_PULL_ALWAYS), "always");
  assert_string_equal(berth_on_logout_name(BERTH_LOGOUT_KEEP), "keep");
  assert_string_equal(berth_on_logout_name(BERTH_LOGOUT_STOP), "stop");
  assert_string_equal(berth_on_logout_name(BERTH_LOGOUT_REMOVE), "remove");
}

/* The shipped etc/berth.conf loads and documents exactly the defaults. */
TEST(test_shipped_conf)
{
  const char *top = getenv("top_srcdir");
  char *src = NULL, *text = NULL, *path;
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;
  size_t len;

  assert_true(asprintf(&src, "%s/etc/berth.conf", top && *top ? top : TOP_SRCDIR) > 0);
  if (berth_read_file(src, 1 << 20, &text, &len, &err) < 0)
    fail_msg("%s", err->msg);
  /* A copy with the installed mode: a checkout under umask 002 would be
   * group-writable, which the loader rightly refuses. */
  path = write_conf_mode("shipped.conf", text, 0644);
  if (berth_config_load(path, &cfg, &err) < 0)
    fail_msg("shipped berth.conf does not load: %s", err->msg);
  assert_defaults(cfg);
  berth_config_free(cfg);
  free(path);
  free(text);
  free(src);
}

/* ------------------------------------------------------------------ every key */

static const char full_conf[]
    = "debug = true;\n" /* 1 */
      "engine = { socket = \"/run/podman/podman.sock\"; timeout_ms = 2500; };\n"
      "image = \"corp/base:1\";\n"
      "pull = \"always\";\n"
      "entry = \"exec\";\n" /* 5 */
      "home = { mount = false; create = false; skel = \"\"; mode = 0750; };\n"
      "shell = { fallback = \"/bin/ash\"; host = \"/bin/zsh\"; };\n"
      "container = {\n"
      "  name = \"box-%U\";\n"
      "  hostname = \"%u.%g\";\n" /* 10 */
      "  keeper = [ \"/bin/sleep\", \"infinity\" ];\n"
      "  memory = \"2g\";\n"
      "  cpus = 1.5;\n"
      "  pids = 512;\n"
      "  network = \"none\";\n" /* 15 */
      "  readonly_rootfs = true;\n"
      "  tmpfs = [ \"/tmp:size=512m\", \"/run:size=8m\" ];\n"
      "  no_new_privileges = false;\n"
      "  mounts = ( { source = \"/srv/data\"; target = \"/data\"; readonly = true; },\n"
      "             { source = \"/scratch/%u\"; target = \"%h/scratch\"; } );\n" /* 20 */
      "  env = [ \"TZ=UTC\", \"PATH=/opt/bin:/usr/bin:/bin\", \"EMPTY=\" ];\n"
      "  on_logout = \"remove\";\n"
      "  idle_timeout = 0;\n"
      "};\n"
      "policy = {\n" /* 25 */
      "  only_groups = [ \"berth-users\", \"students\" ];\n"
      "  exclude_users = [ \"root\", \"backup\" ];\n"
      "  exclude_groups = [ \"admins\" ];\n"
      "};\n"
      "groups = (\n" /* 30 */
      "  { group = \"gpu\"; image = \"corp/cuda:12\"; pull = \"never\"; memory = 17179869184L;\n"
      "    cpus = 8; pids = 4096; network = \"bridge\"; readonly_rootfs = false;\n"
      "    tmpfs = []; keeper = []; on_logout = \"keep\"; idle_timeout = 60;\n"
      "    mounts = ( { source = \"/srv/models\"; target = \"/models\"; readonly = true; } );\n"
      "    env = [ \"CUDA=1\" ]; },\n" /* 35 */
      "  { group = \"students\"; memory = 1073741824; }\n"
      ");\n"
      "users = ( { user = \"alice\"; pids = 2048; } );\n";

TEST(test_full)
{
  struct berth_config *cfg = load_ok(full_conf);
  const struct berth_container_conf *c = &cfg->container;
  const struct berth_override *g;

  assert_true(cfg->debug);
  assert_string_equal(cfg->engine.socket, "/run/podman/podman.sock");
  assert_int_equal(cfg->engine.timeout_ms, 2500);
  assert_int_equal(cfg->entry, BERTH_ENTRY_EXEC);
  assert_false(cfg->home.mount);
  assert_false(cfg->home.create);
  assert_string_equal(cfg->home.skel, "");
  assert_int_equal(cfg->home.mode, 0750);
  assert_string_equal(cfg->shell.fallback, "/bin/ash");
  assert_string_equal(cfg->shell.host, "/bin/zsh");

  assert_string_equal(c->image, "corp/base:1");
  assert_int_equal(c->pull, BERTH_PULL_ALWAYS);
  assert_string_equal(c->name, "box-%U");
  assert_string_equal(c->hostname, "%u.%g");
  assert_strv(c->keeper, "/bin/sleep", "infinity", NULL);
  assert_int_equal(c->memory, 2LL * 1024 * 1024 * 1024);
  assert_true(c->cpus == 1.5);
  assert_int_equal(c->pids, 512);
  assert_string_equal(c->network, "none");
  assert_true(c->readonly_rootfs);
  assert_strv(c->tmpfs, "/tmp:size=512m", "/run:size=8m", NULL);
  assert_false(c->no_new_privileges);
  assert_int_equal(c->n_mounts, 2);
  assert_mount(&c->mounts[0], "/srv/data", "/data", true);
  assert_mount(&c->mounts[1], "/scratch/%u", "%h/scratch", false);
  assert_strv(c->env, "TZ=UTC", "PATH=/opt/bin:/usr/bin:/bin", "EMPTY=", NULL);
  assert_int_equal(c->on_logout, BERTH_LOGOUT_REMOVE);
  assert_int_equal(c->idle_timeout, 0);

  assert_strv(cfg->policy.only_groups, "berth-users", "students", NULL);
  assert_strv(cfg->policy.exclude_users, "root", "backup", NULL);
  assert_strv(cfg->policy.exclude_groups, "admins", NULL);

  assert_int_equal(cfg->n_groups, 2);
  g = &cfg->groups[0];
  assert_string_equal(g->match, "gpu");
  assert_int_equal(g->line, 31);
  assert_true(g->has_image && g->has_pull && g->has_memory && g->has_cpus && g->has_pids
              && g->has_network && g->has_readonly_rootfs && g->has_tmpfs && g->has_keeper
              && g->has_on_logout && g->has_idle_timeout && g->has_mounts && g->has_env);
  assert_string_equal(g->c.image, "corp/cuda:12");
  assert_int_equal(g->c.pull, BERTH_PULL_NEVER);
  assert_int_equal(g->c.memory, 16LL * 1024 * 1024 * 1024);
  assert_true(g->c.cpus == 8.0);
  assert_int_equal(g->c.pids, 4096);
  assert_string_equal(g->c.network, "bridge");
  assert_false(g->c.readonly_rootfs);
  assert_int_equal(strv_len(g->c.tmpfs), 0);
  assert_int_equal(strv_len(g->c.keeper), 0);
  assert_int_equal(g->c.on_logout, BERTH_LOGOUT_KEEP);
  assert_int_equal(g->c.idle_timeout, 60);
  assert_int_equal(g->c.n_mounts, 1);
  assert_string_equal(g->c.mounts[0].target, "/models");
  assert_strv(g->c.env, "CUDA=1", NULL);

  g = &cfg->groups[1];
  assert_string_equal(g->match, "students");
  assert_int_equal(g->line, 36);
  assert_true(g->has_memory);
  assert_int_equal(g->c.memory, 1073741824);
  assert_false(g->has_image || g->has_pull || g->has_cpus || g->has_pids || g->has_network
               || g->has_readonly_rootfs || g->has_tmpfs || g->has_keeper || g->has_on_logout
               || g->has_idle_timeout || g->has_mounts || g->has_env);

  assert_int_equal(cfg->n_users, 1);
  assert_string_equal(cfg->users[0].match, "alice");
  assert_int_equal(cfg->users[0].line, 38);
  assert_true(cfg->users[0].has_pids);
  assert_false(cfg->users[0].has_memory);
  assert_int_equal(cfg->users[0].c.pids, 2048);
  berth_config_free(cfg);
}

/* Alternative spellings admins use. */
TEST(test_value_forms)
{
  struct berth_config *cfg;

  cfg = load_ok(
      "container = { memory = 268435456; cpus = 2; tmpfs = ( \"/tmp:size=1m\" ); mounts = []; };\n"
      "home = { mode = \"0755\"; };\ngroups = [];\nusers = ();\n");
  assert_int_equal(cfg->container.memory, 256LL * 1024 * 1024);
  assert_true(cfg->container.cpus == 2.0);
  assert_strv(cfg->container.tmpfs, "/tmp:size=1m", NULL);
  assert_int_equal(cfg->container.n_mounts, 0);
  assert_int_equal(cfg->home.mode, 0755);
  berth_config_free(cfg);

  cfg = load_ok("container = { memory = \"512M\"; };\nhome = { mode = 0x1C0; };\n");
  assert_int_equal(cfg->container.memory, 512LL * 1024 * 1024);
  assert_int_equal(cfg->home.mode, 0700);
  berth_config_free(cfg);

  cfg = load_ok("container = { memory = \"0\"; };\nhome = { mode = 2750; };\n");
  assert_int_equal(cfg->container.memory, 0);
  assert_int_equal(cfg->home.mode, 02750);
  berth_config_free(cfg);

  /* tmpfs sizes up to three quarters of the memory limit; none without one */
  cfg = load_ok("container = { memory = \"96m\"; tmpfs = [ \"/tmp:mode=1777,size=48m\", "
                "\"/run:size=24m\" ]; };\n");
  berth_config_free(cfg);
  cfg = load_ok("container = { tmpfs = [ \"/tmp\" ]; };\n");
  berth_config_free(cfg);

  /* exclude_users = [] cannot un-exclude root: uid 0 always is. */
  cfg = load_ok("policy = { exclude_users = []; };\n");
  assert_int_equal(strv_len(cfg->policy.exclude_users), 0);
  berth_config_free(cfg);
}

/* ------------------------------------------------------------------ bad input */

TEST(test_unknown_keys)
{
  static const struct bad cases[] = {
    { "image = \"x\";\nbogus = 1;\n", 2, "bogus", "unknown key" },
    { "memory = \"2g\";\n", 1, "memory", "did you mean container.memory" },
    { "engine = {\n  socket = \"/s\";\n  tiemout_ms = 5;\n};\n", 3, "engine.tiemout_ms",
      "unknown key" },
    { "home = { mount = true; perms = 1; };\n", 1, "home.perms", "unknown key" },
    { "shell = { login = \"/bin/sh\"; };\n", 1, "shell.login", "unknown key" },
    { "policy = {\n exclude_user = [\"bob\"];\n};\n", 2, "policy.exclude_user", "unknown key" },
    { "container = {\n  memory = \"1g\";\n  swap = \"1g\";\n};\n", 3, "container.swap",
      "unknown key" },
    { "container = { image = \"x\"; };\n", 1, "container.image", "top-level setting" },
    { "container = {\n  mounts = ( { source = \"/a\"; target = \"/b\";\n    mode = \"ro\"; } "
      ");\n};\n",
      3, "container.mounts[0].mode", "unknown key" },
    { "groups = (\n  { group = \"gpu\"; memory = \"1g\"; },\n  { group = \"ops\";\n    colour = "
      "\"red\"; }\n);\n",
      4, "groups[1].colour", "unknown key" },
    { "users = ( { user = \"alice\"; group = \"gpu\"; } );\n", 1, "users[0].group", "unknown key" },
    { "users = ( { user = \"alice\";\n  name = \"x-%u\"; } );\n", 2, "users[0].name",
      "cannot be overridden" },
    { "groups = ( { group = \"g\";\n  no_new_privileges = false; } );\n", 2,
      "groups[0].no_new_privileges", "cannot be overridden" },
    { "groups = ( { group = \"g\";\n  mounts = ( { source = \"/a\"; target = \"/b\"; ro = true; } "
      "); } );\n",
      2, "groups[0].mounts[0].ro", "unknown key" },
  };
  EXPECT_ERRORS(cases);
}

TEST(test_wrong_types)
{
  static const struct bad cases[] = {
    { "engine = { timeout_ms = \"10000\"; };\n", 1, "engine.timeout_ms",
      "expected an integer, found a string" },
    { "engine = \"/var/run/docker.sock\";\n", 1, "engine", "expected a group" },
    { "image = [ \"a\" ];\n", 1, "image", "expected a string" },
    { "debug = \"yes\";\n", 1, "debug", "expected true or false" },
    { "home = { mount = 1; };\n", 1, "home.mount", "expected true or false, found an integer" },
    { "container = { pids = 1.5; };\n", 1, "container.pids",
      "expected an integer, found a decimal" },
    { "container = { cpus = \"2\"; };\n", 1, "container.cpus", "expected a number" },
    { "container = { memory = true; };\n", 1, "container.memory", "expected a size" },
    { "container = { tmpfs = \"/tmp\"; };\n", 1, "container.tmpfs", "expected a list of strings" },
    { "container = {\n  env = [ 1, 2 ];\n};\n", 2, "container.env[0]",
      "expected a string, found an integer" },
    { "container = { mounts = \"/a:/b\"; };\n", 1, "container.mounts",
      "expected a list of mounts" },
    { "container = { mounts = ( \"/a:/b\" ); };\n", 1, "container.mounts[0]", "expected a group" },
    { "policy = { only_groups = \"staff\"; };\n", 1, "policy.only_groups",
      "expected a list of strings" },
    { "groups = { group = \"gpu\"; };\n", 1, "groups", "expected a list of entries" },
    { "users = ( \"alice\" );\n", 1, "users[0]", "expected a group" },
    { "container = { idle_timeout = \"1h\"; };\n", 1, "container.idle_timeout",
      "expected an integer" },
    { "container = { readonly_rootfs = \"true\"; };\n", 1, "container.readonly_rootfs",
      "expected true or false" },
    { "home = { mode = true; };\n", 1, "home.mode", "expected an octal mode" },
  };
  EXPECT_ERRORS(cases);
}

TEST(test_bad_sizes)
{
  static const struct bad cases[] = {
    { "container = { memory = \"2x\"; };\n", 1, "container.memory", "\"2x\" is not a size" },
    { "container = {\n  memory = \"-1g\";\n};\n", 2, "container.memory", "\"-1g\" is not a size" },
    { "container = { memory = \"\"; };\n", 1, "container.memory", "\"\" is not a size" },
    { "container = { memory = \"1.5g\"; };\n", 1, "container.memory", "is not a size" },
    { "container = { memory = \"2 g\"; };\n", 1, "container.memory", "is not a size" },
    { "container = { memory = -5; };\n", 1, "container.memory", "negative" },
    { "container = { memory = 1024; };\n", 1, "container.memory", "minimum of 6m" },
    { "container = { memory = \"1k\"; };\n", 1, "container.memory", "minimum of 6m" },
    { "groups = ( { group = \"g\"; memory = \"16q\"; } );\n", 1, "groups[0].memory",
      "\"16q\" is not a size" },
  };
  EXPECT_ERRORS(cases);
}

/* join mode is a choice, never the default */
TEST(test_entry_join)
{
  struct berth_config *cfg = load_ok("entry = \"join\";\n");

  assert_int_equal(cfg->entry, BERTH_ENTRY_JOIN);
  berth_config_free(cfg);
}

TEST(test_bad_enums)
{
  static const struct bad cases[] = {
    { "pull = \"sometimes\";\n", 1, "pull", "\"sometimes\" is not one of: never, missing, always" },
    { "pull = \"Missing\";\n", 1, "pull", "is not one of" },
    { "entry = \"fork\";\n", 1, "entry", "\"fork\" is not one of: exec, join" },
    { "container = { on_logout = \"destroy\"; };\n", 1, "container.on_logout",
      "\"destroy\" is not one of: keep, stop, remove" },
    { "users = ( { user = \"bob\"; on_logout = \"kill\"; } );\n", 1, "users[0].on_logout",
      "is not one of" },
    { "groups = ( { group = \"g\";\n pull = \"maybe\"; } );\n", 2, "groups[0].pull",
      "is not one of" },
    { "pull = 1;\n", 1, "pull", "expected a string" },
  };
  EXPECT_ERRORS(cases);
}

TEST(test_invalid_values)
{
  static const struct bad cases[] = {
    { "engine = { timeout_ms = 0; };\n", 1, "engine.timeout_ms", "greater than 0" },
    { "engine = { timeout_ms = -100; };\n", 1, "engine.timeout_ms", "greater than 0" },
    { "engine = { socket = \"docker.sock\"; };\n", 1, "engine.socket", "not an absolute path" },
    { "image = \"\";\n", 1, "image", "not an image reference" },
    { "image = \"debian bookworm\";\n", 1, "image", "not an image reference" },
    { "home = { skel = \"skel\"; };\n", 1, "home.skel", "not an absolute path" },
    { "home = { mode = 0777; };\n", 1, "home.mode", "writable by group or others" },
    { "home = { mode = 0702; };\n", 1, "home.mode", "writable by group or others" },
    { "home = { mode = 0770; };\n", 1, "home.mode", "writable by group or others" },
    { "home = { mode = 0778; };\n", 1, "home.mode", "not an octal mode" },
    { "home = { mode = \"rwx\"; };\n", 1, "home.mode", "not an octal mode" },
    { "home = { mode = 17777; };\n", 1, "home.mode", "at most 07777" },
    { "home = { mode = 0x1FFF; };\n", 1, "home.mode", "at most 07777" },
    { "home = { mode = 0600; };\n", 1, "home.mode", "owner rwx" },
    { "shell = { fallback = \"sh\"; };\n", 1, "shell.fallback", "not an absolute path" },
    { "shell = { host = \"\"; };\n", 1, "shell.host", "not an absolute path" },
    { "container = { cpus = -1; };\n", 1, "container.cpus", "not a CPU count" },
    { "container = { cpus = -0.5; };\n", 1, "container.cpus", "not a CPU count" },
    { "container = { cpus = 1e12; };\n", 1, "container.cpus", "at most 1024" },
    { "container = { cpus = 1025; };\n", 1, "container.cpus", "at most 1024" },
    { "container = { cpus = 9223372036854775807L; };\n", 1, "container.cpus", "not a CPU count" },
    { "container = { cpus = 0.001; };\n", 1, "container.cpus", "smallest CPU limit, 0.01" },
    { "container = { mounts = ( { source = \"%h/data\"; target = \"/d\"; } ); };\n", 1,
      "container.mounts[0].source", "inside the user's home" },
    { "users = ( { user = \"a\"; mounts = ( { source = \"%h//x/\"; target = \"/d\"; } ); } );\n", 1,
      "users[0].mounts[0].source", "inside the user's home" },
    { "container = { pids = -1; };\n", 1, "container.pids", "negative" },
    { "container = { idle_timeout = -1; };\n", 1, "container.idle_timeout", "negative" },
    { "container = { network = \"\"; };\n", 1, "container.network", "not a network mode" },
    { "container = {\n  keeper = [ \"sleep\", \"infinity\" ];\n};\n", 2, "container.keeper[0]",
      "must be an absolute path" },
    { "container = { tmpfs = [ \"tmp:size=1m\" ]; };\n", 1, "container.tmpfs[0]",
      "must be absolute" },
    { "container = { tmpfs = [ \"/tmp\", \"/run:\" ]; };\n", 1, "container.tmpfs[1]",
      "options after ':'" },
    { "container = { tmpfs = [ \"/tmp\", \"/tmp/:size=1m\" ]; };\n", 1, "container.tmpfs[1]",
      "listed twice" },
    { "container = { tmpfs = [ \"/\" ]; };\n", 1, "container.tmpfs[0]", "reserved" },
    /* A tmpfs is memory: filled to the limit, every login is OOM-killed. */
    { "container = {\n  memory = \"96m\";\n  tmpfs = [ \"/tmp:size=512m\" ];\n};\n", 3,
      "container.tmpfs", "exceed three quarters of the memory limit" },
    { "container = { memory = \"96m\"; tmpfs = [ \"/tmp:size=40m\", \"/run:mode=755,size=40m\" ]; "
      "};\n",
      1, "container.tmpfs", "(83886080 bytes together)" },
    { "container = { memory = \"1g\"; tmpfs = [ \"/tmp\" ]; };\n", 1, "container.tmpfs",
      "tmpfs \"/tmp\" needs a size" },
    { "container = { memory = \"1g\"; tmpfs = [ \"/tmp:size=50%\" ]; };\n", 1, "container.tmpfs",
      "needs a size" },
    { "container = { memory = \"1g\"; tmpfs = [ \"/tmp:size=512m\" ]; };\n"
      "groups = (\n  { group = \"a\"; pids = 5; },\n  { group = \"b\"; memory = \"512m\"; }\n);\n",
      4, "groups[1]", "exceed three quarters" },
    { "groups = ( { group = \"g\"; memory = \"256m\"; } );\n"
      "users = (\n  { user = \"u\"; tmpfs = [ \"/tmp:size=200m\" ]; }\n);\n",
      3, "users[0]", "for members of group \"g\"" },
    { "groups = ( { group = \"g\"; tmpfs = [ \"/scratch\" ]; } );\n"
      "users = (\n  { user = \"u\"; memory = \"2g\"; }\n);\n",
      3, "users[0]", "tmpfs \"/scratch\" for members of group \"g\" needs a size" },
    { "container = { mounts = ( { source = \"srv/data\"; target = \"/data\"; } ); };\n", 1,
      "container.mounts[0].source", "not an absolute path" },
    { "container = { mounts = ( { source = \"/srv\"; target = \"data\"; } ); };\n", 1,
      "container.mounts[0].target", "not an absolute path" },
    { "container = { mounts = ( { source = \"/srv/../etc\"; target = \"/data\"; } ); };\n", 1,
      "container.mounts[0].source", "\"..\"" },
    { "container = { mounts = ( { source = \"/srv\"; target = \"/\"; } ); };\n", 1,
      "container.mounts[0].target", "reserved" },
    { "container = { mounts = ( { source = \"/srv\"; target = \"/.berth/keeper\"; } ); };\n", 1,
      "container.mounts[0].target", "reserved" },
    { "container = {\n  mounts = ( { source = \"/srv\"; } );\n};\n", 2, "container.mounts[0]",
      "needs both source and target" },
    { "container = { mounts = (\n  { source = \"/a\"; target = \"/data\"; },\n  { source = \"/b\"; "
      "target = \"/data/\"; } ); };\n",
      3, "container.mounts[1].target", "already the target" },
    { "policy = { exclude_users = [ \"root\", \"\" ]; };\n", 1, "policy.exclude_users[1]",
      "empty name" },
    /* tmpfs and a mount on the same path: the engine would refuse the container. */
    { "container = {\n  tmpfs = [ \"/tmp\" ];\n  mounts = ( { source = \"/scratch\"; target = "
      "\"/tmp\"; } );\n};\n",
      1, "container", "both a mount target and a tmpfs" },
    { "container = { tmpfs = [ \"/tmp:size=1g\" ]; };\ngroups = (\n  { group = \"a\"; pids = 5; "
      "},\n"
      "  { group = \"b\";\n    mounts = ( { source = \"/s\"; target = \"/tmp\"; } ); }\n);\n",
      4, "groups[1]", "both a mount target and a tmpfs" },
    { "groups = ( { group = \"g\"; tmpfs = [ \"/scratch\" ]; } );\n"
      "users = (\n  { user = \"u\";\n    mounts = ( { source = \"/s\"; target = \"/scratch\"; } ); "
      "}\n);\n",
      3, "users[0]", "for members of group \"g\"" },
    { "groups = (\n  { group = \"a\"; pids = 5; },\n  { group = \"g\";\n    mounts = ( { source = "
      "\"/s\"; target = \"/x/\"; } ); }\n);\n"
      "users = (\n  { user = \"v\"; pids = 5; },\n  { user = \"u\"; tmpfs = [ \"/x:size=1m\" ]; "
      "}\n);\n",
      8, "users[1]", "/x is both a mount target and a tmpfs for members of group \"g\"" },
  };
  EXPECT_ERRORS(cases);
}

TEST(test_overrides_bad)
{
  static const struct bad cases[] = {
    { "groups = (\n  { image = \"x\"; }\n);\n", 2, "groups[0]", "no \"group\" key" },
    { "users = (\n  { user = \"a\"; },\n  { pids = 5; }\n);\n", 3, "users[1]", "no \"user\" key" },
    { "groups = ( { group = \"\"; } );\n", 1, "groups[0].group", "empty name" },
    { "users = ( { user = 1000; } );\n", 1, "users[0].user", "expected a string" },
    { "groups = (\n  { group = \"gpu\"; memory = \"1g\"; },\n  { group = \"ops\"; },\n"
      "  { group = \"gpu\"; pids = 10; }\n);\n",
      4, "groups[2].group", "duplicate entry for group \"gpu\" (first at line 2)" },
    { "users = (\n  { user = \"alice\"; pids = 1; },\n\n  { user = \"alice\"; pids = 2; }\n);\n", 4,
      "users[1].user", "duplicate entry for user \"alice\" (first at line 2)" },
  };
  EXPECT_ERRORS(cases);
}

TEST(test_templates_and_env)
{
  static const struct bad cases[] = {
    { "container = { name = \"box-%x\"; };\n", 1, "container.name",
      "unknown template escape \"%x\"" },
    { "container = { name = \"berth-%u%\"; };\n", 1, "container.name", "lone %" },
    { "container = { name = \"shared\"; };\n", 1, "container.name", "must contain %u or %U" },
    { "container = { hostname = \"%u-%n\"; };\n", 1, "container.hostname",
      "unknown template escape \"%n\"" },
    { "container = { hostname = \"\"; };\n", 1, "container.hostname", "must not be empty" },
    { "container = { mounts = ( { source = \"/srv/%s\"; target = \"/d\"; } ); };\n", 1,
      "container.mounts[0].source", "unknown template escape \"%s\"" },
    { "container = { mounts = ( { source = \"%hx/data\"; target = \"/d\"; } ); };\n", 1,
      "container.mounts[0].source", "not an absolute path" },
    { "container = { env = [ \"TZ=UTC\", \"DEBUG\" ]; };\n", 1, "container.env[1]", "NAME=VALUE" },
    { "container = { env = [ \"=x\" ]; };\n", 1, "container.env[0]", "start with a letter" },
    { "container = { env = [ \"1A=b\" ]; };\n", 1, "container.env[0]", "start with a letter" },
    { "container = { env = [ \"A-B=c\" ]; };\n", 1, "container.env[0]",
      "not a valid variable name" },
    { "container = { env = [ \"HOME=/tmp\" ]; };\n", 1, "container.env[0]",
      "HOME is set by berth" },
    { "users = ( { user = \"a\"; env = [ \"SHELL=/bin/zsh\" ]; } );\n", 1, "users[0].env[0]",
      "SHELL is set by berth" },
    { "container = { env = [ \"TZ=UTC\", \"TZ=CET\" ]; };\n", 1, "container.env[1]",
      "TZ is set twice" },
  };
  EXPECT_ERRORS(cases);
}

TEST(test_syntax_errors)
{
  expect_error("image = \"x\";\npull = ;\n", 2, NULL, "syntax error");
  expect_error("container = {\n  memory = \"1g\"\n  cpus = 1;\n  pids = ;\n};\n", 4, NULL,
               "syntax error");
  /* libconfig itself rejects a key set twice */
  expect_error("image = \"a\";\nimage = \"b\";\n", 2, NULL, "duplicate setting");
}

TEST(test_file_errors)
{
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;
  char *missing = NULL, *path, *inc;

  /* a missing file names the path */
  assert_true(asprintf(&missing, "%s/does-not-exist.conf", tmpdir) > 0);
  assert_int_equal(berth_config_load(missing, &cfg, &err), -1);
  assert_int_equal(err->kind, BERTH_E_CONFIG);
  assert_int_equal(err->status, ENOENT);
  assert_non_null(strstr(err->msg, missing));
  berth_error_release(&err);
  free(missing);

  /* group- or world-writable: refused */
  path = write_conf_mode("gw.conf", "image = \"x\";\n", 0664);
  expect_refused(path, path, "writable by group or others");
  free(path);
  path = write_conf_mode("ww.conf", "image = \"x\";\n", 0646);
  expect_refused(path, "writable by group or others", NULL);
  free(path);

  /* not a regular file */
  expect_refused(tmpdir, "not a regular file", NULL);

  /* @include is relative to the file's directory, and checked the same way */
  inc = write_conf_mode("limits.inc", "container = { pids = 77; };\n", 0644);
  path = write_conf_mode("with-include.conf", "image = \"x\";\n@include \"limits.inc\"\n", 0644);
  assert_int_equal(berth_config_load(path, &cfg, &err), 0);
  assert_int_equal(cfg->container.pids, 77);
  berth_config_free(cfg);
  cfg = NULL;
  assert_int_equal(chmod(inc, 0666), 0);
  expect_refused(path, "limits.inc", "writable by group or others");
  free(inc);
  free(path);

  /* errors inside an included file name that file, with its full path */
  inc = write_conf_mode("bad.inc", "container = {\n  pids = -1;\n};\n", 0644);
  path = write_conf_mode("inc-bad.conf", "image = \"x\";\n@include \"bad.inc\"\n", 0644);
  {
    struct berth_config *c2 = NULL;
    char *want = NULL;
    assert_int_equal(berth_config_load(path, &c2, &err), -1);
    assert_true(asprintf(&want, "%s:2: container.pids: ", inc) > 0);
    if (strncmp(err->msg, want, strlen(want)) != 0)
      fail_msg("expected \"%s...\", got \"%s\"", want, err->msg);
    berth_error_release(&err);
    free(want);
  }
  free(inc);
  inc = write_conf_mode("syntax.inc", "pids = ;\n", 0644);
  free(path);
  path = write_conf_mode("inc-syntax.conf", "@include \"syntax.inc\"\n", 0644);
  assert_int_equal(berth_config_load(path, &cfg, &err), -1);
  {
    char *want = NULL;
    assert_true(asprintf(&want, "%s:1: syntax error", inc) > 0);
    if (strcmp(err->msg, want) != 0)
      fail_msg("expected \"%s\", got \"%s\"", want, err->msg);
    free(want);
  }
  berth_error_release(&err);
  free(inc);
  free(path);
}

/* Whoever owns the file (or the directory of an included one) can rewrite
 * the policy: only root (or whoever loads it) may. */
TEST(test_file_owner)
{
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;
  char *path, *inc, *sub = NULL, *subinc = NULL, *link = NULL, *text = NULL;

  /* the limits still load */
  cfg = load_ok("container = { cpus = 1024; };\n");
  assert_true(cfg->container.cpus == 1024.0);
  berth_config_free(cfg);
  cfg = load_ok(
      "container = { cpus = 0.01; mounts = ( { source = \"%h\"; target = \"/h\"; } ); };\n");
  berth_config_free(cfg);
  cfg = NULL;

  if (geteuid() != 0)
    skip(); /* chown to another uid needs root */

  /* the main file, owned by another account */
  path = write_conf_mode("owned.conf", "image = \"x\";\n", 0644);
  assert_int_equal(chown(path, 4242, 4242), 0);
  expect_refused(path, path, "owned by uid 4242");
  /* root's again: fine (mode 0644) */
  assert_int_equal(chown(path, 0, 0), 0);
  assert_int_equal(berth_config_load(path, &cfg, &err), 0);
  berth_config_free(cfg);
  cfg = NULL;
  free(path);

  /* an included file owned by another account */
  inc = write_conf_mode("owned.inc", "container = { pids = 9; };\n", 0644);
  path = write_conf_mode("inc-owned.conf", "image = \"x\";\n@include \"owned.inc\"\n", 0644);
  assert_int_equal(chown(inc, 4242, 4242), 0);
  expect_refused(path, "owned.inc", "owned by uid 4242");
  assert_int_equal(chown(inc, 0, 0), 0);
  assert_int_equal(berth_config_load(path, &cfg, &err), 0);
  assert_int_equal(cfg->container.pids, 9);
  berth_config_free(cfg);
  cfg = NULL;

  /* an included file that is a link (libconfig opened it by name; the
   * check could be looking at something else) */
  assert_true(asprintf(&link, "%s/link.inc", tmpdir) > 0);
  assert_int_equal(symlink(inc, link), 0);
  free(path);
  path = write_conf_mode("inc-link.conf", "image = \"x\";\n@include \"link.inc\"\n", 0644);
  expect_refused(path, "link.inc", "symbolic link");

  /* an included file, fine itself, in a directory others can write */
  assert_true(asprintf(&sub, "%s/open", tmpdir) > 0);
  assert_int_equal(mkdir(sub, 0777), 0);
  assert_int_equal(chmod(sub, 01777), 0);
  assert_true(asprintf(&subinc, "%s/open/x.inc", tmpdir) > 0);
  {
    int fd = open(subinc, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "container = { pids = 5; };\n", 27), 27);
    close(fd);
  }
  assert_true(asprintf(&text, "image = \"x\";\n@include \"open/x.inc\"\n") > 0);
  free(path);
  path = write_conf_mode("inc-open.conf", text, 0644);
  expect_refused(path, subinc, "mode 1777");
  assert_int_equal(chmod(sub, 0755), 0);
  assert_int_equal(berth_config_load(path, &cfg, &err), 0);
  assert_int_equal(cfg->container.pids, 5);
  berth_config_free(cfg);

  free(text);
  free(sub);
  free(subinc);
  free(link);
  free(inc);
  free(path);
}

/* ------------------------------------------------------------------ resolve */

static const char resolve_conf[]
    = "image = \"base:1\";\n"
      "container = {\n"
      "  memory = \"2g\"; pids = 512; cpus = 1;\n"
      "  tmpfs = [ \"/tmp:size=64m\" ];\n"
      "  env = [ \"TZ=UTC\", \"B=global\" ];\n"
      "  mounts = ( { source = \"/srv/data\"; target = \"/data\"; readonly = true; } );\n"
      "};\n"
      "groups = (\n"
      "  { group = \"gpu\"; image = \"cuda:12\"; memory = \"16g\";\n"
      "    env = [ \"A=gpu\", \"B=gpu\" ];\n"
      "    mounts = ( { source = \"/srv/models\"; target = \"/models\"; readonly = true; } ); },\n"
      "  { group = \"video\"; image = \"video:1\"; pids = 100; tmpfs = []; on_logout = \"stop\"; "
      "},\n"
      "  { group = \"staff\"; cpus = 4; }\n"
      ");\n"
      "users = (\n"
      "  { user = \"alice\"; pids = 2048; env = [ \"B=alice\" ];\n"
      "    mounts = ( { source = \"/home/alice/data\"; target = \"/data\"; } ); },\n"
      "  { user = \"bob\"; image = \"bob:1\"; idle_timeout = 10; }\n"
      ");\n";

static struct berth_container_conf *
resolve(const struct berth_config *cfg, const struct berth_user *u)
{
  struct berth_container_conf *c = NULL;
  berth_error_t err = NULL;
  if (berth_config_resolve(cfg, u, &c, &err) < 0)
    fail_msg("resolve %s: %s", u->name, err->msg);
  assert_non_null(c);
  return c;
}

TEST(test_resolve)
{
  struct berth_config *cfg = load_ok(resolve_conf);
  /* alice is in video before gpu in her own group list: file order decides */
  struct berth_user *alice = make_user("alice", 1000, "alice", "video", "gpu", "staff", NULL);
  struct berth_user *bob = make_user("bob", 1001, "bob", "video", NULL);
  struct berth_user *carol = make_user("carol", 1002, "carol", NULL);
  struct berth_user *dave = make_user("dave", 1003, "staff", NULL);
  struct berth_container_conf *c;

  /* no override: the global settings, unchanged */
  c = resolve(cfg, carol);
  assert_string_equal(c->image, "base:1");
  assert_int_equal(c->memory, 2LL << 30);
  assert_int_equal(c->pids, 512);
  assert_true(c->cpus == 1.0);
  assert_strv(c->tmpfs, "/tmp:size=64m", NULL);
  assert_strv(c->env, "TZ=UTC", "B=global", NULL);
  assert_int_equal(c->n_mounts, 1);
  assert_string_equal(c->mounts[0].source, "/srv/data");
  assert_int_equal(c->on_logout, BERTH_LOGOUT_KEEP);
  assert_string_equal(c->name, "berth-%u");
  berth_container_conf_free(c);

  /* alice: first matching group in file order (gpu, not video or staff),
   * then her user entry */
  c = resolve(cfg, alice);
  assert_string_equal(c->image, "cuda:12");
  assert_int_equal(c->memory, 16LL << 30);
  assert_int_equal(c->pids, 2048);
  assert_true(c->cpus == 1.0);                       /* staff's cpus = 4 not applied */
  assert_strv(c->tmpfs, "/tmp:size=64m", NULL);      /* video's tmpfs = [] not applied */
  assert_int_equal(c->on_logout, BERTH_LOGOUT_KEEP); /* video's stop not applied */
  /* env merged by name: user beats group beats global, new names appended */
  assert_strv(c->env, "TZ=UTC", "B=alice", "A=gpu", NULL);
  /* mounts appended; her /data replaces the global /data */
  assert_int_equal(c->n_mounts, 2);
  assert_mount(&c->mounts[0], "/home/alice/data", "/data", false);
  assert_mount(&c->mounts[1], "/srv/models", "/models", true);
  berth_container_conf_free(c);

  /* bob: video group, then his user entry wins on image */
  c = resolve(cfg, bob);
  assert_string_equal(c->image, "bob:1");
  assert_int_equal(c->pids, 100);
  assert_int_equal(strv_len(c->tmpfs), 0);
  assert_int_equal(c->on_logout, BERTH_LOGOUT_STOP);
  assert_int_equal(c->idle_timeout, 10);
  assert_int_equal(c->memory, 2LL << 30);
  assert_strv(c->env, "TZ=UTC", "B=global", NULL);
  berth_container_conf_free(c);

  /* dave: staff is his primary group, which counts */
  c = resolve(cfg, dave);
  assert_true(c->cpus == 4.0);
  assert_string_equal(c->image, "base:1");
  berth_container_conf_free(c);

  /* resolving changed nothing in the loaded config */
  assert_strv(cfg->container.env, "TZ=UTC", "B=global", NULL);
  assert_int_equal(cfg->container.n_mounts, 1);
  assert_string_equal(cfg->container.mounts[0].source, "/srv/data");
  c = resolve(cfg, carol);
  assert_string_equal(c->image, "base:1");
  assert_int_equal(c->n_mounts, 1);
  berth_container_conf_free(c);

  berth_user_free(alice);
  berth_user_free(bob);
  berth_user_free(carol);
  berth_user_free(dave);
  berth_config_free(cfg);
}

TEST_GROUP(conf_fixture_setup, conf_fixture_teardown);
