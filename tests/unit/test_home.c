/* test_home.c - first-login home creation as root: nested parents, owner and
 * mode, skel copied as the user, symlink attacks refused (root's own links
 * in root-only directories followed), atomicity and
 * concurrent first logins.  Needs root: exits 77 (skip) without it, and
 * fails under CI=true. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/home.h"
#include "berth/session.h"
#include "../../lib/session-internal.h"
#include "../lib/testlib.h"

#define UID 4242421
#define GID 4242422
#define SUPGID 4242423

static char tmp[PATH_MAX];

static struct berth_group groups[] = { { GID, (char *) "dana-group" }, { SUPGID, NULL } };

static struct berth_user
user_at(const char *home)
{
  struct berth_user u = { .name = (char *) "dana@corp.example",
                          .uid = UID,
                          .gid = GID,
                          .home = (char *) home,
                          .shell = (char *) "/bin/sh",
                          .group = (char *) "dana-group",
                          .groups = groups,
                          .n_groups = 2 };
  return u;
}

static struct berth_config
config(bool create, const char *skel, mode_t mode)
{
  struct berth_config c;
  memset(&c, 0, sizeof(c));
  c.home.create = create;
  c.home.mount = true;
  c.home.skel = (char *) skel;
  c.home.mode = mode;
  return c;
}

/* tmp/rel; the strings live until teardown (tests keep them in configs and
 * users). */
static char **paths;
static size_t n_paths;

static char *path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
path(const char *fmt, ...)
{
  char rel[PATH_MAX], *b = NULL;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rel, sizeof(rel), fmt, ap);
  va_end(ap);
  if (asprintf(&b, "%s/%s", tmp, rel) < 0)
    fail_msg("out of memory");
  paths = realloc(paths, (n_paths + 1) * sizeof(*paths));
  assert_non_null(paths);
  paths[n_paths++] = b;
  return b;
}

static void
write_file(const char *p, const char *content, mode_t mode)
{
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

static char *
read_text(const char *p)
{
  static char buf[4096];
  int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  ssize_t n;
  assert_true(fd >= 0);
  n = read(fd, buf, sizeof(buf) - 1);
  assert_true(n >= 0);
  buf[n] = '\0';
  close(fd);
  return buf;
}

static void
assert_owner_mode(const char *p, uid_t uid, gid_t gid, mode_t mode)
{
  struct stat st;
  if (lstat(p, &st) < 0)
    fail_msg("%s: %s", p, strerror(errno));
  if (st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode)
    fail_msg("%s: %u:%u %04o, expected %u:%u %04o", p, (unsigned) st.st_uid, (unsigned) st.st_gid,
             (unsigned) (st.st_mode & 07777), (unsigned) uid, (unsigned) gid, (unsigned) mode);
}

static bool
exists(const char *p)
{
  struct stat st;
  return lstat(p, &st) == 0;
}

static size_t
count_entries(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t n = 0;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      n++;
  closedir(d);
  return n;
}

/* No ".berth-newhome.*" temporary left in dir. */
static void
assert_no_temp(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, ".berth-newhome", 14) == 0)
      fail_msg("temporary %s left in %s", e->d_name, dir);
  closedir(d);
}

static int
expect_fail(const struct berth_config *cfg, const struct berth_user *u, const char *needle)
{
  berth_error_t err = NULL;
  bool created = true;
  int r = berth_home_ensure(cfg, u, &created, &err);
  if (r == 0)
    fail_msg("home %s: expected an error", u->home);
  assert_false(created);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_HOME);
  if (needle != NULL && strstr(err->msg, needle) == NULL)
    fail_msg("error \"%s\" does not mention \"%s\"", err->msg, needle);
  berth_error_release(&err);
  return r;
}

static bool
ensure_ok(const struct berth_config *cfg, const struct berth_user *u)
{
  berth_error_t err = NULL;
  bool created = false;
  if (berth_home_ensure(cfg, u, &created, &err) < 0)
    fail_msg("home %s: %s", u->home, err->msg);
  assert_null(err);
  return created;
}

/* The same for a home at `rel` below the test directory. */
static void
expect_fail_at(const struct berth_config *cfg, const char *rel, const char *needle)
{
  struct berth_user u = user_at(path("%s", rel));
  expect_fail(cfg, &u, needle);
}

