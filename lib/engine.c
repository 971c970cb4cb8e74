/* engine.c - Docker Engine API client: libcurl over the unix socket, jansson
 * for bodies, one kept connection per struct berth_engine.
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

#include "berth/engine.h"
#include "berth/log.h"
#include "berth/util.h"

/* The newest API version whose fields berth knows; the engine may be older. */
#define API_OURS_MAJOR 1
#define API_OURS_MINOR 43
/* Bound on any ordinary reply (inspect, list); a reply beyond is an error. */
#define REPLY_MAX ((size_t) 16 * 1024 * 1024)
/* Bound on one progress object of the pull stream. */
#define PULL_OBJECT_MAX ((size_t) 1024 * 1024)
/* A pull may legitimately take much longer than an API call. */
#define PULL_TIMEOUT_FACTOR 10
#define DEFAULT_TIMEOUT_MS 10000L
/* Spare connections opened at pin time when the engine is Podman: see
 * berth_engine_pin_connection().  Two: one a resize may take, one kept for
 * the exit code.  Each one closed unused costs a warning line in Podman's
 * log ("StateClosed transition by connection marked un-managed"). */
#define SPARES 2

struct buf {
  char *data;
  size_t len, cap, max;
  bool overflow;
};

struct berth_engine {
  CURLSH *share; /* the connection cache, kept across requests */
  CURL *curl;    /* the current request's handle, NULL between requests */
  char *socket_path;
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
  int spare[SPARES];
  unsigned n_spare;
  int raw_fd;    /* the spare in use (perform_raw), or -1 */
  bool cosmetic; /* the current request may not take the last spare */
  /* "Api-Version" and "Libpod-Api-Version" headers of the current reply */
  char hdr_api[32];
  bool hdr_libpod;
  char errbuf[CURL_ERROR_SIZE];
  struct curl_slist *h_none, *h_json, *h_tar;
};

static bool global_done;

int
berth_engine_global_init(berth_error_t *err)
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

static char *
escape_keep(const char *s, const char *keep, berth_error_t *err)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out, *o;

  if (n > (SIZE_MAX - 1) / 3) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    return NULL;
  }
  out = o = berth_malloc0(n * 3 + 1, err);
  if (out == NULL)
    return NULL;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-._~", *p) != NULL || (keep != NULL && strchr(keep, *p) != NULL)) {
      *o++ = (char) *p;
    } else {
      *o++ = '%';
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 15];
    }
  }
  *o = '\0';
  return out;
}

char *
berth_engine_escape(const char *s, berth_error_t *err)
{
  return escape_keep(s ? s : "", NULL, err);
}

/* Image references go into paths the way the docker CLI sends them: '/' of a
 * repository path, ':' of a tag or registry port and '@' of a digest stay
 * literal; both engines route /images/{name:.*}/json on them. */
static char *
escape_image(const char *s, berth_error_t *err)
{
  return escape_keep(s, "/:@", err);
}

/* ---------------------------------------------------------------- curl plumbing */

static size_t
write_buf(char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct buf *b = ud;
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
  struct berth_engine *e = ud;
  size_t n = size * nmemb;
  static const char name[] = "Api-Version:";
  static const char libpod[] = "Libpod-Api-Version:";

  if (n > sizeof(libpod) - 1 && strncasecmp(line, libpod, sizeof(libpod) - 1) == 0)
    e->hdr_libpod = true;
  if (n > sizeof(name) - 1 && strncasecmp(line, name, sizeof(name) - 1) == 0) {
    const char *v = line + sizeof(name) - 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
      v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
      end--;
    if ((size_t) (end - v) < sizeof(e->hdr_api)) {
      memcpy(e->hdr_api, v, (size_t) (end - v));
      e->hdr_api[end - v] = '\0';
    }
  }
  return n;
}

/* Every socket of the kept connection is opened here: O_CLOEXEC (berth-shell
 * execs), and counted.  After berth_engine_pin_connection() no new socket is
 * opened: once privileges are dropped a reconnect could only fail with EACCES
 * (or, worse, succeed for a user who may use the socket); a clear error is
 * better.  The one exception is a spare connection opened at pin time (still
 * privileged), used by perform_raw() when curl is refused here.  A silent
 * reconnect is otherwise only logged (debug). */
static curl_socket_t
open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
  struct berth_engine *e = ud;
  int fd;

  (void) purpose;
  if (e->pinned) {
    e->refused = true;
    return CURL_SOCKET_BAD;
  }
  fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (fd >= 0)
    e->n_sockets++;
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

#define SETOPT(opt, val)                                          \
  do {                                                            \
    if ((rc = curl_easy_setopt(e->curl, opt, val)) != CURLE_OK)   \
      goto setopt_failed;                                         \
  } while (0)

/* A fresh easy handle for every request, on the engine's share handle
 * (which keeps the connection), with its options.  Everything that could
 * let the environment steer the connection is pinned down here:
 * - libcurl reads http_proxy, HTTPS_PROXY, ALL_PROXY and NO_PROXY unless
 *   CURLOPT_PROXY is set; "" disables proxies outright, NOPROXY "*" too.
 * - .netrc only when CURLOPT_NETRC asks; cookies only with COOKIEFILE (unset);
 *   HSTS / alt-svc caches only when configured (unset).
 * - CURL_HOME and .curlrc belong to the curl tool; libcurl never reads them.
 * - Only http, no redirects, so no reply can send us anywhere else. */
