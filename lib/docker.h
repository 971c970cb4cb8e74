/* docker.h - private to the Docker backend (lib/docker*.c): the transport
 * (docker.c) the endpoint files call, the Podman compat mapping
 * (docker_compat.c) and the endpoints the ops table (docker_ops.c) lists.
 * Calls go down only: docker_ops.c -> docker_<area>.c -> docker.c ->
 * http.c -> conn.c; nothing here calls a berth_engine_* function. */
#ifndef BERTH_DOCKER_H
#define BERTH_DOCKER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "berth/backend.h"
#include "berth/conn.h"
#include "berth/error.h"
#include "berth/http.h"

/* The newest API version whose fields berth knows; the engine may be older. */
#define DOCKER_API_OURS_MAJOR 1
#define DOCKER_API_OURS_MINOR 43
/* Bound on any ordinary reply (inspect, list); a reply beyond is an error. */
#define DOCKER_REPLY_MAX ((size_t) 16 * 1024 * 1024)
/* Spare connections opened at pin time when the engine is Podman: see
 * docker_pin_connection().  Two: one a resize may take, one kept for
 * the exit code.  Each one closed unused costs a warning line in Podman's
 * log ("StateClosed transition by connection marked un-managed"). */
#define DOCKER_SPARES 2

struct docker_buf {
  char *data;
  size_t len, cap, max;
  bool overflow;
};

struct docker {
  struct berth_engine base; /* first: the engine handed out */
  CURLSH *share;            /* the connection cache, kept across requests */
  CURL *curl;               /* the current request's handle, NULL between requests */
  char *socket_path;        /* the unix socket, or "tcp://host:port" in messages */
  struct docker_tls *tls;   /* NULL: unix socket (docker_tls.c) */
  const char *base_url;     /* "http://localhost" or the tcp engine's https URL */
  long timeout_ms;
  /* negotiated API version */
  bool pinged;
  int major, minor;
  char version[16];
  /* connection accounting: see open_socket() */
  unsigned n_sockets;
  bool pinned, refused;
  /* Podman (its /_ping sends Libpod-Api-Version) and the spare connections
   * opened for it at pin time */
  bool podman;
  struct berth_conn *spare[DOCKER_SPARES];
  unsigned n_spare;
  struct berth_conn *raw; /* the spare in use (perform_raw), or NULL */
  bool cosmetic;          /* the current request may not take the last spare */
  /* "Api-Version" and "Libpod-Api-Version" headers of the current reply */
  char hdr_api[32];
  bool hdr_libpod;
  char errbuf[CURL_ERROR_SIZE];
  struct curl_slist *h_none, *h_json, *h_tar;
};

static inline struct docker *
docker_of(struct berth_engine *e)
{
  return (struct docker *) e;
}

enum docker_ctype { DOCKER_CT_AUTO, DOCKER_CT_TAR };

struct docker_request {
  const char *method;
  const char *path; /* below the version prefix, or absolute when !versioned */
  bool versioned;
  const char *body; /* NULL: no body */
  size_t body_len;
  enum docker_ctype ctype;  /* AUTO: JSON with a body, none without */
  long timeout_ms;          /* 0: the engine's */
  size_t max;               /* bound on the buffered reply; 0: DOCKER_REPLY_MAX */
  curl_write_callback sink; /* NULL: buffer into reply */
  void *sink_ctx;
  /* out */
  long status;
  struct docker_buf reply;
};

/* ---- docker.c: transport */
int docker_new(const struct berth_endpoint *ep, long timeout_ms, struct docker **out,
               berth_error_t *err);
void docker_free(struct berth_engine *e);
int docker_ping(struct berth_engine *e, berth_error_t *err);
void docker_pin_connection(struct berth_engine *e);
const char *docker_api_version(const struct berth_engine *e);
bool docker_api_at_least(const struct berth_engine *e, int major, int minor);
/* One request; 0 with r->status and r->reply (the caller frees
 * r->reply.data), or -1 with err (transport failures only). */
int docker_perform(struct docker *d, struct docker_request *r, berth_error_t *err);
/* A JSON body (may be NULL) out, a JSON reply (NULL when none) back; the
 * status already passed through docker_compat_status. */
int docker_request_json(struct docker *d, const char *method, const char *path, json_t *body,
                        long timeout_ms, long *status, json_t **reply, berth_error_t *err);
int docker_request(struct berth_engine *e, const char *method, const char *path, json_t *body,
                   long *status, json_t **reply, berth_error_t *err);
