/* docker_errors.c - the Docker API's error body ({"message": ...}) made an
 * error (docker.h docker_check, engine.h berth_engine_check).  Its own file
 * because both sides need it: the core (engine.c, which must not link the
 * libcurl transport) and the backend (engine-docker.so). */
#include "config.h"

#include <jansson.h>

#include "berth/http.h"
#include "docker.h"

int
docker_check(long status, json_t *reply, enum berth_error_kind kind, const char *what,
             berth_error_t *err)
{
  const char *msg = NULL;

  if (status < 400)
    return 0;
  if (json_is_object(reply))
    msg = json_string_value(json_object_get(reply, "message"));
  if (msg != NULL)
    return berth_error_make(err, kind, berth_http_errno(status), "%s: engine said: %s (HTTP %ld)",
                            what ? what : "engine request", msg, status);
  return berth_error_make(err, kind, berth_http_errno(status), "%s: HTTP %ld from the engine",
                          what ? what : "engine request", status);
}
