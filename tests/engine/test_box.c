/* test_box.c - the user's container against the live engine: a throw-away
 * local user (useradd, a primary and a supplementary group, home created on
 * first login) lands in a container of berth-test:latest that runs as them,
 * knows their name and groups, has their home, is reused, is created once
 * under concurrent logins, is recreated on a spec change only without live
 * sessions (and refused, not reused, when it gives more access than the
 * settings now do), is stopped/removed at the last logout only, and never
 * mounts a bind source someone other than root could redirect.
 *
 * Exits 77 (skip) without root or an answering engine, except under CI=true
 * where that is a failure.  Everything it makes (user, groups, containers
 * labelled berth.user=<its user>, temporary run directory) goes at exit. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/box.h"
#include "berth/engine.h"
#include "berth/session.h"
#include "../../lib/session-internal.h"
#include "berth/user.h"
#include "berth/util.h"
#include "../lib/testlib.h"

/* die_skip, sh, must: tests/lib/testlib.h */
#define out_of sh_out

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif
#ifndef TOP_BUILDDIR
#define TOP_BUILDDIR "."
#endif

#define N_CONCURRENT 8

static const char *sock = "/var/run/docker.sock";
static const char *base_image = "berth-test:latest";
static char image[128]; /* base_image plus entries that clash with the test user */
static bool image_made;
static char keeper[1024];
static char tmpdir[64];
static char rundir[128];
static char conf_path[128];
static char uname_[32], gprim[32], gsup[32];
static char home[192];
static char cname[64];
static bool user_made, groups_made;
static struct berth_user *U;
static struct berth_engine *E;

static void
cleanup(void)
{
  if (uname_[0]) {
    sh("docker ps -aq --filter label=berth.user=%s | xargs -r docker rm -f >/dev/null 2>&1",
       uname_);
    sh("docker ps -aq --filter label=berth.scratch=%s | xargs -r docker rm -f >/dev/null 2>&1",
       uname_);
  }
  if (image_made)
    sh("docker rmi -f %s >/dev/null 2>&1", image);
  image_made = false;
  if (user_made)
    sh("userdel %s >/dev/null 2>&1", uname_);
  if (groups_made)
    sh("groupdel %s >/dev/null 2>&1; groupdel %s >/dev/null 2>&1", gsup, gprim);
  user_made = groups_made = false;
  if (tmpdir[0])
    sh("rm -rf '%s'", tmpdir);
  tmpdir[0] = '\0';
}

static void
on_signal(int sig)
{
  cleanup();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* ---------------------------------------------------------------- config */

/* extra_container: more keys of the container block; it may set memory
 * (default 256m).  img NULL: the test image. */
static void
write_conf_with(const char *extra_container, const char *img, const char *pull, long timeout_ms)
{
  FILE *f = fopen(conf_path, "w");
  const char *extra = extra_container ? extra_container : "";
  assert_non_null(f);
  fprintf(f,
          "engine = { socket = \"%s\"; timeout_ms = %ld; };\n"
          "image = \"%s\";\n"
          "pull = \"%s\";\n"
          "home = { mount = true; create = true; skel = \"\"; };\n"
          "shell = { fallback = \"/bin/sh\"; };\n"
          "container = { pids = 256; network = \"none\"; %s %s };\n",
          sock, timeout_ms, img ? img : image, pull,
          strstr(extra, "memory") ? "" : "memory = \"256m\";", extra);
  fclose(f);
}

static void
write_conf(const char *extra_container)
{
  write_conf_with(extra_container, NULL, "never", 30000);
}

struct ctx {
  struct berth_config *cfg;
  struct berth_box *b;
};

static void
box_for(struct ctx *c, const char *extra_container)
{
  berth_error_t err = NULL;
  write_conf(extra_container);
  must(berth_config_load(conf_path, &c->cfg, &err), &err);
  must(berth_box_new(c->cfg, U, &c->b, &err), &err);
  c->b->keeper_path = keeper;
}

static void
ctx_free(struct ctx *c)
{
  berth_box_free(c->b);
  berth_config_free(c->cfg);
  c->b = NULL;
  c->cfg = NULL;
}

/* A child that just lives, to own a session. */
static pid_t
sleeper(void)
{
  pid_t p = fork();
  assert_true(p >= 0);
  if (p == 0) {
    /* a failed assertion in the test must not leave it behind */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;)
      pause();
  }
  return p;
}

static void
reap(pid_t p)
{
  kill(p, SIGKILL);
  waitpid(p, NULL, 0);
}

static const char *
state_of(const char *name)
{
  return out_of("docker inspect -f '{{.State.Status}}' %s 2>/dev/null", name);
}

static const char *
id_of(const char *name)
{
  return out_of("docker inspect -f '{{.Id}}' %s 2>/dev/null", name);
}

/* Each test starts without the container and without sessions, whatever
 * the previous one left. */
static int
fresh(void **state)
{
  sh("docker rm -f %s >/dev/null 2>&1", cname);
  sh("rm -rf '%s/sessions/%s' '%s/etc/%s'", rundir, cname, rundir, cname);
  return 0;
}

static void
remove_box(void)
{
  fresh(NULL);
}

/* ---------------------------------------------------------------- tests */

