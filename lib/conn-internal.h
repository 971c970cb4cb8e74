/* conn-internal.h - what conn.c (the connection object, the unix socket)
 * and conn_tls.c (TCP + TLS to a remote engine) share.  Not installed. */
#ifndef BERTH_CONN_INTERNAL_H
#define BERTH_CONN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "berth/conn.h"
#include "berth/error.h"

struct ssl_st; /* OpenSSL's SSL */

struct berth_conn {
  int fd;
  struct ssl_st *ssl; /* NULL: plain unix socket */
};

/* conn.c calls conn_tls.c, never the other way (no call cycle in lib/). */
/* ---- conn_tls.c: the TLS side of conn.c's functions, for c->ssl != NULL */
/* Fills c->fd and c->ssl (the caller wraps them); verdict: also wait for
 * the engine's verdict on the client certificate (TLS 1.3 gives it after
 * the handshake: berth_conn_open_checked). */
int conn_tls_open(const struct berth_endpoint *ep, long timeout_ms, bool verdict,
                  struct berth_conn *c, berth_error_t *err);
ssize_t conn_tls_send(struct berth_conn *c, const void *buf, size_t len, berth_error_t *err);
ssize_t conn_tls_recv(struct berth_conn *c, void *buf, size_t len, berth_error_t *err);
/* Sends the close_notify; the caller then shuts the socket's write side. */
int conn_tls_shutdown_write(struct berth_conn *c, berth_error_t *err);
bool conn_tls_pending(const struct berth_conn *c);
void conn_tls_free(struct berth_conn *c);

#endif
