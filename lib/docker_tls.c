/* docker_tls.c - the Docker backend's requests to a tcp:// engine: libcurl
 * over https with mutual TLS (engine.tls = { ca; cert; key; }), and the
 * one-line reasons a failed handshake gets.
 *
 * Trust is engine.tls.ca alone: CURLOPT_CAPATH is cleared, or Debian's
 * libcurl would also trust every public CA under /etc/ssl/certs, and any
 * certificate a public CA issued for the engine's name would pass.  The peer
 * and its name (DNS or IP subjectAltName) are verified; TLS >= 1.2.  The key
 * is read when the connection is made: before berth_engine_pin_connection,
 * so as root, and never again (no connection is opened after the pin). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/util.h"
#include "docker.h"

struct docker_tls {
  struct berth_endpoint ep; /* strings below, owned */
  char *host, *ca, *cert, *key;
  char *url; /* https://host:port */
};

int
docker_tls_new(struct docker *d, const struct berth_endpoint *ep, berth_error_t *err)
{
  struct docker_tls *t;
  char name[300];
  bool v6 = strchr(ep->host, ':') != NULL;

  if (ep->ca == NULL || ep->cert == NULL || ep->key == NULL)
    return berth_error_make(err, BERTH_E_CONFIG, EINVAL,
                            "the engine at tcp://%s:%u has no engine.tls: plain TCP is refused",
                            ep->host, ep->port);
  if (berth_tls_client_cert_check(ep->cert, err) < 0)
    return -1;
  t = berth_malloc0(sizeof(*t), err);
  if (t == NULL)
    return -1;
  d->tls = t;
  t->host = berth_strdup(ep->host, err);
  t->ca = t->host ? berth_strdup(ep->ca, err) : NULL;
  t->cert = t->ca ? berth_strdup(ep->cert, err) : NULL;
  t->key = t->cert ? berth_strdup(ep->key, err) : NULL;
  t->url = t->key
               ? berth_asprintf(err, v6 ? "https://[%s]:%u" : "https://%s:%u", ep->host, ep->port)
               : NULL;
  if (t->url == NULL)
    return -1;
  t->ep = (struct berth_endpoint){
    .host = t->host, .port = ep->port, .ca = t->ca, .cert = t->cert, .key = t->key
  };
  d->base_url = t->url;
  d->socket_path = berth_strdup(berth_endpoint_name(&t->ep, name, sizeof(name)), err);
  return d->socket_path ? 0 : -1;
}

void
docker_tls_free(struct docker *d)
{
  struct docker_tls *t = d->tls;

  if (t == NULL)
    return;
  free(t->host);
  free(t->ca);
  free(t->cert);
  free(t->key);
  free(t->url);
  free(t);
  d->tls = NULL;
}

#define TLSOPT(opt, val)                                        \
  do {                                                          \
    if ((rc = curl_easy_setopt(d->curl, opt, val)) != CURLE_OK) \
      return rc;                                                \
  } while (0)

CURLcode
docker_tls_apply(struct docker *d)
{
  const struct docker_tls *t = d->tls;
  CURLcode rc;

  TLSOPT(CURLOPT_CAINFO, t->ca);
  TLSOPT(CURLOPT_CAPATH, (char *) NULL);
  TLSOPT(CURLOPT_SSLCERT, t->cert);
  TLSOPT(CURLOPT_SSLCERTTYPE, "PEM");
  TLSOPT(CURLOPT_SSLKEY, t->key);
  TLSOPT(CURLOPT_SSLKEYTYPE, "PEM");
  TLSOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  TLSOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  TLSOPT(CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
  /* one connection per engine object: no TLS session reuse to think about */
  TLSOPT(CURLOPT_SSL_SESSIONID_CACHE, 0L);
  return CURLE_OK;
}

/* A failed first request: ask the engine once more, this time waiting for
 * its verdict on the client certificate.  Only while new connections may
 * still be opened (before the pin: root, the key readable). */
static int
diagnose(struct docker *d, const char *what, berth_error_t *err)
{
  struct berth_conn *c = NULL;
  berth_error_t e = NULL;

  if (d->pinned)
    return 0;
  if (berth_conn_open_checked(&d->tls->ep, d->timeout_ms < 3000 ? d->timeout_ms : 3000, &c, &e)
      == 0) {
    berth_conn_free(c);
    return 0;
  }
  berth_error_make(err, e->kind, e->status, "%s: %s", what, e->msg);
  berth_error_release(&e);
  return -1;
}

int
docker_tls_failed(struct docker *d, CURLcode rc, const char *what, const char *detail,
                  berth_error_t *err)
{
  const char *where = d->socket_path;

  switch (rc) {
  case CURLE_PEER_FAILED_VERIFICATION:
    if (strstr(detail, "host name") != NULL || strstr(detail, "subject name") != NULL)
      return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPERM,
                              "%s: the engine at %s: its certificate does not name the engine "
                              "host (name mismatch): %s",
                              what, where, detail);
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPERM,
                            "%s: the engine at %s: its certificate is not trusted by "
                            "engine.tls.ca: %s",
                            what, where, detail);
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EINVAL,
                            "%s: cannot use the TLS files of the engine at %s: %s", what, where,
                            detail);
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
    /* TLS 1.3: the engine's verdict on our certificate is an alert read
     * after the handshake, so it surfaces as a failed read, or (when the
     * engine's close overtakes it) as a broken connection */
    if (strstr(detail, "alert") != NULL)
      return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EACCES,
                              "%s: the engine at %s rejected the client certificate %s: %s", what,
                              where, d->tls->cert, detail);
    if (diagnose(d, what, err) < 0)
      return -1;
    if (rc == CURLE_SSL_CONNECT_ERROR)
      return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPROTO,
                              "%s: TLS handshake with the engine at %s failed: %s", what, where,
                              detail);
    return 0;
  default: return 0;
  }
}

int
docker_conn_open(struct docker *d, struct berth_conn **out, berth_error_t *err)
{
  if (d->tls != NULL)
    return berth_conn_open(&d->tls->ep, d->timeout_ms, out, err);
  return berth_conn_open_unix(d->socket_path, d->timeout_ms, out, err);
}
