/* hijack.h - the hijacked exec stream: a struct berth_conn opened early
 * (privileged), used later for exactly one exec start, after which the
 * connection carries the process's stdio (raw with a TTY, frames without:
 * frame.h).  Part of the Docker backend; declared apart from engine.h's
 * backend interface because it works on a connection, not on an engine. */
#ifndef BERTH_HIJACK_H
#define BERTH_HIJACK_H

#include <stdbool.h>
#include <stddef.h>
#include "berth/conn.h"
#include "berth/error.h"

struct berth_hijack {
  struct berth_conn *conn; /* after 101 UPGRADED: the process's stdio */
  char *pending;           /* stream bytes that arrived in the same read as the headers */
  size_t n_pending;
};

/* Connect to socket_path (no request yet).  Returns the connection, or NULL
 * with err. */
struct berth_conn *berth_engine_hijack_connect(const char *socket_path, berth_error_t *err);
/* The same with an explicit bound on connect() (a hung engine with a full
 * accept queue); the plain variant uses BERTH_HIJACK_CONNECT_TIMEOUT_MS. */
#define BERTH_HIJACK_CONNECT_TIMEOUT_MS 10000L
struct berth_conn *berth_engine_hijack_connect_timeout(const char *socket_path, long timeout_ms,
                                                       berth_error_t *err);
/* The same to an endpoint (conn.h): the unix socket, or a tcp:// engine
 * over mutual TLS (TCP connect and handshake both bounded by timeout_ms). */
struct berth_endpoint;
struct berth_conn *berth_engine_hijack_connect_endpoint(const struct berth_endpoint *ep,
                                                        long timeout_ms, berth_error_t *err);
/* Send POST /exec/{id}/start with Upgrade: tcp on conn, parse the response.
 * On success fills *h (taking ownership of conn); on failure conn stays the
 * caller's.  Errors surface the engine message.  api_version is e.g. "1.43".
 * timeout_ms bounds the handshake only (<= 0: unbounded), not the stream. */
int berth_engine_exec_attach(struct berth_conn *conn, const char *api_version, const char *exec_id,
                             bool tty, long timeout_ms, struct berth_hijack *h, berth_error_t *err);
/* The same with a TTY's initial size (rows, cols; 0 = unknown): Podman sizes
 * the terminal before the process starts; Docker ignores it (use ConsoleSize
 * at exec create from 1.42, and resize after the start). */
int berth_engine_exec_attach_size(struct berth_conn *conn, const char *api_version,
                                  const char *exec_id, bool tty, unsigned rows, unsigned cols,
                                  long timeout_ms, struct berth_hijack *h, berth_error_t *err);
/* Frees the connection and the pending bytes; h may be zeroed or unused. */
void berth_hijack_close(struct berth_hijack *h);

#endif
