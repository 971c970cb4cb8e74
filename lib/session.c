/* session.c - per-user lock files and live-session records under the run
 * directory.  Everything is reached through directory fds opened with
 * O_NOFOLLOW from the run directory down, so no root write ever follows a
 * link planted in a path. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "berth/session.h"
#include "berth/util.h"
#include "session-internal.h"

/* How often a contended lock is retried. */
#define LOCK_POLL_MS 5
/* How often the holder of a contended lock is looked at, and how long it
 * must be seen stopped before the wait is given up. */
#define HOLDER_CHECK_MS 100
#define HOLDER_STOPPED_MS 500
/* Bound on the ppid walk: a chain is never this long. */
#define MAX_ANCESTORS 4096

static char *rundir_override;

void
berth_session_set_rundir(const char *dir)
{
  free(rundir_override);
  rundir_override = dir ? strdup(dir) : NULL;
}

const char *
berth_session_rundir(void)
{
  return rundir_override ? rundir_override : BERTH_RUNDIR;
}

static int
take_fd(int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

/* Names come from berth_sanitize_name, but this is where they become path
 * components, so check again. */
static int
check_name(const char *name, berth_error_t *err)
{
  if (name == NULL || *name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "invalid session name");
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '_' || *p == '.' || *p == '-'))
      return berth_error_make(err, BERTH_E_USAGE, EINVAL, "invalid session name '%s'", name);
  return 0;
}

/* The directory must be ours (root in production) and writable by nobody
 * else: another user able to create entries could forge records or locks. */
static int
check_dir(int fd, const char *what, bool created, berth_error_t *err)
{
  struct stat st;
  if (fstat(fd, &st) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "stat %s", what);
  if (!S_ISDIR(st.st_mode))
    return berth_error_make(err, BERTH_E_SESSION, ENOTDIR, "%s is not a directory", what);
  if (st.st_uid != geteuid())
    return berth_error_make(err, BERTH_E_SESSION, EPERM, "%s is owned by uid %u, not %u", what,
                            (unsigned) st.st_uid, (unsigned) geteuid());
  /* mkdir honours the umask (sshd runs PAM with 077): make it 0755. */
  if (created && (st.st_mode & 07777) != 0755 && fchmod(fd, 0755) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "chmod %s", what);
  if (!created && (st.st_mode & 022) != 0)
    return berth_error_make(err, BERTH_E_SESSION, EPERM, "%s is writable by others (mode %04o)",
                            what, (unsigned) (st.st_mode & 07777));
  return 0;
}

/* Open (creating when `create`) dirfd/name as a real directory.  Returns the
 * fd, -1 with err, or -2 without err when absent and !create. */
static int
open_subdir(int dirfd, const char *name, const char *what, bool create, berth_error_t *err)
{
  bool created = false;
  int fd;

  if (create) {
    if (mkdirat(dirfd, name, 0755) == 0)
      created = true;
    else if (errno != EEXIST)
      return berth_error_errno(err, BERTH_E_SESSION, errno, "mkdir %s", what);
  }
  fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && !create)
      return -2;
    return berth_error_errno(err, BERTH_E_SESSION, errno, "open %s", what);
  }
  if (check_dir(fd, what, created, err) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int
berth_session_rundir_open(const char *sub, const char *name, bool create, berth_error_t *err)
{
  const char *root = berth_session_rundir();
  cleanup_close int rfd = -1;
  cleanup_close int sfd = -1;
  cleanup_free char *what = NULL;
  bool created = false;

  if (sub != NULL && check_name(sub, err) < 0)
    return -1;
  if (name != NULL && check_name(name, err) < 0)
    return -1;
  if (create) {
    if (mkdir(root, 0755) == 0)
      created = true;
    else if (errno != EEXIST)
      return berth_error_errno(err, BERTH_E_SESSION, errno, "mkdir %s", root);
  }
  rfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rfd < 0) {
    if (errno == ENOENT && !create)
      return -2;
    return berth_error_errno(err, BERTH_E_SESSION, errno, "open %s", root);
  }
  if (check_dir(rfd, root, created, err) < 0)
    return -1;
  if (sub == NULL)
    return take_fd(&rfd);
  what = berth_asprintf(err, "%s/%s", root, sub);
  if (what == NULL)
    return -1;
  sfd = open_subdir(rfd, sub, what, create, err);
  if (sfd < 0 || name == NULL)
    return take_fd(&sfd);
  free(what);
  what = berth_asprintf(err, "%s/%s/%s", root, sub, name);
  if (what == NULL)
    return -1;
  return open_subdir(sfd, name, what, create, err);
}

