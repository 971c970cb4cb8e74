/* conn-internal.h - what conn.c (the connection object, the unix socket)
 * and conn_tls.c (TCP + TLS to a remote engine) share.  Not installed. */
#ifndef BERTH_CONN_INTERNAL_H
#define BERTH_CONN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "berth/conn.h"
#include "berth/error.h"

struct ssl_st; /* OpenSSL's SSL: only conn_tls.c looks inside */
struct berth_conn_tls_ops;

struct berth_conn {
  int fd;
  const struct berth_conn_tls_ops *tls; /* NULL: plain unix socket */
  struct ssl_st *ssl;                   /* the TLS side's state, tls's own */
};

/* The TLS side of conn.c's functions, for c->tls != NULL (conn_tls.c's
 * berth_conn_tls_ops).  OpenSSL is linked where conn_tls.c is: the engine
 * plugin (engine-docker.so, whose descriptor lends this table to the core,
 * backend.h) and libberth_testing, never the core libberth.  conn.c calls
 * it, never the other way (no call cycle in lib/). */
struct berth_conn_tls_ops {
  /* Fills c->fd and c->ssl (the caller wraps them); verdict: also wait for
   * the engine's verdict on the client certificate (TLS 1.3 gives it after
   * the handshake: berth_conn_open_checked).  On failure c->fd is -1 and
   * nothing is left to free. */
  int (*open)(const struct berth_endpoint *ep, long timeout_ms, bool verdict, struct berth_conn *c,
              berth_error_t *err);
  ssize_t (*send)(struct berth_conn *c, const void *buf, size_t len, berth_error_t *err);
  ssize_t (*recv)(struct berth_conn *c, void *buf, size_t len, berth_error_t *err);
  /* Sends the close_notify; the caller then shuts the socket's write side. */
  int (*shutdown_write)(struct berth_conn *c, berth_error_t *err);
  bool (*pending)(const struct berth_conn *c);
  /* Frees c->ssl; the fd stays conn.c's. */
  void (*free)(struct berth_conn *c);
  /* berth_conn_tls_info's contract, for a TLS connection. */
  int (*info)(const struct berth_conn *c, struct berth_tls_info *out);
};

/* conn_tls.c (the plugin, libberth_testing) */
extern const struct berth_conn_tls_ops berth_conn_tls_ops;

#endif