TEST_FIXTURE(test_first_login, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  const char *s;
  struct stat st;
  char want[512];

  box_for(&c, NULL);
  assert_string_equal(c.b->name, cname);
  assert_int_equal(stat(home, &st), -1); /* not there before the first login */
  must(berth_box_open(E, c.b, getpid(), &err), &err);
  assert_non_null(c.b->id);
  assert_string_equal(id_of(cname), c.b->id);
  assert_string_equal(state_of(cname), "running");
  assert_int_equal(berth_session_count(cname, 0, &err), 1);
  /* the image has bash, the user's shell */
  assert_string_equal(c.b->shell, "/bin/bash");
  assert_non_null(c.b->image_id);
  assert_string_equal(c.b->image_id, out_of("docker image inspect -f '{{.Id}}' %s", image));

  /* home made on the host, owned by the user */
  assert_int_equal(stat(home, &st), 0);
  assert_int_equal(st.st_uid, U->uid);
  assert_int_equal(st.st_gid, U->gid);

  /* identity inside */
  assert_string_equal(out_of("docker exec %s whoami", cname), uname_);
  snprintf(want, sizeof(want), "uid=%u(%s) gid=%u(%s) groups=%u(%s),%u(%s)", (unsigned) U->uid,
           uname_, (unsigned) U->gid, gprim, (unsigned) U->gid, gprim,
           (unsigned) getgrnam(gsup)->gr_gid, gsup);
  assert_string_equal(out_of("docker exec %s id", cname), want);
  /* the image's own entries with the same uid / gid are gone, root stays */
  s = out_of("docker exec %s cat /etc/passwd", cname);
  assert_null(strstr(s, "clashuser"));
  if (U->uid == 1000)
    assert_null(strstr(s, "imguser"));
  else
    assert_non_null(strstr(s, "imguser:x:1000:"));
  assert_non_null(strstr(s, "root:x:0:0:"));
  snprintf(want, sizeof(want), "\n%s:x:%u:%u:", uname_, (unsigned) U->uid, (unsigned) U->gid);
  assert_non_null(strstr(s, want));
  s = out_of("docker exec %s cat /etc/group", cname);
  assert_null(strstr(s, "clashgroup"));
  snprintf(want, sizeof(want), "%s:x:%u:%s", gsup, (unsigned) getgrnam(gsup)->gr_gid, uname_);
  assert_non_null(strstr(s, want));
  /* the home is the host's, at the same path, and the working directory */
  assert_string_equal(out_of("docker exec %s pwd", cname), home);
  assert_int_equal(sh("docker exec %s sh -c 'echo hi > ~/from-box'", cname), 0);
  assert_int_equal(stat(out_of("printf %%s '%s/from-box'", home), &st), 0);
  assert_int_equal(st.st_uid, U->uid);
  /* ls -l ~ shows names (busybox ls cuts them at 8 characters: use stat) */
  snprintf(want, sizeof(want), "%s %s", uname_, gprim);
  assert_string_equal(out_of("docker exec %s stat -c '%%U %%G' %s", cname, home), want);
  /* confinement: no capabilities, no_new_privs, the keeper as pid 1 */
  assert_string_equal(out_of("docker exec %s sh -c 'grep ^CapEff /proc/self/status'", cname),
                      "CapEff:\t0000000000000000");
  assert_string_equal(out_of("docker exec %s sh -c 'grep ^NoNewPrivs /proc/self/status'", cname),
                      "NoNewPrivs:\t1");
  assert_string_equal(out_of("docker exec %s cat /proc/1/cmdline", cname), BERTH_KEEPER_TARGET);
  assert_string_equal(out_of("docker exec %s hostname", cname), c.b->hostname);
  /* labels */
  assert_string_equal(
      out_of("docker inspect -f '{{index .Config.Labels \"berth.user\"}}' %s", cname), uname_);
  assert_string_equal(
      out_of("docker inspect -f '{{index .Config.Labels \"berth.uid\"}}' %s", cname),
      out_of("id -u %s", uname_));
  assert_string_equal(
      out_of("docker inspect -f '{{index .Config.Labels \"berth.spec\"}}' %s", cname),
      c.b->spec_hash);
  assert_string_equal(out_of("docker inspect -f '{{.HostConfig.Memory}}' %s", cname), "268435456");

  /* what berth keeps about the image is the image's, not this user's */
  assert_int_equal(sh("grep -rq clashuser '%s/images'", rundir), 0);
  assert_int_not_equal(sh("grep -rq '%s' '%s/images'", uname_, rundir), 0);

  /* a second login reuses it */
  {
    struct ctx c2;
    pid_t p = sleeper();
    box_for(&c2, NULL);
    must(berth_box_open(E, c2.b, p, &err), &err);
    assert_string_equal(c2.b->id, c.b->id);
    assert_string_equal(c2.b->shell, "/bin/bash");
    assert_int_equal(berth_session_count(cname, 0, &err), 2);
    ctx_free(&c2);
    reap(p);
    assert_int_equal(berth_session_count(cname, 0, &err), 1);
  }
  must(berth_session_release(cname, getpid(), &err), &err);
  ctx_free(&c);
}