/* ---------------------------------------------------------------- /proc */

/* Fields 4 (ppid) and 22 (starttime) of a /proc/PID/stat text.  The comm
 * field is the process's own choice (prctl PR_SET_NAME) and may hold spaces
 * and parentheses, so parsing starts after the last ')'.  buf is modified. */
int
berth_proc_stat_parse(char *buf, pid_t *ppid, unsigned long long *starttime)
{
  char *p, *save = NULL, *tok;
  int field = 3;

  p = strrchr(buf, ')');
  if (p == NULL)
    return -1;
  for (tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
    if (field == 4 && ppid)
      *ppid = (pid_t) strtol(tok, NULL, 10);
    if (field == 22) {
      char *end = NULL;
      errno = 0;
      unsigned long long v = strtoull(tok, &end, 10);
      if (errno != 0 || end == tok)
        return -1;
      if (starttime)
        *starttime = v;
      return 0;
    }
  }
  return -1;
}

static int
proc_stat(pid_t pid, pid_t *ppid, unsigned long long *starttime)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;

  snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  do
    n = read(fd, buf, sizeof(buf) - 1);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return berth_proc_stat_parse(buf, ppid, starttime);
}

/* "PID-STARTTIME" -> pid, starttime; false when the name is not a record. */
bool
berth_session_parse_record(const char *s, pid_t *pid, unsigned long long *starttime)
{
  char *end = NULL;
  long p;
  if (*s < '1' || *s > '9')
    return false;
  errno = 0;
  p = strtol(s, &end, 10);
  if (errno != 0 || *end != '-' || p <= 0 || p > INT32_MAX)
    return false;
  s = end + 1;
  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  *starttime = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *pid = (pid_t) p;
  return true;
}

static bool
record_live(pid_t pid, unsigned long long starttime)
{
  unsigned long long now;
  return proc_stat(pid, NULL, &now) == 0 && now == starttime;
}

int
berth_session_proc_id(pid_t pid, char *buf, size_t len)
{
  unsigned long long starttime;
  if (proc_stat(pid, NULL, &starttime) < 0)
    return -1;
  snprintf(buf, len, "%ld-%llu", (long) pid, starttime);
  return 0;
}

bool
berth_session_proc_id_live(const char *id)
{
  pid_t pid;
  unsigned long long starttime;
  return berth_session_parse_record(id, &pid, &starttime) && record_live(pid, starttime);
}

/* Field 3 (state: R S D T t Z ...) of /proc/PID/stat, or 0. */
static char
proc_state(pid_t pid)
{
  char path[64], buf[512];
  cleanup_close int fd = -1;
  ssize_t n;
  char *p;

  snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  do
    n = read(fd, buf, sizeof(buf) - 1);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  p = strrchr(buf, ')');
  return p && p[1] == ' ' ? p[2] : 0;
}

/* ---------------------------------------------------------------- locks
 * A user can stop (SIGSTOP, ^Z in a terminal, a debugger) their own
 * berth-shell while it holds their lock: it runs with their real uid, so
 * they may signal it.  Every waiter would then wait out its whole timeout,
 * berthctl gc once per such user.  So a waiter looks at the holder (the pid
 * the kernel names in /proc/locks for the lock file: the process that took
 * it) and gives up at once (EBUSY) when it has been stopped for
 * HOLDER_STOPPED_MS. */

/* The pid holding the flock on the file open at fd, 0 when unknown. */
static pid_t
lock_holder(int fd)
{
  cleanup_close int lfd = -1;
  struct stat st;
  char buf[16384], want[64];
  ssize_t n;
  size_t len = 0;
  pid_t pid = 0;

  if (fstat(fd, &st) < 0)
    return 0;
  /* "1: FLOCK  ADVISORY  WRITE 4242 08:02:131090 0 EOF"; a waiter's line
   * has "->" after the number.  Device as %02x:%02x, inode decimal. */
  snprintf(want, sizeof(want), " %02x:%02x:%llu ", major(st.st_dev), minor(st.st_dev),
           (unsigned long long) st.st_ino);
  lfd = open("/proc/locks", O_RDONLY | O_CLOEXEC);
  if (lfd < 0)
    return 0;
  /* only as much as fits: a host with more locks than that is rare, and
   * then the stopped-holder check is only missed, not wrong */
  while (len < sizeof(buf) - 1 && (n = read(lfd, buf + len, sizeof(buf) - 1 - len)) > 0)
    len += (size_t) n;
  buf[len] = '\0';
  for (char *line = buf, *next; line && *line; line = next) {
    char *hit, *q;
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (strstr(line, "->") != NULL || strstr(line, " FLOCK ") == NULL
        || (hit = strstr(line, want)) == NULL)
      continue;
    /* the pid is the word just before the device */
    *hit = '\0';
    q = strrchr(line, ' ');
    if (q != NULL)
      pid = (pid_t) strtol(q + 1, NULL, 10);
    break;
  }
  return pid > 0 ? pid : 0;
}

