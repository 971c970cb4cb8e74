/* test_spec.c - the container create spec built from a config file and
 * a user (lib/spec.c): identity, groups, mounts, confinement, limits,
 * labels, and the spec hash (stable, sensitive to what matters).  No
 * engine involved. */
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
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/box.h"
#include "../../lib/box-internal.h"
#include "../../lib/spec-internal.h"
#include "berth/session.h"
#include "../../lib/session-internal.h"
#include "berth/util.h"
#include "../lib/testlib.h"
#include "../lib/fixture_users.h"

#define IMAGE_ID "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define KEEPER "/usr/libexec/berth/berth-keeper"

static struct berth_group alice_groups[] = {
  { 1500, (char *) "alice" },
  { 2001, (char *) "devs" },
  { 2002, NULL },
  { 1500, (char *) "alice" }, /* NSS may repeat the primary */
};

static struct berth_user alice
    = TEST_USER("alice", 1500, 1500, "Alice", "/home/alice", "/bin/bash", "alice", alice_groups);

static const char full_conf[]
    = "image = \"berth-test:latest\";\n"
      "pull = \"never\";\n"
      "container = {\n"
      "  memory = \"2g\"; cpus = 1.5; pids = 512; network = \"none\";\n"
      "  tmpfs = [ \"/tmp:size=64m,mode=1777\", \"/run:size=8m\" ];\n"
      "  no_new_privileges = true;\n"
      "  mounts = ( { source = \"/srv/data/%u\"; target = \"/data/%U\"; readonly = true; },\n"
      "             { source = \"/srv/scratch\"; target = \"%h/scratch\"; readonly = false; } );\n"
      "  env = [ \"TZ=UTC\", \"LANG=C.UTF-8\" ];\n"
      "};\n";

static struct berth_config *
load_conf(const char *text)
{
  char path[] = "/tmp/bt-container-conf-XXXXXX";
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;
  int fd = mkstemp(path);

  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
  close(fd);
  if (berth_config_load(path, &cfg, &err) < 0)
    fail_msg("config: %s", err->msg);
  unlink(path);
  return cfg;
}

/* u's box under cfg, which must be made. */
static struct berth_box *
new_box(const struct berth_config *cfg, const struct berth_user *u)
{
  struct berth_box *b = NULL;
  berth_error_t err = NULL;

  if (berth_box_new(cfg, u, &b, &err) != 0)
    fail_msg("box: %s", err ? err->msg : "(no error)");
  return b;
}

static json_t *
spec_for(const char *conf_text, const struct berth_user *u, const char *image_id,
         struct berth_box **box_out, struct berth_config **cfg_out)
{
  struct berth_config *cfg = load_conf(conf_text);
  struct berth_box *b = new_box(cfg, u);
  berth_error_t err = NULL;
  json_t *spec;

  spec = berth_box_spec(b, image_id, KEEPER, &err);
  if (spec == NULL)
    fail_msg("spec: %s", err->msg);
  *box_out = b;
  *cfg_out = cfg;
  return spec;
}

static const char *
str_at(json_t *j, const char *a, const char *b)
{
  json_t *v = json_object_get(j, a);
  if (b)
    v = json_object_get(v, b);
  return json_string_value(v);
}

/* The one Mounts entry with Target t, or fail. */
static json_t *
mount_at(json_t *spec, const char *t)
{
  json_t *mounts = json_object_get(json_object_get(spec, "HostConfig"), "Mounts");
  json_t *found = NULL, *m;
  size_t i;
  assert_true(json_is_array(mounts));
  json_array_foreach(mounts, i, m)
  {
    if (strcmp(json_string_value(json_object_get(m, "Target")), t) == 0) {
      assert_null(found);
      found = m;
    }
  }
  if (found == NULL)
    fail_msg("no mount at %s", t);
  return found;
}

static bool
strv_json_has(json_t *arr, const char *s)
{
  json_t *v;
  size_t i;
  json_array_foreach(arr, i, v)
  {
    if (strcmp(json_string_value(v), s) == 0)
      return true;
  }
  return false;
}

