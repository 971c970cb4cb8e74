/* docker.c - the transport of the Docker backend: libcurl over the unix
 * socket, one kept connection per engine, the Podman spare connections, the
 * API version negotiation (ping), and the JSON request every endpoint file
 * (docker_<area>.c) goes through.
 *
 * Each request gets a fresh easy handle; the kept connection lives in a
 * share handle (CURL_LOCK_DATA_CONNECT).  Reusing one easy handle with
 * curl_easy_reset is what libcurl 7.88.1 (Debian 12) gets wrong: a reply
 * with a folded header line right after the status line reads freed memory
 * on the second transfer (curl #11101, fixed in 8.1.0 by #11103), and these
 * requests run as root in the setuid shell. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "berth/http.h"
#include "berth/log.h"
#include "berth/util.h"
#include "docker.h"

#define DEFAULT_TIMEOUT_MS 10000L

static bool global_done;

int
berth_docker_global_init(berth_error_t *err)
{
  CURLcode rc;

  if (global_done)
    return 0;
  /* CURL_GLOBAL_ALL would also initialise TLS; berth speaks plain HTTP over
   * a unix socket, but keep it: the scale-out path (TCP + TLS) needs it and
   * it is cheap once per process. */
  rc = curl_global_init(CURL_GLOBAL_ALL);
  if (rc != CURLE_OK)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "curl_global_init: %s",
                            curl_easy_strerror(rc));
  global_done = true;
  return 0;
}

/* ---------------------------------------------------------------- escaping */

/* ---------------------------------------------------------------- curl plumbing */

size_t
docker_buf_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct docker_buf *b = ud;
  size_t n = size * nmemb;

  if (n > b->max - b->len) {
    b->overflow = true;
    return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *p;
    while (cap < b->len + n + 1)
      cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL)
      return 0;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

static size_t
header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
  struct docker *d = ud;
  size_t n = size * nmemb;
  char value[256];

  if (berth_http_header_line(line, n, "Libpod-Api-Version", value, sizeof(value)))
    d->hdr_libpod = true;
  (void) berth_http_header_line(line, n, "Api-Version", d->hdr_api, sizeof(d->hdr_api));
  return n;
}

/* Every socket of the kept connection is opened here: O_CLOEXEC (berth-shell
 * execs), and counted.  After docker_pin_connection() no new socket is
 * opened: once privileges are dropped a reconnect could only fail with EACCES
 * (or, worse, succeed for a user who may use the socket); a clear error is
 * better.  The one exception is a spare connection opened at pin time (still
 * privileged), used by perform_raw() when curl is refused here.  A silent
 * reconnect is otherwise only logged (debug). */
static curl_socket_t
open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
  struct docker *d = ud;
  int fd;

  (void) purpose;
  if (d->pinned) {
    d->refused = true;
    return CURL_SOCKET_BAD;
  }
  fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (fd >= 0)
    d->n_sockets++;
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

#define SETOPT(opt, val)                                        \
  do {                                                          \
    if ((rc = curl_easy_setopt(d->curl, opt, val)) != CURLE_OK) \
      goto setopt_failed;                                       \
  } while (0)

/* A fresh easy handle for every request, on the engine's share handle
 * (which keeps the connection), with its options.  Everything that could
 * let the environment steer the connection is pinned down here:
 * - libcurl reads http_proxy, HTTPS_PROXY, ALL_PROXY and NO_PROXY unless
 *   CURLOPT_PROXY is set; "" disables proxies outright, NOPROXY "*" too.
 * - .netrc only when CURLOPT_NETRC asks; cookies only with COOKIEFILE (unset);
 *   HSTS / alt-svc caches only when configured (unset).
 * - CURL_HOME and .curlrc belong to the curl tool; libcurl never reads them.
 * - Only http (https to a tcp:// engine), no redirects, so no reply can
 *   send us anywhere else. */
