/* docker_compat.c - the differences between Docker and Podman's compat
 * service that the Docker backend papers over, in one place: Podman's plain
 * 500s mapped back to Docker's status, and what a create under a taken name
 * (409 from Docker, Podman's 500 mapped to it here) becomes for callers.
 * Other Podman behaviour lives where the code depends on it, with a
 * comment: the idle-close of kept connections (docker.c, spare
 * connections), the TTY size in the exec start body (hijack.c), the missing
 * enable_icc option (docker_networks.c).  docs/engine.md has the table. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "berth/log.h"
#include "docker.h"

/* Podman's compat service (4.3) answers some conditions for which Docker has
 * a specific status with a plain 500, and says which in the error body's
 * "cause" (libpod's error constants):
 *   create under a taken name   Docker 409, Podman 500 "that name is already in use"
 *   network create, name taken  Docker 409, Podman 500 "network already exists"
 *   exec in a stopped container Docker 409, Podman 500 "container state improper"
 * Map those back to Docker's status so callers see one set of semantics (409
 * -> EEXIST on create: inspect and reuse).  The "no such ..." causes come
 * with a 404 in every handler seen; should one ride on a 500, it is a 404
 * too.  Only a 500 whose body has exactly such a cause is touched; the
 * engine's message is kept as it is. */
long
docker_compat_status(long status, json_t *reply)
{
  static const struct {
    const char *cause;
    long status;
  } map[] = {
    { "that name is already in use", 409 }, { "network already exists", 409 },
    { "container state improper", 409 },    { "no such container", 404 },
    { "no such exec session", 404 },        { "no such image", 404 },
  };
  const char *cause;

  if (status != 500 || !json_is_object(reply))
    return status;
  cause = json_string_value(json_object_get(reply, "cause"));
  if (cause == NULL)
    return status;
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(cause, map[i].cause) == 0) {
      berth_debug("engine status=500 cause=\"%s\" treated as status=%ld", cause, map[i].status);
      return map[i].status;
    }
  return status;
}

/* Both engines, after docker_compat_status: 409 on create means the name is
 * taken.  It fails with status EEXIST so callers can inspect the container
 * of that name and reuse it (a concurrent login created it first). */
int
docker_name_conflict(const char *name, json_t *reply, berth_error_t *err)
{
  const char *m = json_string_value(json_object_get(reply, "message"));

  return berth_error_make(err, BERTH_E_CONTAINER, EEXIST,
                          "creating container %s: the name is taken: engine said: %s (HTTP 409)",
                          name ? name : "", m ? m : "conflict");
}