json_t *docker_parse_json(const struct docker_buf *b);
/* Append to a bounded buffer; a curl write callback. */
size_t docker_buf_write(char *ptr, size_t size, size_t nmemb, void *ud);
/* An error out of an HTTP status >= 400 (engine.h: berth_engine_check). */
int docker_check(long status, json_t *reply, enum berth_error_kind kind, const char *what,
                 berth_error_t *err);
/* GET path for an object the engine may not have ("container", "network"
 * in messages, name for them): 0 with *out the reply object, 1 when the
 * engine answered 404, -1 with err (engine.h's found/not-found convention). */
int docker_get_object(struct docker *d, const char *path, const char *kind_noun, const char *name,
                      json_t **out, berth_error_t *err);
/* "/{area}/{id}{suffix}" with id escaped (the characters in keep, which may
 * be NULL, stay literal); EINVAL "empty {what}" on an empty id. */
int docker_object_path(const char *area, const char *what, const char *id, const char *keep,
                       const char *suffix, char **out, berth_error_t *err);
/* "/containers/{id}{suffix}" with id escaped; EINVAL on an empty id. */
int docker_container_path(const char *id, const char *suffix, char **out, berth_error_t *err);
/* The reply's "Id": 0 with a copy in *id (id may be NULL), or -1 with a
 * BERTH_E_ENGINE_REPLY error "{what} {name}: reply has no Id" when it has
 * none or an empty one (status goes into the message). */
int docker_reply_id(json_t *reply, long status, const char *what, const char *name, char **id,
                    berth_error_t *err);

static inline char *
docker_escape(const char *s, berth_error_t *err)
{
  return berth_http_escape(s ? s : "", NULL, err);
}

/* ---- docker_tls.c: libcurl over https to a tcp:// engine (mutual TLS) */
/* Copies the endpoint; checks the client certificate's dates. */
int docker_tls_new(struct docker *d, const struct berth_endpoint *ep, berth_error_t *err);
void docker_tls_free(struct docker *d);
/* The TLS options of one request (CURLOPT_CAINFO, SSLCERT, SSLKEY, peer and
 * host verification; docker.c limits it to https); CURLE_OK or the failed
 * setopt's code. */
CURLcode docker_tls_apply(struct docker *d);
/* The one-line reason for a failed TLS transfer: -1 with err, or 0 when
 * rc is not about TLS. */
int docker_tls_failed(struct docker *d, CURLcode rc, const char *what, const char *detail,
                      berth_error_t *err);
/* A spare connection (docker_pin_connection) to the same engine. */
int docker_conn_open(struct docker *d, struct berth_conn **out, berth_error_t *err);

/* ---- docker_compat.c: Podman's compat service, in one place */
long docker_compat_status(long status, json_t *reply);
/* The error for a create under a taken name (409 after the mapping). */
int docker_name_conflict(const char *name, json_t *reply, berth_error_t *err);

/* ---- endpoints, by area */
int docker_image_inspect(struct berth_engine *e, const char *image, char **id, berth_error_t *err);
int docker_image_pull(struct berth_engine *e, const char *image, berth_error_t *err);
int docker_container_create(struct berth_engine *e, const char *name, json_t *spec, char **id,
                            berth_error_t *err);
int docker_container_start(struct berth_engine *e, const char *id, berth_error_t *err);
int docker_container_stop(struct berth_engine *e, const char *id, int timeout_s,
                          berth_error_t *err);
int docker_container_remove(struct berth_engine *e, const char *id, bool force, berth_error_t *err);
int docker_container_inspect(struct berth_engine *e, const char *id_or_name, json_t **info,
                             berth_error_t *err);
int docker_container_list(struct berth_engine *e, const char *label, json_t **list,
                          berth_error_t *err);
int docker_network_ensure(struct berth_engine *e, const char *name, bool *isolated,
                          berth_error_t *err);
int docker_archive_put(struct berth_engine *e, const char *id, const char *dir, const void *tar,
                       size_t len, berth_error_t *err);
int docker_archive_get(struct berth_engine *e, const char *id, const char *path, size_t max,
                       char **tar, size_t *len, berth_error_t *err);
int docker_exec_create(struct berth_engine *e, const char *container, json_t *spec, char **exec_id,
                       berth_error_t *err);
int docker_exec_resize(struct berth_engine *e, const char *exec_id, unsigned rows, unsigned cols,
                       berth_error_t *err);
int docker_exec_inspect(struct berth_engine *e, const char *exec_id, bool *running, int *exit_code,
                        long *pid, berth_error_t *err);

#endif