static int
apply_options(struct docker *d, const char *url, long timeout_ms, berth_error_t *err)
{
  CURLcode rc;

  if (d->curl != NULL)
    curl_easy_cleanup(d->curl);
  d->curl = curl_easy_init();
  if (d->curl == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "curl_easy_init: out of memory");
  SETOPT(CURLOPT_SHARE, d->share);
  SETOPT(CURLOPT_URL, url);
  SETOPT(CURLOPT_PROXY, "");
  SETOPT(CURLOPT_NOPROXY, "*");
  if (d->tls != NULL) {
    if ((rc = docker_tls_apply(d)) != CURLE_OK)
      goto setopt_failed;
  } else {
    SETOPT(CURLOPT_UNIX_SOCKET_PATH, d->socket_path);
  }
  /* the one protocol of the transport: http on the unix socket, https to a
   * tcp:// engine */
#if LIBCURL_VERSION_NUM >= 0x075500
  SETOPT(CURLOPT_PROTOCOLS_STR, d->tls != NULL ? "https" : "http");
  SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, d->tls != NULL ? "https" : "http");
#else
  SETOPT(CURLOPT_PROTOCOLS, (long) (d->tls != NULL ? CURLPROTO_HTTPS : CURLPROTO_HTTP));
  SETOPT(CURLOPT_REDIR_PROTOCOLS, (long) (d->tls != NULL ? CURLPROTO_HTTPS : CURLPROTO_HTTP));
#endif
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(CURLOPT_NETRC, (long) CURL_NETRC_IGNORED);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
  /* one kept connection, reused for every request of this engine */
  SETOPT(CURLOPT_MAXCONNECTS, 1L);
  SETOPT(CURLOPT_FORBID_REUSE, 0L);
  SETOPT(CURLOPT_FRESH_CONNECT, 0L);
#if LIBCURL_VERSION_NUM >= 0x074100
  /* libcurl stops reusing a connection idle for 118 s by default; a session
   * of berth-shell keeps its (privileged) connection for hours */
  SETOPT(CURLOPT_MAXAGE_CONN, (long) INT_MAX);
#endif
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  SETOPT(CURLOPT_TIMEOUT_MS, timeout_ms);
  SETOPT(CURLOPT_ERRORBUFFER, d->errbuf);
  SETOPT(CURLOPT_OPENSOCKETFUNCTION, open_socket);
  SETOPT(CURLOPT_OPENSOCKETDATA, d);
  SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
  SETOPT(CURLOPT_HEADERDATA, d);
  SETOPT(CURLOPT_USERAGENT, "berth/" PACKAGE_VERSION);
  d->errbuf[0] = '\0';
  d->hdr_api[0] = '\0';
  d->hdr_libpod = false;
  d->refused = false;
  return 0;

setopt_failed:
  return berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "curl_easy_setopt: %s",
                          curl_easy_strerror(rc));
}

/* Turn a failed curl_easy_perform into the error a user can act on. */
static int
transfer_failed(struct docker *d, CURLcode rc, const char *what, long timeout_ms, bool overflow,
                size_t max, berth_error_t *err)
{
  long oserr = 0;
  const char *detail = d->errbuf[0] ? d->errbuf : curl_easy_strerror(rc);

  if (d->tls != NULL && docker_tls_failed(d, rc, what, detail, err) < 0)
    return -1;
  curl_easy_getinfo(d->curl, CURLINFO_OS_ERRNO, &oserr);
  switch (rc) {
  case CURLE_WRITE_ERROR:
    if (overflow)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                              "%s: the engine's reply is larger than %zu bytes", what, max);
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "%s: reading the reply: %s", what,
                            detail);
  case CURLE_COULDNT_CONNECT:
    if (d->refused)
      return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ECONNRESET,
                              "%s: the engine at %s closed the kept connection and a new one "
                              "may not be opened any more",
                              what, d->socket_path);
    if (oserr != 0)
      return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, (int) oserr,
                               "%s: cannot connect to the engine at %s", what, d->socket_path);
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ECONNREFUSED,
                            "%s: cannot connect to the engine at %s: %s", what, d->socket_path,
                            detail);
  case CURLE_OPERATION_TIMEDOUT:
    return berth_error_make(err, BERTH_E_ENGINE_TIMEOUT, ETIMEDOUT,
                            "%s: the engine at %s did not answer within %ld ms", what,
                            d->socket_path, timeout_ms);
  case CURLE_GOT_NOTHING:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ECONNRESET,
                            "%s: the connection to the engine at %s broke: %s", what,
                            d->socket_path, detail);
  case CURLE_OUT_OF_MEMORY:
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "%s: out of memory", what);
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_PARTIAL_FILE:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_HTTP2:
  case CURLE_UNSUPPORTED_PROTOCOL:
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "%s: bad reply from the engine: %s",
                            what, detail);
  default:
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EIO,
                            "%s: talking to the engine at %s: %s", what, d->socket_path, detail);
  }
}

