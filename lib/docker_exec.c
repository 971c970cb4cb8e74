/* docker_exec.c - exec endpoints of the Docker backend: create, resize,
 * inspect.  The start is hijacked: hijack.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/http.h"
#include "berth/log.h"
#include "berth/util.h"
#include "docker.h"

int
docker_exec_create(struct berth_engine *e, const char *container, json_t *spec, char **exec_id,
                   berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret = -1;

  *exec_id = NULL;
  if (docker_container_path(container, "/exec", &path, err) < 0)
    return -1;
  if (docker_request_json(docker_of(e), "POST", path, spec, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "creating exec in container %s", container);
  if (status >= 400) {
    cleanup_free char *ctx = berth_asprintf(NULL, "creating exec in container %s", container);
    docker_check(status, reply, BERTH_E_EXEC, ctx ? ctx : "exec create", err);
    goto out;
  }
  ret = docker_reply_id(reply, status, "creating exec in container", container, exec_id, err);
out:
  json_decref(reply);
  return ret;
}

int
docker_exec_resize(struct berth_engine *e, const char *exec_id, unsigned rows, unsigned cols,
                   berth_error_t *err)
{
  cleanup_free char *path = NULL;
  char suffix[48];
  json_t *reply = NULL;
  long status = 0;
  int ret = 0, r;

  snprintf(suffix, sizeof(suffix), "/resize?h=%u&w=%u", rows, cols);
  if (docker_object_path("exec", "exec id", exec_id, NULL, suffix, &path, err) < 0)
    return -1;
  /* a resize that fails costs a wrong terminal size, not the session: it
   * may not take the last spare connection */
  docker_of(e)->cosmetic = true;
  r = docker_request_json(docker_of(e), "POST", path, NULL, 0, &status, &reply, err);
  docker_of(e)->cosmetic = false;
  if (r < 0)
    return berth_error_wrap(err, "resizing exec %s", exec_id);
  if (status >= 400)
    ret = docker_check(status, reply, BERTH_E_EXEC, "resizing the terminal", err);
  json_decref(reply);
  return ret;
}

int
docker_exec_inspect(struct berth_engine *e, const char *exec_id, bool *running, int *exit_code,
                    long *pid, berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL, *v;
  long status = 0;
  int ret = -1;

  if (docker_object_path("exec", "exec id", exec_id, NULL, "/json", &path, err) < 0)
    return -1;
  if (docker_request_json(docker_of(e), "GET", path, NULL, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "inspecting exec %s", exec_id);
  if (status >= 400) {
    docker_check(status, reply, BERTH_E_EXEC, "inspecting exec", err);
    goto out;
  }
  v = json_object_get(reply, "Running");
  if (!json_is_object(reply) || !json_is_boolean(v)) {
    berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "inspecting exec %s: reply has no Running",
                     exec_id);
    goto out;
  }
  if (running)
    *running = json_is_true(v);
  /* ExitCode is null while running */
  v = json_object_get(reply, "ExitCode");
  if (exit_code)
    *exit_code = json_is_integer(v) ? (int) json_integer_value(v) : -1;
  v = json_object_get(reply, "Pid");
  if (pid)
    *pid = json_is_integer(v) ? (long) json_integer_value(v) : 0;
  ret = 0;
out:
  json_decref(reply);
  return ret;
}
