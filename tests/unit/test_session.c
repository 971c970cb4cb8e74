/* test_session.c - session records and locks in a temporary run directory:
 * counting live owners, pruning dead ones and reused pids (without moving
 * the idle clock), lock exclusion
 * across processes with a timeout, ancestor detection, the idle clock, and
 * refusing unsafe directories and names. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "berth/session.h"
#include "../../lib/session-internal.h"
#include "berth/util.h"
#include "../lib/testlib.h"

#define NAME "berth-alice"

static char rundir[64];

static int
setup(void **state)
{
  char base[] = "/tmp/bt-session-XXXXXX";
  if (mkdtemp(base) == NULL)
    return -1;
  /* a run directory that does not exist yet: the library creates it */
  snprintf(rundir, sizeof(rundir), "%s/run", base);
  berth_session_set_rundir(rundir);
  return 0;
}

static int
teardown(void **state)
{
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int) (strrchr(rundir, '/') - rundir), rundir);
  berth_session_set_rundir(NULL);
  return system(cmd) == 0 ? 0 : -1;
}

static unsigned long long
starttime_of(pid_t pid)
{
  char path[64], buf[1024];
  FILE *f;
  char *p;
  unsigned long long st = 0;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
  f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(buf, sizeof(buf), f));
  fclose(f);
  p = strrchr(buf, ')');
  assert_non_null(p);
  /* fields 3..22 after ')' */
  p++;
  for (int field = 3; field < 22; field++) {
    p = strchr(p + 1, ' ');
    assert_non_null(p);
  }
  st = strtoull(p + 1, NULL, 10);
  return st;
}

static bool
record_exists(pid_t pid, unsigned long long st)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/sessions/%s/%d-%llu", rundir, NAME, (int) pid, st);
  return access(path, F_OK) == 0;
}

/* A child that waits to be killed: a live session owner until reap(). */
static pid_t
spawn_owner(void)
{
  pid_t c = fork();

  assert_true(c >= 0);
  if (c == 0) {
    pause();
    _exit(0);
  }
  return c;
}

static void
reap(pid_t c)
{
  kill(c, SIGKILL);
  waitpid(c, NULL, 0);
}

/* Our last release: the idle clock reads NOW (or a moment after). */
static void
release_moves_clock(time_t now)
{
  berth_error_t err = NULL;
  time_t since = 0;

  assert_int_equal(berth_session_release(NAME, getpid(), &err), 0);
  assert_int_equal(berth_session_idle_since(NAME, &since, &err), 0);
  assert_true(since >= now && since <= now + 5);
}

TEST_FIXTURE(test_record_count_release, setup, teardown)
{
  berth_error_t err = NULL;
  struct stat st;
  time_t since = 1;
  char path[256];

  assert_int_equal(berth_session_count(NAME, 0, &err), 0);
  assert_int_equal(berth_session_idle_since(NAME, &since, &err), 0);
  assert_int_equal(since, 0); /* never */

  mode_t old = umask(077); /* sshd runs PAM like this */
  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  umask(old);
  assert_null(err);
  assert_true(record_exists(getpid(), starttime_of(getpid())));
  /* root-owned (ours) 0755 directories despite the umask */
  assert_int_equal(lstat(rundir, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0755);
  snprintf(path, sizeof(path), "%s/sessions/%s", rundir, NAME);
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0755);
  assert_int_equal(st.st_uid, geteuid());

  assert_int_equal(berth_session_count(NAME, 0, &err), 1);
  /* recording twice is one session */
  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  assert_int_equal(berth_session_count(NAME, 0, &err), 1);
  assert_int_equal(berth_session_count(NAME, getpid(), &err), 0);
  /* other names are independent */
  assert_int_equal(berth_session_count("berth-bob", 0, &err), 0);

  assert_int_equal(berth_session_release(NAME, getpid(), &err), 0);
  assert_int_equal(berth_session_count(NAME, 0, &err), 0);
  assert_false(record_exists(getpid(), starttime_of(getpid())));
  /* releasing again is harmless */
  assert_int_equal(berth_session_release(NAME, getpid(), &err), 0);
  assert_null(err);

  /* a dead owner cannot be recorded */
  pid_t c = fork();
  assert_true(c >= 0);
  if (c == 0)
    _exit(0);
  waitpid(c, NULL, 0);
  assert_int_equal(berth_session_record(NAME, c, &err), -1);
  assert_int_equal(err->kind, BERTH_E_SESSION);
  berth_error_release(&err);
}