/* The request on a spare connection, once curl may not reconnect (see
 * docker_pin_connection).
 *
 * Why a raw client and not curl here: the spares are opened while the
 * caller is still root and used after the privilege drop.  Handing such a
 * socket to curl would mean returning it from CURLOPT_OPENSOCKETFUNCTION and
 * saying CURL_SOCKOPT_ALREADY_CONNECTED from CURLOPT_SOCKOPTFUNCTION, and
 * libcurl 7.88 (Debian 12) ignores that for a unix-socket connection and
 * connect()s the socket again (curl #10626), which fails.  So these few
 * requests go through http.c's small strict client instead.
 *
 * The spare in use stays in d->raw for the following requests; when the
 * engine closes that one too, the next spare takes over.  Returns 1 when no
 * spare is left (the caller reports the refusal), else 0 / -1 like
 * docker_perform(). */
static int
perform_raw(struct docker *d, struct docker_request *r, const char *url_path, const char *what,
            long timeout, berth_error_t *err)
{
  cleanup_free char *head = NULL;
  const char *ctype = r->ctype == DOCKER_CT_TAR ? "application/x-tar"
                      : r->body                 ? "application/json"
                                                : NULL;
  bool with_body = strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0;
  size_t body_len = with_body && r->body ? r->body_len : 0;

  head = berth_http_request_head(r->method, url_path, ctype, NULL, with_body ? (long) body_len : -1,
                                 err);
  if (head == NULL)
    return -1;
  for (;;) {
    char *body = NULL;
    size_t len = 0;
    bool reusable = false;
    int status = 0, ret;

    if (d->raw == NULL) {
      if (d->n_spare <= (d->cosmetic ? 1u : 0u))
        return 1;
      d->raw = d->spare[--d->n_spare];
      d->n_sockets++;
      berth_debug("engine socket=%s the engine closed the kept connection; using a spare "
                  "(%u left)",
                  d->socket_path, d->n_spare);
    }
    ret = berth_http_raw_request(d->raw, head, r->body, body_len, r->reply.max, timeout, &status,
                                 &body, &len, &reusable, err);
    if (ret != 0 || !reusable)
      berth_conn_freep(&d->raw);
    if (ret == 1)
      continue; /* closed while idle: the next spare */
    if (ret < 0) {
      if ((*err)->status == EFBIG)
        (*err)->kind = BERTH_E_ENGINE_REPLY;
      return berth_error_wrap(err, "%s", what);
    }
    r->status = status;
    if (r->sink != NULL) {
      if (len > 0 && r->sink(body, 1, len, r->sink_ctx) != len) {
        free(body);
        return berth_error_make(err, BERTH_E_ENGINE_REPLY, EIO, "%s: reading the reply", what);
      }
      free(body);
    } else {
      free(r->reply.data);
      r->reply.data = body; /* transferred */
      r->reply.len = len;
      r->reply.cap = len + 1;
    }
    berth_debug("engine request=\"%s\" status=%ld bytes=%zu (spare connection)", what, r->status,
                len);
    return 0;
  }
}

static int
ensure_pinged(struct docker *d, berth_error_t *err)
{
  return d->pinged ? 0 : docker_ping(&d->base, err);
}