static bool
ensure_ok_at(const struct berth_config *cfg, const char *rel)
{
  struct berth_user u = user_at(path("%s", rel));
  return ensure_ok(cfg, &u);
}

/* ---------------------------------------------------------------- setup */

static int
setup(void **state)
{
  snprintf(tmp, sizeof(tmp), "/tmp/bt-ident-home.XXXXXX");
  if (mkdtemp(tmp) == NULL || chmod(tmp, 0755) < 0)
    return -1;
  /* a skel like /etc/skel plus the awkward cases */
  if (mkdir(path("skel"), 0755) < 0 || mkdir(path("skel/.config"), 0755) < 0
      || mkdir(path("skel/.config/app"), 0700) < 0 || mkdir(path("skel/ro"), 0755) < 0)
    return -1;
  return 0;
}

static int
teardown(void **state)
{
  char cmd[PATH_MAX + 32];
  for (size_t i = 0; i < n_paths; i++)
    free(paths[i]);
  free(paths);
  if (tmp[0] == '\0')
    return 0;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  return system(cmd) == 0 ? 0 : -1;
}

static void
fill_skel(void)
{
  write_file(path("skel/.bashrc"), "# bashrc from skel\n", 0644);
  write_file(path("skel/.profile"), "# profile\n", 0644);
  write_file(path("skel/.config/app/settings"), "key=value\n", 0600);
  write_file(path("skel/ro/readme"), "read only dir\n", 0444);
  assert_int_equal(chmod(path("skel/ro"), 0555), 0);
  assert_int_equal(symlink(".profile", path("skel/.bash_profile")), 0);
}

/* ---------------------------------------------------------------- tests */

TEST(test_create_nested)
{
  struct berth_config cfg = config(true, path("skel"), 0700);
  struct berth_user u = user_at(path("corp.example/dana"));
  mode_t old = umask(077); /* a restrictive umask must not change the modes */
  char target[64];
  ssize_t n;

  fill_skel();
  assert_true(ensure_ok(&cfg, &u));
  umask(old);

  assert_owner_mode(path("corp.example"), 0, 0, 0755);
  assert_owner_mode(u.home, UID, GID, 0700);
  assert_no_temp(path("corp.example"));

  /* skel copied, owned by the user, modes kept */
  assert_owner_mode(path("corp.example/dana/.bashrc"), UID, GID, 0644);
  assert_string_equal(read_text(path("corp.example/dana/.bashrc")), "# bashrc from skel\n");
  assert_owner_mode(path("corp.example/dana/.profile"), UID, GID, 0644);
  assert_owner_mode(path("corp.example/dana/.config"), UID, GID, 0755);
  assert_owner_mode(path("corp.example/dana/.config/app"), UID, GID, 0700);
  assert_owner_mode(path("corp.example/dana/.config/app/settings"), UID, GID, 0600);
  assert_string_equal(read_text(path("corp.example/dana/.config/app/settings")), "key=value\n");
  assert_owner_mode(path("corp.example/dana/ro"), UID, GID, 0555);
  assert_owner_mode(path("corp.example/dana/ro/readme"), UID, GID, 0444);
  /* links stay links, owned by the user */
  n = readlink(path("corp.example/dana/.bash_profile"), target, sizeof(target) - 1);
  assert_true(n > 0);
  target[n] = '\0';
  assert_string_equal(target, ".profile");
  {
    struct stat st;
    assert_int_equal(lstat(path("corp.example/dana/.bash_profile"), &st), 0);
    assert_int_equal(st.st_uid, UID);
  }
}

TEST(test_existing_untouched)
{
  struct berth_config cfg = config(true, path("skel"), 0700);
  struct berth_user u = user_at(path("corp.example/dana"));
  struct stat before, after;

  /* the user changed things since: berth must not undo them */
  assert_int_equal(chmod(u.home, 0751), 0);
  assert_int_equal(unlink(path("corp.example/dana/.bashrc")), 0);
  write_file(path("corp.example/dana/mine"), "user data\n", 0600);
  assert_int_equal(stat(u.home, &before), 0);

  assert_false(ensure_ok(&cfg, &u));
  assert_int_equal(stat(u.home, &after), 0);
  assert_int_equal(after.st_mode, before.st_mode);
  assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  assert_false(exists(path("corp.example/dana/.bashrc")));
  assert_string_equal(read_text(path("corp.example/dana/mine")), "user data\n");

  /* an existing directory the user does not own is refused (it would be
   * bind-mounted into their container), and left as it is */
  assert_int_equal(mkdir(path("rootowned"), 0700), 0);
  expect_fail_at(&cfg, "rootowned", "is owned by uid 0, not by the user (uid 4242421)");
  assert_owner_mode(path("rootowned"), 0, 0, 0700);
}

