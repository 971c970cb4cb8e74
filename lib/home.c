/* home.c - first-login home creation.
 *
 * Runs as root (PAM session or berth-shell), on paths that users and
 * directory services influence, so:
 *  - parents are walked from "/" one component at a time with
 *    openat(O_NOFOLLOW|O_DIRECTORY) and created with mkdirat
 *    (berth_path_open): a symlink is followed only when root owns it and
 *    nobody else can replace it (/home -> /var/home on Fedora Atomic), so a
 *    planted /home/corp.example -> /etc is refused and nothing is written at
 *    its target;
 *  - the home is assembled under a random temporary name in its parent as
 *    root:root 0700, skel copied into it, every entry chowned to the user,
 *    and only then the top handed to the user and renamed into place with
 *    RENAME_NOREPLACE.  No session sees a half-copied home, a failure leaves
 *    no home behind (the next login retries), and concurrent first logins
 *    create it once.
 *  - Design choice, copying skel as root rather than in a child dropped to
 *    the user: while the tree is root-only the user cannot reach it, so no
 *    race of theirs (swapping a directory for a link, hard links) can
 *    redirect a root write; all writes are fd-relative with O_NOFOLLOW and
 *    O_EXCL anyway.  Root also reads every skel entry, as useradd and
 *    pam_mkhomedir do (a root-only skel file is meant for the user), and no
 *    process is forked inside sshd.  Links in skel are copied as links: a
 *    link to /etc/shadow stays a link the user cannot follow, its target is
 *    never read.  FIFOs, sockets and devices are skipped with a warning.
 * A home that already exists is left alone, but it is bind-mounted into a
 * container the user controls, so it must be a real directory (not a
 * symlink, not a file) that the user owns and nobody else can write, and
 * neither it nor (when created) its real location may be a system path
 * (see system_paths below, docs/security.md "Logging, homes and
 * leftovers"): an LDAP entry with homeDirectory=/run/user/1000 or /etc must
 * not put that into a container. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "berth/home.h"
#include "berth/log.h"
#include "berth/session.h"
#include "berth/util.h"

#define SKEL_DEPTH_MAX 64

/* ------------------------------------------------------------ path checks */

static int
check_home_path(const char *home, berth_error_t *err)
{
  size_t len;
  const char *p;

  if (home == NULL || home[0] != '/')
    return berth_error_make(err, BERTH_E_HOME, EINVAL, "home %s: not an absolute path",
                            home ? home : "(none)");
  len = strlen(home);
  if (len == 1)
    return berth_error_make(err, BERTH_E_HOME, EINVAL, "home %s: refusing to use /", home);
  if (len >= PATH_MAX)
    return berth_error_make(err, BERTH_E_HOME, ENAMETOOLONG, "home %s: path too long", home);
  if (home[len - 1] == '/')
    return berth_error_make(err, BERTH_E_HOME, EINVAL, "home %s: trailing '/'", home);
  for (p = home; *p;) {
    const char *c = p + 1, *e = strchrnul(c, '/');
    size_t n = (size_t) (e - c);
    if (n == 0)
      return berth_error_make(err, BERTH_E_HOME, EINVAL, "home %s: contains \"//\"", home);
    if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
      return berth_error_make(err, BERTH_E_HOME, EINVAL,
                              "home %s: contains a \".\" or \"..\" component", home);
    if (n > NAME_MAX)
      return berth_error_make(err, BERTH_E_HOME, ENAMETOOLONG, "home %s: component too long", home);
    p = e;
  }
  return 0;
}

/* ------------------------------------------------------------ system paths
 * No home may be one of these, lie below one, or contain one (a home of
 * /var would hand the container /var/run/docker.sock and /var/lib/docker):
 * the system's own trees, the kernel's, the run-time state of every
 * service (/run, and so /run/user/UID, which holds the user's host-side
 * sockets: systemd --user, D-Bus, the ssh agent), the container engines'
 * storage, and root's home.  Checked on the path as configured and on the
 * directory's real location, so a link does not get around it.  Berth's
 * own run directory and the engine socket's directory are added at run
 * time (a socket configured outside /run). */