TEST(test_spec_fields)
{
  struct berth_box *b;
  struct berth_config *cfg;
  json_t *spec = spec_for(full_conf, &alice, IMAGE_ID, &b, &cfg);
  json_t *hc = json_object_get(spec, "HostConfig");
  json_t *m, *v;

  assert_string_equal(b->name, "berth-alice");
  assert_string_equal(b->hostname, "alice-box");
  assert_string_equal(str_at(spec, "Image", NULL), IMAGE_ID);
  assert_string_equal(str_at(spec, "Hostname", NULL), "alice-box");
  assert_string_equal(str_at(spec, "User", NULL), "1500:1500");
  assert_string_equal(str_at(spec, "WorkingDir", NULL), "/home/alice");
  assert_true(json_is_false(json_object_get(spec, "Tty")));
  assert_true(json_is_false(json_object_get(spec, "OpenStdin")));

  /* the keeper, and nothing of the image's CMD */
  v = json_object_get(spec, "Entrypoint");
  assert_int_equal(json_array_size(v), 1);
  assert_string_equal(json_string_value(json_array_get(v, 0)), BERTH_KEEPER_TARGET);
  assert_true(json_is_null(json_object_get(spec, "Cmd")));
  m = mount_at(spec, BERTH_KEEPER_TARGET);
  assert_string_equal(str_at(m, "Source", NULL), KEEPER);
  assert_string_equal(str_at(m, "Type", NULL), "bind");
  assert_true(json_is_true(json_object_get(m, "ReadOnly")));

  /* environment: the config's plus the user's identity */
  v = json_object_get(spec, "Env");
  assert_true(strv_json_has(v, "TZ=UTC"));
  assert_true(strv_json_has(v, "HOME=/home/alice"));
  assert_true(strv_json_has(v, "USER=alice"));
  assert_true(strv_json_has(v, "LOGNAME=alice"));
  assert_true(strv_json_has(v, "LANG=C.UTF-8"));
  assert_int_equal(json_array_size(v), 5);

  /* labels */
  assert_string_equal(str_at(spec, "Labels", BERTH_LABEL_USER), "alice");
  assert_string_equal(str_at(spec, "Labels", BERTH_LABEL_UID), "1500");
  assert_int_equal(strlen(str_at(spec, "Labels", BERTH_LABEL_SPEC)), 64);

  /* home at the same path, writable; Mounts, never Binds */
  m = mount_at(spec, "/home/alice");
  assert_string_equal(str_at(m, "Source", NULL), "/home/alice");
  assert_string_equal(str_at(m, "Type", NULL), "bind");
  assert_true(json_is_false(json_object_get(m, "ReadOnly")));
  assert_null(json_object_get(hc, "Binds"));
  /* extra mounts with templates expanded, readonly honoured */
  m = mount_at(spec, "/data/1500");
  assert_string_equal(str_at(m, "Source", NULL), "/srv/data/alice");
  assert_true(json_is_true(json_object_get(m, "ReadOnly")));
  m = mount_at(spec, "/home/alice/scratch");
  assert_string_equal(str_at(m, "Source", NULL), "/srv/scratch");
  assert_true(json_is_false(json_object_get(m, "ReadOnly")));
  /* /etc/passwd and /etc/group: the generated host files, read-only, also
   * with a writable rootfs (no archive PUT) */
  m = mount_at(spec, "/etc/passwd");
  assert_string_equal(str_at(m, "Source", NULL), BERTH_RUNDIR "/etc/berth-alice/passwd");
  assert_true(json_is_true(json_object_get(m, "ReadOnly")));
  m = mount_at(spec, "/etc/group");
  assert_string_equal(str_at(m, "Source", NULL), BERTH_RUNDIR "/etc/berth-alice/group");
  assert_true(json_is_true(json_object_get(m, "ReadOnly")));
  /* the forwarded agent's directory (agent.h): the user's own, read-only inside */
  m = mount_at(spec, "/.berth/agent");
  assert_string_equal(str_at(m, "Source", NULL), BERTH_RUNDIR "/agent/berth-alice");
  assert_true(json_is_true(json_object_get(m, "ReadOnly")));
  assert_int_equal(json_array_size(json_object_get(hc, "Mounts")), 7);

  /* supplementary groups only, each once, as strings */
  v = json_object_get(hc, "GroupAdd");
  assert_int_equal(json_array_size(v), 2);
  assert_string_equal(json_string_value(json_array_get(v, 0)), "2001");
  assert_string_equal(json_string_value(json_array_get(v, 1)), "2002");

  /* confinement */
  v = json_object_get(hc, "CapDrop");
  assert_int_equal(json_array_size(v), 1);
  assert_string_equal(json_string_value(json_array_get(v, 0)), "ALL");
  assert_null(json_object_get(hc, "CapAdd"));
  v = json_object_get(hc, "SecurityOpt");
  assert_int_equal(json_array_size(v), 1);
  assert_string_equal(json_string_value(json_array_get(v, 0)), "no-new-privileges");
  assert_false(json_is_true(json_object_get(hc, "Privileged")));
  assert_int_equal(json_integer_value(json_object_get(hc, "Memory")), 2LL << 30);
  assert_int_equal(json_integer_value(json_object_get(hc, "NanoCpus")), 1500000000LL);
  assert_int_equal(json_integer_value(json_object_get(hc, "PidsLimit")), 512);
  assert_string_equal(str_at(hc, "NetworkMode", NULL), "none");
  assert_true(json_is_false(json_object_get(hc, "ReadonlyRootfs")));
  assert_string_equal(str_at(hc, "Tmpfs", "/tmp"), "size=64m,mode=1777");
  assert_string_equal(str_at(hc, "Tmpfs", "/run"), "size=8m");
  assert_true(json_is_false(json_object_get(hc, "Init")));
  assert_string_equal(str_at(hc, "RestartPolicy", "Name"), "no");
  /* opted out of a daemon's userns-remap, so the home's owner matches */
  assert_string_equal(str_at(hc, "UsernsMode", NULL), "host");

  json_decref(spec);
  berth_box_free(b);
  berth_config_free(cfg);
}