/* System paths: never a home, whether the path names one, lies below or
 * above one, or only really is one through a link. */
TEST(test_system_paths)
{
  struct berth_config cfg = config(true, NULL, 0700);
  const char *bad[] = { "/etc",
                        "/etc/bt-home-test-x",
                        "/run/user/4242421",
                        "/run/bt-home-test",
                        "/var/run/bt-home-test",
                        "/var",
                        "/var/lib",
                        "/usr/local/bt-home-test",
                        "/proc/self",
                        "/sys/fs",
                        "/dev/shm/bt-home-test",
                        "/root",
                        "/lib64/x",
                        "/boot/x",
                        "/var/lib/docker/volumes/x",
                        NULL };
  struct berth_user u;

  for (size_t i = 0; bad[i]; i++) {
    u = user_at(bad[i]);
    expect_fail(&cfg, &u, "refusing a home at, below or above the system path");
  }
  assert_false(exists("/etc/bt-home-test-x"));
  assert_false(exists("/usr/local/bt-home-test"));
  assert_false(exists("/dev/shm/bt-home-test"));

  /* berth's own run directory and the engine socket's directory */
  assert_int_equal(mkdir(path("rundir"), 0755), 0);
  berth_session_set_rundir(path("rundir"));
  expect_fail_at(&cfg, "rundir/u", "system path");
  assert_false(exists(path("rundir/u")));
  assert_int_equal(mkdir(path("engine"), 0755), 0);
  cfg.engine.socket = path("engine/docker.sock");
  expect_fail_at(&cfg, "engine", "system path");
  expect_fail_at(&cfg, "engine/u", "system path");
  cfg.engine.socket = NULL;

  /* a link (root's own, so creation would follow it) into the run
   * directory: the real location decides, for an existing home and for
   * one about to be created */
  assert_int_equal(mkdir(path("rundir/x"), 0700), 0);
  assert_int_equal(chown(path("rundir/x"), UID, GID), 0);
  assert_int_equal(symlink(path("rundir"), path("via")), 0);
  expect_fail_at(&cfg, "via/x", "(really ");
  expect_fail_at(&cfg, "via/new", "(really ");
  assert_false(exists(path("rundir/new")));
  berth_session_set_rundir(NULL);
  /* the same home is fine once that is no run directory */
  u = user_at(path("via/x"));
  assert_false(ensure_ok(&cfg, &u));
}

/* The user's own home, writable by everyone: refused; group-writable: the
 * admin's choice. */
TEST(test_existing_modes)
{
  struct berth_config cfg = config(true, NULL, 0700);
  struct berth_user u = user_at(path("open"));

  assert_int_equal(mkdir(u.home, 0700), 0);
  assert_int_equal(chown(u.home, UID, GID), 0);
  assert_int_equal(chmod(u.home, 0777), 0);
  expect_fail(&cfg, &u, "writable by everyone (mode 0777)");
  assert_int_equal(chmod(u.home, 0770), 0);
  assert_false(ensure_ok(&cfg, &u));
}

TEST(test_mode_from_config)
{
  struct berth_config cfg = config(true, NULL, 0750);
  struct berth_user u = user_at(path("modes/erin"));

  assert_true(ensure_ok(&cfg, &u));
  assert_owner_mode(u.home, UID, GID, 0750);
  assert_int_equal(count_entries(u.home), 0); /* no skel configured */

  cfg = config(true, path("no-such-skel"), 0700);
  u = user_at(path("modes/fay"));
  assert_true(ensure_ok(&cfg, &u));
  assert_owner_mode(u.home, UID, GID, 0700);
  assert_int_equal(count_entries(u.home), 0);
}