int
berth_session_lock(const char *name, long timeout_ms, berth_error_t *err)
{
  cleanup_close int dfd = -1;
  cleanup_close int fd = -1;
  cleanup_free char *file = NULL;
  int64_t deadline = berth_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  int64_t next_check = 0, stopped_since = 0;
  pid_t stopped_pid = 0;
  struct stat st;

  if (check_name(name, err) < 0)
    return -1;
  dfd = berth_session_rundir_open("lock", NULL, true, err);
  if (dfd < 0)
    return -1;
  file = berth_asprintf(err, "%s.lock", name);
  if (file == NULL)
    return -1;
  fd = openat(dfd, file, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
  if (fd < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "open lock %s/lock/%s",
                             berth_session_rundir(), file);
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
    return berth_error_make(err, BERTH_E_SESSION, EPERM, "lock %s/lock/%s is not ours",
                            berth_session_rundir(), file);
  /* flock has no timeout: poll with LOCK_NB, bounded by the deadline. */
  for (;;) {
    int64_t now;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      /* berthctl rm/gc unlink the lock file of a container they removed,
       * holding it (lifecycle.c): a lock taken on the unlinked file guards
       * nothing, so take the one now at the path instead. */
      if (fstat(fd, &st) == 0 && st.st_nlink > 0)
        return take_fd(&fd);
      close(take_fd(&fd));
      fd = openat(dfd, file, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
      if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
        return berth_error_errno(err, BERTH_E_SESSION, fd < 0 ? errno : EPERM, "reopen lock %s",
                                 name);
      continue;
    }
    if (errno != EWOULDBLOCK && errno != EINTR)
      return berth_error_errno(err, BERTH_E_SESSION, errno, "lock %s", name);
    now = berth_now_ms();
    if (now >= next_check) {
      pid_t h = lock_holder(fd);
      char state = h > 0 ? proc_state(h) : 0;
      next_check = now + HOLDER_CHECK_MS;
      if (state == 'T' || state == 't') {
        if (h != stopped_pid) {
          stopped_pid = h;
          stopped_since = now;
        } else if (now - stopped_since >= HOLDER_STOPPED_MS) {
          return berth_error_make(err, BERTH_E_SESSION, EBUSY,
                                  "the lock of %s is held by pid %ld, which is stopped "
                                  "(state %c); not waiting for it",
                                  name, (long) h, state);
        }
      } else {
        stopped_pid = 0;
      }
    }
    if (now >= deadline)
      return berth_error_make(err, BERTH_E_SESSION, ETIMEDOUT,
                              "timed out after %ld ms waiting for the lock of %s", timeout_ms,
                              name);
    struct timespec ts = { 0, LOCK_POLL_MS * 1000000L };
    nanosleep(&ts, NULL);
  }
}

void
berth_session_unlock(int fd)
{
  if (fd >= 0) {
    int saved = errno;
    flock(fd, LOCK_UN);
    close(fd);
    errno = saved;
  }
}

/* ---------------------------------------------------------------- records
 * The mtime of RUNDIR/sessions/NAME is the idle clock (berthctl gc and
 * list): it moves when a session is recorded or released, never when
 * sessions are only counted.  So counting leaves stale records (owner
 * dead, pid reused) where they are and only skips them; recording and
 * releasing, which move the clock anyway, remove them.  (Restoring the
 * mtime after a prune would race with a release running at the same time
 * in another process: berthctl counts without the user's lock.) */

/* A DIR stream over dfd that leaves dfd itself open. */
static DIR *
open_records(int dfd, const char *name, berth_error_t *err)
{
  int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
  DIR *d;

  if (fd < 0 || (d = fdopendir(fd)) == NULL) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    berth_error_errno(err, BERTH_E_SESSION, e, "read sessions of %s", name);
    return NULL;
  }
  return d;
}