TEST_FIXTURE(test_concurrent_first_logins, fresh, NULL)
{
  pid_t kids[N_CONCURRENT];
  int go[2];
  berth_error_t err = NULL;

  remove_box();
  /* pull = missing with the image present: the image step runs outside the
   * lock for everyone, and all of them still get in */
  write_conf_with(NULL, NULL, "missing", 30000);
  assert_int_equal(pipe(go), 0);
  for (int i = 0; i < N_CONCURRENT; i++) {
    kids[i] = fork();
    assert_true(kids[i] >= 0);
    if (kids[i] == 0) {
      struct berth_engine *e = NULL;
      struct berth_config *cfg = NULL;
      struct berth_box *b = NULL;
      berth_error_t cerr = NULL;
      char byte;
      close(go[1]);
      if (read(go[0], &byte, 1) != 0) /* EOF: everyone starts together */
        _exit(3);
      if (berth_engine_new(sock, 30000, &e, &cerr) < 0
          || berth_config_load(conf_path, &cfg, &cerr) < 0
          || berth_box_new(cfg, U, &b, &cerr) < 0) {
        fprintf(stderr, "child setup: %s\n", cerr->msg);
        _exit(2);
      }
      b->keeper_path = keeper;
      if (berth_box_open(e, b, getpid(), &cerr) < 0) {
        fprintf(stderr, "child open: %s\n", cerr->msg);
        _exit(1);
      }
      /* hand the session back before exiting (as pam close would) */
      berth_session_release(b->name, getpid(), &cerr);
      _exit(0);
    }
  }
  close(go[0]);
  close(go[1]);
  for (int i = 0; i < N_CONCURRENT; i++) {
    int st;
    assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
  }
  /* exactly one container for the user, running */
  assert_string_equal(out_of("docker ps -aq --filter label=berth.user=%s | wc -l", uname_), "1");
  assert_string_equal(state_of(cname), "running");
  assert_int_equal(berth_session_count(cname, 0, &err), 0);
  assert_string_equal(out_of("docker exec %s whoami", cname), uname_);
}

TEST_FIXTURE(test_recreate_on_spec_change, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  char id1[128], id2[128];
  pid_t live;

  box_for(&c, NULL);
  must(berth_box_open(E, c.b, 0, &err), &err);
  snprintf(id1, sizeof(id1), "%s", c.b->id);
  ctx_free(&c);

  /* memory changed, nobody logged in: a new container */
  box_for(&c, "memory = \"300m\";");
  must(berth_box_open(E, c.b, 0, &err), &err);
  snprintf(id2, sizeof(id2), "%s", c.b->id);
  assert_string_not_equal(id1, id2);
  assert_string_equal(out_of("docker inspect -f '{{.HostConfig.Memory}}' %s", cname), "314572800");
  assert_string_equal(out_of("docker ps -aq --filter id=%s | wc -l", id1), "0");
  /* the new one has the user's entries too */
  assert_string_equal(out_of("docker exec %s whoami", cname), uname_);
  ctx_free(&c);

  /* changed again while a session is live: kept as it is */
  live = sleeper();
  box_for(&c, "memory = \"300m\";");
  must(berth_box_open(E, c.b, live, &err), &err);
  assert_string_equal(c.b->id, id2);
  ctx_free(&c);
  box_for(&c, "memory = \"320m\";");
  must(berth_box_open(E, c.b, 0, &err), &err);
  assert_string_equal(c.b->id, id2);
  assert_string_equal(out_of("docker inspect -f '{{.HostConfig.Memory}}' %s", cname), "314572800");
  /* the label still says what the container is, not what is wanted */
  assert_string_not_equal(
      out_of("docker inspect -f '{{index .Config.Labels \"berth.spec\"}}' %s", cname),
      c.b->spec_hash);
  ctx_free(&c);
  /* once the session is gone, the next login recreates */
  reap(live);
  box_for(&c, "memory = \"320m\";");
  must(berth_box_open(E, c.b, 0, &err), &err);
  assert_string_not_equal(c.b->id, id2);
  assert_string_equal(out_of("docker inspect -f '{{.HostConfig.Memory}}' %s", cname), "335544320");
  ctx_free(&c);
}

TEST_FIXTURE(test_logout, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  pid_t a, b;
  int left = -1;
  char id[128];

  remove_box();
  /* stop: only at the last logout */
  a = sleeper();
  b = sleeper();
  box_for(&c, "on_logout = \"stop\";");
  must(berth_box_open(E, c.b, a, &err), &err);
  must(berth_box_open(E, c.b, b, &err), &err);
  snprintf(id, sizeof(id), "%s", c.b->id);
  must(berth_box_close(E, c.b, a, &left, &err), &err);
  assert_int_equal(left, 1);
  assert_string_equal(state_of(cname), "running");
  must(berth_box_close(E, c.b, b, &left, &err), &err);
  assert_int_equal(left, 0);
  assert_string_equal(state_of(cname), "exited");
  /* the next login starts the same container again */
  must(berth_box_open(E, c.b, a, &err), &err);
  assert_string_equal(c.b->id, id);
  assert_string_equal(state_of(cname), "running");
  assert_string_equal(out_of("docker exec %s whoami", cname), uname_);
  ctx_free(&c);

  /* remove: a session that died without closing does not keep it alive,
   * a live one does */
  box_for(&c, "on_logout = \"remove\";");
  must(berth_box_open(E, c.b, b, &err), &err);
  reap(a);                                                    /* sshd killed: never closed */
  must(berth_box_close(E, c.b, getpid(), &left, &err), &err); /* someone else's logout */
  assert_int_equal(left, 1);
  assert_string_equal(state_of(cname), "running");
  must(berth_box_close(E, c.b, b, &left, &err), &err);
  assert_int_equal(left, 0);
  assert_string_equal(state_of(cname), "");
  reap(b);
  ctx_free(&c);

  /* keep: stays running */
  box_for(&c, NULL);
  must(berth_box_open(E, c.b, getpid(), &err), &err);
  must(berth_box_close(E, c.b, getpid(), &left, &err), &err);
  assert_int_equal(left, 0);
  assert_string_equal(state_of(cname), "running");
  ctx_free(&c);
}