TEST_FIXTURE(test_dead_owner_pruned, setup, teardown)
{
  berth_error_t err = NULL;
  unsigned long long st;
  pid_t c = spawn_owner();

  assert_int_equal(berth_session_record(NAME, c, &err), 0);
  st = starttime_of(c);
  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  assert_int_equal(berth_session_count(NAME, 0, &err), 2);
  reap(c);
  /* sshd killed, close_session never ran: the count still drops */
  assert_int_equal(berth_session_count(NAME, 0, &err), 1);
  /* counting leaves the record (the idle clock must not move); the next
   * record or release removes it */
  assert_true(record_exists(c, st));
  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  assert_false(record_exists(c, st));
  assert_int_equal(berth_session_release(NAME, getpid(), &err), 0);
  assert_int_equal(berth_session_count(NAME, 0, &err), 0);
}

/* Pruning a record whose owner died is not a logout: the idle clock that
 * gc and `berthctl list` read stays where the last real release put it. */
TEST_FIXTURE(test_idle_clock_survives_pruning, setup, teardown)
{
  berth_error_t err = NULL;
  char cmd[512], path[256];
  time_t since = 0, now;
  unsigned long long st;
  pid_t c = spawn_owner();

  assert_int_equal(berth_session_record(NAME, c, &err), 0);
  st = starttime_of(c);
  reap(c);
  /* a stale record of a pid that was reused since, too */
  snprintf(path, sizeof(path), "%s/sessions/%s/%d-%llu", rundir, NAME, (int) getpid(),
           starttime_of(getpid()) + 17);
  int fd = open(path, O_CREAT | O_WRONLY, 0644);
  assert_true(fd >= 0);
  close(fd);
  /* idle for two hours */
  now = time(NULL);
  snprintf(cmd, sizeof(cmd), "touch -d @%lld '%s/sessions/%s'", (long long) now - 7200, rundir,
           NAME);
  assert_int_equal(system(cmd), 0);

  /* gc / list: count, then read the clock, as often as they like */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(berth_session_count(NAME, 0, &err), 0);
    assert_int_equal(berth_session_idle_since(NAME, &since, &err), 0);
    assert_int_equal(since, now - 7200);
  }
  assert_int_equal(berth_session_count(NAME, getpid(), &err), 0);
  assert_int_equal(berth_session_idle_since(NAME, &since, &err), 0);
  assert_int_equal(since, now - 7200);

  /* a real login and logout move it, and clear the stale records */
  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  assert_false(record_exists(c, st));
  assert_false(access(path, F_OK) == 0);
  release_moves_clock(now);
}

TEST_FIXTURE(test_pid_reuse, setup, teardown)
{
  berth_error_t err = NULL;
  char path[256];
  unsigned long long st = starttime_of(getpid());
  int fd;

  /* our pid with another start time: a record left by an earlier process
   * that had this pid */
  assert_int_equal(berth_session_count(NAME, 0, &err), 0); /* creates nothing */
  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  assert_int_equal(berth_session_release(NAME, getpid(), &err), 0);
  snprintf(path, sizeof(path), "%s/sessions/%s/%d-%llu", rundir, NAME, (int) getpid(), st + 17);
  fd = open(path, O_CREAT | O_WRONLY, 0644);
  assert_true(fd >= 0);
  close(fd);
  /* junk that is not a record is ignored, not counted */
  snprintf(path, sizeof(path), "%s/sessions/%s/notarecord", rundir, NAME);
  fd = open(path, O_CREAT | O_WRONLY, 0644);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(berth_session_count(NAME, 0, &err), 0);
  /* gone at the next record, junk left alone */
  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  assert_false(record_exists(getpid(), st + 17));
  assert_true(record_exists(getpid(), st));
  assert_int_equal(access(path, F_OK), 0);
  assert_int_equal(berth_session_count(NAME, 0, &err), 1);
  assert_int_equal(berth_session_release(NAME, getpid(), &err), 0);
  assert_null(err);
}

