/* engine.c - the engine interface (engine.h): every berth_engine_* call goes
 * through the engine's backend ops table (backend.h).  Today there is one
 * backend, the Docker Engine API (lib/docker*.c); a second one (Kubernetes)
 * is a second table and a choice in berth_engine_new.
 *
 * The front ends' core (libberth) does not link the backend: the first
 * engine a process opens loads it from BERTH_ENGINE_PLUGIN
 * (lib/backend_load.c), so a process that never needs the engine never maps
 * libcurl.  libberth_testing (BERTH_BACKEND_BUILTIN) links it directly. */
#include "config.h"

#include <errno.h>

#include "backend-internal.h"
#include "berth/backend.h"
#include "berth/config.h"
#include "berth/conn.h"
#include "berth/engine.h"
#include "berth/http.h"
#include "berth/log.h"
#include "docker.h"

static const struct berth_backend_host host = {
  .log = berth_log,
  .debug_enabled = berth_log_debug_enabled,
};

/* The backend's descriptor, loaded and set up once per process. */
static const struct berth_backend_plugin *
backend(berth_error_t *err)
{
  static const struct berth_backend_plugin *ready;
  const struct berth_backend_plugin *p;

  if (ready != NULL)
    return ready;
#ifdef BERTH_BACKEND_BUILTIN
  p = &berth_backend_docker;
#else
  if (berth_backend_get(&p, err) < 0)
    return NULL;
#endif
  if (p->global_init(&host, err) < 0)
    return NULL;
  ready = p;
  return ready;
}

int
berth_engine_global_init(berth_error_t *err)
{
  return backend(err) != NULL ? 0 : -1;
}

int
berth_engine_new(const char *socket_path, long timeout_ms, struct berth_engine **out,
                 berth_error_t *err)
{
  struct berth_endpoint ep = { .socket = socket_path ? socket_path : "" };

  return berth_engine_new_endpoint(&ep, timeout_ms, out, err);
}

int
berth_engine_new_endpoint(const struct berth_endpoint *ep, long timeout_ms,
                          struct berth_engine **out, berth_error_t *err)
{
  const struct berth_backend_plugin *p = backend(err);

  if (p == NULL) {
    *out = NULL;
    return -1;
  }
  return p->engine_new(ep, timeout_ms, out, err);
}

void
berth_engine_endpoint(const struct berth_config *cfg, struct berth_endpoint *ep)
{
  *ep = (struct berth_endpoint){ .socket = cfg->engine.socket,
                                 .host = cfg->engine.tcp_host,
                                 .port = cfg->engine.tcp_port,
                                 .ca = cfg->engine.tls.ca,
                                 .cert = cfg->engine.tls.cert,
                                 .key = cfg->engine.tls.key };
}

void
berth_engine_free(struct berth_engine *e)
{
  if (e != NULL)
    e->ops->free(e);
}

int
berth_engine_ping(struct berth_engine *e, berth_error_t *err)
{
  return e->ops->ping(e, err);
}

void
berth_engine_pin_connection(struct berth_engine *e)
{
  e->ops->pin_connection(e);
}

const char *
berth_engine_api_version(const struct berth_engine *e)
{
  return e->ops->api_version(e);
}

bool
berth_engine_api_at_least(const struct berth_engine *e, int major, int minor)
{
  return e->ops->api_at_least(e, major, minor);
}

int
berth_engine_request(struct berth_engine *e, const char *method, const char *path, json_t *body,
                     long *status, json_t **reply, berth_error_t *err)
{
  return e->ops->request(e, method, path, body, status, reply, err);
}

/* The error body ({"message": ...}) is the Docker API's; a backend with
 * another format would map its errors before they reach the core. */
int
berth_engine_check(long status, json_t *reply, enum berth_error_kind kind, const char *what,
                   berth_error_t *err)
{
  return docker_check(status, reply, kind, what, err);
}

char *
berth_engine_escape(const char *s, berth_error_t *err)
{
  return berth_http_escape(s ? s : "", NULL, err);
}

int
berth_engine_image_inspect(struct berth_engine *e, const char *image, char **id, berth_error_t *err)
{
  return e->ops->image_inspect(e, image, id, err);
}

int
berth_engine_image_pull(struct berth_engine *e, const char *image, berth_error_t *err)
{
  return e->ops->image_pull(e, image, err);
}

int
berth_engine_container_create(struct berth_engine *e, const char *name, json_t *spec, char **id,
                              berth_error_t *err)
{
  return e->ops->container_create(e, name, spec, id, err);
}

int
berth_engine_container_start(struct berth_engine *e, const char *id, berth_error_t *err)
{
  return e->ops->container_start(e, id, err);
}

int
berth_engine_container_stop(struct berth_engine *e, const char *id, int timeout_s,
                            berth_error_t *err)
{
  return e->ops->container_stop(e, id, timeout_s, err);
}

int
berth_engine_container_remove(struct berth_engine *e, const char *id, bool force,
                              berth_error_t *err)
{
  return e->ops->container_remove(e, id, force, err);
}

int
berth_engine_container_inspect(struct berth_engine *e, const char *id_or_name, json_t **info,
                               berth_error_t *err)
{
  return e->ops->container_inspect(e, id_or_name, info, err);
}

int
berth_engine_container_list(struct berth_engine *e, const char *label, json_t **list,
                            berth_error_t *err)
{
  return e->ops->container_list(e, label, list, err);
}

int
berth_engine_network_ensure(struct berth_engine *e, const char *name, bool *isolated,
                            berth_error_t *err)
{
  return e->ops->network_ensure(e, name, isolated, err);
}

int
berth_engine_archive_put(struct berth_engine *e, const char *id, const char *dir, const void *tar,
                         size_t len, berth_error_t *err)
{
  return e->ops->archive_put(e, id, dir, tar, len, err);
}

int
berth_engine_archive_get(struct berth_engine *e, const char *id, const char *path, size_t max,
                         char **tar, size_t *len, berth_error_t *err)
{
  return e->ops->archive_get(e, id, path, max, tar, len, err);
}

int
berth_engine_exec_create(struct berth_engine *e, const char *container, json_t *spec,
                         char **exec_id, berth_error_t *err)
{
  return e->ops->exec_create(e, container, spec, exec_id, err);
}

int
berth_engine_exec_resize(struct berth_engine *e, const char *exec_id, unsigned rows, unsigned cols,
                         berth_error_t *err)
{
  return e->ops->exec_resize(e, exec_id, rows, cols, err);
}

int
berth_engine_exec_inspect(struct berth_engine *e, const char *exec_id, bool *running,
                          int *exit_code, long *pid, berth_error_t *err)
{
  return e->ops->exec_inspect(e, exec_id, running, exit_code, pid, err);
}
