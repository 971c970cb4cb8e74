/* docker_networks.c - the isolated bridge network of the Docker backend. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/http.h"
#include "berth/log.h"
#include "berth/util.h"
#include "docker.h"

/* Docker's bridge driver drops traffic between two containers of one
 * network when this is "false" (iptables rules, so only with the daemon's
 * iptables management on, the default).  Podman 4.3's compat service
 * creates the network, warns "is not a recognized option" and drops it:
 * netavark has no such switch. */
#define ICC_OPTION "com.docker.network.bridge.enable_icc"

/* 0 and *isolated when the network exists, 1 when not, -1 on error. */
static int
network_inspect(struct berth_engine *e, const char *q, const char *name, bool *isolated,
                berth_error_t *err)
{
  cleanup_free char *path = berth_asprintf(err, "/networks/%s", q);
  json_t *reply = NULL;
  const char *driver, *icc;
  int r;

  if (path == NULL)
    return -1;
  r = docker_get_object(docker_of(e), path, "network", name, &reply, err);
  if (r != 0)
    return r;
  driver = json_string_value(json_object_get(reply, "Driver"));
  icc = json_string_value(json_object_get(json_object_get(reply, "Options"), ICC_OPTION));
  *isolated = driver && strcmp(driver, "bridge") == 0 && icc && strcmp(icc, "false") == 0;
  json_decref(reply);
  return 0;
}

int
docker_network_ensure(struct berth_engine *e, const char *name, bool *isolated, berth_error_t *err)
{
  cleanup_free char *q = NULL;
  json_t *body, *reply = NULL;
  long status = 0;
  int r;

  *isolated = false;
  q = docker_escape(name, err);
  if (q == NULL)
    return -1;
  r = network_inspect(e, q, name, isolated, err);
  if (r != 1)
    return r;
  body = json_pack("{s:s, s:s, s:b, s:{s:s}, s:{s:s}}", "Name", name, "Driver", "bridge",
                   "CheckDuplicate", 1, "Options", ICC_OPTION, "false", "Labels", "berth.network",
                   "true");
  if (body == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  r = docker_request_json(docker_of(e), "POST", "/networks/create", body, 0, &status, &reply, err);
  json_decref(body);
  if (r < 0)
    return berth_error_wrap(err, "creating network %s", name);
  /* 409: another login created it first; what it is, the inspect says */
  if (status != 409 && docker_check(status, reply, BERTH_E_ENGINE, "creating network", err) < 0) {
    json_decref(reply);
    return berth_error_wrap(err, "%s", name);
  }
  json_decref(reply);
  /* Read back rather than trust the request: an engine may accept the
   * option and not apply it. */
  r = network_inspect(e, q, name, isolated, err);
  if (r == 1)
    return berth_error_make(err, BERTH_E_ENGINE, ENOENT,
                            "network %s: gone right after it was created", name);
  return r < 0 ? -1 : 0;
}