/* Remove the records of `pid` (whatever their start time) and those whose
 * owner is gone. */
static int
prune_records(int dfd, const char *name, pid_t pid, berth_error_t *err)
{
  DIR *d = open_records(dfd, name, err);
  struct dirent *de;

  if (d == NULL)
    return -1;
  while ((de = readdir(d)) != NULL) {
    pid_t p;
    unsigned long long st;
    if (berth_session_parse_record(de->d_name, &p, &st) && (p == pid || !record_live(p, st)))
      unlinkat(dfd, de->d_name, 0);
  }
  closedir(d);
  return 0;
}

int
berth_session_record(const char *name, pid_t pid, berth_error_t *err)
{
  cleanup_close int dfd = -1;
  cleanup_close int fd = -1;
  unsigned long long starttime;
  char rec[64];

  if (pid <= 0)
    return berth_error_make(err, BERTH_E_SESSION, EINVAL, "invalid session owner %ld", (long) pid);
  if (proc_stat(pid, NULL, &starttime) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, ESRCH, "session owner %ld", (long) pid);
  dfd = berth_session_rundir_open("sessions", name, true, err);
  if (dfd < 0)
    return -1;
  snprintf(rec, sizeof(rec), "%ld-%llu", (long) pid, starttime);
  fd = openat(dfd, rec, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
  if (fd < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "record session %s/sessions/%s/%s",
                             berth_session_rundir(), name, rec);
  /* sessions that ended without a release (berth-shell alone, sshd
   * killed); 0: no pid is ever 0, so only dead records go */
  if (prune_records(dfd, name, 0, err) < 0)
    return -1;
  return 0;
}

int
berth_session_release(const char *name, pid_t pid, berth_error_t *err)
{
  cleanup_close int dfd = -1;

  dfd = berth_session_rundir_open("sessions", name, false, err);
  if (dfd == -2)
    return 0;
  if (dfd < 0)
    return -1;
  /* Every record of pid goes: whatever its start time, it cannot be live
   * once its owner says it is done.  Dead ones go as well. */
  if (prune_records(dfd, name, pid, err) < 0)
    return -1;
  /* The directory's mtime is the idle clock that berthctl gc reads. */
  if (futimens(dfd, NULL) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "touch sessions of %s", name);
  return 0;
}

int
berth_session_count(const char *name, pid_t exclude, berth_error_t *err)
{
  cleanup_close int dfd = -1;
  DIR *d;
  struct dirent *de;
  int n = 0;

  dfd = berth_session_rundir_open("sessions", name, false, err);
  if (dfd == -2)
    return 0;
  if (dfd < 0)
    return -1;
  if ((d = open_records(dfd, name, err)) == NULL)
    return -1;
  /* a record whose owner died (or whose pid was reused) does not count;
   * it stays until the next record or release (see above) */
  while ((de = readdir(d)) != NULL) {
    pid_t p;
    unsigned long long st;
    if (berth_session_parse_record(de->d_name, &p, &st) && p != exclude && record_live(p, st))
      n++;
  }
  closedir(d);
  return n;
}

bool
berth_session_owned_by_ancestor(const char *name)
{
  berth_error_t err = NULL;
  cleanup_close int dfd = -1;
  pid_t pid = getppid();

  dfd = berth_session_rundir_open("sessions", name, false, &err);
  berth_error_release(&err);
  if (dfd < 0)
    return false;
  for (int i = 0; pid > 0 && i < MAX_ANCESTORS; i++) {
    unsigned long long starttime;
    pid_t ppid = 0;
    char rec[64];
    struct stat st;

    if (proc_stat(pid, &ppid, &starttime) < 0)
      return false;
    snprintf(rec, sizeof(rec), "%ld-%llu", (long) pid, starttime);
    if (fstatat(dfd, rec, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
      return true;
    if (ppid == pid)
      break;
    pid = ppid;
  }
  return false;
}

int
berth_session_idle_since(const char *name, time_t *since, berth_error_t *err)
{
  cleanup_close int dfd = -1;
  struct stat st;

  *since = 0;
  dfd = berth_session_rundir_open("sessions", name, false, err);
  if (dfd == -2)
    return 0;
  if (dfd < 0)
    return -1;
  if (fstat(dfd, &st) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "stat sessions of %s", name);
  *since = st.st_mtime;
  return 0;
}