static int
apply_options(struct berth_engine *e, const char *url, long timeout_ms, berth_error_t *err)
{
  CURLcode rc;

  if (e->curl != NULL)
    curl_easy_cleanup(e->curl);
  e->curl = curl_easy_init();
  if (e->curl == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "curl_easy_init: out of memory");
  SETOPT(CURLOPT_SHARE, e->share);
  SETOPT(CURLOPT_UNIX_SOCKET_PATH, e->socket_path);
  SETOPT(CURLOPT_URL, url);
  SETOPT(CURLOPT_PROXY, "");
  SETOPT(CURLOPT_NOPROXY, "*");
#if LIBCURL_VERSION_NUM >= 0x075500
  SETOPT(CURLOPT_PROTOCOLS_STR, "http");
  SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http");
#else
  SETOPT(CURLOPT_PROTOCOLS, (long) CURLPROTO_HTTP);
  SETOPT(CURLOPT_REDIR_PROTOCOLS, (long) CURLPROTO_HTTP);
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
  SETOPT(CURLOPT_ERRORBUFFER, e->errbuf);
  SETOPT(CURLOPT_OPENSOCKETFUNCTION, open_socket);
  SETOPT(CURLOPT_OPENSOCKETDATA, e);
  SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
  SETOPT(CURLOPT_HEADERDATA, e);
  SETOPT(CURLOPT_USERAGENT, "berth/" PACKAGE_VERSION);
  e->errbuf[0] = '\0';
  e->hdr_api[0] = '\0';
  e->hdr_libpod = false;
  e->refused = false;
  return 0;

setopt_failed:
  return berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "curl_easy_setopt: %s",
                          curl_easy_strerror(rc));
}

/* Turn a failed curl_easy_perform into the error a user can act on. */
static int
transfer_failed(struct berth_engine *e, CURLcode rc, const char *what, long timeout_ms,
                bool overflow, size_t max, berth_error_t *err)
{
  long oserr = 0;
  const char *detail = e->errbuf[0] ? e->errbuf : curl_easy_strerror(rc);

  curl_easy_getinfo(e->curl, CURLINFO_OS_ERRNO, &oserr);
  switch (rc) {
  case CURLE_WRITE_ERROR:
    if (overflow)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                              "%s: the engine's reply is larger than %zu bytes", what, max);
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "%s: reading the reply: %s", what, detail);
  case CURLE_COULDNT_CONNECT:
    if (e->refused)
      return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ECONNRESET,
                              "%s: the engine at %s closed the kept connection and a new one "
                              "may not be opened any more",
                              what, e->socket_path);
    if (oserr != 0)
      return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, (int) oserr,
                               "%s: cannot connect to the engine at %s", what, e->socket_path);
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ECONNREFUSED,
                            "%s: cannot connect to the engine at %s: %s", what, e->socket_path,
                            detail);
  case CURLE_OPERATION_TIMEDOUT:
    return berth_error_make(err, BERTH_E_ENGINE_TIMEOUT, ETIMEDOUT,
                            "%s: the engine at %s did not answer within %ld ms", what,
                            e->socket_path, timeout_ms);
  case CURLE_GOT_NOTHING:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ECONNRESET,
                            "%s: the connection to the engine at %s broke: %s", what,
                            e->socket_path, detail);
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
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EIO, "%s: talking to the engine at %s: %s",
                            what, e->socket_path, detail);
  }
}

struct request {
  const char *method;
  const char *path;            /* below the version prefix, or absolute when !versioned */
  bool versioned;
  const char *body;            /* NULL: no body */
  size_t body_len;
  struct curl_slist *headers;  /* NULL: chosen from body */
  long timeout_ms;             /* 0: the engine's */
  size_t max;                  /* bound on the buffered reply; 0: REPLY_MAX */
  curl_write_callback sink;    /* NULL: buffer into reply */
  void *sink_ctx;
  /* out */
  long status;
  struct buf reply;
};

static int perform(struct berth_engine *e, struct request *r, berth_error_t *err);

/* The request on a spare connection, once curl may not reconnect (see
 * berth_engine_pin_connection).  The spare in use stays in e->raw_fd for the
 * following requests; when the engine closes that one too, the next spare
 * takes over.  Returns 1 when no spare is left (the caller reports the
 * refusal), else 0 / -1 like perform(). */
static int
perform_raw(struct berth_engine *e, struct request *r, const char *url_path, const char *what,
            long timeout, berth_error_t *err)
{
  cleanup_free char *head = NULL;
  const char *ctype = r->headers == e->h_tar ? "Content-Type: application/x-tar\r\n"
                      : r->headers == NULL && r->body ? "Content-Type: application/json\r\n"
                                                      : "";
  bool with_body = strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0;
  size_t body_len = with_body && r->body ? r->body_len : 0;
  char clen[48] = "";

  if (with_body)
    snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", body_len);
  head = berth_asprintf(err,
                        "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: berth/" PACKAGE_VERSION
                        "\r\n%s%s\r\n",
                        r->method, url_path, ctype, clen);
  if (head == NULL)
    return -1;
  for (;;) {
    char *body = NULL;
    size_t len = 0;
    bool reusable = false;
    int status = 0, ret;

    if (e->raw_fd < 0) {
      if (e->n_spare <= (e->cosmetic ? 1u : 0u))
        return 1;
      e->raw_fd = e->spare[--e->n_spare];
      e->n_sockets++;
      berth_debug("engine socket=%s the engine closed the kept connection; using a spare "
                  "(%u left)", e->socket_path, e->n_spare);
    }
    ret = berth_http_raw_request(e->raw_fd, head, r->body, body_len, r->reply.max, timeout,
                                 &status, &body, &len, &reusable, err);
    if (ret != 0 || !reusable) {
      close(e->raw_fd);
      e->raw_fd = -1;
    }
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
ensure_pinged(struct berth_engine *e, berth_error_t *err)
{
  return e->pinged ? 0 : berth_engine_ping(e, err);
}

static int
perform_once(struct berth_engine *e, struct request *r, berth_error_t *err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *what = NULL;
  long timeout = r->timeout_ms > 0 ? r->timeout_ms : e->timeout_ms;
  CURLcode rc;
  long connects = 0;

  r->status = 0;
  r->reply.len = 0;
  r->reply.max = r->max ? r->max : REPLY_MAX;
  r->reply.overflow = false;
  if (r->versioned && ensure_pinged(e, err) < 0)
    return -1;
  if (r->versioned)
    url = berth_asprintf(err, "http://localhost/v%s%s", e->version, r->path);
  else
    url = berth_asprintf(err, "http://localhost%s", r->path);
  what = berth_asprintf(err, "%s %s", r->method, r->path);
  if (url == NULL || what == NULL)
    return -1;
  if (e->raw_fd >= 0) /* curl's connection is gone; a spare serves */
    goto raw;
  if (apply_options(e, url, timeout, err) < 0)
    return -1;

  struct curl_slist *hdrs = r->headers ? r->headers : r->body ? e->h_json : e->h_none;
  if (curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK)
    return berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "curl_easy_setopt(HTTPHEADER)");
  if (r->sink) {
    curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, r->sink);
    curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, r->sink_ctx);
  } else {
    curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, write_buf);
    curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &r->reply);
  }
  if (strcmp(r->method, "GET") == 0) {
    curl_easy_setopt(e->curl, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
    /* POSTFIELDS sends the body with Content-Length (no chunking); an empty
     * body still gets "Content-Length: 0" which the engines expect. */
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (r->body ? r->body_len : 0));
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, r->body ? r->body : "");
    if (strcmp(r->method, "PUT") == 0)
      curl_easy_setopt(e->curl, CURLOPT_CUSTOMREQUEST, "PUT");
  } else {
    curl_easy_setopt(e->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e->curl, CURLOPT_CUSTOMREQUEST, r->method);
  }

  rc = curl_easy_perform(e->curl);
  curl_easy_getinfo(e->curl, CURLINFO_NUM_CONNECTS, &connects);
  if (connects > 0 && e->n_sockets > 1)
    berth_debug("engine connection re-opened socket=%s request=\"%s\"", e->socket_path, what);
  if (rc == CURLE_COULDNT_CONNECT && e->refused && e->n_spare > 0)
    goto raw;
  if (rc != CURLE_OK)
    return transfer_failed(e, rc, what, timeout, r->reply.overflow, r->reply.max, err);
  curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &r->status);
  berth_debug("engine request=\"%s\" status=%ld bytes=%zu", what, r->status, r->reply.len);
  return 0;

