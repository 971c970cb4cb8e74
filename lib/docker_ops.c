/* docker_ops.c - the Docker backend's ops table (backend.h): Docker and
 * Podman's compat service through the Docker Engine API; and its plugin
 * descriptor, the one symbol engine-docker.so exports. */
#include "config.h"

#include "conn-internal.h"
#include "docker.h"
#ifdef BERTH_BACKEND_PLUGIN
#include "backend-internal.h"
#endif

static const struct berth_backend_ops docker_ops = {
  .name = "docker",
  .free = docker_free,
  .ping = docker_ping,
  .pin_connection = docker_pin_connection,
  .api_version = docker_api_version,
  .api_at_least = docker_api_at_least,
  .request = docker_request,
  .image_inspect = docker_image_inspect,
  .image_pull = docker_image_pull,
  .container_create = docker_container_create,
  .container_start = docker_container_start,
  .container_stop = docker_container_stop,
  .container_remove = docker_container_remove,
  .container_inspect = docker_container_inspect,
  .container_list = docker_container_list,
  .network_ensure = docker_network_ensure,
  .archive_put = docker_archive_put,
  .archive_get = docker_archive_get,
  .exec_create = docker_exec_create,
  .exec_resize = docker_exec_resize,
  .exec_inspect = docker_exec_inspect,
};

int
berth_docker_new_endpoint(const struct berth_endpoint *ep, long timeout_ms,
                          struct berth_engine **out, berth_error_t *err)
{
  struct docker *d = NULL;

  *out = NULL;
  if (docker_new(ep, timeout_ms, &d, err) < 0)
    return -1;
  d->base.ops = &docker_ops;
  *out = &d->base;
  return 0;
}

static int
docker_plugin_init(const struct berth_backend_host *host, berth_error_t *err)
{
#ifdef BERTH_BACKEND_PLUGIN
  /* built as engine-docker.so: the log lines go to the loader's sink */
  berth_backend_host_set(host);
#else
  (void) host;
#endif
  return berth_docker_global_init(err);
}

__attribute__((visibility("default"))) const struct berth_backend_plugin berth_backend_docker = {
  .abi = BERTH_BACKEND_ABI,
  .size = sizeof(struct berth_backend_plugin),
  .ops_size = sizeof(struct berth_backend_ops),
  .version = PACKAGE_VERSION,
  .name = "docker",
  .global_init = docker_plugin_init,
  .engine_new = berth_docker_new_endpoint,
  .conn_tls = &berth_conn_tls_ops,
};
