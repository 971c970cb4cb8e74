/* evil_preload.c - what an attacker would LD_PRELOAD (or plant through
 * LD_LIBRARY_PATH) into a setuid berth-shell: leaves a marker file in
 * MARK_DIR when its constructor runs.  Built by test_shell_attacks.sh. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#ifndef MARK_DIR
#error MARK_DIR must be defined
#endif

__attribute__((constructor)) static void
planted(void)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/loaded-pid%ld-euid%ld", MARK_DIR, (long) getpid(),
           (long) geteuid());
  close(open(path, O_WRONLY | O_CREAT, 0644));
}
