/* backend.h - the backend interface behind engine.h (crun's
 * libcrun_cgroup_manager shape): one ops table per kind of engine.
 *
 * struct berth_engine is the common head of every backend's object: a
 * backend allocates its own struct with a struct berth_engine as its FIRST
 * member, sets .ops, and hands out a pointer to that member.  Each
 * berth_engine_* function of engine.h checks its arguments where they are
 * the same for every backend and calls the op; the op gets the engine back
 * and may cast it to its own struct.  Every op follows engine.h's contract
 * for the function of the same name (return values, the tri-state answers,
 * err set on every failure).  The Docker Engine API (Docker and Podman's
 * compat service) is lib/docker*.c; a Kubernetes backend would be a second
 * table filled beside it and chosen in berth_engine_new.
 *
 * Core code includes engine.h only; this header is for backends. */
#ifndef BERTH_BACKEND_H
#define BERTH_BACKEND_H

#include "berth/engine.h"
#include "berth/conn.h"

struct berth_backend_ops {
  const char *name; /* "docker" */
  void (*free)(struct berth_engine *e);

  int (*ping)(struct berth_engine *e, berth_error_t *err);
  void (*pin_connection)(struct berth_engine *e);
  const char *(*api_version)(const struct berth_engine *e);
  bool (*api_at_least)(const struct berth_engine *e, int major, int minor);
  int (*request)(struct berth_engine *e, const char *method, const char *path, json_t *body,
                 long *status, json_t **reply, berth_error_t *err);

  int (*image_inspect)(struct berth_engine *e, const char *image, char **id, berth_error_t *err);
  int (*image_pull)(struct berth_engine *e, const char *image, berth_error_t *err);

  int (*container_create)(struct berth_engine *e, const char *name, json_t *spec, char **id,
                          berth_error_t *err);
  int (*container_start)(struct berth_engine *e, const char *id, berth_error_t *err);
  int (*container_stop)(struct berth_engine *e, const char *id, int timeout_s, berth_error_t *err);
  int (*container_remove)(struct berth_engine *e, const char *id, bool force, berth_error_t *err);
  int (*container_inspect)(struct berth_engine *e, const char *id_or_name, json_t **info,
                           berth_error_t *err);
  int (*container_list)(struct berth_engine *e, const char *label, json_t **list,
                        berth_error_t *err);
  int (*network_ensure)(struct berth_engine *e, const char *name, bool *isolated,
                        berth_error_t *err);
  int (*archive_put)(struct berth_engine *e, const char *id, const char *dir, const void *tar,
                     size_t len, berth_error_t *err);
  int (*archive_get)(struct berth_engine *e, const char *id, const char *path, size_t max,
                     char **tar, size_t *len, berth_error_t *err);

  int (*exec_create)(struct berth_engine *e, const char *container, json_t *spec, char **exec_id,
                     berth_error_t *err);
  int (*exec_resize)(struct berth_engine *e, const char *exec_id, unsigned rows, unsigned cols,
                     berth_error_t *err);
  int (*exec_inspect)(struct berth_engine *e, const char *exec_id, bool *running, int *exit_code,
                      long *pid, berth_error_t *err);
};

struct berth_engine {
  const struct berth_backend_ops *ops;
};

/* ---- the backend as a plugin (lib/backend_load.c, docs/security.md
 * "The engine client plugin")
 *
 * The Docker backend links libcurl, whose ~30 shared libraries cost every
 * process that loads them 7-8 ms.  berth-shell, berthctl and pam_berth do
 * not link it: the core loads engine-docker.so from a path compiled in
 * (BERTH_ENGINE_PLUGIN) the first time an engine is opened, after checking
 * that only root can have put it there, and takes one symbol from it, a
 * struct berth_backend_plugin.  The plugin carries its own copy of the few
 * base modules it calls (error, util, conn, conn_tls, http): nothing of the
 * loading program is visible to it (RTLD_LOCAL) but what the host table
 * lends.  The other way, the core borrows the plugin's TLS transport
 * (conn_tls below): OpenSSL is the plugin's, as libcurl is.
 * Unit tests and fuzzers link the backend directly (libberth_testing). */
#define BERTH_BACKEND_ABI 3
#define BERTH_BACKEND_SYMBOL "berth_backend_docker"

/* What the loading core lends a plugin: its log sink, so that the plugin's
 * berth_log/berth_debug lines reach the front end's sink as they are now. */
struct berth_backend_host {
  void (*log)(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
  bool (*debug_enabled)(void);
};

struct berth_conn_tls_ops; /* lib/conn-internal.h */

struct berth_backend_plugin {
  unsigned abi;        /* BERTH_BACKEND_ABI */
  size_t size;         /* sizeof(struct berth_backend_plugin) */
  size_t ops_size;     /* sizeof(struct berth_backend_ops) */
  const char *version; /* PACKAGE_VERSION of the build: must equal the loader's */
  const char *name;    /* "docker" */
  /* Process-wide set-up; idempotent.  host stays valid for the process. */
  int (*global_init)(const struct berth_backend_host *host, berth_error_t *err);
  /* berth_engine_new_endpoint's contract */
  int (*engine_new)(const struct berth_endpoint *ep, long timeout_ms, struct berth_engine **out,
                    berth_error_t *err);
  /* The TLS side of a tcp:// connection (conn_tls.c, OpenSSL): the core's
   * conn.c opens and drives TLS connections through it, so the core does
   * not link OpenSSL.  Usable without global_init. */
  const struct berth_conn_tls_ops *conn_tls;
};

/* The Docker backend's descriptor (lib/docker_ops.c): the one symbol
 * engine-docker.so exports (lib/engine-docker.map). */
extern const struct berth_backend_plugin berth_backend_docker;

/* The Docker Engine API backend at an endpoint: the unix socket, or a
 * tcp:// engine over mutual TLS (conn.h's struct berth_endpoint). */
int berth_docker_new_endpoint(const struct berth_endpoint *ep, long timeout_ms,
                              struct berth_engine **out, berth_error_t *err);
/* Process-wide set-up of the Docker backend (libcurl). */
int berth_docker_global_init(berth_error_t *err);

#endif