TEST(test_parent_symlink)
{
  struct berth_config cfg = config(true, path("skel"), 0700);

  /* attacker made corp.evil -> elsewhere (think /etc): a link they own */
  assert_int_equal(mkdir(path("elsewhere"), 0755), 0);
  assert_int_equal(symlink(path("elsewhere"), path("corp.evil")), 0);
  assert_int_equal(lchown(path("corp.evil"), UID, GID), 0);
  expect_fail_at(&cfg, "corp.evil/gina", "symbolic link owned by uid");
  assert_int_equal(count_entries(path("elsewhere")), 0);
  assert_owner_mode(path("elsewhere"), 0, 0, 0755);

  /* a link deeper in the chain, and a relative one */
  assert_int_equal(mkdir(path("deep"), 0755), 0);
  assert_int_equal(symlink("../elsewhere", path("deep/link")), 0);
  assert_int_equal(lchown(path("deep/link"), UID, GID), 0);
  expect_fail_at(&cfg, "deep/link/sub/hana", "symbolic link");
  assert_int_equal(count_entries(path("elsewhere")), 0);

  /* root's link, but in a directory the user could swap it in: they own
   * the directory, or it is group-writable, or it is sticky and the link
   * is theirs */
  assert_int_equal(mkdir(path("userdir"), 0755), 0);
  assert_int_equal(symlink(path("elsewhere"), path("userdir/link")), 0);
  assert_int_equal(chown(path("userdir"), UID, GID), 0);
  expect_fail_at(&cfg, "userdir/link/ivy", "owned by uid 4242421, not root");
  assert_int_equal(mkdir(path("groupdir"), 0775), 0);
  assert_int_equal(chmod(path("groupdir"), 0775), 0);
  assert_int_equal(symlink(path("elsewhere"), path("groupdir/link")), 0);
  expect_fail_at(&cfg, "groupdir/link/ivy", "writable by group or others");
  assert_int_equal(mkdir(path("sticky"), 01777), 0);
  assert_int_equal(chmod(path("sticky"), 01777), 0);
  assert_int_equal(symlink(path("elsewhere"), path("sticky/theirs")), 0);
  assert_int_equal(lchown(path("sticky/theirs"), UID, GID), 0);
  expect_fail_at(&cfg, "sticky/theirs/ivy", "symbolic link");
  assert_int_equal(count_entries(path("elsewhere")), 0);

  /* a parent that is a file */
  write_file(path("afile"), "x", 0644);
  expect_fail_at(&cfg, "afile/ian", NULL);
}

/* /home -> /var/home (Fedora Atomic, autofs layouts): links only root can
 * change are followed, relative ones and chains too, and missing
 * directories at their targets are created root-owned. */
TEST(test_parent_root_symlink)
{
  struct berth_config cfg = config(true, path("skel"), 0700);
  struct berth_user u;

  assert_int_equal(mkdir(path("var"), 0755), 0);
  assert_int_equal(mkdir(path("var/home"), 0755), 0);
  assert_int_equal(symlink(path("var/home"), path("home")), 0);
  u = user_at(path("home/maya"));
  assert_true(ensure_ok(&cfg, &u));
  assert_owner_mode(path("var/home/maya"), UID, GID, 0700);
  assert_string_equal(read_text(path("var/home/maya/.bashrc")), "# bashrc from skel\n");
  /* the same home again: exists, left alone */
  assert_false(ensure_ok(&cfg, &u));

  /* a relative link to that link, and a nested home below a link whose
   * target's parents do not exist yet */
  assert_int_equal(symlink("home", path("rel")), 0);
  assert_true(ensure_ok_at(&cfg, "rel/corp/noah"));
  assert_owner_mode(path("var/home/corp"), 0, 0, 0755);
  assert_owner_mode(path("var/home/corp/noah"), UID, GID, 0700);
  assert_int_equal(symlink(path("var/new/homes"), path("newhomes")), 0);
  assert_true(ensure_ok_at(&cfg, "newhomes/olga"));
  assert_owner_mode(path("var/new"), 0, 0, 0755);
  assert_owner_mode(path("var/new/homes/olga"), UID, GID, 0700);

  /* root's link in root's sticky directory: nobody else can replace it */
  assert_int_equal(mkdir(path("shared"), 01777), 0);
  assert_int_equal(chmod(path("shared"), 01777), 0);
  assert_int_equal(symlink(path("var/home"), path("shared/home")), 0);
  assert_true(ensure_ok_at(&cfg, "shared/home/pete"));
  assert_owner_mode(path("var/home/pete"), UID, GID, 0700);

  /* a loop ends */
  assert_int_equal(symlink("loop2", path("loop1")), 0);
  assert_int_equal(symlink("loop1", path("loop2")), 0);
  expect_fail_at(&cfg, "loop1/quinn", "levels of symbolic links");
}

