/* pin.c - a container's init held still while it is read through /proc
 * (pin.h); netns.c and join_target.c pin with it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/pin.h"
#include "berth/util.h"
#include "session-internal.h"

void
berth_pin_init(struct berth_pin *p)
{
  *p = (struct berth_pin){ .pid = 0, .pidfd = -1, .procfd = -1, .start_time = 0 };
}

void
berth_pin_release(struct berth_pin *p)
{
  if (p->pidfd >= 0)
    close(p->pidfd);
  if (p->procfd >= 0)
    close(p->procfd);
  berth_pin_init(p);
}

int
berth_pin_read(int dir, const char *name, char *buf, size_t len, enum berth_error_kind kind,
               berth_error_t *err)
{
  cleanup_close int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  size_t got = 0;
  ssize_t n;

  if (fd < 0)
    return berth_error_errno(err, kind, errno, "opening %s of the container's init", name);
  while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return berth_error_errno(err, kind, errno, "reading %s of the container's init", name);
    got += (size_t) n;
  }
  buf[got] = '\0';
  return 0;
}

/* Field 22 of /proc/PID/stat, parsed as the session records' is (session.c,
 * fuzzed: the comm field may hold spaces and parentheses). */
static int
start_time_of(int procfd, unsigned long long *start, enum berth_error_kind kind, berth_error_t *err)
{
  char buf[1024];

  if (berth_pin_read(procfd, "stat", buf, sizeof(buf), kind, err) < 0)
    return -1;
  if (berth_proc_stat_parse(buf, NULL, start) < 0)
    return berth_error_make(err, kind, EPROTO, "cannot read the init's start time");
  return 0;
}

int
berth_pin_open(struct berth_pin *p, pid_t pid, enum berth_error_kind kind, int gone,
               berth_error_t *err)
{
  char dir[32];

  p->pid = pid;
#ifdef SYS_pidfd_open
  p->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
#else
  errno = ENOSYS;
#endif
  if (p->pidfd < 0)
    return berth_error_errno(err, kind, errno == ESRCH ? gone : errno,
                             "pinning the container's init %ld (pidfd_open)", (long) pid);
  snprintf(dir, sizeof(dir), "/proc/%ld", (long) pid);
  p->procfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (p->procfd < 0)
    return berth_error_errno(err, kind, gone, "opening %s", dir);
  return start_time_of(p->procfd, &p->start_time, kind, err);
}

/* A pidfd is readable once its process has exited. */
bool
berth_pin_alive(const struct berth_pin *p)
{
  struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

  return p->pidfd >= 0 && poll(&pfd, 1, 0) == 0;
}