raw:
  r->reply.len = 0;
  switch (perform_raw(e, r, url + strlen("http://localhost"), what, timeout, err)) {
  case 0:
    return 0;
  case 1:
    e->refused = true;
    return transfer_failed(e, CURLE_COULDNT_CONNECT, what, timeout, false, 0, err);
  default:
    return -1;
  }
}

/* One request; its easy handle goes when it is done (the connection stays
 * in the share handle). */
static int
perform(struct berth_engine *e, struct request *r, berth_error_t *err)
{
  int ret = perform_once(e, r, err);

  if (e->curl != NULL) {
    curl_easy_cleanup(e->curl);
    e->curl = NULL;
  }
  return ret;
}

static json_t *
parse_json(const struct buf *b)
{
  if (b->data == NULL || b->len == 0)
    return NULL;
  return json_loadb(b->data, b->len, 0, NULL);
}

/* Podman's compat service (4.3) answers some conditions for which Docker has
 * a specific status with a plain 500, and says which in the error body's
 * "cause" (libpod's error constants):
 *   create under a taken name   Docker 409, Podman 500 "that name is already in use"
 *   network create, name taken  Docker 409, Podman 500 "network already exists"
 *   exec in a stopped container Docker 409, Podman 500 "container state improper"
 * Map those back to Docker's status so callers see one set of semantics (409
 * -> EEXIST on create: inspect and reuse).  The "no such ..." causes come
 * with a 404 in every handler seen; should one ride on a 500, it is a 404
 * too.  Only a 500 whose body has exactly such a cause is touched; the
 * engine's message is kept as it is. */
static long
compat_status(long status, json_t *reply)
{
  static const struct {
    const char *cause;
    long status;
  } map[] = {
    { "that name is already in use", 409 },
    { "network already exists", 409 },
    { "container state improper", 409 },
    { "no such container", 404 },
    { "no such exec session", 404 },
    { "no such image", 404 },
  };
  const char *cause;

  if (status != 500 || !json_is_object(reply))
    return status;
  cause = json_string_value(json_object_get(reply, "cause"));
  if (cause == NULL)
    return status;
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(cause, map[i].cause) == 0) {
      berth_debug("engine status=500 cause=\"%s\" treated as status=%ld", cause, map[i].status);
      return map[i].status;
    }
  return status;
}

/* Send a JSON body (may be NULL) and parse a JSON reply (NULL when none). */
static int
request_json(struct berth_engine *e, const char *method, const char *path, json_t *body,
             long timeout_ms, long *status, json_t **reply, berth_error_t *err)
{
  struct request r = { .method = method, .path = path, .versioned = true, .timeout_ms = timeout_ms };
  cleanup_free char *data = NULL;
  int ret;

  if (body != NULL) {
    data = json_dumps(body, JSON_COMPACT);
    if (data == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "%s %s: cannot encode the request body",
                              method, path);
    r.body = data;
    r.body_len = strlen(data);
  }
  ret = perform(e, &r, err);
  if (ret == 0) {
    json_t *j = parse_json(&r.reply);
    *status = compat_status(r.status, j);
    if (reply != NULL)
      *reply = j;
    else
      json_decref(j);
  }
  free(r.reply.data);
  return ret;
}

int
berth_engine_request(struct berth_engine *e, const char *method, const char *path, json_t *body,
                     long *status, json_t **reply, berth_error_t *err)
{
  if (reply != NULL)
    *reply = NULL;
  return request_json(e, method, path, body, 0, status, reply, err);
}

static int
http_errno(long status)
{
  switch (status) {
  case 400: return EINVAL;
  case 401:
  case 403: return EACCES;
  case 404: return ENOENT;
  case 409: return EEXIST;
  case 501: return ENOTSUP;
  default: return EIO;
  }
}