static int
perform_once(struct docker *d, struct docker_request *r, berth_error_t *err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *what = NULL;
  long timeout = r->timeout_ms > 0 ? r->timeout_ms : d->timeout_ms;
  CURLcode rc;
  long connects = 0;

  r->status = 0;
  r->reply.len = 0;
  r->reply.max = r->max ? r->max : DOCKER_REPLY_MAX;
  r->reply.overflow = false;
  if (r->versioned && ensure_pinged(d, err) < 0)
    return -1;
  if (r->versioned)
    url = berth_asprintf(err, "%s/v%s%s", d->base_url, d->version, r->path);
  else
    url = berth_asprintf(err, "%s%s", d->base_url, r->path);
  what = berth_asprintf(err, "%s %s", r->method, r->path);
  if (url == NULL || what == NULL)
    return -1;
  if (d->raw != NULL) /* curl's connection is gone; a spare serves */
    goto raw;
  if (apply_options(d, url, timeout, err) < 0)
    return -1;

  struct curl_slist *hdrs = r->ctype == DOCKER_CT_TAR ? d->h_tar : r->body ? d->h_json : d->h_none;
  if (curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK)
    return berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "curl_easy_setopt(HTTPHEADER)");
  if (r->sink) {
    curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, r->sink);
    curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, r->sink_ctx);
  } else {
    curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, docker_buf_write);
    curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, &r->reply);
  }
  if (strcmp(r->method, "GET") == 0) {
    curl_easy_setopt(d->curl, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
    /* POSTFIELDS sends the body with Content-Length (no chunking); an empty
     * body still gets "Content-Length: 0" which the engines expect. */
    curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t) (r->body ? r->body_len : 0));
    curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, r->body ? r->body : "");
    if (strcmp(r->method, "PUT") == 0)
      curl_easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST, "PUT");
  } else {
    curl_easy_setopt(d->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST, r->method);
  }

  rc = curl_easy_perform(d->curl);
  curl_easy_getinfo(d->curl, CURLINFO_NUM_CONNECTS, &connects);
  if (connects > 0 && d->n_sockets > 1)
    berth_debug("engine connection re-opened socket=%s request=\"%s\"", d->socket_path, what);
  if (rc == CURLE_COULDNT_CONNECT && d->refused && d->n_spare > 0)
    goto raw;
  if (rc != CURLE_OK)
    return transfer_failed(d, rc, what, timeout, r->reply.overflow, r->reply.max, err);
  curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &r->status);
  berth_debug("engine request=\"%s\" status=%ld bytes=%zu", what, r->status, r->reply.len);
  return 0;

raw:
  r->reply.len = 0;
  switch (perform_raw(d, r, url + strlen(d->base_url), what, timeout, err)) {
  case 0: return 0;
  case 1:
    d->refused = true;
    return transfer_failed(d, CURLE_COULDNT_CONNECT, what, timeout, false, 0, err);
  default: return -1;
  }
}

/* One request; its easy handle goes when it is done (the connection stays
 * in the share handle). */
int
docker_perform(struct docker *d, struct docker_request *r, berth_error_t *err)
{
  int ret = perform_once(d, r, err);

  if (d->curl != NULL) {
    curl_easy_cleanup(d->curl);
    d->curl = NULL;
  }
  return ret;
}

json_t *
docker_parse_json(const struct docker_buf *b)
{
  if (b->data == NULL || b->len == 0)
    return NULL;
  return json_loadb(b->data, b->len, 0, NULL);
}

/* Send a JSON body (may be NULL) and parse a JSON reply (NULL when none). */
int
docker_request_json(struct docker *d, const char *method, const char *path, json_t *body,
                    long timeout_ms, long *status, json_t **reply, berth_error_t *err)
{
  struct docker_request r
      = { .method = method, .path = path, .versioned = true, .timeout_ms = timeout_ms };
  cleanup_free char *data = NULL;
  int ret;

  if (body != NULL) {
    data = json_dumps(body, JSON_COMPACT);
    if (data == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, EINVAL,
                              "%s %s: cannot encode the request body", method, path);
    r.body = data;
    r.body_len = strlen(data);
  }
  ret = docker_perform(d, &r, err);
  if (ret == 0) {
    json_t *j = docker_parse_json(&r.reply);
    *status = docker_compat_status(r.status, j);
    if (reply != NULL)
      *reply = j;
    else
      json_decref(j);
  }
  free(r.reply.data);
  return ret;
}

int
docker_request(struct berth_engine *e, const char *method, const char *path, json_t *body,
               long *status, json_t **reply, berth_error_t *err)
{
  if (reply != NULL)
    *reply = NULL;
  return docker_request_json(docker_of(e), method, path, body, 0, status, reply, err);
}

int
docker_get_object(struct docker *d, const char *path, const char *kind_noun, const char *name,
                  json_t **out, berth_error_t *err)
{
  char what[64];
  json_t *reply = NULL;
  long status = 0;

  *out = NULL;
  snprintf(what, sizeof(what), "inspecting %s", kind_noun);
  if (docker_request_json(d, "GET", path, NULL, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "%s %s", what, name);
  if (status == 404) {
    json_decref(reply);
    return 1;
  }
  if (docker_check(status, reply, BERTH_E_ENGINE, what, err) < 0) {
    json_decref(reply);
    return berth_error_wrap(err, "%s", name);
  }
  if (!json_is_object(reply)) {
    json_decref(reply);
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "%s %s: the reply is not a JSON object", what, name);
  }
  *out = reply;
  return 0;
}