static const char *const system_paths[] = {
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/sys",
  "/usr",
  "/var/run",
  "/var/lib/docker",
  "/var/lib/containers",
  "/var/lib/containerd",
  NULL,
};

/* a == b, or one lies below the other ("/var" and "/var/run", not "/var/r") */
static bool
path_overlaps(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b), n;

  while (la > 1 && a[la - 1] == '/')
    la--;
  while (lb > 1 && b[lb - 1] == '/')
    lb--;
  n = la < lb ? la : lb;
  if (strncmp(a, b, n) != 0)
    return false;
  if (la == lb)
    return true;
  return (la > lb ? a[n] : b[n]) == '/' || n == 1; /* n == 1: one of them is "/" */
}

static int
refuse_system(const char *home, const char *real, const char *sys, berth_error_t *err)
{
  if (real != NULL && strcmp(real, home) != 0)
    return berth_error_make(err, BERTH_E_HOME, EPERM,
                            "home %s (really %s): refusing a home at, below or above the system "
                            "path %s",
                            home, real, sys);
  return berth_error_make(err, BERTH_E_HOME, EPERM,
                          "home %s: refusing a home at, below or above the system path %s", home,
                          sys);
}

/* path (the home, or where it really is) against system_paths, berth's run
 * directory and the engine socket's directory. */
static int
check_location(const struct berth_config *cfg, const char *home, const char *real,
               berth_error_t *err)
{
  const char *path = real ? real : home;
  char sockdir[PATH_MAX], resolved[PATH_MAX];

  if (strcmp(path, "/") == 0)
    return refuse_system(home, real, "/", err);
  for (size_t i = 0; system_paths[i]; i++)
    if (path_overlaps(path, system_paths[i]))
      return refuse_system(home, real, system_paths[i], err);
  if (path_overlaps(path, berth_session_rundir()))
    return refuse_system(home, real, berth_session_rundir(), err);
  if (cfg->engine.socket != NULL && cfg->engine.socket[0] == '/'
      && strlen(cfg->engine.socket) < sizeof(sockdir)) {
    char *slash;
    snprintf(sockdir, sizeof(sockdir), "%s", cfg->engine.socket);
    slash = strrchr(sockdir, '/');
    if (slash == sockdir)
      slash[1] = '\0';
    else
      *slash = '\0';
    if (path_overlaps(path, sockdir))
      return refuse_system(home, real, sockdir, err);
    if (realpath(sockdir, resolved) != NULL && path_overlaps(path, resolved))
      return refuse_system(home, real, resolved, err);
  }
  return 0;
}

/* Where the directory open at fd really is (after every link). */
static int
real_path(int fd, char *buf, size_t len)
{
  char proc[64];
  ssize_t n;

  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  n = readlink(proc, buf, len - 1);
  if (n <= 0 || (size_t) n >= len - 1 || buf[0] != '/')
    return -1;
  buf[n] = '\0';
  return 0;
}

/* ------------------------------------------------------------ skel copy */

struct copy_ctx {
  const struct berth_user *u;
  const char *skel;
  char rel[PATH_MAX]; /* path below skel, for messages */
};

static void
closedirp(DIR **d)
{
  if (*d != NULL)
    closedir(*d);
}
#define cleanup_dir __attribute__((cleanup(closedirp)))

/* A DIR* over dirfd that does not share dirfd's file offset. */
static DIR *
open_dir_stream(int dirfd)
{
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  if (fd < 0)
    return NULL;
  d = fdopendir(fd);
  if (d == NULL)
    close(fd);
  return d;
}