int
berth_engine_check(long status, json_t *reply, enum berth_error_kind kind, const char *what,
                   berth_error_t *err)
{
  const char *msg = NULL;

  if (status < 400)
    return 0;
  if (json_is_object(reply))
    msg = json_string_value(json_object_get(reply, "message"));
  if (msg != NULL)
    return berth_error_make(err, kind, http_errno(status), "%s: engine said: %s (HTTP %ld)",
                            what ? what : "engine request", msg, status);
  return berth_error_make(err, kind, http_errno(status), "%s: HTTP %ld from the engine",
                          what ? what : "engine request", status);
}

/* ---------------------------------------------------------------- lifecycle */

int
berth_engine_new(const char *socket_path, long timeout_ms, struct berth_engine **out,
                 berth_error_t *err)
{
  struct berth_engine *e;
  struct sockaddr_un sa;

  *out = NULL;
  if (socket_path == NULL || *socket_path == '\0' || strlen(socket_path) >= sizeof(sa.sun_path))
    return berth_error_make(err, BERTH_E_CONFIG, EINVAL, "invalid engine socket path '%s'",
                            socket_path ? socket_path : "");
  if (berth_engine_global_init(err) < 0)
    return -1;
  e = berth_malloc0(sizeof(*e), err);
  if (e == NULL)
    return -1;
  e->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
  e->major = BERTH_API_MIN_MAJOR;
  e->minor = BERTH_API_MIN_MINOR;
  snprintf(e->version, sizeof(e->version), "%d.%d", e->major, e->minor);
  e->raw_fd = -1;
  e->socket_path = berth_strdup(socket_path, err);
  if (e->socket_path == NULL)
    goto fail;
  e->share = curl_share_init();
  if (e->share != NULL &&
      curl_share_setopt(e->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
    curl_share_cleanup(e->share);
    e->share = NULL;
  }
  /* "Expect:" stops curl from waiting for 100-continue before large bodies;
   * "Content-Type:" without a value removes the form type curl would add to
   * a body-less POST. */
  e->h_none = curl_slist_append(NULL, "Expect:");
  e->h_none = e->h_none ? curl_slist_append(e->h_none, "Content-Type:") : NULL;
  e->h_json = curl_slist_append(NULL, "Expect:");
  e->h_json = e->h_json ? curl_slist_append(e->h_json, "Content-Type: application/json") : NULL;
  e->h_tar = curl_slist_append(NULL, "Expect:");
  e->h_tar = e->h_tar ? curl_slist_append(e->h_tar, "Content-Type: application/x-tar") : NULL;
  if (e->share == NULL || e->h_none == NULL || e->h_json == NULL || e->h_tar == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "cannot set up the engine client");
    goto fail;
  }
  *out = e;
  return 0;

fail:
  berth_engine_free(e);
  return -1;
}

void
berth_engine_free(struct berth_engine *e)
{
  if (e == NULL)
    return;
  if (e->curl)
    curl_easy_cleanup(e->curl);
  /* after every easy handle: closes the kept connection */
  if (e->share)
    curl_share_cleanup(e->share);
  while (e->n_spare > 0)
    close(e->spare[--e->n_spare]);
  if (e->raw_fd >= 0)
    close(e->raw_fd);
  curl_slist_free_all(e->h_none);
  curl_slist_free_all(e->h_json);
  curl_slist_free_all(e->h_tar);
  free(e->socket_path);
  free(e);
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
berth_engine_pin_connection(struct berth_engine *e)
{
  e->pinned = true;
  if (!e->podman)
    return;
  while (e->n_spare < SPARES) {
    berth_error_t err = NULL;
    int fd = berth_engine_hijack_connect(e->socket_path, &err);
    if (fd < 0) {
      berth_debug("engine socket=%s cannot open a spare connection: %s", e->socket_path, err->msg);
      berth_error_release(&err);
      break;
    }
    e->spare[e->n_spare++] = fd;
  }
}

/* ---------------------------------------------------------------- version */

/* "1.41", also "1.41.0" (some Podman releases report semver). */
static bool
parse_api_version(const char *s, int *major, int *minor)
{
  char *end;
  long ma, mi;

  if (s == NULL || *s < '0' || *s > '9')
    return false;
  errno = 0;
  ma = strtol(s, &end, 10);
  if (errno || *end != '.' || end[1] < '0' || end[1] > '9' || ma > 1000)
    return false;
  mi = strtol(end + 1, &end, 10);
  if (errno || mi > 1000)
    return false;
  if (*end == '.') {
    end++;
    if (*end < '0' || *end > '9')
      return false;
    while (*end >= '0' && *end <= '9')
      end++;
  }
  if (*end != '\0')
    return false;
  *major = (int) ma;
  *minor = (int) mi;
  return true;
}

int
berth_engine_ping(struct berth_engine *e, berth_error_t *err)
{
  struct request r = { .method = "GET", .path = "/_ping", .versioned = false, .max = 64 * 1024 };
  char api[sizeof(e->hdr_api)];
  int major, minor;

  if (perform(e, &r, err) < 0)
    goto fail;
  free(r.reply.data);
  r.reply.data = NULL;
  if (r.status != 200) {
    berth_error_make(err, BERTH_E_ENGINE, EIO, "GET /_ping: HTTP %ld from the engine at %s", r.status,
                     e->socket_path);
    goto fail;
  }
  memcpy(api, e->hdr_api, sizeof(api));
  e->podman = e->hdr_libpod;
  if (api[0] == '\0') {
    /* Old Podman answers /_ping without Api-Version; /version has it.  The
     * unversioned path is served at the engine's own (newest) version. */
    struct request v = { .method = "GET", .path = "/version", .versioned = false, .max = 1024 * 1024 };
    json_t *j;
    const char *s;
    if (perform(e, &v, err) < 0) {
      free(v.reply.data); /* what arrived before the failure */
      goto fail;
    }
    j = parse_json(&v.reply);
    free(v.reply.data);
    if (berth_engine_check(v.status, j, BERTH_E_ENGINE, "GET /version", err) < 0) {
      json_decref(j);
      goto fail;
    }
    s = json_string_value(json_object_get(j, "ApiVersion"));
    snprintf(api, sizeof(api), "%s", s ? s : "");
    json_decref(j);
    if (api[0] == '\0') {
      berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                       "the engine at %s reports no API version (neither /_ping nor /version)",
                       e->socket_path);
      goto fail;
    }
  }
  if (!parse_api_version(api, &major, &minor)) {
    berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "the engine at %s reports API version '%s'",
                     e->socket_path, api);
    goto fail;
  }
  if (major < BERTH_API_MIN_MAJOR || (major == BERTH_API_MIN_MAJOR && minor < BERTH_API_MIN_MINOR)) {
    berth_error_make(err, BERTH_E_ENGINE, ENOTSUP,
                     "the engine at %s speaks API %d.%d, older than the minimum %d.%d",
                     e->socket_path, major, minor, BERTH_API_MIN_MAJOR, BERTH_API_MIN_MINOR);
    goto fail;
  }
  if (major > API_OURS_MAJOR || (major == API_OURS_MAJOR && minor > API_OURS_MINOR)) {
    major = API_OURS_MAJOR;
    minor = API_OURS_MINOR;
  }
  e->major = major;
  e->minor = minor;
  snprintf(e->version, sizeof(e->version), "%d.%d", major, minor);
  e->pinged = true;
  berth_debug("engine socket=%s api=%s engine_api=%s", e->socket_path, e->version, api);
  return 0;