TEST(test_home_symlink)
{
  struct berth_config cfg = config(true, path("skel"), 0700);

  assert_int_equal(mkdir(path("victim"), 0700), 0);
  assert_int_equal(mkdir(path("links"), 0755), 0);
  assert_int_equal(symlink(path("victim"), path("links/jack")), 0);
  expect_fail_at(&cfg, "links/jack", "symbolic link");
  assert_owner_mode(path("victim"), 0, 0, 0700);
  assert_int_equal(count_entries(path("victim")), 0);

  /* dangling link: must not be created through */
  assert_int_equal(symlink(path("victim-new"), path("links/kate")), 0);
  expect_fail_at(&cfg, "links/kate", "symbolic link");
  assert_false(exists(path("victim-new")));

  /* a file where the home should be */
  write_file(path("links/liam"), "x", 0644);
  expect_fail_at(&cfg, "links/liam", "not a directory");
}

/* skel holding a link to a root-only file: the home gets the link, never
 * the file's contents.  A root-only file in skel itself is meant for the
 * user (as with useradd -m): copied, and owned by the user. */
TEST(test_skel_secret_link)
{
  struct berth_config cfg = config(true, path("evilskel"), 0700);
  struct berth_user u = user_at(path("secret/mia"));
  char target[PATH_MAX];
  ssize_t n;
  struct stat st;

  write_file(path("shadow"), "root:SECRET:19000::::::\n", 0600);
  assert_int_equal(mkdir(path("evilskel"), 0755), 0);
  assert_int_equal(symlink(path("shadow"), path("evilskel/.shadow")), 0);
  write_file(path("evilskel/rootonly"), "SECRET too\n", 0600);
  write_file(path("evilskel/.bashrc"), "ok\n", 0644);
  assert_int_equal(mkfifo(path("evilskel/fifo"), 0644), 0);

  assert_true(ensure_ok(&cfg, &u));
  assert_int_equal(lstat(path("secret/mia/.shadow"), &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  n = readlink(path("secret/mia/.shadow"), target, sizeof(target) - 1);
  assert_true(n > 0);
  target[n] = '\0';
  assert_string_equal(target, path("shadow"));
  assert_owner_mode(path("secret/mia/rootonly"), UID, GID, 0600);
  assert_string_equal(read_text(path("secret/mia/rootonly")), "SECRET too\n");
  assert_false(exists(path("secret/mia/fifo")));
  assert_string_equal(read_text(path("secret/mia/.bashrc")), "ok\n");
  assert_owner_mode(path("shadow"), 0, 0, 0600);
}

TEST(test_no_create)
{
  struct berth_config cfg = config(false, path("skel"), 0700);
  struct berth_user u = user_at(path("nocreate/nina"));

  expect_fail(&cfg, &u, "does not exist");
  assert_false(exists(path("nocreate")));
}

TEST(test_bad_paths)
{
  struct berth_config cfg = config(true, NULL, 0700);
  const char *bad[]
      = { "relative/home", "", "/", "/tmp/../etc/x", "/tmp//x", "/tmp/./x", "/tmp/x/", NULL };
  for (size_t i = 0; bad[i]; i++) {
    struct berth_user u = user_at(bad[i]);
    expect_fail(&cfg, &u, NULL);
  }
}

/* A copy that fails leaves no home behind (the next login retries), and no
 * temporary either. */
TEST(test_failed_copy_leaves_nothing)
{
  struct berth_config cfg = config(true, path("deepskel"), 0700);
  struct berth_user u = user_at(path("atomic/olga"));
  char p[PATH_MAX];
  size_t len;

  snprintf(p, sizeof(p), "%s", path("deepskel"));
  assert_int_equal(mkdir(p, 0755), 0);
  write_file(path("deepskel/top"), "x", 0644);
  for (int i = 0; i < 70; i++) {
    len = strlen(p);
    snprintf(p + len, sizeof(p) - len, "/d");
    assert_int_equal(mkdir(p, 0755), 0);
  }
  expect_fail(&cfg, &u, "nested");
  assert_false(exists(u.home));
  assert_true(exists(path("atomic")));
  assert_int_equal(count_entries(path("atomic")), 0);
}

/* Many first logins at once: all succeed, exactly one creates. */
TEST(test_concurrent)
{
  struct berth_config cfg = config(true, path("skel"), 0700);
  struct berth_user u = user_at(path("race/pia"));
  enum { N = 8 };
  pid_t pids[N];
  int created = 0;

  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      berth_error_t err = NULL;
      bool c = false;
      if (berth_home_ensure(&cfg, &u, &c, &err) < 0) {
        fprintf(stderr, "child: %s\n", err->msg);
        _exit(2);
      }
      _exit(c ? 1 : 0);
    }
  }
  for (int i = 0; i < N; i++) {
    int st;
    assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
    assert_true(WIFEXITED(st));
    assert_true(WEXITSTATUS(st) <= 1);
    created += WEXITSTATUS(st);
  }
  assert_int_equal(created, 1);
  assert_owner_mode(u.home, UID, GID, 0700);
  assert_string_equal(read_text(path("race/pia/.bashrc")), "# bashrc from skel\n");
  assert_int_equal(count_entries(path("race")), 1);
}

