/* engine.h - the engine interface the core calls: containers, images,
 * networks, archives and execs of one container engine.
 *
 * The functions dispatch through the engine's backend ops table (backend.h);
 * berth_engine_new makes a Docker Engine API backend (Docker or Podman's
 * compat service, libcurl + jansson over the unix socket, lib/docker*.c).
 *
 * Conventions for every function here:
 * - 0 on success, -1 with err set on every failure;
 * - a question whose answer may be "no such thing" (image_inspect,
 *   container_inspect, archive_get) returns 0 = found, 1 = not found,
 *   -1 = error with err set;
 * - JSON and strings handed out are the caller's.
 *
 * One struct berth_engine is one kept connection for ordinary requests.
 * Hijacked exec streams use their own connection (berth_engine_exec_attach),
 * opened beforehand with berth_engine_hijack_connect() so that a setuid
 * caller can open every connection while still root and then drop.
 * No environment variable (proxies, CURL_*) can steer any connection. */
#ifndef BERTH_ENGINE_H
#define BERTH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "berth/error.h"

#define BERTH_API_MIN_MAJOR 1
#define BERTH_API_MIN_MINOR 41

struct berth_engine;

/* Load the backend (the engine client plugin, backend.h) and its global
 * libcurl init; idempotent, call once per process (the PAM module is linked
 * -z nodelete so this stays valid).  berth_engine_new does it when not done.
 * A plugin that is missing, not root's, or of another build fails with
 * BERTH_E_ENGINE_UNREACHABLE. */
int berth_engine_global_init(berth_error_t *err);

/* Create a client; does not connect.  timeout_ms bounds every request. */
int berth_engine_new(const char *socket_path, long timeout_ms, struct berth_engine **out,
                     berth_error_t *err);
/* The same at an endpoint (conn.h): a unix socket, or a tcp:// engine over
 * mutual TLS, every request https with the endpoint's CA, cert and key. */
struct berth_endpoint;
int berth_engine_new_endpoint(const struct berth_endpoint *ep, long timeout_ms,
                              struct berth_engine **out, berth_error_t *err);
/* The endpoint berth.conf's engine section names (strings borrowed from cfg). */
struct berth_config;
void berth_engine_endpoint(const struct berth_config *cfg, struct berth_endpoint *ep);
void berth_engine_free(struct berth_engine *e);

/* GET /_ping, then /version: negotiate min(engine max, ours).  Fails with
 * BERTH_E_ENGINE_UNREACHABLE / _TIMEOUT, or BERTH_E_ENGINE when the engine is
 * older than 1.41.  Connects, so call it while privileged. */
int berth_engine_ping(struct berth_engine *e, berth_error_t *err);
/* From now on never open a new connection for ordinary requests: berth-shell
 * calls this after ping, before dropping privileges.  If the engine closes
 * the kept connection later, requests fail (BERTH_E_ENGINE_UNREACHABLE)
 * instead of reconnecting as the unprivileged user. */
void berth_engine_pin_connection(struct berth_engine *e);
/* "1.43" after a successful ping ("1.41" before). */
const char *berth_engine_api_version(const struct berth_engine *e);
/* true when the negotiated version is >= major.minor */
bool berth_engine_api_at_least(const struct berth_engine *e, int major, int minor);

/* Generic request: path is relative to the version prefix ("/containers/json").
 * body may be NULL.  *status gets the HTTP status; *reply the parsed JSON body
 * (NULL when empty or not JSON).  Transport failures are errors; HTTP errors
 * are not (callers decide), use berth_engine_check() to turn them into one. */
int berth_engine_request(struct berth_engine *e, const char *method, const char *path, json_t *body,
                         long *status, json_t **reply, berth_error_t *err);
/* Make an error out of an HTTP status >= 400, surfacing the engine's
 * "message".  Returns 0 when status < 400. */
int berth_engine_check(long status, json_t *reply, enum berth_error_kind kind, const char *what,
                       berth_error_t *err);

/* URL-escape one path/query component into a new string. */
char *berth_engine_escape(const char *s, berth_error_t *err);

/* ---- images */
/* 0 and *id (may be NULL) when present, 1 when absent, -1 on error. */
int berth_engine_image_inspect(struct berth_engine *e, const char *image, char **id,
                               berth_error_t *err);
/* POST /images/create; reads the progress stream and fails (BERTH_E_PULL) on
 * an "error"/"errorDetail" object inside the 200 reply. */
int berth_engine_image_pull(struct berth_engine *e, const char *image, berth_error_t *err);

/* ---- containers */
/* POST /containers/create?name=.  Returns 0 and *id, or -1.  A name conflict
 * (409) fails with status EEXIST so callers can inspect and reuse. */
int berth_engine_container_create(struct berth_engine *e, const char *name, json_t *spec, char **id,
                                  berth_error_t *err);
int berth_engine_container_start(struct berth_engine *e, const char *id, berth_error_t *err);
int berth_engine_container_stop(struct berth_engine *e, const char *id, int timeout_s,
                                berth_error_t *err);
int berth_engine_container_remove(struct berth_engine *e, const char *id, bool force,
                                  berth_error_t *err);
/* 0 and *info when it exists, 1 when not (404), -1 on error. */
int berth_engine_container_inspect(struct berth_engine *e, const char *id_or_name, json_t **info,
                                   berth_error_t *err);
/* ---- networks */
/* The bridge network `name`, created when missing with inter-container
 * traffic off (com.docker.network.bridge.enable_icc=false), label
 * berth.network=true.  Idempotent, also against a concurrent create.
 * *isolated: whether the engine reports that option on the network as it
 * is, read back after any create (an existing network is never changed;
 * Podman 4 drops the option).  0 or -1. */
int berth_engine_network_ensure(struct berth_engine *e, const char *name, bool *isolated,
                                berth_error_t *err);

/* GET /containers/json?all=1&filters={"label":[label]} -> JSON array. */
int berth_engine_container_list(struct berth_engine *e, const char *label, json_t **list,
                                berth_error_t *err);
/* PUT /containers/{id}/archive?path=dir with an uncompressed tar. */
int berth_engine_archive_put(struct berth_engine *e, const char *id, const char *dir,
                             const void *tar, size_t len, berth_error_t *err);
/* GET /containers/{id}/archive?path=file -> tar bytes (bounded by max). 0 = ok,
 * 1 = not found (404), -1 = error. */
int berth_engine_archive_get(struct berth_engine *e, const char *id, const char *path, size_t max,
                             char **tar, size_t *len, berth_error_t *err);

/* ---- exec */
int berth_engine_exec_create(struct berth_engine *e, const char *container, json_t *spec,
                             char **exec_id, berth_error_t *err);
int berth_engine_exec_resize(struct berth_engine *e, const char *exec_id, unsigned rows,
                             unsigned cols, berth_error_t *err);
/* *running, *exit_code and *pid (host PID, 0 when unknown). */
int berth_engine_exec_inspect(struct berth_engine *e, const char *exec_id, bool *running,
                              int *exit_code, long *pid, berth_error_t *err);

/* ---- hijacked streams (hijack.h) and framed streams (frame.h) */
#include "berth/frame.h"
#include "berth/hijack.h"

#endif