fail:
  free(r.reply.data);
  return -1;
}

const char *
berth_engine_api_version(const struct berth_engine *e)
{
  return e->version;
}

bool
berth_engine_api_at_least(const struct berth_engine *e, int major, int minor)
{
  return e->major > major || (e->major == major && e->minor >= minor);
}

/* ---------------------------------------------------------------- images */

int
berth_engine_image_inspect(struct berth_engine *e, const char *image, char **id, berth_error_t *err)
{
  cleanup_free char *name = NULL;
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret = -1;

  if (id)
    *id = NULL;
  if (image == NULL || *image == '\0')
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "empty image name");
  name = escape_image(image, err);
  if (name == NULL || (path = berth_asprintf(err, "/images/%s/json", name)) == NULL)
    return -1;
  if (request_json(e, "GET", path, NULL, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "inspecting image %s", image);
  if (status == 404) {
    ret = 0;
    goto out;
  }
  if (berth_engine_check(status, reply, BERTH_E_ENGINE, "inspecting image", err) < 0)
    goto out;
  const char *s = json_string_value(json_object_get(reply, "Id"));
  if (s == NULL) {
    berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "inspecting image %s: reply has no Id", image);
    goto out;
  }
  if (id && (*id = berth_strdup(s, err)) == NULL)
    goto out;
  ret = 1;
out:
  json_decref(reply);
  return ret;
}

/* Split a reference the way the engine's /images/create wants it:
 * "repo:tag" -> (repo, tag); "repo@sha256:..." -> (repo, "sha256:...");
 * "host:5000/repo" -> (host:5000/repo, "latest"): a ':' before the last '/'
 * is a registry port, not a tag. */
static int
split_reference(const char *image, char **repo, char **tag, berth_error_t *err)
{
  const char *at = strchr(image, '@');
  const char *slash, *colon;

  if (at != NULL) {
    if (at == image || at[1] == '\0')
      return berth_error_make(err, BERTH_E_USAGE, EINVAL, "invalid image reference '%s'", image);
    *repo = strndup(image, (size_t) (at - image));
    *tag = strdup(at + 1);
  } else {
    slash = strrchr(image, '/');
    colon = strrchr(slash ? slash : image, ':');
    if (colon != NULL && (colon == image || colon[1] == '\0'))
      return berth_error_make(err, BERTH_E_USAGE, EINVAL, "invalid image reference '%s'", image);
    *repo = colon ? strndup(image, (size_t) (colon - image)) : strdup(image);
    *tag = strdup(colon ? colon + 1 : "latest");
  }
  if (*repo == NULL || *tag == NULL) {
    free(*repo);
    free(*tag);
    *repo = *tag = NULL;
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  }
  return 0;
}

/* The pull reply is a stream of JSON objects (progress), newline-separated
 * in practice but parsed without relying on it.  A failed pull still answers
 * HTTP 200: the failure is an object with "error" / "errorDetail". */
struct pull_state {
  struct buf pending;
  char *error;      /* first error reported in the stream */
  bool malformed;
};

static bool
is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
pull_object(struct pull_state *ps, json_t *j)
{
  const char *msg;

  if (ps->error != NULL || !json_is_object(j))
    return;
  msg = json_string_value(json_object_get(json_object_get(j, "errorDetail"), "message"));
  if (msg == NULL)
    msg = json_string_value(json_object_get(j, "error"));
  if (msg == NULL && json_object_get(j, "errorDetail") != NULL)
    msg = "unspecified error";
  /* an HTTP error reply carries {"message": ...} */
  if (msg == NULL && json_object_size(j) == 1)
    msg = json_string_value(json_object_get(j, "message"));
  if (msg != NULL)
    ps->error = strdup(msg);
}

/* Parse every complete object in ps->pending; keep an incomplete tail. */
static void
pull_drain(struct pull_state *ps, bool at_end)
{
  size_t pos = 0;
  struct buf *b = &ps->pending;

  while (pos < b->len && !ps->malformed) {
    json_error_t jerr;
    json_t *j;

    while (pos < b->len && is_blank(b->data[pos]))
      pos++;
    if (pos == b->len)
      break;
    j = json_loadb(b->data + pos, b->len - pos, JSON_DISABLE_EOF_CHECK, &jerr);
    if (j == NULL) {
      /* an error at the very end of the input means "incomplete, wait" */
      if (!at_end && jerr.position >= 0 && (size_t) jerr.position >= b->len - pos)
        break;
      ps->malformed = true;
      break;
    }
    pull_object(ps, j);
    json_decref(j);
    pos += (size_t) jerr.position;
  }
  if (pos > 0) {
    memmove(b->data, b->data + pos, b->len - pos);
    b->len -= pos;
  }
}