/* ---------------------------------------------------------------- lifecycle */

int
docker_new(const struct berth_endpoint *ep, long timeout_ms, struct docker **out,
           berth_error_t *err)
{
  const char *socket_path = ep->socket;
  struct docker *d;
  struct sockaddr_un sa;

  *out = NULL;
  if (ep->socket == NULL && ep->host == NULL)
    return berth_error_make(err, BERTH_E_CONFIG, EINVAL, "no engine socket or host");
  if (socket_path != NULL && (*socket_path == '\0' || strlen(socket_path) >= sizeof(sa.sun_path)))
    return berth_error_make(err, BERTH_E_CONFIG, EINVAL, "invalid engine socket path '%s'",
                            socket_path);
  if (berth_docker_global_init(err) < 0)
    return -1;
  d = berth_malloc0(sizeof(*d), err);
  if (d == NULL)
    return -1;
  d->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
  d->major = BERTH_API_MIN_MAJOR;
  d->minor = BERTH_API_MIN_MINOR;
  snprintf(d->version, sizeof(d->version), "%d.%d", d->major, d->minor);
  d->base_url = "http://localhost";
  if (socket_path != NULL)
    d->socket_path = berth_strdup(socket_path, err);
  else if (docker_tls_new(d, ep, err) < 0)
    goto fail;
  if (d->socket_path == NULL)
    goto fail;
  d->share = curl_share_init();
  if (d->share != NULL
      && curl_share_setopt(d->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
    curl_share_cleanup(d->share);
    d->share = NULL;
  }
  /* "Expect:" stops curl from waiting for 100-continue before large bodies;
   * "Content-Type:" without a value removes the form type curl would add to
   * a body-less POST. */
  d->h_none = curl_slist_append(NULL, "Expect:");
  d->h_none = d->h_none ? curl_slist_append(d->h_none, "Content-Type:") : NULL;
  d->h_json = curl_slist_append(NULL, "Expect:");
  d->h_json = d->h_json ? curl_slist_append(d->h_json, "Content-Type: application/json") : NULL;
  d->h_tar = curl_slist_append(NULL, "Expect:");
  d->h_tar = d->h_tar ? curl_slist_append(d->h_tar, "Content-Type: application/x-tar") : NULL;
  if (d->share == NULL || d->h_none == NULL || d->h_json == NULL || d->h_tar == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "cannot set up the engine client");
    goto fail;
  }
  *out = d;
  return 0;

fail:
  docker_free(&d->base);
  return -1;
}

void
docker_free(struct berth_engine *e)
{
  struct docker *d = docker_of(e);

  if (d == NULL)
    return;
  if (d->curl)
    curl_easy_cleanup(d->curl);
  /* after every easy handle: closes the kept connection */
  if (d->share)
    curl_share_cleanup(d->share);
  while (d->n_spare > 0)
    berth_conn_free(d->spare[--d->n_spare]);
  berth_conn_free(d->raw);
  curl_slist_free_all(d->h_none);
  curl_slist_free_all(d->h_json);
  curl_slist_free_all(d->h_tar);
  docker_tls_free(d);
  free(d->socket_path);
  free(d);
}

/* Podman's service closes a kept connection after 2 x its --time of
 * idleness (the stock podman.service runs with the default 5 s, so after
 * 10 s), and berth-shell's connection idles for the whole session: the exit
 * code inspect at its end would find it closed and may not reconnect.  A
 * connection that has not sent a request yet is never timed out by Podman
 * (its Go server sets no read-header timeout), and the service stays up while
 * the session's hijacked stream is open, so a few connections opened now,
 * still privileged, serve as spares.  Docker keeps idle connections open and
 * gets none. */
void
docker_pin_connection(struct berth_engine *e)
{
  struct docker *d = docker_of(e);

  d->pinned = true;
  if (!d->podman)
    return;
  while (d->n_spare < DOCKER_SPARES) {
    berth_error_t err = NULL;
    struct berth_conn *c = NULL;
    if (docker_conn_open(d, &c, &err) < 0) {
      berth_debug("engine socket=%s cannot open a spare connection: %s", d->socket_path, err->msg);
      berth_error_release(&err);
      break;
    }
    d->spare[d->n_spare++] = c;
  }
}

/* ---------------------------------------------------------------- version */