TEST_FIXTURE(test_lock_exclusion, setup, teardown)
{
  berth_error_t err = NULL;
  int fd = berth_session_lock(NAME, 1000, &err);
  int pipefd[2];
  pid_t c;
  int status;
  char byte;

  assert_true(fd >= 0);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  c = fork();
  assert_true(c >= 0);
  if (c == 0) {
    berth_error_t cerr = NULL;
    int64_t t0 = berth_now_ms();
    int l = berth_session_lock(NAME, 300, &cerr);
    int64_t dt = berth_now_ms() - t0;
    /* 0: timed out as it should, after about the timeout */
    _exit(l < 0 && cerr->kind == BERTH_E_SESSION && cerr->status == ETIMEDOUT && dt >= 290
                  && dt < 2000
              ? 0
              : 1);
  }
  assert_int_equal(waitpid(c, &status, 0), c);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);

  /* another lock name is not blocked */
  int other = berth_session_lock("berth-bob", 100, &err);
  assert_true(other >= 0);
  berth_session_unlock(other);

  /* a waiter gets the lock once it is released */
  assert_int_equal(pipe(pipefd), 0);
  c = fork();
  assert_true(c >= 0);
  if (c == 0) {
    berth_error_t cerr = NULL;
    close(pipefd[0]);
    if (write(pipefd[1], "w", 1) != 1)
      _exit(2);
    int l = berth_session_lock(NAME, 5000, &cerr);
    _exit(l >= 0 ? 0 : 1);
  }
  close(pipefd[1]);
  assert_int_equal(read(pipefd[0], &byte, 1), 1);
  close(pipefd[0]);
  usleep(100 * 1000);
  berth_session_unlock(fd);
  assert_int_equal(waitpid(c, &status, 0), c);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);

  /* a holder that dies releases the lock */
  c = fork();
  assert_true(c >= 0);
  if (c == 0) {
    berth_error_t cerr = NULL;
    int l = berth_session_lock(NAME, 1000, &cerr);
    (void) l;
    kill(getpid(), SIGKILL);
    _exit(1);
  }
  waitpid(c, &status, 0);
  fd = berth_session_lock(NAME, 1000, &err);
  assert_true(fd >= 0);
  berth_session_unlock(fd);
}

/* A holder the user stopped (SIGSTOP on their own berth-shell) does not
 * make every waiter sit out its timeout: the wait ends within about a
 * second with EBUSY, naming the pid.  Once the holder is continued or gone
 * the lock works again. */
TEST_FIXTURE(test_lock_holder_stopped, setup, teardown)
{
  berth_error_t err = NULL, err2 = NULL;
  pid_t c;
  int status, fd, fd2;
  int64_t t0, dt;
  char pid_s[64];

  c = fork();
  assert_true(c >= 0);
  if (c == 0) {
    berth_error_t cerr = NULL;
    if (berth_session_lock(NAME, 1000, &cerr) < 0)
      _exit(2);
    raise(SIGSTOP);
    sleep(30); /* continued: hold it a while longer */
    _exit(0);
  }
  assert_int_equal(waitpid(c, &status, WUNTRACED), c);
  assert_true(WIFSTOPPED(status));

  t0 = berth_now_ms();
  fd = berth_session_lock(NAME, 20000, &err);
  dt = berth_now_ms() - t0;
  /* continued, it is a normal (running) holder again: a short wait times
   * out as usual */
  kill(c, SIGCONT);
  fd2 = berth_session_lock(NAME, 300, &err2);
  /* the holder goes before any assertion can leave it stopped behind */
  kill(c, SIGKILL);
  assert_int_equal(waitpid(c, &status, 0), c);

  assert_int_equal(fd, -1);
  assert_non_null(err);
  assert_int_equal(err->kind, BERTH_E_SESSION);
  assert_int_equal(err->status, EBUSY);
  snprintf(pid_s, sizeof(pid_s), "pid %ld, which is stopped", (long) c);
  if (strstr(err->msg, pid_s) == NULL)
    fail_msg("\"%s\" does not say \"%s\"", err->msg, pid_s);
  if (dt > 3000)
    fail_msg("gave up after %lld ms: waited for a stopped holder", (long long) dt);
  berth_error_release(&err);
  assert_int_equal(fd2, -1);
  assert_int_equal(err2->status, ETIMEDOUT);
  berth_error_release(&err2);

  fd = berth_session_lock(NAME, 1000, &err);
  assert_true(fd >= 0);
  berth_session_unlock(fd);
}