static size_t
pull_sink(char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct pull_state *ps = ud;
  size_t n = size * nmemb;

  if (write_buf(ptr, size, nmemb, &ps->pending) != n)
    return 0; /* one progress object beyond PULL_OBJECT_MAX: overflow set */
  pull_drain(ps, false);
  return n;
}

int
berth_engine_image_pull(struct berth_engine *e, const char *image, berth_error_t *err)
{
  cleanup_free char *repo = NULL, *tag = NULL, *qrepo = NULL, *qtag = NULL, *path = NULL;
  struct pull_state ps = { .pending = { .max = PULL_OBJECT_MAX } };
  struct request r = { .method = "POST", .versioned = true, .sink = pull_sink, .sink_ctx = &ps };
  int ret = -1;

  if (image == NULL || *image == '\0')
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "empty image name");
  if (split_reference(image, &repo, &tag, err) < 0)
    return -1;
  qrepo = berth_engine_escape(repo, err);
  qtag = qrepo ? berth_engine_escape(tag, err) : NULL;
  if (qtag == NULL)
    return -1;
  path = berth_asprintf(err, "/images/create?fromImage=%s&tag=%s", qrepo, qtag);
  if (path == NULL)
    return -1;
  r.path = path;
  r.timeout_ms = e->timeout_ms * PULL_TIMEOUT_FACTOR;
  if (perform(e, &r, err) < 0) {
    if (ps.pending.overflow) {
      berth_error_release(err);
      berth_error_make(err, BERTH_E_PULL, EFBIG,
                       "pulling %s: a progress message from the engine is larger than %zu bytes",
                       image, PULL_OBJECT_MAX);
    } else {
      berth_error_wrap(err, "pulling %s", image);
      if (*err && (*err)->kind == BERTH_E_ENGINE_REPLY)
        (*err)->kind = BERTH_E_PULL;
    }
    goto out;
  }
  pull_drain(&ps, true);
  if (ps.error != NULL) {
    berth_error_make(err, BERTH_E_PULL, r.status >= 400 ? http_errno(r.status) : EIO,
                     "pulling %s: engine said: %s (HTTP %ld)", image, ps.error, r.status);
    goto out;
  }
  if (r.status >= 400) {
    berth_error_make(err, BERTH_E_PULL, http_errno(r.status), "pulling %s: HTTP %ld from the engine",
                     image, r.status);
    goto out;
  }
  if (ps.malformed) {
    berth_error_make(err, BERTH_E_PULL, EPROTO,
                     "pulling %s: the engine's progress stream is not JSON", image);
    goto out;
  }
  ret = 0;
out:
  free(ps.pending.data);
  free(ps.error);
  return ret;
}

/* ---------------------------------------------------------------- containers */

static int
container_path(const char *id, const char *fmt_suffix, char **out, berth_error_t *err)
{
  cleanup_free char *q = NULL;

  if (id == NULL || *id == '\0')
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "empty container id");
  q = berth_engine_escape(id, err);
  if (q == NULL)
    return -1;
  *out = berth_asprintf(err, "/containers/%s%s", q, fmt_suffix);
  return *out ? 0 : -1;
}

int
berth_engine_container_create(struct berth_engine *e, const char *name, json_t *spec, char **id,
                              berth_error_t *err)
{
  cleanup_free char *q = NULL, *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret = -1;

  *id = NULL;
  if (name != NULL && *name != '\0') {
    q = berth_engine_escape(name, err);
    if (q == NULL || (path = berth_asprintf(err, "/containers/create?name=%s", q)) == NULL)
      return -1;
  } else if ((path = berth_strdup("/containers/create", err)) == NULL) {
    return -1;
  }
  if (request_json(e, "POST", path, spec, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "creating container %s", name ? name : "");
  if (status == 409) {
    const char *m = json_string_value(json_object_get(reply, "message"));
    berth_error_make(err, BERTH_E_CONTAINER, EEXIST,
                     "creating container %s: the name is taken: engine said: %s (HTTP 409)",
                     name ? name : "", m ? m : "conflict");
    goto out;
  }
  if (status < 200 || (status >= 300 && status < 400)) {
    berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                     "creating container %s: unexpected HTTP %ld from the engine", name ? name : "",
                     status);
    goto out;
  }
  if (berth_engine_check(status, reply, BERTH_E_CONTAINER, "creating container", err) < 0) {
    berth_error_wrap(err, "%s", name ? name : "");
    goto out;
  }
  const char *s = json_string_value(json_object_get(reply, "Id"));
  if (s == NULL || *s == '\0') {
    berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "creating container %s: reply has no Id",
                     name ? name : "");
    goto out;
  }
  if ((*id = berth_strdup(s, err)) == NULL)
    goto out;
  ret = 0;
out:
  json_decref(reply);
  return ret;
}

/* A body-less POST; 204 and 304 (already in that state) both count as done. */
static int
container_action(struct berth_engine *e, const char *id, const char *suffix, long timeout_ms,
                 const char *what, berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret;

  if (container_path(id, suffix, &path, err) < 0)
    return -1;
  if (request_json(e, "POST", path, NULL, timeout_ms, &status, &reply, err) < 0)
    return berth_error_wrap(err, "%s container %s", what, id);
  ret = 0;
  if (status >= 400) {
    cleanup_free char *ctx = berth_asprintf(NULL, "%s container %s", what, id);
    ret = berth_engine_check(status, reply, BERTH_E_CONTAINER, ctx ? ctx : what, err);
  }
  json_decref(reply);
  return ret;
}

int
berth_engine_container_start(struct berth_engine *e, const char *id, berth_error_t *err)
{
  return container_action(e, id, "/start", 0, "starting", err);
}

int
berth_engine_container_stop(struct berth_engine *e, const char *id, int timeout_s,
                            berth_error_t *err)
{
  char suffix[32];
  long t;

  if (timeout_s < 0)
    timeout_s = 0;
  snprintf(suffix, sizeof(suffix), "/stop?t=%d", timeout_s);
  /* the engine answers only after the grace period (and the kill) */
  t = e->timeout_ms + (long) timeout_s * 1000;
  return container_action(e, id, suffix, t, "stopping", err);
}

