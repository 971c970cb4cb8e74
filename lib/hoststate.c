/* hoststate.c - what the host keeps for a user's container under RUNDIR,
 * and its removal with the container (hoststate.h).  Below the lifecycle
 * and the box: both call it, it calls only session.c. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "berth/hoststate.h"
#include "berth/log.h"
#include "berth/session.h"
#include "berth/util.h"

/* Every regular file in RUNDIR/sub/name, then the directory itself. */
static void
remove_dir(const char *sub, const char *name)
{
  berth_error_t err = NULL;
  cleanup_close int pfd = berth_session_rundir_open(sub, NULL, false, &err);
  int nfd;
  DIR *d;
  struct dirent *de;

  berth_error_release(&err);
  if (pfd < 0)
    return;
  nfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (nfd >= 0 && (d = fdopendir(nfd)) != NULL) {
    while ((de = readdir(d)) != NULL)
      if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
        unlinkat(dirfd(d), de->d_name, 0); /* records and /etc files: never directories */
    closedir(d);
  } else if (nfd >= 0) {
    close(nfd);
  }
  if (unlinkat(pfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    berth_log(LOG_WARNING, "container=%s cannot remove %s/%s/%s: %s", BERTH_LOG_VAL(name),
              berth_session_rundir(), sub, BERTH_LOG_VAL(name), BERTH_LOG_TEXT(strerror(errno)));
}

/* A container name as berth makes them (berth_sanitize_name): nothing else
 * is ever removed, whatever an engine's reply called the container. */
static bool
plain_name(const char *name)
{
  if (name == NULL || *name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '_' || *p == '.' || *p == '-'))
      return false;
  return true;
}

/* RUNDIR/sub/NAMEsuffix, a file. */
static void
remove_file(const char *sub, const char *name, const char *suffix)
{
  berth_error_t err = NULL;
  cleanup_close int dfd = berth_session_rundir_open(sub, NULL, false, &err);
  cleanup_free char *file = berth_asprintf(NULL, "%s%s", name, suffix);

  berth_error_release(&err);
  if (dfd >= 0 && file != NULL)
    unlinkat(dfd, file, 0);
}

void
berth_host_state_remove(const char *name)
{

  if (!plain_name(name)) {
    berth_log(LOG_WARNING, "container=%s host state not removed: not a container name berth makes",
              BERTH_LOG_VAL(name));
    return;
  }
  remove_dir("etc", name);
  remove_dir("sessions", name);
  remove_dir("agent", name);     /* relays' sockets: their sessions have ended */
  remove_file("warm", name, ""); /* join mode's warm state (warm.h) */
  remove_file("lock", name, ".lock");
}