/* Runs in a forked child: exit status 0 when owned_by_ancestor == want. */
static void
check_ancestor_in_child(bool want, int depth)
{
  pid_t c = fork();
  int status;
  assert_true(c >= 0);
  if (c == 0) {
    if (depth > 1) {
      pid_t g = fork();
      if (g < 0)
        _exit(3);
      if (g == 0)
        _exit(berth_session_owned_by_ancestor(NAME) == want ? 0 : 1);
      waitpid(g, &status, 0);
      _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
    }
    _exit(berth_session_owned_by_ancestor(NAME) == want ? 0 : 1);
  }
  assert_int_equal(waitpid(c, &status, 0), c);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

TEST_FIXTURE(test_ancestor, setup, teardown)
{
  berth_error_t err = NULL;
  pid_t sib;

  /* nothing recorded */
  check_ancestor_in_child(false, 1);
  /* a sibling's record is not an ancestor's */
  sib = spawn_owner();
  assert_int_equal(berth_session_record(NAME, sib, &err), 0);
  check_ancestor_in_child(false, 1);
  /* the parent's record, seen from a child and a grandchild (sshd's monitor
   * -> session child -> berth-shell) */
  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  check_ancestor_in_child(true, 1);
  check_ancestor_in_child(true, 2);
  /* the process itself is not its own ancestor */
  assert_false(berth_session_owned_by_ancestor(NAME));
  /* once released, children no longer see it */
  assert_int_equal(berth_session_release(NAME, getpid(), &err), 0);
  check_ancestor_in_child(false, 1);
  reap(sib);
  assert_int_equal(berth_session_count(NAME, 0, &err), 0);
}

TEST_FIXTURE(test_idle_since, setup, teardown)
{
  berth_error_t err = NULL;
  char cmd[512];
  time_t since = 0, now;

  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  snprintf(cmd, sizeof(cmd), "touch -d '2000-01-02 03:04:05 UTC' '%s/sessions/%s'", rundir, NAME);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(berth_session_idle_since(NAME, &since, &err), 0);
  assert_int_equal(since, 946782245);
  /* counting does not move the clock when nothing is pruned */
  assert_int_equal(berth_session_count(NAME, 0, &err), 1);
  assert_int_equal(berth_session_idle_since(NAME, &since, &err), 0);
  assert_int_equal(since, 946782245);
  /* the last release sets it to now */
  now = time(NULL);
  release_moves_clock(now);
}

TEST_FIXTURE(test_unsafe, setup, teardown)
{
  berth_error_t err = NULL;
  char path[256], target[256];

  /* names that would leave the directory */
  const char *bad[] = { "", ".", "..", "../x", "a/b", "a b", NULL };
  for (size_t i = 0; bad[i]; i++) {
    assert_int_equal(berth_session_record(bad[i], getpid(), &err), -1);
    assert_int_equal(err->kind, BERTH_E_USAGE);
    berth_error_release(&err);
    assert_int_equal(berth_session_lock(bad[i], 10, &err), -1);
    berth_error_release(&err);
  }

  /* a planted symlink for the per-name directory is refused, not followed */
  assert_int_equal(berth_session_record(NAME, getpid(), &err), 0);
  assert_int_equal(berth_session_release(NAME, getpid(), &err), 0);
  snprintf(target, sizeof(target), "%s/elsewhere", rundir);
  assert_int_equal(mkdir(target, 0755), 0);
  snprintf(path, sizeof(path), "%s/sessions/berth-evil", rundir);
  assert_int_equal(symlink(target, path), 0);
  assert_int_equal(berth_session_record("berth-evil", getpid(), &err), -1);
  assert_int_equal(err->kind, BERTH_E_SESSION);
  berth_error_release(&err);
  assert_int_equal(berth_session_count("berth-evil", 0, &err), -1);
  berth_error_release(&err);

  /* a lock file that is a symlink is refused */
  int fd = berth_session_lock(NAME, 10, &err);
  assert_true(fd >= 0);
  berth_session_unlock(fd);
  snprintf(path, sizeof(path), "%s/lock/berth-evil.lock", rundir);
  snprintf(target, sizeof(target), "%s/elsewhere/victim", rundir);
  assert_int_equal(symlink(target, path), 0);
  assert_int_equal(berth_session_lock("berth-evil", 10, &err), -1);
  berth_error_release(&err);
  assert_int_equal(access(target, F_OK), -1);

  /* a run directory others can write to is refused */
  snprintf(path, sizeof(path), "%s/sessions", rundir);
  assert_int_equal(chmod(path, 0777), 0);
  assert_int_equal(berth_session_count(NAME, 0, &err), -1);
  assert_int_equal(err->kind, BERTH_E_SESSION);
  assert_int_equal(err->status, EPERM);
  berth_error_release(&err);
  assert_int_equal(chmod(path, 0755), 0);
  assert_int_equal(berth_session_count(NAME, 0, &err), 0);

  /* as is a run directory that is a symlink */
  snprintf(path, sizeof(path), "%s.link", rundir);
  assert_int_equal(symlink(rundir, path), 0);
  berth_session_set_rundir(path);
  assert_int_equal(berth_session_count(NAME, 0, &err), -1);
  berth_error_release(&err);
  assert_int_equal(berth_session_lock(NAME, 10, &err), -1);
  berth_error_release(&err);
  unlink(path);
  berth_session_set_rundir(rundir);
}
