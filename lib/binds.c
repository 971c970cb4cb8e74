/* binds.c - whether the bind sources of a user's container are safe to
 * hand to the engine: berth's own binds are recognised, every other source
 * is walked from "/" (berth_path_open, BERTH_PATH_TRUSTED).  On its own
 * because it is the one security rule both the create path and the start
 * of an existing container apply, and spec.c's access diff shares its idea
 * of "ours". */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "berth/session.h"
#include "berth/util.h"
#include "binds-internal.h"

/* The engine resolves a bind source as root, following links, at every
 * start of the container, and the permissions of the source's parents do
 * not apply inside.  A source someone else can redirect (a directory of
 * theirs on the way, a link of theirs, a world-writable parent) would let
 * them mount anything they name: another user's files, /root.  So before
 * every create and every start each source is walked from "/" and has to
 * be one that only root can change, up to its last component (which may
 * be the user's own directory, e.g. /scratch/alice in a root-owned 0755
 * /scratch).  Only root can then swap a component between this check and
 * the engine's mount. */

bool
berth_binds_is_ours(const struct berth_box *b, const char *src, const char *dst)
{
  const char *rd = berth_session_rundir();
  size_t n = strlen(rd);

  if (strcmp(dst, BERTH_KEEPER_TARGET) == 0)
    return true;
  /* RUNDIR/agent/NAME: made by root in root's RUNDIR/agent (agent.c) */
  if (strcmp(dst, BERTH_AGENT_TARGET) == 0)
    return strncmp(src, rd, n) == 0 && strncmp(src + n, "/agent/", 7) == 0
           && strcmp(src + n + 7, b->name) == 0;
  if (strcmp(dst, "/etc/passwd") != 0 && strcmp(dst, "/etc/group") != 0)
    return false;
  if (strncmp(src, rd, n) != 0 || strncmp(src + n, "/etc/", 5) != 0)
    return false;
  src += n + 5;
  n = strlen(b->name);
  return strncmp(src, b->name, n) == 0
         && (strcmp(src + n, "/passwd") == 0 || strcmp(src + n, "/group") == 0);
}

bool
berth_mount_bind(json_t *m, const char **src, const char **dst)
{
  const char *type = json_string_value(json_object_get(m, "Type"));

  *src = json_string_value(json_object_get(m, "Source"));
  *dst = json_string_value(json_object_get(m, "Target"));
  return type != NULL && strcmp(type, "bind") == 0;
}

static bool
bind_is_home(const struct berth_box *b, const char *src, const char *dst)
{
  return b->cfg->home.mount && strcmp(src, b->user->home) == 0 && strcmp(dst, b->user->home) == 0;
}

int
berth_binds_check(const struct berth_box *b, json_t *mounts, berth_error_t *err)
{
  json_t *m;
  size_t i;

  json_array_foreach(mounts, i, m)
  {
    const char *src, *dst;
    bool home;
    int fd;

    if (!berth_mount_bind(m, &src, &dst))
      continue;
    if (src == NULL || dst == NULL)
      return berth_error_make(err, BERTH_E_CONTAINER, EINVAL,
                              "a bind mount of container %s has no source or target", b->name);
    if (berth_binds_is_ours(b, src, dst))
      continue;
    home = bind_is_home(b, src, dst);
    fd = berth_path_open(src, BERTH_PATH_TRUSTED | BERTH_PATH_DIR | (home ? 0 : BERTH_PATH_FILE),
                         BERTH_E_CONTAINER, NULL, err);
    if (fd < 0) {
      if (home)
        return berth_error_wrap(err, "refusing to mount the home directory %s", src);
      return berth_error_wrap(err, "refusing to mount %s at %s (container.mounts)", src, dst);
    }
    close(fd);
  }
  return 0;
}

int
berth_binds_engine_home(const struct berth_box *b, berth_error_t *err)
{
  const char *home = b->user->home, *at;
  size_t hl;

  if (err == NULL || *err == NULL || !b->cfg->home.mount || home == NULL || *home != '/')
    return -1;
  /* Docker: `bind source path does not exist: /home/alice`; Podman and
   * runc at start: `... /home/alice: no such file or directory` */
  hl = strlen(home);
  for (at = strstr((*err)->msg, home); at != NULL; at = strstr(at + 1, home))
    if ((at[hl] == '\0' || at[hl] == ':' || at[hl] == ' ' || at[hl] == '"')
        && (strstr((*err)->msg, "does not exist") || strstr((*err)->msg, "no such file")))
      break;
  if (at == NULL)
    return -1;
  (*err)->kind = BERTH_E_HOME_ENGINE;
  return berth_error_wrap(err,
                          "the engine's host has no home directory %s for user %s (homes "
                          "must be on storage shared by every bastion and the engine host, "
                          "at the same path)",
                          home, b->user->name);
}