static int
copy_file(struct copy_ctx *c, int src, int dst, const char *name, berth_error_t *err)
{
  cleanup_close int in = -1;
  cleanup_close int out = -1;
  struct stat st;
  char buf[65536];

  /* O_NONBLOCK: a FIFO swapped in after the fstatat must not hang us. */
  in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (in < 0 || fstat(in, &st) < 0)
    return berth_error_errno(err, BERTH_E_HOME, errno, "reading skel file %s/%s", c->skel, c->rel);
  if (!S_ISREG(st.st_mode))
    return 0;
  out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return berth_error_errno(err, BERTH_E_HOME, errno, "creating %s", c->rel);
  for (;;) {
    ssize_t r = read(in, buf, sizeof(buf));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return berth_error_errno(err, BERTH_E_HOME, errno, "reading skel file %s/%s", c->skel,
                               c->rel);
    if (r == 0)
      break;
    if (berth_write_all(out, buf, (size_t) r, err) < 0)
      return berth_error_wrap(err, "writing %s", c->rel);
  }
  {
    const struct timespec times[2] = { st.st_atim, st.st_mtim };
    /* chown before chmod (chown clears set-id bits); no set-id bits anyway */
    if (fchown(out, c->u->uid, c->u->gid) < 0 || fchmod(out, st.st_mode & 0777) < 0
        || futimens(out, times) < 0)
      return berth_error_errno(err, BERTH_E_HOME, errno, "setting owner and mode of %s", c->rel);
  }
  return 0;
}

static int copy_tree(struct copy_ctx *c, int src, int dst, int depth, berth_error_t *err);

static int
copy_entry(struct copy_ctx *c, int src, int dst, const char *name, int depth, berth_error_t *err)
{
  struct stat st;

  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_errno(err, BERTH_E_HOME, errno, "skel entry %s/%s", c->skel, c->rel);
  if (S_ISREG(st.st_mode))
    return copy_file(c, src, dst, name, err);
  if (S_ISLNK(st.st_mode)) {
    /* copied as a link: its target is never opened, so a link to
     * /etc/shadow in skel gives the user a dangling-for-them link, not the
     * file */
    char target[PATH_MAX];
    const struct timespec lt[2] = { st.st_atim, st.st_mtim };
    ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
    if (n < 0)
      return berth_error_errno(err, BERTH_E_HOME, errno, "reading link %s/%s", c->skel, c->rel);
    target[n] = '\0';
    if (symlinkat(target, dst, name) < 0
        || fchownat(dst, name, c->u->uid, c->u->gid, AT_SYMLINK_NOFOLLOW) < 0)
      return berth_error_errno(err, BERTH_E_HOME, errno, "creating link %s", c->rel);
    (void) utimensat(dst, name, lt, AT_SYMLINK_NOFOLLOW);
    return 0;
  }
  if (S_ISDIR(st.st_mode)) {
    cleanup_close int s = -1;
    cleanup_close int d = -1;
    const struct timespec dt[2] = { st.st_atim, st.st_mtim };

    s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0)
      return berth_error_errno(err, BERTH_E_HOME, errno, "opening skel directory %s/%s", c->skel,
                               c->rel);
    if (mkdirat(dst, name, 0700) < 0
        || (d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
      return berth_error_errno(err, BERTH_E_HOME, errno, "creating directory %s", c->rel);
    if (copy_tree(c, s, d, depth + 1, err) < 0)
      return -1;
    /* times last: filling the directory changed its mtime */
    if (fchown(d, c->u->uid, c->u->gid) < 0 || fchmod(d, st.st_mode & 01777) < 0
        || futimens(d, dt) < 0)
      return berth_error_errno(err, BERTH_E_HOME, errno, "setting owner and mode of %s", c->rel);
    return 0;
  }
  /* FIFOs, sockets, devices have no business in a home */
  berth_log(LOG_WARNING,
            "home: user=%s skel entry %s/%s is not a file, directory or link; "
            "not copied",
            BERTH_LOG_VAL(c->u->name), BERTH_LOG_TEXT(c->skel), BERTH_LOG_TEXT(c->rel));
  return 0;
}

static int
copy_tree(struct copy_ctx *c, int src, int dst, int depth, berth_error_t *err)
{
  cleanup_dir DIR *d = NULL;
  size_t base = strlen(c->rel);
  struct dirent *e;

  if (depth > SKEL_DEPTH_MAX)
    return berth_error_make(err, BERTH_E_HOME, ELOOP, "skel %s: nested deeper than %d levels",
                            c->skel, SKEL_DEPTH_MAX);
  d = open_dir_stream(src);
  if (d == NULL)
    return berth_error_errno(err, BERTH_E_HOME, errno, "listing skel %s/%s", c->skel, c->rel);
  for (errno = 0; (e = readdir(d)) != NULL; errno = 0) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if ((size_t) snprintf(c->rel + base, sizeof(c->rel) - base, "%s%s", base ? "/" : "", e->d_name)
        >= sizeof(c->rel) - base)
      return berth_error_make(err, BERTH_E_HOME, ENAMETOOLONG, "skel %s: path too long", c->skel);
    if (copy_entry(c, src, dst, e->d_name, depth, err) < 0)
      return -1;
    c->rel[base] = '\0';
  }
  if (errno != 0)
    return berth_error_errno(err, BERTH_E_HOME, errno, "listing skel %s/%s", c->skel, c->rel);
  return 0;
}

