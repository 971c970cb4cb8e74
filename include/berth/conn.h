/* conn.h - one byte-stream connection to the engine.
 *
 * Everything above this layer (the hijack handshake, the stdio proxy, the
 * spare connections a setuid berth-shell opens before it drops root) holds a
 * struct berth_conn and never a raw fd: no send(), recv() or shutdown() on
 * the socket outside conn.c and conn_tls.c.  The transport is a unix socket,
 * or TCP + mutual TLS to a remote engine (engine.host = "tcp://..."; OpenSSL,
 * conn_tls.c, which the core takes from the engine plugin: backend.h) behind
 * the same functions, which is why there is
 * berth_conn_pending(): TLS can hold decrypted bytes that poll() on the fd
 * will never announce.
 *
 * I/O is non-blocking: berth_conn_send/recv never wait and say so with
 * BERTH_CONN_AGAIN; berth_conn_wait() waits for readiness with a deadline
 * (berth_now_ms() based, -1 = none).  Every fd is O_CLOEXEC, and a peer that
 * went away never raises SIGPIPE. */
#ifndef BERTH_CONN_H
#define BERTH_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "berth/error.h"

struct berth_conn;

/* Where the engine is: a unix socket, or a TCP host with the PEM files of
 * mutual TLS (all three required: plain TCP to an engine is never spoken).
 * Borrowed strings; config.h's engine section holds them. */
struct berth_endpoint {
  const char *socket; /* unix socket path, or NULL for tcp */
  const char *host;   /* tcp: a DNS name or an IP literal (no brackets) */
  unsigned port;
  const char *ca, *cert, *key;
};

/* What a TLS handshake showed (berthctl check): the server's certificate
 * subject, its subjectAltNames ("DNS:x, IP Address:y"), its issuer, and the
 * client certificate's end of validity, each "" when unknown. */
struct berth_tls_info {
  char subject[256];
  char san[256];
  char issuer[256];
  char protocol[32];
  char server_not_after[64];
  char client_not_after[64];
  long client_days_left; /* whole days until the client cert expires */
};

/* Returned by berth_conn_send/recv when the call would block. */
#define BERTH_CONN_AGAIN (-2)

/* Connect to the unix socket at path.  connect() on a unix socket blocks
 * while the listener's accept queue is full (a hung engine): it is bounded
 * by timeout_ms (> 0).  Errors: BERTH_E_ENGINE_UNREACHABLE, or
 * BERTH_E_ENGINE_TIMEOUT when the engine did not accept in time. */
int berth_conn_open_unix(const char *path, long timeout_ms, struct berth_conn **out,
                         berth_error_t *err);

/* Connect to the endpoint: berth_conn_open_unix, or TCP to host:port and a
 * TLS handshake (TLS >= 1.2, SNI for a name, the server verified against ca
 * by name or IP subjectAltName, the client certificate and key sent),
 * bounded by timeout_ms.  The key is read here, so a setuid caller opens
 * every connection it needs before it drops root.  Errors:
 * BERTH_E_ENGINE_UNREACHABLE with a one-line reason (bad CA, name mismatch,
 * certificate rejected by the engine, expired certificate, unreadable file),
 * BERTH_E_ENGINE_TIMEOUT. */
int berth_conn_open(const struct berth_endpoint *ep, long timeout_ms, struct berth_conn **out,
                    berth_error_t *err);
/* The same, and with TLS 1.3 also wait (within timeout_ms) for the
 * engine's verdict on the client certificate, which that protocol delivers
 * after the handshake: a refusal is then this call's error, not the first
 * read's.  For diagnosis (berthctl check, a failed request). */
int berth_conn_open_checked(const struct berth_endpoint *ep, long timeout_ms,
                            struct berth_conn **out, berth_error_t *err);
/* A name for messages: the socket path or "tcp://host:port", in buf. */
const char *berth_endpoint_name(const struct berth_endpoint *ep, char *buf, size_t len);
/* After a TLS berth_conn_open: what the handshake showed.  -1 (no err) on
 * a unix connection. */
int berth_conn_tls_info(const struct berth_conn *c, struct berth_tls_info *out);

/* 0 when the PEM certificate at cert is within its validity, else -1 with
 * a one-line reason ("... has expired"): checked before any engine sees it.
 * In conn_tls.c: for the backend (docker_tls.c), not linked into the core. */
int berth_tls_client_cert_check(const char *cert, berth_error_t *err);

/* Wrap an already connected stream socket (a socketpair in tests); takes
 * ownership of fd and makes it close-on-exec. */
int berth_conn_from_fd(int fd, struct berth_conn **out, berth_error_t *err);

/* Bytes written (> 0), BERTH_CONN_AGAIN, or -1 with err. */
ssize_t berth_conn_send(struct berth_conn *c, const void *buf, size_t len, berth_error_t *err);
/* Bytes read (> 0), 0 at end of stream, BERTH_CONN_AGAIN, or -1 with err. */
ssize_t berth_conn_recv(struct berth_conn *c, void *buf, size_t len, berth_error_t *err);

/* All of buf, waiting for room until deadline. */
int berth_conn_send_all(struct berth_conn *c, const void *buf, size_t len, int64_t deadline,
                        berth_error_t *err);
/* One read, waiting for data until deadline: > 0 bytes, 0 at end, -1 with err
 * (BERTH_E_ENGINE_TIMEOUT when the deadline passed). */
ssize_t berth_conn_recv_wait(struct berth_conn *c, void *buf, size_t len, int64_t deadline,
                             berth_error_t *err);

/* Wait until the connection is readable (events has POLLIN) or writable
 * (POLLOUT) or the deadline passes (BERTH_E_ENGINE_TIMEOUT). */
int berth_conn_wait(struct berth_conn *c, short events, int64_t deadline, berth_error_t *err);

/* Close the sending direction: the engine then closes the process's stdin. */
int berth_conn_shutdown_write(struct berth_conn *c, berth_error_t *err);

/* The fd to poll() for readiness, next to other fds (the stdio proxy).  Only
 * for poll: never read, write or close it. */
int berth_conn_pollfd(const struct berth_conn *c);
/* True when berth_conn_recv would return bytes without the fd being readable. */
bool berth_conn_pending(const struct berth_conn *c);

void berth_conn_free(struct berth_conn *c);
void berth_conn_freep(struct berth_conn **c);
#define cleanup_conn __attribute__((cleanup(berth_conn_freep)))

#endif
