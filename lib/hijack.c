/* hijack.c - the hijacked exec start (hijack.h): the Upgrade handshake over a
 * struct berth_conn, built and parsed with http.c.  It never calls the API
 * layer (docker*.c): it needs only the connection, the API version and the
 * exec id, so a setuid caller can open the connection as root and use it
 * after the privilege drop. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/hijack.h"
#include "berth/http.h"
#include "berth/util.h"

/* An error reply's body is one short JSON object; more is not worth reading. */
#define ERROR_BODY_MAX (64 * 1024)

#include <jansson.h>

struct berth_conn *
berth_engine_hijack_connect(const char *socket_path, berth_error_t *err)
{
  return berth_engine_hijack_connect_timeout(socket_path, BERTH_HIJACK_CONNECT_TIMEOUT_MS, err);
}

struct berth_conn *
berth_engine_hijack_connect_timeout(const char *socket_path, long timeout_ms, berth_error_t *err)
{
  struct berth_conn *c = NULL;

  if (berth_conn_open_unix(socket_path, timeout_ms, &c, err) < 0)
    return NULL;
  return c;
}

struct berth_conn *
berth_engine_hijack_connect_endpoint(const struct berth_endpoint *ep, long timeout_ms,
                                     berth_error_t *err)
{
  struct berth_conn *c = NULL;

  if (berth_conn_open(ep, timeout_ms, &c, err) < 0)
    return NULL;
  return c;
}

/* The hijack handshake, as the engines do it:
 * - The client sends POST /exec/{id}/start with "Connection: Upgrade" and
 *   "Upgrade: tcp" and the JSON body {"Detach":false,"Tty":...}; Tty must
 *   match the exec's create-time Tty or the stream format will not match.
 * - Docker answers "HTTP/1.1 101 UPGRADED" (Content-Type
 *   application/vnd.docker.raw-stream, or .multiplexed-stream from 1.42 on
 *   without a TTY) and from then on the socket is the process's stdio: raw
 *   bytes with a TTY, 8-byte framed stdout/stderr without (frame.c).
 *   Podman's compat service answers the same when asked to upgrade; older
 *   Docker and Podman without the Upgrade request answer "200 OK" and then
 *   stream the same way, so 200 is accepted too.
 * - Stream bytes can arrive in the very read that completes the head; they
 *   are kept in h->pending and must be consumed before reading the socket.
 * - Half-closing the write side (berth_conn_shutdown_write) closes the
 *   process's stdin; the engine then still sends the remaining output and
 *   closes.
 * - When the exec cannot start (bad id, container stopped) the engine answers
 *   an ordinary error (404/409/500) with a JSON {"message":...} body.  A
 *   command that does not exist is not such an error: Docker has already
 *   answered 101, writes the runtime's error text into the stream and the
 *   exec's exit code (exec inspect) becomes 126/127.
 *
 * Why not libcurl: after the 101 the connection is the process's stdio in
 * both directions, for which libcurl has no API (CURLOPT_CONNECT_ONLY skips
 * HTTP altogether), and the connection is opened while berth-shell is still
 * root and used after the privilege drop, which libcurl 7.88 cannot adopt
 * (CURL_SOCKOPT_ALREADY_CONNECTED is ignored, curl #10626: docker.c,
 * perform_raw).  So the handshake is this small client over http.c. */

int
berth_engine_exec_attach(struct berth_conn *conn, const char *api_version, const char *exec_id,
                         bool tty, long timeout_ms, struct berth_hijack *h, berth_error_t *err)
{
  return berth_engine_exec_attach_size(conn, api_version, exec_id, tty, 0, 0, timeout_ms, h, err);
}

static char *
start_request(const char *api_version, const char *exec_id, bool tty, unsigned rows, unsigned cols,
              berth_error_t *err)
{
  cleanup_free char *id = NULL, *target = NULL, *head = NULL;
  char body[96];
  int major, minor;

  if (!berth_http_parse_api_version(api_version, &major, &minor)) {
    berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "invalid engine API version '%s'",
                     api_version ? api_version : "");
    return NULL;
  }
  if (exec_id == NULL || *exec_id == '\0') {
    berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "exec attach without an exec id");
    return NULL;
  }
  if ((id = berth_http_escape(exec_id, NULL, err)) == NULL)
    return NULL;
  /* The terminal's size goes into the start body as Podman's "h"/"w":
   * Podman sizes the terminal before the process starts, and answers 101
   * only once it runs, so a resize after the handshake comes too late for a
   * program that reads its size at once (a login shell's first prompt,
   * `stty size`).  Docker ignores the two fields (20.10 checked); its own
   * way is ConsoleSize at exec create, from API 1.42. */
  if (tty && rows > 0 && cols > 0 && rows <= 65535 && cols <= 65535)
    snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":true,\"h\":%u,\"w\":%u}", rows, cols);
  else
    snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":%s}", tty ? "true" : "false");
  target = berth_asprintf(err, "/v%d.%d/exec/%s/start", major, minor, id);
  if (target == NULL)
    return NULL;
  head = berth_http_request_head("POST", target, "application/json",
                                 "Connection: Upgrade\r\nUpgrade: tcp\r\n", (long) strlen(body),
                                 err);
  if (head == NULL)
    return NULL;
  return berth_asprintf(err, "%s%s", head, body);
}