TEST_FIXTURE(test_foreign_container, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  char fid[128];
  int left = -1;

  remove_box();
  /* the name is taken by a container that is not labelled for this user */
  assert_int_equal(sh("docker create --name %s --label berth.user=someoneelse %s /bin/true "
                      ">/dev/null",
                      cname, image),
                   0);
  snprintf(fid, sizeof(fid), "%s", id_of(cname));
  box_for(&c, "on_logout = \"remove\";");
  assert_int_equal(berth_box_open(E, c.b, 0, &err), -1);
  assert_int_equal(err->kind, BERTH_E_CONTAINER);
  assert_non_null(strstr(err->msg, "not labelled for"));
  berth_error_release(&err);
  /* untouched, also by a logout with on_logout = remove */
  assert_int_equal(berth_box_close(E, c.b, 0, &left, &err), -1);
  berth_error_release(&err);
  assert_string_equal(id_of(cname), fid);
  assert_string_equal(state_of(cname), "created");
  ctx_free(&c);
  remove_box();
}

TEST_FIXTURE(test_readonly_rootfs, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  char path[256], want[256];
  struct stat st;
  int left;

  remove_box();
  box_for(&c, "readonly_rootfs = true; tmpfs = [ \"/tmp:size=16m\" ]; on_logout = \"remove\";");
  must(berth_box_open(E, c.b, getpid(), &err), &err);
  assert_string_equal(state_of(cname), "running");
  assert_string_equal(out_of("docker exec %s whoami", cname), uname_);
  snprintf(want, sizeof(want), "(%s)", gsup);
  assert_non_null(strstr(out_of("docker exec %s id", cname), want));
  /* the image's other entries are there as well */
  assert_non_null(strstr(out_of("docker exec %s cat /etc/passwd", cname), "nobody:x:65534"));
  assert_null(strstr(out_of("docker exec %s cat /etc/passwd", cname), "clashuser"));
  assert_string_equal(c.b->shell, "/bin/bash");
  /* generated on the host, root-owned, read-only inside */
  snprintf(path, sizeof(path), "%s/etc/%s/passwd", rundir, cname);
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_uid, 0);
  assert_int_equal(st.st_mode & 07777, 0644);
  assert_int_not_equal(sh("docker exec %s sh -c 'touch /x' 2>/dev/null", cname), 0);
  assert_int_equal(sh("docker exec %s sh -c 'touch /tmp/x ~/y'", cname), 0);
  /* no scratch container left behind */
  assert_string_equal(out_of("docker ps -aq --filter label=berth.scratch=%s | wc -l", uname_), "0");

  /* after a reboot (/run emptied) a stopped container still starts */
  sh("docker stop -t 1 %s >/dev/null", cname);
  sh("rm -rf '%s/etc'", rundir);
  {
    struct ctx c2;
    box_for(&c2, "readonly_rootfs = true; tmpfs = [ \"/tmp:size=16m\" ]; on_logout = \"remove\";");
    must(berth_box_open(E, c2.b, 0, &err), &err);
    assert_string_equal(c2.b->id, c.b->id);
    assert_string_equal(state_of(cname), "running");
    assert_string_equal(out_of("docker exec %s whoami", cname), uname_);
    ctx_free(&c2);
  }

  must(berth_box_close(E, c.b, getpid(), &left, &err), &err);
  assert_string_equal(state_of(cname), "");
  assert_int_equal(lstat(path, &st), -1);
  ctx_free(&c);
}

/* The user's /etc/passwd and /etc/group are host files berth generates,
 * bound read-only: no archive write into the container, no scratch
 * container once the image's own files are cached, and neither the user
 * inside nor the user on the host can change or replace them.  A changed
 * passwd entry reaches the container at its next start. */