int
docker_ping(struct berth_engine *e, berth_error_t *err)
{
  struct docker *d = docker_of(e);
  struct docker_request r
      = { .method = "GET", .path = "/_ping", .versioned = false, .max = 64 * 1024 };
  char api[sizeof(d->hdr_api)];
  int major, minor;

  if (docker_perform(d, &r, err) < 0)
    goto fail;
  free(r.reply.data);
  r.reply.data = NULL;
  if (r.status != 200) {
    berth_error_make(err, BERTH_E_ENGINE, EIO, "GET /_ping: HTTP %ld from the engine at %s",
                     r.status, d->socket_path);
    goto fail;
  }
  memcpy(api, d->hdr_api, sizeof(api));
  d->podman = d->hdr_libpod;
  if (api[0] == '\0') {
    /* Old Podman answers /_ping without Api-Version; /version has it.  The
     * unversioned path is served at the engine's own (newest) version. */
    struct docker_request v
        = { .method = "GET", .path = "/version", .versioned = false, .max = 1024 * 1024 };
    json_t *j;
    const char *s;
    if (docker_perform(d, &v, err) < 0) {
      free(v.reply.data); /* what arrived before the failure */
      goto fail;
    }
    j = docker_parse_json(&v.reply);
    free(v.reply.data);
    if (docker_check(v.status, j, BERTH_E_ENGINE, "GET /version", err) < 0) {
      json_decref(j);
      goto fail;
    }
    s = json_string_value(json_object_get(j, "ApiVersion"));
    snprintf(api, sizeof(api), "%s", s ? s : "");
    json_decref(j);
    if (api[0] == '\0') {
      berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                       "the engine at %s reports no API version (neither /_ping nor /version)",
                       d->socket_path);
      goto fail;
    }
  }
  if (!berth_http_parse_api_version(api, &major, &minor)) {
    berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "the engine at %s reports API version '%s'",
                     d->socket_path, api);
    goto fail;
  }
  if (major < BERTH_API_MIN_MAJOR
      || (major == BERTH_API_MIN_MAJOR && minor < BERTH_API_MIN_MINOR)) {
    berth_error_make(err, BERTH_E_ENGINE, ENOTSUP,
                     "the engine at %s speaks API %d.%d, older than the minimum %d.%d",
                     d->socket_path, major, minor, BERTH_API_MIN_MAJOR, BERTH_API_MIN_MINOR);
    goto fail;
  }
  if (major > DOCKER_API_OURS_MAJOR
      || (major == DOCKER_API_OURS_MAJOR && minor > DOCKER_API_OURS_MINOR)) {
    major = DOCKER_API_OURS_MAJOR;
    minor = DOCKER_API_OURS_MINOR;
  }
  d->major = major;
  d->minor = minor;
  snprintf(d->version, sizeof(d->version), "%d.%d", major, minor);
  d->pinged = true;
  berth_debug("engine socket=%s api=%s engine_api=%s", d->socket_path, d->version, api);
  return 0;

fail:
  free(r.reply.data);
  return -1;
}

const char *
docker_api_version(const struct berth_engine *e)
{
  return ((const struct docker *) e)->version;
}

bool
docker_api_at_least(const struct berth_engine *e, int major, int minor)
{
  const struct docker *d = (const struct docker *) e;

  return d->major > major || (d->major == major && d->minor >= minor);
}

/* ---------------------------------------------------------------- images */

int
docker_object_path(const char *area, const char *what, const char *id, const char *keep,
                   const char *suffix, char **out, berth_error_t *err)
{
  cleanup_free char *q = NULL;

  *out = NULL;
  if (id == NULL || *id == '\0')
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "empty %s", what);
  q = berth_http_escape(id, keep, err);
  if (q == NULL)
    return -1;
  *out = berth_asprintf(err, "/%s/%s%s", area, q, suffix);
  return *out ? 0 : -1;
}

int
docker_container_path(const char *id, const char *fmt_suffix, char **out, berth_error_t *err)
{
  return docker_object_path("containers", "container id", id, NULL, fmt_suffix, out, err);
}

int
docker_reply_id(json_t *reply, long status, const char *what, const char *name, char **id,
                berth_error_t *err)
{
  const char *s = json_string_value(json_object_get(reply, "Id"));

  if (s == NULL || *s == '\0')
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "%s %s: reply has no Id (HTTP %ld)",
                            what, name, status);
  if (id != NULL && (*id = berth_strdup(s, err)) == NULL)
    return -1;
  return 0;
}
