/* engine.h - Docker Engine API client over a unix socket (libcurl + jansson).
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

/* Global libcurl init; idempotent, call once per process (the PAM module is
 * linked -z nodelete so this stays valid). */
int berth_engine_global_init(berth_error_t *err);

/* Create a client; does not connect.  timeout_ms bounds every request. */
int berth_engine_new(const char *socket_path, long timeout_ms, struct berth_engine **out,
                     berth_error_t *err);
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
int berth_engine_request(struct berth_engine *e, const char *method, const char *path,
                         json_t *body, long *status, json_t **reply, berth_error_t *err);
/* Make an error out of an HTTP status >= 400, surfacing the engine's
 * "message".  Returns 0 when status < 400. */
int berth_engine_check(long status, json_t *reply, enum berth_error_kind kind, const char *what,
                       berth_error_t *err);

/* URL-escape one path/query component into a new string. */
char *berth_engine_escape(const char *s, berth_error_t *err);

/* ---- images */
/* 1 and *id (may be NULL) when present, 0 when absent, -1 on error. */
int berth_engine_image_inspect(struct berth_engine *e, const char *image, char **id,
                               berth_error_t *err);
/* POST /images/create; reads the progress stream and fails (BERTH_E_PULL) on
 * an "error"/"errorDetail" object inside the 200 reply. */
int berth_engine_image_pull(struct berth_engine *e, const char *image, berth_error_t *err);

/* ---- containers */
/* POST /containers/create?name=.  Returns 0 and *id, or -1.  A name conflict
 * (409) fails with status EEXIST so callers can inspect and reuse. */
int berth_engine_container_create(struct berth_engine *e, const char *name, json_t *spec,
                                  char **id, berth_error_t *err);
int berth_engine_container_start(struct berth_engine *e, const char *id, berth_error_t *err);
int berth_engine_container_stop(struct berth_engine *e, const char *id, int timeout_s,
                                berth_error_t *err);
int berth_engine_container_remove(struct berth_engine *e, const char *id, bool force,
                                  berth_error_t *err);
/* 1 and *info when it exists, 0 when not (404), -1 on error. */
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
int berth_engine_archive_get(struct berth_engine *e, const char *id, const char *path,
                             size_t max, char **tar, size_t *len, berth_error_t *err);

/* ---- exec */
int berth_engine_exec_create(struct berth_engine *e, const char *container, json_t *spec,
                             char **exec_id, berth_error_t *err);
int berth_engine_exec_resize(struct berth_engine *e, const char *exec_id, unsigned rows,
                             unsigned cols, berth_error_t *err);
/* *running, *exit_code and *pid (host PID, 0 when unknown). */
int berth_engine_exec_inspect(struct berth_engine *e, const char *exec_id, bool *running,
                              int *exit_code, long *pid, berth_error_t *err);

/* ---- hijacked streams
 * A raw connection to the engine socket, opened early (privileged), used
 * later for exactly one exec start. */
struct berth_hijack {
  int fd;             /* the socket after 101 UPGRADED, blocking, O_CLOEXEC */
  char *pending;      /* stream bytes that arrived in the same read as the headers */
  size_t n_pending;
};
/* Connect to socket_path (no request yet).  Returns fd or -1. */
int berth_engine_hijack_connect(const char *socket_path, berth_error_t *err);
/* The same with an explicit bound on connect() (a hung engine with a full
 * accept queue); the plain variant uses BERTH_HIJACK_CONNECT_TIMEOUT_MS. */
#define BERTH_HIJACK_CONNECT_TIMEOUT_MS 10000L
int berth_engine_hijack_connect_timeout(const char *socket_path, long timeout_ms,
                                        berth_error_t *err);
/* Send POST /exec/{id}/start with Upgrade: tcp on fd, parse the response.
 * On success fills *h (taking ownership of fd); on failure fd stays the
 * caller's.  Errors surface the engine message.  api_version is e.g. "1.43".
 * timeout_ms bounds the handshake only (<= 0: unbounded), not the stream. */
int berth_engine_exec_attach(int fd, const char *api_version, const char *exec_id, bool tty,
                             long timeout_ms, struct berth_hijack *h, berth_error_t *err);
/* The same with a TTY's initial size (rows, cols; 0 = unknown): Podman sizes
 * the terminal before the process starts; Docker ignores it (use ConsoleSize
 * at exec create from 1.42, and resize after the start). */
int berth_engine_exec_attach_size(int fd, const char *api_version, const char *exec_id, bool tty,
                                  unsigned rows, unsigned cols, long timeout_ms,
                                  struct berth_hijack *h, berth_error_t *err);
void berth_hijack_close(struct berth_hijack *h);

/* Parse an HTTP response head in buf[0..len).  Returns the number of bytes
 * of head (through CRLFCRLF) and *status, 0 when incomplete, -1 on a malformed
 * or oversized (> 16 KiB) head.  Exposed for unit tests. */
long berth_http_parse_head(const char *buf, size_t len, int *status, berth_error_t *err);

/* Decode a chunked body in[0..len) into out (at most outsz bytes kept; out
 * NULL: only scan, *outlen still set; out == in decodes in place).  Returns
 * 1 when the terminating chunk is there, 0 when more is needed, -1 when
 * malformed (a chunk not followed by CRLF included).  With `consumed`, 1
 * only once the trailer section has ended too, and *consumed says where the
 * message ends.  Exposed for unit tests and the fuzzer. */
int berth_http_dechunk(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
                       size_t *consumed);

/* Internal (engine.c, hijack.c): one request on a raw connection; head is the
 * request line and headers through the blank line.  Returns 0 with *status
 * and *reply (malloc'd, NUL-terminated, *reply_len bytes, at most max), 1
 * when the connection was found closed before any answer (the request was
 * not taken: try another connection), -1 on error.  *reusable: the
 * connection may carry another request. */
int berth_http_raw_request(int fd, const char *head, const char *body, size_t body_len, size_t max,
                           long timeout_ms, int *status, char **reply, size_t *reply_len,
                           bool *reusable, berth_error_t *err);

/* ---- framed (non-TTY) stream demultiplexing
 * Frame: [type:1][0 0 0][len:4 big-endian][payload].  type 0 stdin, 1 stdout,
 * 2 stderr.  The demuxer is incremental: feed any chunking, get callbacks. */
/* The callback returns 0, or < 0 to stop (-errno, e.g. -EPIPE, becomes the
 * error's status).  Payload is passed on as it arrives, so one frame may
 * take several calls; zero-length frames make none. */
typedef int (*berth_frame_cb)(void *ctx, int stream, const char *data, size_t len);
struct berth_demux {
  unsigned char hdr[8];
  size_t hdr_fill;
  int stream;
  uint32_t remaining;
};
void berth_demux_init(struct berth_demux *d);
/* Returns 0, or -1 with err on a malformed frame or a callback failure. */
int berth_demux_feed(struct berth_demux *d, const char *buf, size_t len, berth_frame_cb cb,
                     void *ctx, berth_error_t *err);
/* true when no partial frame is pending (clean end of stream). */
bool berth_demux_idle(const struct berth_demux *d);

#endif