TEST(test_spec_defaults_and_options)
{
  struct berth_box *b;
  struct berth_config *cfg;
  json_t *spec, *hc;

  /* limits 0 = unlimited: not sent at all */
  spec = spec_for("image = \"x\"; container = { memory = 0; cpus = 0; pids = 0; "
                  "no_new_privileges = false; tmpfs = []; };",
                  &alice, IMAGE_ID, &b, &cfg);
  hc = json_object_get(spec, "HostConfig");
  assert_null(json_object_get(hc, "Memory"));
  assert_null(json_object_get(hc, "NanoCpus"));
  assert_null(json_object_get(hc, "PidsLimit"));
  assert_null(json_object_get(hc, "SecurityOpt"));
  assert_int_equal(json_object_size(json_object_get(hc, "Tmpfs")), 0);
  json_decref(spec);
  berth_box_free(b);
  berth_config_free(cfg);

  /* a configured keeper replaces the built-in one (no keeper mount);
   * no home mount; read-only rootfs: passwd/group bind-mounted as always */
  berth_session_set_rundir("/run/bt-rundir");
  spec = spec_for("image = \"x\"; home = { mount = false; create = false; };"
                  "container = { keeper = [ \"/bin/sleep\", \"infinity\" ]; "
                  "readonly_rootfs = true; network = \"host\"; };",
                  &alice, IMAGE_ID, &b, &cfg);
  berth_session_set_rundir(NULL);
  hc = json_object_get(spec, "HostConfig");
  json_t *ep = json_object_get(spec, "Entrypoint");
  assert_int_equal(json_array_size(ep), 2);
  assert_string_equal(json_string_value(json_array_get(ep, 0)), "/bin/sleep");
  assert_string_equal(json_string_value(json_array_get(ep, 1)), "infinity");
  assert_true(json_is_true(json_object_get(hc, "ReadonlyRootfs")));
  assert_string_equal(str_at(mount_at(spec, "/etc/passwd"), "Source", NULL),
                      "/run/bt-rundir/etc/berth-alice/passwd");
  assert_true(json_is_true(json_object_get(mount_at(spec, "/etc/passwd"), "ReadOnly")));
  assert_string_equal(str_at(mount_at(spec, "/etc/group"), "Source", NULL),
                      "/run/bt-rundir/etc/berth-alice/group");
  assert_int_equal(json_array_size(json_object_get(hc, "Mounts")), 3); /* and the agent's */
  assert_string_equal(str_at(spec, "WorkingDir", NULL), "/");
  /* the host's UTS namespace: no hostname to set */
  assert_null(json_object_get(spec, "Hostname"));
  json_decref(spec);
  berth_box_free(b);
  berth_config_free(cfg);
}

/* cmocka fixture of the tests below: *state is a config naming only an image */
static int
minimal_conf(void **state)
{
  *state = load_conf("image = \"x\";");
  return 0;
}

static int
free_conf(void **state)
{
  berth_config_free(*state);
  return 0;
}

