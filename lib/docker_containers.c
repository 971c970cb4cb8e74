/* docker_containers.c - container endpoints of the Docker backend: create,
 * start, stop, remove, inspect, list. */
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
docker_container_create(struct berth_engine *e, const char *name, json_t *spec, char **id,
                        berth_error_t *err)
{
  cleanup_free char *q = NULL, *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret = -1;

  *id = NULL;
  if (name != NULL && *name != '\0') {
    q = docker_escape(name, err);
    if (q == NULL || (path = berth_asprintf(err, "/containers/create?name=%s", q)) == NULL)
      return -1;
  } else if ((path = berth_strdup("/containers/create", err)) == NULL) {
    return -1;
  }
  if (docker_request_json(docker_of(e), "POST", path, spec, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "creating container %s", name ? name : "");
  if (status == 409) {
    docker_name_conflict(name, reply, err);
    goto out;
  }
  if (status < 200 || (status >= 300 && status < 400)) {
    berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                     "creating container %s: unexpected HTTP %ld from the engine", name ? name : "",
                     status);
    goto out;
  }
  if (docker_check(status, reply, BERTH_E_CONTAINER, "creating container", err) < 0) {
    berth_error_wrap(err, "%s", name ? name : "");
    goto out;
  }
  ret = docker_reply_id(reply, status, "creating container", name ? name : "", id, err);
out:
  json_decref(reply);
  return ret;
}

/* A body-less POST; 204 and 304 (already in that state) both count as done. */
static int
container_action(struct berth_engine *e, const char *id, const char *suffix, long timeout_ms,
                 const char *what, berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret;

  if (docker_container_path(id, suffix, &path, err) < 0)
    return -1;
  if (docker_request_json(docker_of(e), "POST", path, NULL, timeout_ms, &status, &reply, err) < 0)
    return berth_error_wrap(err, "%s container %s", what, id);
  ret = 0;
  if (status >= 400) {
    cleanup_free char *ctx = berth_asprintf(NULL, "%s container %s", what, id);
    ret = docker_check(status, reply, BERTH_E_CONTAINER, ctx ? ctx : what, err);
  }
  json_decref(reply);
  return ret;
}

int
docker_container_start(struct berth_engine *e, const char *id, berth_error_t *err)
{
  return container_action(e, id, "/start", 0, "starting", err);
}

int
docker_container_stop(struct berth_engine *e, const char *id, int timeout_s, berth_error_t *err)
{
  char suffix[32];
  long t;

  if (timeout_s < 0)
    timeout_s = 0;
  snprintf(suffix, sizeof(suffix), "/stop?t=%d", timeout_s);
  /* the engine answers only after the grace period (and the kill) */
  t = docker_of(e)->timeout_ms + (long) timeout_s * 1000;
  return container_action(e, id, suffix, t, "stopping", err);
}

int
docker_container_remove(struct berth_engine *e, const char *id, bool force, berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret = 0;

  if (docker_container_path(id, force ? "?force=1&v=1" : "?v=1", &path, err) < 0)
    return -1;
  /* a forced removal kills first; give it the stop bound as well */
  if (docker_request_json(docker_of(e), "DELETE", path, NULL, docker_of(e)->timeout_ms * 2, &status,
                          &reply, err)
      < 0)
    return berth_error_wrap(err, "removing container %s", id);
  if (status != 404 && status >= 400) {
    cleanup_free char *ctx = berth_asprintf(NULL, "removing container %s", id);
    ret = docker_check(status, reply, BERTH_E_CONTAINER, ctx ? ctx : "removing container", err);
  }
  json_decref(reply);
  return ret;
}

int
docker_container_inspect(struct berth_engine *e, const char *id_or_name, json_t **info,
                         berth_error_t *err)
{
  cleanup_free char *path = NULL;

  *info = NULL;
  if (docker_container_path(id_or_name, "/json", &path, err) < 0)
    return -1;
  return docker_get_object(docker_of(e), path, "container", id_or_name, info, err);
}

int
docker_container_list(struct berth_engine *e, const char *label, json_t **list, berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;

  *list = NULL;
  if (label != NULL && *label != '\0') {
    json_t *filters = json_pack("{s:[s]}", "label", label);
    cleanup_free char *fj = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
    cleanup_free char *q = NULL;
    json_decref(filters);
    if (fj == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    q = docker_escape(fj, err);
    if (q == NULL)
      return -1;
    path = berth_asprintf(err, "/containers/json?all=1&filters=%s", q);
  } else {
    path = berth_strdup("/containers/json?all=1", err);
  }
  if (path == NULL)
    return -1;
  if (docker_request_json(docker_of(e), "GET", path, NULL, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "listing containers");
  if (docker_check(status, reply, BERTH_E_ENGINE, "listing containers", err) < 0) {
    json_decref(reply);
    return -1;
  }
  if (!json_is_array(reply)) {
    json_decref(reply);
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "listing containers: the reply is not a JSON array");
  }
  *list = reply;
  return 0;
}

/* ---------------------------------------------------------------- networks */

/* Docker's bridge driver drops traffic between two containers of one
 * network when this is "false" (iptables rules, so only with the daemon's
 * iptables management on, the default).  Podman 4.3's compat service
 * creates the network, warns "is not a recognized option" and drops it:
 * netavark has no such switch. */
#define ICC_OPTION "com.docker.network.bridge.enable_icc"