static int
copy_skel(const struct berth_user *u, const char *skel, int home_fd, berth_error_t *err)
{
  cleanup_close int sfd = -1;
  struct copy_ctx *c;
  int r;

  sfd = open(skel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0 && errno == ENOENT) {
    berth_log(LOG_WARNING, "home: user=%s skel %s does not exist; home left empty",
              BERTH_LOG_VAL(u->name), BERTH_LOG_VAL(skel));
    return 0;
  }
  if (sfd < 0)
    return berth_error_errno(err, BERTH_E_HOME, errno, "opening skel %s", skel);
  c = berth_malloc0(sizeof(*c), err);
  if (c == NULL)
    return -1;
  c->u = u;
  c->skel = skel;
  r = copy_tree(c, sfd, home_fd, 0, err);
  free(c);
  return r;
}

/* Empty dirfd without following any link.  Used on a tree only root could
 * reach so far (see create_home), but careful anyway. */
static void
remove_contents(int dirfd, int depth)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *e;

  if (depth > SKEL_DEPTH_MAX + 1 || (d = open_dir_stream(dirfd)) == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    cleanup_close int sub = -1;
    if (unlinkat(dirfd, e->d_name, 0) == 0 || errno != EISDIR)
      continue;
    sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
      continue;
    remove_contents(sub, depth + 1);
    unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
  }
}

/* ------------------------------------------------------------ the home */

static void
temp_name(char *buf, size_t len)
{
  uint64_t r = 0;
  if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t) sizeof(r))
    r = (uint64_t) getpid() << 32 ^ (uint64_t) time(NULL) ^ (uint64_t) (uintptr_t) buf;
  snprintf(buf, len, ".berth-newhome.%016llx", (unsigned long long) r);
}

/* Remove our half-made home.  Taken back to root 0700 first, in case it
 * had already been handed to the user. */
static void
discard_temp(const struct berth_user *u, int parent, int hfd, const char *tmp)
{
  (void) !fchown(hfd, 0, 0);
  (void) !fchmod(hfd, 0700);
  remove_contents(hfd, 0);
  if (unlinkat(parent, tmp, AT_REMOVEDIR) < 0)
    berth_log(LOG_WARNING, "home: user=%s could not remove partial home %s next to %s: %m",
              BERTH_LOG_VAL(u->name), tmp, BERTH_LOG_VAL(u->home));
}

/* The existing home at parent/name must be a real directory that the user
 * owns and that not everyone can write (group-writable is the admin's
 * choice, as with sshd's StrictModes it only matters for key logins), and
 * where it really is must be no system path.  Checked on an fd opened
 * without following a link, so what is checked is what the engine mounts
 * unless root changes it in between. */