int
berth_engine_container_remove(struct berth_engine *e, const char *id, bool force,
                              berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret = 0;

  if (container_path(id, force ? "?force=1&v=1" : "?v=1", &path, err) < 0)
    return -1;
  /* a forced removal kills first; give it the stop bound as well */
  if (request_json(e, "DELETE", path, NULL, e->timeout_ms * 2, &status, &reply, err) < 0)
    return berth_error_wrap(err, "removing container %s", id);
  if (status != 404 && status >= 400) {
    cleanup_free char *ctx = berth_asprintf(NULL, "removing container %s", id);
    ret = berth_engine_check(status, reply, BERTH_E_CONTAINER, ctx ? ctx : "removing container", err);
  }
  json_decref(reply);
  return ret;
}

int
berth_engine_container_inspect(struct berth_engine *e, const char *id_or_name, json_t **info,
                               berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;

  *info = NULL;
  if (container_path(id_or_name, "/json", &path, err) < 0)
    return -1;
  if (request_json(e, "GET", path, NULL, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "inspecting container %s", id_or_name);
  if (status == 404) {
    json_decref(reply);
    return 0;
  }
  if (berth_engine_check(status, reply, BERTH_E_ENGINE, "inspecting container", err) < 0) {
    json_decref(reply);
    return berth_error_wrap(err, "%s", id_or_name);
  }
  if (!json_is_object(reply)) {
    json_decref(reply);
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "inspecting container %s: the reply is not a JSON object", id_or_name);
  }
  *info = reply;
  return 1;
}

