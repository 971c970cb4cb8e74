/* pin.h - a container's init process held still while berth reads it
 * through /proc: a pidfd first, then /proc/PID and its start time, and
 * after the reads the pidfd checked alive.  A pid is not reused while its
 * process lives, so everything read in between was that process's, never
 * one's that took the pid over.  netns.c pins before it moves a session
 * into the init's network namespace, join_target.c before join mode reads
 * and joins it. */
#ifndef BERTH_PIN_H
#define BERTH_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "berth/error.h"

struct berth_pin {
  pid_t pid;
  int pidfd;                     /* -1: not pinned */
  int procfd;                    /* /proc/PID on the host, -1: not open */
  unsigned long long start_time; /* /proc/PID/stat field 22 */
};

void berth_pin_init(struct berth_pin *p);
/* Closes what berth_pin_open opened; p is as berth_pin_init left it. */
void berth_pin_release(struct berth_pin *p);
#define cleanup_pin __attribute__((cleanup(berth_pin_release)))
/* Pin pid: its pidfd, /proc/PID, the start time read through it.  0, or -1
 * with err of the caller's kind; status `gone` when the process is not
 * there (pidfd_open's ESRCH, /proc/PID missing), else the errno.  On
 * failure the caller still releases p. */
int berth_pin_open(struct berth_pin *p, pid_t pid, enum berth_error_kind kind, int gone,
                   berth_error_t *err);
/* Whether the pinned process still lives (has not exited): the reads since
 * berth_pin_open were its. */
bool berth_pin_alive(const struct berth_pin *p);
/* A small file under dir (/proc/PID or one of its cgroup directories),
 * NUL-terminated in buf; errors of kind naming "the container's init". */
int berth_pin_read(int dir, const char *name, char *buf, size_t len, enum berth_error_kind kind,
                   berth_error_t *err);

#endif