static int
check_existing(const struct berth_config *cfg, const struct berth_user *u, int parent,
               const char *name, berth_error_t *err)
{
  const char *home = u->home;
  cleanup_close int fd = -1;
  char real[PATH_MAX];
  struct stat st;

  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_errno(err, BERTH_E_HOME, errno, "home %s", home);
  if (S_ISLNK(st.st_mode))
    return berth_error_make(err, BERTH_E_HOME, ELOOP, "home %s is a symbolic link", home);
  if (!S_ISDIR(st.st_mode))
    return berth_error_make(err, BERTH_E_HOME, ENOTDIR, "home %s exists but is not a directory",
                            home);
  fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0)
    return berth_error_errno(err, BERTH_E_HOME, errno, "home %s", home);
  if (st.st_uid != u->uid)
    return berth_error_make(err, BERTH_E_HOME, EPERM,
                            "home %s is owned by uid %u, not by the user (uid %u): refusing to "
                            "mount it",
                            home, (unsigned) st.st_uid, (unsigned) u->uid);
  if (st.st_mode & S_IWOTH)
    return berth_error_make(err, BERTH_E_HOME, EPERM,
                            "home %s is writable by everyone (mode %04o): refusing to mount it",
                            home, (unsigned) (st.st_mode & 07777));
  if (real_path(fd, real, sizeof(real)) < 0)
    return berth_error_errno(err, BERTH_E_HOME, errno ? errno : EINVAL,
                             "home %s: cannot tell where it really is", home);
  return check_location(cfg, home, real, err);
}

/* The home is assembled under a random name as root:root 0700, so the user
 * cannot reach any of it while skel is copied as root: nothing they do can
 * race the copy.  Only when complete is it given to the user and renamed to
 * its real name. */
static int
create_home(const struct berth_config *cfg, const struct berth_user *u, int parent,
            const char *name, bool *created, berth_error_t *err)
{
  cleanup_close int hfd = -1;
  char tmp[64];
  int r;

  for (int tries = 0;; tries++) {
    temp_name(tmp, sizeof(tmp));
    if (mkdirat(parent, tmp, 0700) == 0)
      break;
    if (errno != EEXIST || tries >= 3)
      return berth_error_errno(err, BERTH_E_HOME, errno, "creating home %s", u->home);
  }
  hfd = openat(parent, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (hfd < 0) {
    berth_error_errno(err, BERTH_E_HOME, errno, "creating home %s", u->home);
    unlinkat(parent, tmp, AT_REMOVEDIR);
    return -1;
  }
  if (fchown(hfd, 0, 0) < 0 || fchmod(hfd, 0700) < 0) {
    berth_error_errno(err, BERTH_E_HOME, errno, "creating home %s", u->home);
    discard_temp(u, parent, hfd, tmp);
    return -1;
  }
  if (cfg->home.skel != NULL && cfg->home.skel[0] != '\0'
      && copy_skel(u, cfg->home.skel, hfd, err) < 0) {
    berth_error_wrap(err, "home %s", u->home);
    discard_temp(u, parent, hfd, tmp);
    return -1;
  }
  /* chown before chmod: chown clears set-id bits */
  if (fchown(hfd, u->uid, u->gid) < 0 || fchmod(hfd, cfg->home.mode & 07777) < 0) {
    berth_error_errno(err, BERTH_E_HOME, errno, "setting owner and mode of home %s", u->home);
    discard_temp(u, parent, hfd, tmp);
    return -1;
  }

  r = renameat2(parent, tmp, parent, name, RENAME_NOREPLACE);
  if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
    /* file system without RENAME_NOREPLACE (NFS): check, then rename; the
     * window only matters to a concurrent first login of the same user */
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      errno = EEXIST;
    else
      r = renameat(parent, tmp, parent, name);
  }
  if (r < 0) {
    int saved = errno;
    discard_temp(u, parent, hfd, tmp);
    if (saved == EEXIST || saved == ENOTEMPTY) /* a concurrent first login won */
      return check_existing(cfg, u, parent, name, err);
    return berth_error_errno(err, BERTH_E_HOME, saved, "creating home %s", u->home);
  }
  *created = true;
  return 0;
}

/* ------------------------------------------------------------ leftovers
 * A berth killed (SIGKILL, a crash, the host going down) while it copies
 * skel leaves its root:root 0700 temporary behind, with the user's skel
 * files in it.  Nobody but root can reach it, but it is clutter that
 * nothing else removes.  berthctl gc calls this for the parent directory of
 * every home it knows.  Only entries named exactly like create_home's, that
 * are directories owned by root (not handed to the user yet) and unchanged
 * for min_age seconds, so a first login copying skel right now is left
 * alone.  Removal is fd-relative and never follows a link (remove_contents).
 */