/* An error reply to the start: surface what the engine said. */
static int
start_failed(struct berth_conn *conn, const char *buf, size_t n, int status, int64_t deadline,
             const char *exec_id, berth_error_t *err)
{
  cleanup_free char *ebody = NULL;
  size_t elen = 0;
  bool reusable = false;
  int st = 0;
  json_t *j = NULL;
  const char *msg = NULL;
  int e = status == 404 ? ENOENT : status == 409 ? EBUSY : EIO;
  berth_error_t ignored = NULL;

  if (berth_http_read_reply(conn, buf, n, ERROR_BODY_MAX, deadline, &st, &ebody, &elen, &reusable,
                            &ignored)
      == 0)
    j = json_loadb(ebody, elen, 0, NULL);
  berth_error_release(&ignored);
  if (json_is_object(j))
    msg = json_string_value(json_object_get(j, "message"));
  if (msg != NULL)
    berth_error_make(err, BERTH_E_EXEC, e, "starting exec %s: engine said: %s (HTTP %d)", exec_id,
                     msg, status);
  else
    berth_error_make(err, BERTH_E_EXEC, e, "starting exec %s: HTTP %d from the engine", exec_id,
                     status);
  json_decref(j);
  return -1;
}

int
berth_engine_exec_attach_size(struct berth_conn *conn, const char *api_version, const char *exec_id,
                              bool tty, unsigned rows, unsigned cols, long timeout_ms,
                              struct berth_hijack *h, berth_error_t *err)
{
  int64_t deadline = timeout_ms > 0 ? berth_now_ms() + timeout_ms : -1;
  cleanup_free char *req = NULL;
  char buf[BERTH_HTTP_HEAD_MAX + 1];
  size_t n = 0;
  long head_len = 0;
  int status = 0;

  h->conn = NULL;
  h->pending = NULL;
  h->n_pending = 0;
  req = start_request(api_version, exec_id, tty, rows, cols, err);
  if (req == NULL)
    return -1;
  if (conn == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, EBADF, "exec attach without a connection");
  if (berth_conn_send_all(conn, req, strlen(req), deadline, err) < 0)
    return berth_error_wrap(err, "exec %s", exec_id);

  /* Read the head only: after a 101 every further byte is the stream's. */
  while (head_len == 0) {
    ssize_t r;
    if (n >= BERTH_HTTP_HEAD_MAX)
      break; /* parse_head below reports the oversized head */
    r = berth_conn_recv_wait(conn, buf + n, BERTH_HTTP_HEAD_MAX - n, deadline, err);
    if (r < 0)
      return berth_error_wrap(err, "exec %s", exec_id);
    if (r == 0)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, ECONNRESET,
                              "exec %s: the engine closed the connection before answering",
                              exec_id);
    n += (size_t) r;
    head_len = berth_http_parse_head(buf, n, &status, err);
    if (head_len < 0)
      return berth_error_wrap(err, "exec %s", exec_id);
  }
  if (head_len == 0 && berth_http_parse_head(buf, n, &status, err) <= 0)
    return berth_error_wrap(err, "exec %s", exec_id);
  if (status != 101 && status != 200)
    return start_failed(conn, buf, n, status, deadline, exec_id, err);

  size_t rest = n - (size_t) head_len;
  if (rest > 0) {
    h->pending = malloc(rest);
    if (h->pending == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    memcpy(h->pending, buf + head_len, rest);
    h->n_pending = rest;
  }
  h->conn = conn; /* transferred */
  return 0;
}

void
berth_hijack_close(struct berth_hijack *h)
{
  if (h == NULL)
    return;
  berth_conn_free(h->conn);
  free(h->pending);
  h->conn = NULL;
  h->pending = NULL;
  h->n_pending = 0;
}