int
berth_engine_container_list(struct berth_engine *e, const char *label, json_t **list,
                            berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;

  *list = NULL;
  if (label != NULL && *label != '\0') {
    json_t *filters = json_pack("{s:[s]}", "label", label);
    cleanup_free char *fj = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
    cleanup_free char *q = NULL;
    json_decref(filters);
    if (fj == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    q = berth_engine_escape(fj, err);
    if (q == NULL)
      return -1;
    path = berth_asprintf(err, "/containers/json?all=1&filters=%s", q);
  } else {
    path = berth_strdup("/containers/json?all=1", err);
  }
  if (path == NULL)
    return -1;
  if (request_json(e, "GET", path, NULL, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "listing containers");
  if (berth_engine_check(status, reply, BERTH_E_ENGINE, "listing containers", err) < 0) {
    json_decref(reply);
    return -1;
  }
  if (!json_is_array(reply)) {
    json_decref(reply);
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "listing containers: the reply is not a JSON array");
  }
  *list = reply;
  return 0;
}

/* ---------------------------------------------------------------- networks */

/* Docker's bridge driver drops traffic between two containers of one
 * network when this is "false" (iptables rules, so only with the daemon's
 * iptables management on, the default).  Podman 4.3's compat service
 * creates the network, warns "is not a recognized option" and drops it:
 * netavark has no such switch. */
#define ICC_OPTION "com.docker.network.bridge.enable_icc"

/* 1 and *isolated when the network exists, 0 when not, -1 on error. */
static int
network_inspect(struct berth_engine *e, const char *q, const char *name, bool *isolated,
                berth_error_t *err)
{
  cleanup_free char *path = berth_asprintf(err, "/networks/%s", q);
  json_t *reply = NULL;
  const char *driver, *icc;
  long status = 0;

  if (path == NULL)
    return -1;
  if (request_json(e, "GET", path, NULL, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "inspecting network %s", name);
  if (status == 404) {
    json_decref(reply);
    return 0;
  }
  if (berth_engine_check(status, reply, BERTH_E_ENGINE, "inspecting network", err) < 0) {
    json_decref(reply);
    return berth_error_wrap(err, "%s", name);
  }
  if (!json_is_object(reply)) {
    json_decref(reply);
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "inspecting network %s: the reply is not a JSON object", name);
  }
  driver = json_string_value(json_object_get(reply, "Driver"));
  icc = json_string_value(json_object_get(json_object_get(reply, "Options"), ICC_OPTION));
  *isolated = driver && strcmp(driver, "bridge") == 0 && icc && strcmp(icc, "false") == 0;
  json_decref(reply);
  return 1;
}

int
berth_engine_network_ensure(struct berth_engine *e, const char *name, bool *isolated,
                            berth_error_t *err)
{
  cleanup_free char *q = NULL;
  json_t *body, *reply = NULL;
  long status = 0;
  int r;

  *isolated = false;
  q = berth_engine_escape(name, err);
  if (q == NULL)
    return -1;
  r = network_inspect(e, q, name, isolated, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  body = json_pack("{s:s, s:s, s:b, s:{s:s}, s:{s:s}}", "Name", name, "Driver", "bridge",
                   "CheckDuplicate", 1, "Options", ICC_OPTION, "false", "Labels", "berth.network",
                   "true");
  if (body == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  r = request_json(e, "POST", "/networks/create", body, 0, &status, &reply, err);
  json_decref(body);
  if (r < 0)
    return berth_error_wrap(err, "creating network %s", name);
  /* 409: another login created it first; what it is, the inspect says */
  if (status != 409 && berth_engine_check(status, reply, BERTH_E_ENGINE, "creating network",
                                          err) < 0) {
    json_decref(reply);
    return berth_error_wrap(err, "%s", name);
  }
  json_decref(reply);
  /* Read back rather than trust the request: an engine may accept the
   * option and not apply it. */
  r = network_inspect(e, q, name, isolated, err);
  if (r == 0)
    return berth_error_make(err, BERTH_E_ENGINE, ENOENT,
                            "network %s: gone right after it was created", name);
  return r < 0 ? -1 : 0;
}

int
berth_engine_archive_put(struct berth_engine *e, const char *id, const char *dir, const void *tar,
                         size_t len, berth_error_t *err)
{
  cleanup_free char *qdir = NULL, *suffix = NULL, *path = NULL;
  struct request r = { .method = "PUT", .versioned = true };
  json_t *reply = NULL;
  int ret;

  qdir = berth_engine_escape(dir, err);
  if (qdir == NULL || (suffix = berth_asprintf(err, "/archive?path=%s", qdir)) == NULL)
    return -1;
  if (container_path(id, suffix, &path, err) < 0)
    return -1;
  r.path = path;
  r.body = tar;
  r.body_len = len;
  r.headers = e->h_tar;
  if (perform(e, &r, err) < 0) {
    free(r.reply.data);
    return berth_error_wrap(err, "copying files to %s in container %s", dir, id);
  }
  reply = parse_json(&r.reply);
  free(r.reply.data);
  r.status = compat_status(r.status, reply);
  ret = 0;
  if (r.status >= 400) {
    cleanup_free char *ctx = berth_asprintf(NULL, "copying files to %s in container %s", dir, id);
    ret = berth_engine_check(r.status, reply, BERTH_E_CONTAINER, ctx ? ctx : "archive put", err);
  }
  json_decref(reply);
  return ret;
}

int
berth_engine_archive_get(struct berth_engine *e, const char *id, const char *path, size_t max,
                         char **tar, size_t *len, berth_error_t *err)
{
  cleanup_free char *qp = NULL, *suffix = NULL, *rpath = NULL;
  struct request r = { .method = "GET", .versioned = true, .max = max ? max : REPLY_MAX };

  *tar = NULL;
  *len = 0;
  qp = berth_engine_escape(path, err);
  if (qp == NULL || (suffix = berth_asprintf(err, "/archive?path=%s", qp)) == NULL)
    return -1;
  if (container_path(id, suffix, &rpath, err) < 0)
    return -1;
  r.path = rpath;
  if (perform(e, &r, err) < 0) {
    free(r.reply.data);
    return berth_error_wrap(err, "copying %s from container %s", path, id);
  }
  if (r.status == 404) {
    free(r.reply.data);
    return 1;
  }
  if (r.status >= 400) {
    json_t *reply = parse_json(&r.reply);
    cleanup_free char *ctx = berth_asprintf(NULL, "copying %s from container %s", path, id);
    berth_engine_check(r.status, reply, BERTH_E_CONTAINER, ctx ? ctx : "archive get", err);
    json_decref(reply);
    free(r.reply.data);
    return -1;
  }
  if (r.reply.data == NULL && (r.reply.data = malloc(1)) == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  *tar = r.reply.data; /* transferred */
  *len = r.reply.len;
  return 0;
}

/* ---------------------------------------------------------------- exec */

int
berth_engine_exec_create(struct berth_engine *e, const char *container, json_t *spec,
                         char **exec_id, berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret = -1;

  *exec_id = NULL;
  if (container_path(container, "/exec", &path, err) < 0)
    return -1;
  if (request_json(e, "POST", path, spec, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "creating exec in container %s", container);
  if (status >= 400) {
    cleanup_free char *ctx = berth_asprintf(NULL, "creating exec in container %s", container);
    berth_engine_check(status, reply, BERTH_E_EXEC, ctx ? ctx : "exec create", err);
    goto out;
  }
  const char *s = json_string_value(json_object_get(reply, "Id"));
  if (s == NULL || *s == '\0') {
    berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                     "creating exec in container %s: reply has no Id (HTTP %ld)", container, status);
    goto out;
  }
  if ((*exec_id = berth_strdup(s, err)) == NULL)
    goto out;
  ret = 0;
out:
  json_decref(reply);
  return ret;
}

int
berth_engine_exec_resize(struct berth_engine *e, const char *exec_id, unsigned rows, unsigned cols,
                         berth_error_t *err)
{
  cleanup_free char *q = NULL, *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret = 0, r;

  if (exec_id == NULL || *exec_id == '\0')
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "empty exec id");
  q = berth_engine_escape(exec_id, err);
  if (q == NULL || (path = berth_asprintf(err, "/exec/%s/resize?h=%u&w=%u", q, rows, cols)) == NULL)
    return -1;
  /* a resize that fails costs a wrong terminal size, not the session: it
   * may not take the last spare connection */
  e->cosmetic = true;
  r = request_json(e, "POST", path, NULL, 0, &status, &reply, err);
  e->cosmetic = false;
  if (r < 0)
    return berth_error_wrap(err, "resizing exec %s", exec_id);
  if (status >= 400)
    ret = berth_engine_check(status, reply, BERTH_E_EXEC, "resizing the terminal", err);
  json_decref(reply);
  return ret;
}

int
berth_engine_exec_inspect(struct berth_engine *e, const char *exec_id, bool *running,
                          int *exit_code, long *pid, berth_error_t *err)
{
  cleanup_free char *q = NULL, *path = NULL;
  json_t *reply = NULL, *v;
  long status = 0;
  int ret = -1;

  if (exec_id == NULL || *exec_id == '\0')
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "empty exec id");
  q = berth_engine_escape(exec_id, err);
  if (q == NULL || (path = berth_asprintf(err, "/exec/%s/json", q)) == NULL)
    return -1;
  if (request_json(e, "GET", path, NULL, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "inspecting exec %s", exec_id);
  if (status >= 400) {
    berth_engine_check(status, reply, BERTH_E_EXEC, "inspecting exec", err);
    goto out;
  }
  v = json_object_get(reply, "Running");
  if (!json_is_object(reply) || !json_is_boolean(v)) {
    berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "inspecting exec %s: reply has no Running",
                     exec_id);
    goto out;
  }
  if (running)
    *running = json_is_true(v);
  /* ExitCode is null while running */
  v = json_object_get(reply, "ExitCode");
  if (exit_code)
    *exit_code = json_is_integer(v) ? (int) json_integer_value(v) : -1;
  v = json_object_get(reply, "Pid");
  if (pid)
    *pid = json_is_integer(v) ? (long) json_integer_value(v) : 0;
  ret = 0;
out:
  json_decref(reply);
  return ret;
}
