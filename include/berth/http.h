/* http.h - the HTTP/1.1 layer of the engine client: the one request
 * builder, the strict response-head parser, the header getter, the chunked
 * decoder, the API-version parser and the reply reader over a struct
 * berth_conn.  It knows no engine endpoint; everything above it (the Docker
 * API files, the hijack handshake) builds and reads messages only here. */
#ifndef BERTH_HTTP_H
#define BERTH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "berth/conn.h"
#include "berth/error.h"

/* The whole response head must fit here; the engine's are a few hundred bytes. */
#define BERTH_HTTP_HEAD_MAX (16 * 1024)

/* Parse an HTTP response head in buf[0..len).  Returns the number of bytes
 * of head (through CRLFCRLF) and *status, 0 when incomplete, -1 on a malformed
 * or oversized (> 16 KiB) head. */
long berth_http_parse_head(const char *buf, size_t len, int *status, berth_error_t *err);

/* The value of header `name` in one header line line[0..n) ("Name: v",
 * with or without the CRLF), trimmed, into out.  false when the line is
 * another header (or the value does not fit outsz). */
bool berth_http_header_line(const char *line, size_t n, const char *name, char *out, size_t outsz);
/* The same over a whole head accepted by berth_http_parse_head. */
bool berth_http_header(const char *head, size_t head_len, const char *name, char *out,
                       size_t outsz);

/* Decode a chunked body in[0..len) into out (at most outsz bytes kept; out
 * NULL: only scan, *outlen still set; out == in decodes in place).  Returns
 * 1 when the terminating chunk is there, 0 when more is needed, -1 when
 * malformed (a chunk not followed by CRLF included).  With `consumed`, 1
 * only once the trailer section has ended too, and *consumed says where the
 * message ends. */
int berth_http_dechunk(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
                       size_t *consumed);

/* "1.41", also "1.41.0" (some Podman releases report semver) -> major, minor.
 * false on anything else (so the string is safe in a request line). */
bool berth_http_parse_api_version(const char *s, int *major, int *minor);

/* Percent-encode s for a path or query component; bytes in `keep` stay. */
char *berth_http_escape(const char *s, const char *keep, berth_error_t *err);

/* errno for an HTTP error status (404 -> ENOENT, 409 -> EEXIST, ...). */
int berth_http_errno(long status);

/* The request line and headers through the blank line: Host, User-Agent,
 * then ctype (NULL: none) as Content-Type, `extra` verbatim (NULL or
 * CRLF-terminated lines), and Content-Length when body_len >= 0. */
char *berth_http_request_head(const char *method, const char *target, const char *ctype,
                              const char *extra, long body_len, berth_error_t *err);

/* Read a reply on c: `have` holds bytes already received (n_have, may
 * include the head).  Returns 0 with *status and *reply (malloc'd,
 * NUL-terminated, *reply_len bytes, at most max), 1 when the connection was
 * found closed before any answer, -1 on error.  *reusable: the connection
 * may carry another request. */
int berth_http_read_reply(struct berth_conn *c, const char *have, size_t n_have, size_t max,
                          int64_t deadline, int *status, char **reply, size_t *reply_len,
                          bool *reusable, berth_error_t *err);

/* One request on c (head from berth_http_request_head, then the body).
 * Returns like berth_http_read_reply; 1 also when the request could not be
 * sent because the engine had closed the connection (try another one). */
int berth_http_raw_request(struct berth_conn *c, const char *head, const char *body,
                           size_t body_len, size_t max, long timeout_ms, int *status, char **reply,
                           size_t *reply_len, bool *reusable, berth_error_t *err);

#endif