TEST_FIXTURE(test_names_sanitized, minimal_conf, free_conf)
{
  struct berth_user u = alice;
  struct berth_box *b;

  u.name = (char *) "Bob.Smith@corp.example";
  b = new_box(*state, &u);
  /* only [a-zA-Z0-9_.-], with a hash suffix since sanitizing changed it */
  assert_null(strpbrk(b->name, "@/: "));
  assert_int_equal(strncmp(b->name, "berth-Bob.Smith", 15), 0);
  assert_null(strpbrk(b->hostname, "@._ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
  berth_box_free(b);
}

TEST_FIXTURE(test_uid0_refused, minimal_conf, free_conf)
{
  struct berth_user root = alice;
  struct berth_box *b;
  berth_error_t err = NULL;

  root.name = (char *) "root";
  root.uid = 0;
  root.gid = 0;
  b = new_box(*state, &root);
  assert_null(berth_box_spec(b, IMAGE_ID, KEEPER, &err));
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_USER);
  berth_error_release(&err);
  /* ensure refuses before talking to any engine */
  must_fail(berth_box_ensure(NULL, b, true, NULL, &err), &err, BERTH_E_USER, 0, NULL);
  berth_box_free(b);
}

TEST(test_bad_mount_template)
{
  struct berth_user u = alice;
  struct berth_config *cfg = load_conf(
      "image = \"x\"; container = { mounts = ( { source = \"/srv/%u\"; target = \"/d\"; } ); };");
  /* the name, not the config, is at fault: a user error (issue 8); "."
   * would mount all of /srv */
  static const struct {
    const char *name, *said;
  } bad[] = { { "..", "/srv/.." }, { ".", "\"/srv/.\"" } };

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct berth_box *b;
    berth_error_t err = NULL;

    u.name = (char *) bad[i].name;
    b = new_box(cfg, &u);
    assert_null(berth_box_spec(b, IMAGE_ID, KEEPER, &err));
    assert_non_null(strstr(err->msg, bad[i].said));
    assert_int_equal(err->kind, BERTH_E_USER);
    berth_error_release(&err);
    berth_box_free(b);
  }
  berth_config_free(cfg);
}

static char *
hash_of(const char *conf_text, const struct berth_user *u, const char *image_id)
{
  struct berth_box *b;
  struct berth_config *cfg;
  json_t *spec = spec_for(conf_text, u, image_id, &b, &cfg);
  char h[65];
  char *label = strdup(str_at(spec, "Labels", BERTH_LABEL_SPEC));

  /* the label is the hash of the spec (computed without the label) */
  assert_int_equal(berth_box_spec_hash(spec, h), 0);
  assert_string_equal(h, label);
  json_decref(spec);
  berth_box_free(b);
  berth_config_free(cfg);
  return label;
}

TEST(test_hash)
{
  char *h1 = hash_of(full_conf, &alice, IMAGE_ID);
  char *h2 = hash_of(full_conf, &alice, IMAGE_ID);
  char *h3 = hash_of(full_conf, &alice, IMAGE_ID "2");
  char *conf2 = strdup(full_conf), *p = strstr(conf2, "\"2g\"");
  char *h4, *h5, *h6;
  struct berth_user u = alice;
  struct berth_group fewer[] = { { 1500, (char *) "alice" }, { 2001, (char *) "devs" } };

  /* stable across runs, hex */
  assert_string_equal(h1, h2);
  assert_int_equal(strspn(h1, "0123456789abcdef"), 64);
  /* a new image id changes it */
  assert_string_not_equal(h1, h3);
  /* so does the memory limit */
  p[1] = '3';
  h4 = hash_of(conf2, &alice, IMAGE_ID);
  assert_string_not_equal(h1, h4);
  /* and the user's groups */
  u.groups = fewer;
  u.n_groups = 2;
  h5 = hash_of(full_conf, &u, IMAGE_ID);
  assert_string_not_equal(h1, h5);
  /* but not the gecos, which is not part of the container */
  u = alice;
  u.gecos = (char *) "Someone Else";
  h6 = hash_of(full_conf, &u, IMAGE_ID);
  assert_string_equal(h1, h6);

  /* a fixed spec hashes to a fixed value: canonical JSON, sorted keys */
  json_t *j = json_pack("{s:i, s:s, s:{s:s}}", "b", 1, "a", "x", "Labels", BERTH_LABEL_SPEC, "y");
  char h[65];
  assert_int_equal(berth_box_spec_hash(j, h), 0);
  /* sha256('{"Labels":{},"a":"x","b":1}') */
  assert_string_equal(h, "3abede469f8d82adc5bab309a862fbd1d828d07ebe21cccfc97a3ccff61da6ea");
  json_decref(j);
  free(h1);
  free(h2);
  free(h3);
  free(h4);
  free(h5);
  free(h6);
  free(conf2);
}
