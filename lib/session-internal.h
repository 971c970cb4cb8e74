/* session-internal.h - the parts of session.c that only tests and the
 * fuzzer call: the run directory moved to a temporary one, and the parsers
 * behind the accounting.  Not installed. */
#ifndef BERTH_SESSION_INTERNAL_H
#define BERTH_SESSION_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "berth/session.h"

/* A temporary directory instead of BERTH_RUNDIR (/run/berth). */
void berth_session_set_rundir(const char *dir);

/* The parsers behind the accounting, for unit tests and the fuzzer:
 * a record's file name "PID-STARTTIME" (false when it is not one), and
 * fields 4 (ppid) and 22 (starttime) of a /proc/PID/stat text (modified;
 * 0, or -1 when malformed). */
bool berth_session_parse_record(const char *s, pid_t *pid, unsigned long long *starttime);
int berth_proc_stat_parse(char *buf, pid_t *ppid, unsigned long long *starttime);

#endif