static bool
is_temp_name(const char *n)
{
  static const char prefix[] = ".berth-newhome.";
  size_t pl = sizeof(prefix) - 1;
  return strncmp(n, prefix, pl) == 0 && strlen(n + pl) == 16
         && strspn(n + pl, "0123456789abcdef") == 16;
}

int
berth_home_sweep(const char *home, time_t now, time_t min_age, int *removed, berth_error_t *err)
{
  cleanup_close int parent = -1;
  cleanup_free char *last = NULL;
  cleanup_dir DIR *d = NULL;
  struct dirent *e;

  *removed = 0;
  if (check_home_path(home, err) < 0)
    return -1;
  parent = berth_path_open(home, BERTH_PATH_PARENT, BERTH_E_HOME, &last, err);
  if (parent < 0) {
    if ((*err)->status == ENOENT) { /* no parent: nothing was ever made there */
      berth_error_release(err);
      return 0;
    }
    return berth_error_wrap(err, "sweeping next to home %s", home);
  }
  d = open_dir_stream(parent);
  if (d == NULL)
    return berth_error_errno(err, BERTH_E_HOME, errno, "sweeping next to home %s", home);
  while ((e = readdir(d)) != NULL) {
    cleanup_close int fd = -1;
    struct stat st, st2;

    if (!is_temp_name(e->d_name) || fstatat(parent, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
        || !S_ISDIR(st.st_mode) || st.st_uid != 0 || now - st.st_mtime < min_age)
      continue;
    fd = openat(parent, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino
        || st2.st_uid != 0)
      continue;
    remove_contents(fd, 0);
    if (unlinkat(parent, e->d_name, AT_REMOVEDIR) < 0) {
      berth_log(LOG_WARNING,
                "action=sweep leftover=home-temp home=%s name=%s outcome=failed "
                "error=home: %m",
                BERTH_LOG_VAL(home), e->d_name);
      continue;
    }
    berth_log(LOG_NOTICE, "action=sweep leftover=home-temp home=%s name=%s age=%lld outcome=ok",
              BERTH_LOG_VAL(home), e->d_name, (long long) (now - st.st_mtime));
    (*removed)++;
  }
  return 0;
}

int
berth_home_ensure(const struct berth_config *cfg, const struct berth_user *u, bool *created,
                  berth_error_t *err)
{
  cleanup_close int parent = -1;
  cleanup_free char *name = NULL;
  struct stat st;

  *created = false;
  if (check_home_path(u->home, err) < 0 || check_location(cfg, u->home, NULL, err) < 0)
    return -1;
  /* An existing home is left alone; following links in its parents is fine
   * here because nothing is written, and where it really is gets checked. */
  if (lstat(u->home, &st) == 0)
    return check_existing(cfg, u, AT_FDCWD, u->home, err);
  if (errno != ENOENT)
    return berth_error_errno(err, BERTH_E_HOME, errno, "home %s", u->home);
  if (!cfg->home.create)
    return berth_error_make(err, BERTH_E_HOME, ENOENT, "home %s: home directory does not exist",
                            u->home);
  parent = berth_path_open(u->home, BERTH_PATH_PARENT | BERTH_PATH_MKDIR, BERTH_E_HOME, &name, err);
  if (parent < 0)
    return berth_error_wrap(err, "creating home %s", u->home);
  /* root's own links among the parents were followed: where would it be? */
  {
    char real[PATH_MAX];
    size_t n;
    if (real_path(parent, real, sizeof(real)) < 0
        || (n = strlen(real)) + strlen(name) + 2 > sizeof(real))
      return berth_error_make(err, BERTH_E_HOME, EINVAL,
                              "home %s: cannot tell where it would really be", u->home);
    snprintf(real + n, sizeof(real) - n, "%s%s", n > 1 ? "/" : "", name);
    if (check_location(cfg, u->home, real, err) < 0)
      return -1;
  }
  return create_home(cfg, u, parent, name, created, err);
}