/* What a first login killed while copying skel leaves, and what gc's sweep
 * removes: only berth's own root-owned temporaries, old enough, never
 * through a link. */
static void
make_old(const char *p)
{
  struct timespec t[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
  assert_int_equal(utimensat(AT_FDCWD, p, t, AT_SYMLINK_NOFOLLOW), 0);
}

TEST(test_sweep)
{
  berth_error_t err = NULL;
  struct berth_user u = user_at(path("sweep/vera"));
  int removed = -1;

  assert_int_equal(mkdir(path("sweep"), 0755), 0);
  /* a stale leftover with a tree and a link to a file outside in it */
  assert_int_equal(mkdir(path("sweep/.berth-newhome.0123456789abcdef"), 0700), 0);
  assert_int_equal(mkdir(path("sweep/.berth-newhome.0123456789abcdef/.config"), 0700), 0);
  write_file(path("sweep/.berth-newhome.0123456789abcdef/.config/x"), "x\n", 0600);
  write_file(path("outside"), "keep me\n", 0600);
  assert_int_equal(symlink(path("outside"), path("sweep/.berth-newhome.0123456789abcdef/ln")), 0);
  assert_int_equal(symlink(path("skel"), path("sweep/.berth-newhome.0123456789abcdef/dirln")), 0);
  make_old(path("sweep/.berth-newhome.0123456789abcdef"));
  /* one in progress: fresh */
  assert_int_equal(mkdir(path("sweep/.berth-newhome.fedcba9876543210"), 0700), 0);
  /* old, but handed to the user already, or not berth's name, or a link */
  assert_int_equal(mkdir(path("sweep/.berth-newhome.1111111111111111"), 0700), 0);
  assert_int_equal(chown(path("sweep/.berth-newhome.1111111111111111"), UID, GID), 0);
  make_old(path("sweep/.berth-newhome.1111111111111111"));
  assert_int_equal(mkdir(path("sweep/.berth-newhome.x"), 0700), 0);
  make_old(path("sweep/.berth-newhome.x"));
  assert_int_equal(symlink(path("skel"), path("sweep/.berth-newhome.2222222222222222")), 0);
  make_old(path("sweep/.berth-newhome.2222222222222222"));

  assert_int_equal(berth_home_sweep(u.home, time(NULL), 600, &removed, &err), 0);
  assert_null(err);
  assert_int_equal(removed, 1);
  assert_false(exists(path("sweep/.berth-newhome.0123456789abcdef")));
  assert_string_equal(read_text(path("outside")), "keep me\n");
  assert_string_equal(read_text(path("skel/.bashrc")), "# bashrc from skel\n");
  assert_true(exists(path("sweep/.berth-newhome.fedcba9876543210")));
  assert_true(exists(path("sweep/.berth-newhome.1111111111111111")));
  assert_true(exists(path("sweep/.berth-newhome.x")));
  assert_true(exists(path("sweep/.berth-newhome.2222222222222222")));

  /* a parent that does not exist: nothing to do */
  u = user_at(path("nosuchparent/w"));
  assert_int_equal(berth_home_sweep(u.home, time(NULL), 600, &removed, &err), 0);
  assert_int_equal(removed, 0);
}

TEST_GROUP(setup, teardown);

int
main(void)
{
  if (geteuid() != 0)
    die_skip("test_home: needs root");
  return testlib_run();
}