TEST_FIXTURE(test_etc_files_bound, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  char dir[256], pw[300], gr[300], t0[32], as_user[96];
  struct stat st;
  int left;

  box_for(&c, "on_logout = \"remove\";");
  /* a first login fills the image's cache; the next cold one is timed */
  must(berth_box_open(E, c.b, getpid(), &err), &err);
  must(berth_box_close(E, c.b, getpid(), &left, &err), &err);
  assert_string_equal(state_of(cname), "");
  snprintf(t0, sizeof(t0), "%s", out_of("date +%%s.%%N"));
  must(berth_box_open(E, c.b, getpid(), &err), &err);
  assert_string_equal(state_of(cname), "running");
  /* nothing written through the archive API (Docker's extract-to-dir
   * event), no scratch container made */
  assert_string_equal(out_of("docker events --since %s --until \"$(date +%%s.%%N)\" "
                             "--filter event=extract-to-dir --filter event=create "
                             "--format '{{.Action}} {{.Actor.Attributes.name}}' "
                             "| grep -vx 'create %s' | wc -l",
                             t0, cname),
                      "0");

  /* root's files, 0644, in root's 0755 directories */
  snprintf(dir, sizeof(dir), "%s/etc/%s", rundir, cname);
  snprintf(pw, sizeof(pw), "%s/passwd", dir);
  snprintf(gr, sizeof(gr), "%s/group", dir);
  const char *made[] = { pw, gr, dir, NULL };
  for (const char **p = made; *p; p++) {
    assert_int_equal(lstat(*p, &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_gid, 0);
    assert_int_equal(st.st_mode & 07777, S_ISDIR(st.st_mode) ? 0755 : 0644);
  }
  /* what the container reads is that file */
  assert_int_equal(sh("docker exec %s cat /etc/passwd | cmp -s - '%s'", cname, pw), 0);
  assert_int_equal(sh("docker exec %s cat /etc/group | cmp -s - '%s'", cname, gr), 0);

  /* the user inside: cannot write, replace, remove or unmount it */
  assert_int_not_equal(sh("docker exec %s sh -c 'echo evil::0:0::/:/bin/sh >> /etc/passwd' "
                          "2>/dev/null",
                          cname),
                       0);
  assert_int_not_equal(sh("docker exec %s sh -c 'cp /etc/passwd ~/p && echo evil::0:0::/:/bin/sh "
                          ">> ~/p && mv -f ~/p /etc/passwd' 2>/dev/null",
                          cname),
                       0);
  assert_int_not_equal(sh("docker exec %s sh -c 'rm -f /etc/group' 2>/dev/null", cname), 0);
  assert_int_not_equal(sh("docker exec %s sh -c 'umount /etc/passwd' 2>/dev/null", cname), 0);
  /* the user on the host: cannot write it, add to or rename in its
   * directory, or point it elsewhere */
  snprintf(as_user, sizeof(as_user), "setpriv --reuid=%u --regid=%u --clear-groups",
           (unsigned) U->uid, (unsigned) U->gid);
  assert_int_not_equal(sh("%s sh -c 'echo evil >> %s' 2>/dev/null", as_user, pw), 0);
  assert_int_not_equal(sh("%s sh -c 'echo evil > %s/new' 2>/dev/null", as_user, dir), 0);
  assert_int_not_equal(sh("%s sh -c 'mv -f %s %s/x' 2>/dev/null", as_user, gr, dir), 0);
  assert_int_not_equal(sh("%s ln -sf /tmp %s 2>/dev/null", as_user, pw), 0);
  assert_int_equal(sh("grep -q evil '%s' '%s'", pw, gr), 1);
  assert_int_equal(sh("docker exec %s grep -q evil /etc/passwd /etc/group", cname), 1);
  assert_int_equal(sh("docker exec %s cat /etc/passwd | cmp -s - '%s'", cname, pw), 0);

  /* a changed entry: the running container keeps what it started with,
   * its next start (here after a stop) shows the new one */
  {
    struct berth_user *old = U, *now = NULL;
    struct ctx c2;
    assert_int_equal(sh("usermod -c 'Renamed Person' %s", uname_), 0);
    must(berth_user_lookup(uname_, &now, &err), &err);
    U = now;
    box_for(&c2, "on_logout = \"remove\";");
    must(berth_box_open(E, c2.b, 0, &err), &err);
    assert_int_equal(sh("docker exec %s grep -q '^%s:.*Renamed Person' /etc/passwd", cname, uname_),
                     1);
    sh("docker stop -t 1 %s >/dev/null", cname);
    must(berth_box_open(E, c2.b, 0, &err), &err);
    assert_string_equal(state_of(cname), "running");
    assert_int_equal(sh("docker exec %s grep -q '^%s:x:%u:%u:Renamed Person:' /etc/passwd", cname,
                        uname_, (unsigned) U->uid, (unsigned) U->gid),
                     0);
    assert_int_equal(sh("docker exec %s cat /etc/passwd | cmp -s - '%s'", cname, pw), 0);
    ctx_free(&c2);
    U = old;
    berth_user_free(now);
  }

  must(berth_box_close(E, c.b, getpid(), &left, &err), &err);
  assert_string_equal(state_of(cname), "");
  assert_int_equal(lstat(dir, &st), -1); /* removed with the container */
  ctx_free(&c);
}

TEST_FIXTURE(test_failures, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;

  remove_box();
  /* a keeper that exits at once: seen when it is already gone by the
   * check after start, a race berth wins most of the time (7 in 10 on an
   * idle machine, far fewer under load): tried until seen, 40 times at most */
  {
    int caught = 0, tries = 0;
    box_for(&c, "keeper = [ \"/bin/sh\", \"-c\", \"exit 3\" ];");
    while (caught == 0 && tries++ < 40) {
      if (berth_box_open(E, c.b, getpid(), &err) == 0) {
        must(berth_session_release(cname, getpid(), &err), &err);
        continue;
      }
      assert_int_equal(err->kind, BERTH_E_CONTAINER);
      if (strstr(err->msg, "code 3") == NULL)
        fail_msg("unexpected error: %s", err->msg);
      berth_error_release(&err);
      /* no session recorded for a failed login */
      assert_int_equal(berth_session_count(cname, 0, &err), 0);
      caught++;
    }
    print_message("# keeper exit caught after %d tries\n", tries);
    assert_true(caught >= 1);
    ctx_free(&c);
    remove_box();
  }

  /* a keeper that does not exist: the engine's reason is passed on */
  box_for(&c, "keeper = [ \"/no/such/keeper\" ];");
  assert_int_equal(berth_box_open(E, c.b, 0, &err), -1);
  assert_int_equal(err->kind, BERTH_E_CONTAINER);
  assert_non_null(strstr(err->msg, "/no/such/keeper"));
  berth_error_release(&err);
  ctx_free(&c);
  remove_box();

  /* pull = never and no such image */
  {
    FILE *f = fopen(conf_path, "w");
    struct berth_config *cfg = NULL;
    struct berth_box *b = NULL;
    assert_non_null(f);
    fprintf(f,
            "engine = { socket = \"%s\"; };\nimage = \"berth-test-no-such-image:%d\";\n"
            "pull = \"never\";\n",
            sock, (int) getpid());
    fclose(f);
    must(berth_config_load(conf_path, &cfg, &err), &err);
    must(berth_box_new(cfg, U, &b, &err), &err);
    b->keeper_path = keeper;
    assert_int_equal(berth_box_open(E, b, 0, &err), -1);
    assert_int_equal(err->kind, BERTH_E_IMAGE_MISSING);
    berth_error_release(&err);
    berth_box_free(b);
    berth_config_free(cfg);
  }

  /* a login shell the image lacks: the fallback */
  box_for(&c, NULL);
  {
    char *saved = U->shell;
    U->shell = (char *) "/bin/no-such-shell";
    must(berth_box_open(E, c.b, 0, &err), &err);
    assert_string_equal(c.b->shell, "/bin/sh");
    U->shell = saved;
    must(berth_box_open(E, c.b, 0, &err), &err);
    assert_string_equal(c.b->shell, "/bin/bash");
  }
  ctx_free(&c);
}

/* A directory for the test user, mode 0755, under tmpdir/rel. */
static const char *
user_dir(const char *rel)
{
  static char p[512];
  snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
  assert_int_equal(sh("mkdir -p '%s' && chown %u:%u '%s' && chmod 0755 '%s'", p, (unsigned) U->uid,
                      (unsigned) U->gid, p, p),
                   0);
  return p;
}

static void
expect_open_refused(struct ctx *c, const char *needle1, const char *needle2)
{
  berth_error_t err = NULL;
  if (berth_box_open(E, c->b, 0, &err) == 0)
    fail_msg("open succeeded; expected an error mentioning \"%s\"", needle1);
  assert_int_equal(err->kind, BERTH_E_CONTAINER);
  if (strstr(err->msg, needle1) == NULL || (needle2 && strstr(err->msg, needle2) == NULL))
    fail_msg("error \"%s\" does not mention \"%s\" and \"%s\"", err->msg, needle1,
             needle2 ? needle2 : "");
  berth_error_release(&err);
}

/* Bind sources are followed by the engine as root at every start: one the
 * user can redirect would mount whatever they point it at. */
TEST_FIXTURE(test_mount_sources, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  char conf[1024], src[512], secret[512], id[128];

  remove_box();
  /* someone else's private files: readable by mode, but below a 0700 root
   * directory, so not reachable for the user on the host */
  snprintf(secret, sizeof(secret), "%s/secret", tmpdir);
  assert_int_equal(sh("mkdir -m 0700 '%s' && mkdir -m 0755 '%s/project' && echo private > "
                      "'%s/project/notes' && chmod 0644 '%s/project/notes'",
                      secret, secret, secret, secret),
                   0);

  /* a source below a directory the user owns: refused at create, no
   * container made */
  user_dir("userdir");
  snprintf(conf, sizeof(conf), "mounts = ( { source = \"%s/userdir/%%u\"; target = \"/data\"; } );",
           tmpdir);
  user_dir(out_of("printf %%s 'userdir/%s'", uname_));
  box_for(&c, conf);
  expect_open_refused(&c, "refusing to mount", "owned by uid");
  assert_string_equal(state_of(cname), "");
  ctx_free(&c);

  /* the user's own directory in a world-writable sticky one (/tmp-like):
   * they can replace it with a link at any time */
  assert_int_equal(sh("mkdir -m 1777 '%s/sticky' && chmod 1777 '%s/sticky'", tmpdir, tmpdir), 0);
  user_dir(out_of("printf %%s 'sticky/%s'", uname_));
  snprintf(conf, sizeof(conf), "mounts = ( { source = \"%s/sticky/%%u\"; target = \"/data\"; } );",
           tmpdir);
  box_for(&c, conf);
  expect_open_refused(&c, "refusing to mount", "others can write");
  assert_string_equal(state_of(cname), "");
  ctx_free(&c);

  /* the home is a bind source too */
  {
    struct berth_user u2 = *U;
    char h2[512];
    snprintf(h2, sizeof(h2), "%s/userdir/%s/home", tmpdir, uname_);
    user_dir(out_of("printf %%s 'userdir/%s/home'", uname_));
    u2.home = h2;
    write_conf(NULL);
    c.cfg = NULL;
    must(berth_config_load(conf_path, &c.cfg, &err), &err);
    must(berth_box_new(c.cfg, &u2, &c.b, &err), &err);
    c.b->keeper_path = keeper;
    expect_open_refused(&c, "refusing to mount the home directory", "owned by uid");
    assert_string_equal(state_of(cname), "");
    ctx_free(&c);
  }

  /* /scratch/%u done right: a root-owned 0755 parent, the user's own
   * directory in it */
  assert_int_equal(sh("mkdir -m 0755 '%s/scratch'", tmpdir), 0);
  snprintf(src, sizeof(src), "%s", user_dir(out_of("printf %%s 'scratch/%s'", uname_)));
  assert_int_equal(sh("echo mine > '%s/mine'", src), 0);
  snprintf(conf, sizeof(conf),
           "on_logout = \"stop\"; mounts = ( { source = \"%s/scratch/%%u\"; target = "
           "\"/data\"; } );",
           tmpdir);
  box_for(&c, conf);
  must(berth_box_open(E, c.b, 0, &err), &err);
  snprintf(id, sizeof(id), "%s", c.b->id);
  assert_string_equal(out_of("docker exec %s cat /data/mine", cname), "mine");
  /* then the admin hands /scratch to the user, who swaps their directory
   * for a link to the private files; the stopped container is not started
   * again */
  sh("docker stop -t 1 %s >/dev/null", cname);
  assert_int_equal(sh("chown %u '%s/scratch' && rm -rf '%s' && ln -s '%s/project' '%s' && "
                      "chown -h %u:%u '%s'",
                      (unsigned) U->uid, tmpdir, src, secret, src, (unsigned) U->uid,
                      (unsigned) U->gid, src),
                   0);
  expect_open_refused(&c, "refusing to mount", src);
  assert_string_equal(state_of(cname), "exited");
  /* with /scratch root's again, the user's link alone is refused */
  assert_int_equal(sh("chown 0 '%s/scratch'", tmpdir), 0);
  expect_open_refused(&c, "symbolic link owned by uid", src);
  assert_string_equal(state_of(cname), "exited");
  assert_string_equal(id_of(cname), id);
  ctx_free(&c);
  remove_box();

  /* root's own links in root-only directories are followed, chains and
   * relative ones included (/home -> /var/home) */
  assert_int_equal(sh("mkdir -p '%s/var/data' && ln -s '%s/var/data' '%s/data' && "
                      "ln -s data '%s/data2' && mkdir -m 0700 '%s/var/data/%s' && "
                      "chown %u '%s/var/data/%s' && echo linked > '%s/var/data/%s/f'",
                      tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, uname_, (unsigned) U->uid, tmpdir,
                      uname_, tmpdir, uname_),
                   0);
  snprintf(conf, sizeof(conf),
           "mounts = ( { source = \"%s/data2/%%u\"; target = \"/data\"; readonly = true; } );",
           tmpdir);
  box_for(&c, conf);
  must(berth_box_open(E, c.b, 0, &err), &err);
  assert_string_equal(out_of("docker exec %s cat /data/f", cname), "linked");
  ctx_free(&c);
  remove_box();
}

/* A stale container is kept while sessions are live in it, but not when it
 * gives the user more than the current settings do. */
TEST_FIXTURE(test_access_revoked, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  char with_mount[512], with_mount_mem[1024], id[128];
  struct berth_user fewer = *U;
  struct berth_group kept[8];
  size_t nk = 0;
  pid_t live;

  remove_box();
  user_dir(out_of("printf %%s 'srv/%s'", uname_));
  assert_int_equal(sh("chown 0 '%s/srv' && chmod 0755 '%s/srv'", tmpdir, tmpdir), 0);
  snprintf(with_mount, sizeof(with_mount),
           "mounts = ( { source = \"%s/srv/%%u\"; target = \"/data\"; } );", tmpdir);
  snprintf(with_mount_mem, sizeof(with_mount_mem), "memory = \"300m\"; %s", with_mount);

  live = sleeper();
  box_for(&c, with_mount);
  must(berth_box_open(E, c.b, live, &err), &err);
  snprintf(id, sizeof(id), "%s", c.b->id);
  ctx_free(&c);

  /* the mount was removed from the settings: no new session in the old
   * container */
  box_for(&c, NULL);
  expect_open_refused(&c, "access changed", "berthctl rm --force");
  assert_string_equal(id_of(cname), id);
  assert_string_equal(state_of(cname), "running");
  ctx_free(&c);
  /* made read-only */
  {
    char ro[1024];
    snprintf(ro, sizeof(ro),
             "mounts = ( { source = \"%s/srv/%%u\"; target = \"/data\"; readonly = true; } );",
             tmpdir);
    box_for(&c, ro);
    expect_open_refused(&c, "access changed", "writable");
    ctx_free(&c);
  }

  /* the user left a supplementary group */
  for (size_t i = 0; i < U->n_groups && nk < 8; i++)
    if (U->groups[i].gid != getgrnam(gsup)->gr_gid)
      kept[nk++] = U->groups[i];
  assert_true(nk < U->n_groups);
  fewer.groups = kept;
  fewer.n_groups = nk;
  write_conf(with_mount);
  must(berth_config_load(conf_path, &c.cfg, &err), &err);
  must(berth_box_new(c.cfg, &fewer, &c.b, &err), &err);
  c.b->keeper_path = keeper;
  expect_open_refused(&c, "access changed", "supplementary group");
  ctx_free(&c);

  /* a harmless change (a memory limit) still reuses it */
  box_for(&c, with_mount_mem);
  must(berth_box_open(E, c.b, 0, &err), &err);
  assert_string_equal(c.b->id, id);
  ctx_free(&c);

  /* with the other session gone, the next login gets the new settings */
  reap(live);
  box_for(&c, NULL);
  must(berth_box_open(E, c.b, 0, &err), &err);
  assert_string_not_equal(c.b->id, id);
  assert_int_not_equal(sh("docker exec %s test -e /data", cname), 0);
  ctx_free(&c);
}

/* The image step (inspect, pull) runs before the user's lock: a login
 * whose image is missing says so at once even while the lock is held. */
TEST_FIXTURE(test_image_outside_lock, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  char missing[128];
  int64_t t0, elapsed;
  int lock, r;

  remove_box();
  snprintf(missing, sizeof(missing), "berth-boxtest-missing-%d:x", (int) getpid());
  write_conf_with(NULL, missing, "never", 1000);
  must(berth_config_load(conf_path, &c.cfg, &err), &err);
  must(berth_box_new(c.cfg, U, &c.b, &err), &err);
  c.b->keeper_path = keeper;
  lock = berth_session_lock(cname, 1000, &err);
  must(lock, &err);
  t0 = berth_now_ms();
  r = berth_box_open(E, c.b, 0, &err);
  elapsed = berth_now_ms() - t0;
  berth_session_unlock(lock); /* before any assertion: later tests need it */
  assert_int_equal(r, -1);
  assert_int_equal(err->kind, BERTH_E_IMAGE_MISSING);
  berth_error_release(&err);
  assert_true(elapsed < 3000);
  ctx_free(&c);
}

/* A waiter outlasts a holder that takes longer than the old bound
 * (3 x timeout_ms, at least 5 s). */
TEST_FIXTURE(test_lock_wait, fresh, NULL)
{
  struct ctx c;
  berth_error_t err = NULL;
  pid_t kid;
  int lock, st, ready[2];
  char byte;

  box_for(&c, NULL);
  must(berth_box_open(E, c.b, 0, &err), &err);
  ctx_free(&c);
  write_conf_with(NULL, NULL, "never", 1000);
  lock = berth_session_lock(cname, 1000, &err);
  must(lock, &err);
  assert_int_equal(pipe(ready), 0);
  kid = fork();
  assert_true(kid >= 0);
  if (kid == 0) {
    struct berth_engine *e = NULL;
    struct berth_config *cfg = NULL;
    struct berth_box *b = NULL;
    berth_error_t cerr = NULL;
    close(ready[0]);
    if (berth_engine_new(sock, 1000, &e, &cerr) < 0 || berth_config_load(conf_path, &cfg, &cerr) < 0
        || berth_box_new(cfg, U, &b, &cerr) < 0) {
      fprintf(stderr, "child setup: %s\n", cerr->msg);
      _exit(2);
    }
    b->keeper_path = keeper;
    close(ready[1]);
    if (berth_box_open(e, b, 0, &cerr) < 0) {
      fprintf(stderr, "child open: %s\n", cerr->msg);
      _exit(1);
    }
    _exit(0);
  }
  close(ready[1]);
  assert_int_equal(read(ready[0], &byte, 1), 0);
  close(ready[0]);
  sleep(6);
  berth_session_unlock(lock);
  assert_int_equal(waitpid(kid, &st, 0), kid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---------------------------------------------------------------- setup */

static void
make_user(void)
{
  struct passwd *pw;
  const char *uid_opt = "";
  berth_error_t err = NULL;

  snprintf(uname_, sizeof(uname_), "btbox%d", (int) getpid() % 1000000);
  snprintf(gprim, sizeof(gprim), "btboxp%d", (int) getpid() % 1000000);
  snprintf(gsup, sizeof(gsup), "btboxs%d", (int) getpid() % 1000000);
  snprintf(home, sizeof(home), "%s/home/%s", tmpdir, uname_);
  /* uid 1000 is imguser's in the image: take it when the host has it free,
   * to prove berth's entry wins over the image's */
  if ((pw = getpwuid(1000)) == NULL && getgrgid(1000) == NULL)
    uid_opt = "-u 1000";
  if (sh("groupadd %s %s && groupadd %s", uid_opt[0] ? "-g 1000" : "", gprim, gsup) != 0)
    die_skip("groupadd failed");
  groups_made = true;
  if (sh("useradd -M -N %s -g %s -G %s -d %s -s /bin/bash %s", uid_opt, gprim, gsup, home, uname_)
      != 0)
    die_skip("useradd failed");
  user_made = true;
  if (berth_user_lookup(uname_, &U, &err) < 0) {
    fprintf(stderr, "lookup: %s\n", err->msg);
    exit(1);
  }
}

/* base_image plus a user with the test user's uid and a group with its
 * supplementary gid, under other names: berth's entries must win. */
static void
make_image(void)
{
  char mk[64];
  gid_t sup = getgrnam(gsup)->gr_gid;

  snprintf(image, sizeof(image), "berth-boxtest-%d:latest", (int) getpid());
  snprintf(mk, sizeof(mk), "berth-boxtest-mk-%d", (int) getpid());
  if (sh("set -e; d='%s/img'; mkdir -p \"$d\"; "
         "docker create --name %s %s /bin/true >/dev/null; "
         "docker cp %s:/etc/passwd \"$d/passwd\"; docker cp %s:/etc/group \"$d/group\"; "
         "echo 'clashuser:x:%u:%u:clash:/home/clash:/bin/sh' >> \"$d/passwd\"; "
         "echo 'clashgroup:x:%u:clashuser' >> \"$d/group\"; "
         "docker cp \"$d/passwd\" %s:/etc/passwd; docker cp \"$d/group\" %s:/etc/group; "
         "docker commit %s %s >/dev/null; docker rm %s >/dev/null",
         tmpdir, mk, base_image, mk, mk, (unsigned) U->uid, (unsigned) U->uid, (unsigned) sup, mk,
         mk, mk, image, mk)
      != 0) {
    sh("docker rm -f %s >/dev/null 2>&1", mk);
    fprintf(stderr, "FAIL: could not derive the test image from %s\n", base_image);
    exit(1);
  }
  image_made = true;
}

int
main(void)
{
  const char *s = getenv("BERTH_TEST_ENGINE_SOCKET");
  const char *top = getenv("top_srcdir");
  const char *btop = getenv("top_builddir");
  const char *img = getenv("BERTH_TEST_IMAGE");
  char cmd[2048];
  int rc;

  if (s && *s)
    sock = s;
  if (img && *img)
    base_image = img;
  E = test_engine_or_skip(sock, 30000);
  snprintf(keeper, sizeof(keeper), "%s/berth-keeper", btop && *btop ? btop : TOP_BUILDDIR);
  if (access(keeper, X_OK) != 0) {
    fprintf(stderr, "FAIL: %s not built\n", keeper);
    return 1;
  }
  snprintf(cmd, sizeof(cmd), "bash '%s/tests/lib/build-image.sh' '%s' >/dev/null",
           top && *top ? top : TOP_SRCDIR, base_image);
  if (sh("docker image inspect %s >/dev/null 2>&1", base_image) != 0 && sh("%s", cmd) != 0)
    die_skip("the test image could not be built (tests/lib/build-image.sh)");

  snprintf(tmpdir, sizeof(tmpdir), "/tmp/bt-box-XXXXXX");
  if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) < 0) {
    perror("mkdtemp");
    return 1;
  }
  atexit(cleanup);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  snprintf(rundir, sizeof(rundir), "%s/run", tmpdir);
  snprintf(conf_path, sizeof(conf_path), "%s/berth.conf", tmpdir);
  berth_session_set_rundir(rundir);
  make_user();
  make_image();
  snprintf(cname, sizeof(cname), "berth-%s", uname_);

  rc = testlib_run();
  berth_user_free(U);
  berth_engine_free(E);
  cleanup();
  return rc;
}
