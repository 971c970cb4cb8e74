/* http.c - HTTP/1.1 for the engine client (http.h): one request builder, the
 * strict response-head parser, the header getter, chunked decoding, the API
 * version parser, and the small reply reader used on connections libcurl
 * cannot take (the hijacked exec start, the pinned engine's spares). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "berth/http.h"
#include "berth/util.h"

#define HEAD_MAX BERTH_HTTP_HEAD_MAX

/* ---------------------------------------------------------------- head */

static bool
is_tchar(unsigned char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* "HTTP/1.x NNN[ reason]" */
static int
parse_status_line(const char *l, size_t n, int *status, berth_error_t *err)
{
  if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' || l[7] > '9' || l[8] != ' '
      || l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9'
      || (n > 12 && l[12] != ' '))
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "malformed HTTP status line from the engine: %.*s",
                            (int) (n > 80 ? 80 : n), l);
  for (size_t i = 13; i < n; i++)
    if ((unsigned char) l[i] < 0x20 && l[i] != '\t')
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                              "control character in the engine's HTTP status line");
  *status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  return 0;
}

static int
check_header_line(const char *l, size_t n, berth_error_t *err)
{
  size_t i = 0;

  /* obsolete line folding (a leading blank) and empty names are refused */
  while (i < n && is_tchar((unsigned char) l[i]))
    i++;
  if (i == 0 || i == n || l[i] != ':')
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "malformed HTTP header line from the engine: %.*s",
                            (int) (n > 80 ? 80 : n), l);
  for (i++; i < n; i++)
    if (((unsigned char) l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                              "control character in an HTTP header from the engine");
  return 0;
}

long
berth_http_parse_head(const char *buf, size_t len, int *status, berth_error_t *err)
{
  size_t scan = len < HEAD_MAX ? len : HEAD_MAX;
  size_t start = 0;
  bool first = true;

  /* refuse garbage as soon as it shows, not only once a full line arrived */
  if (memcmp(buf, "HTTP/1.", scan < 7 ? scan : 7) != 0)
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                            "the engine's reply does not start with an HTTP/1 status line");
  for (size_t i = 0; i < scan; i++) {
    if (buf[i] == '\0')
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                              "NUL byte in the engine's HTTP head");
    if (buf[i] == '\r') {
      if (i + 1 < scan && buf[i + 1] != '\n')
        return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                                "bare CR in the engine's HTTP head");
      continue;
    }
    if (buf[i] != '\n')
      continue;
    if (i == 0 || buf[i - 1] != '\r')
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                              "bare LF in the engine's HTTP head");
    size_t n = i - 1 - start; /* line without CRLF */
    if (first) {
      if (parse_status_line(buf + start, n, status, err) < 0)
        return -1;
      first = false;
    } else if (n == 0) {
      return (long) (i + 1);
    } else if (check_header_line(buf + start, n, err) < 0) {
      return -1;
    }
    start = i + 1;
  }
  if (len >= HEAD_MAX)
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EMSGSIZE,
                            "the engine's HTTP head is larger than %d bytes", HEAD_MAX);
  return 0;
}

bool
berth_http_header_line(const char *line, size_t n, const char *name, char *out, size_t outsz)
{
  size_t nlen = strlen(name);
  const char *v, *e = line + n;

  if (n <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
    return false;
  v = line + nlen + 1;
  while (v < e && (*v == ' ' || *v == '\t'))
    v++;
  while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
    e--;
  if ((size_t) (e - v) >= outsz)
    return false;
  memcpy(out, v, (size_t) (e - v));
  out[e - v] = '\0';
  return true;
}

bool
berth_http_header(const char *head, size_t head_len, const char *name, char *out, size_t outsz)
{
  const char *p = memchr(head, '\n', head_len); /* skip the status line */

  while (p != NULL && (size_t) (p + 1 - head) < head_len) {
    const char *line = p + 1;
    const char *eol = memchr(line, '\r', head_len - (size_t) (line - head));
    if (eol == NULL || eol == line)
      break;
    if (berth_http_header_line(line, (size_t) (eol - line), name, out, outsz))
      return true;
    p = eol + 1;
  }
  return false;
}

/* ---------------------------------------------------------------- body */

/* Chunked framing (RFC 9112 7.1): each chunk is HEX[;ext]CRLF, the data,
 * and CRLF; a zero-size chunk, trailer lines and an empty line end it.  A
 * chunk whose data is not followed by exactly CRLF is malformed: accepting
 * it would let the bytes there be read as the next chunk's size by us and
 * as data by anyone else. */
int
berth_http_dechunk(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
                   size_t *consumed)
{
  size_t pos = 0, o = 0;

  for (;;) {
    const char *eol = memchr(in + pos, '\n', len - pos);
    size_t i = pos, digits;
    unsigned long sz = 0;

    if (eol == NULL)
      return len - pos > 32 ? -1 : 0;
    while (in + i < eol && isxdigit((unsigned char) in[i])) {
      if (sz > (ULONG_MAX >> 4))
        return -1;
      sz = sz * 16
           + (unsigned long) (isdigit((unsigned char) in[i]) ? in[i] - '0'
                                                             : (in[i] | 0x20) - 'a' + 10);
      i++;
    }
    digits = i - pos;
    /* HEX CRLF, or HEX ;extension CRLF */
    if (digits == 0 || (in[i] != '\r' && in[i] != ';') || eol == in + pos || eol[-1] != '\r'
        || (in[i] == '\r' && in + i + 1 != eol))
      return -1;
    pos = (size_t) (eol - in) + 1;
    if (sz == 0) {
      *outlen = o;
      if (consumed == NULL)
        return 1; /* trailers, if any, do not matter */
      for (;;) {  /* trailer lines, then the empty line */
        const char *l = memchr(in + pos, '\n', len - pos);
        if (l == NULL)
          return len - pos > HEAD_MAX ? -1 : 0;
        bool empty = l == in + pos || (l == in + pos + 1 && in[pos] == '\r');
        pos = (size_t) (l - in) + 1;
        if (empty) {
          *consumed = pos;
          return 1;
        }
      }
    }
    if (sz > len - pos || len - pos - sz < 2)
      return 0;
    if (in[pos + sz] != '\r' || in[pos + sz + 1] != '\n')
      return -1;
    size_t take = sz < outsz - o ? sz : outsz - o;
    if (out != NULL) /* memmove: decoding in place is allowed */
      memmove(out + o, in + pos, take);
    o += take;
    pos += sz + 2;
  }
}

/* ---------------------------------------------------------------- small parts */

bool
berth_http_parse_api_version(const char *s, int *major, int *minor)
{
  char *end;
  long ma, mi;

  if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 15)
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

char *
berth_http_escape(const char *s, const char *keep, berth_error_t *err)
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
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
        || strchr("-._~", *p) != NULL || (keep != NULL && strchr(keep, *p) != NULL)) {
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

int
berth_http_errno(long status)
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

char *
berth_http_request_head(const char *method, const char *target, const char *ctype,
                        const char *extra, long body_len, berth_error_t *err)
{
  char clen[48] = "";

  if (body_len >= 0)
    snprintf(clen, sizeof(clen), "Content-Length: %ld\r\n", body_len);
  return berth_asprintf(err,
                        "%s %s HTTP/1.1\r\n"
                        "Host: localhost\r\n"
                        "User-Agent: berth/" PACKAGE_VERSION "\r\n"
                        "%s%s%s%s%s\r\n",
                        method, target, ctype ? "Content-Type: " : "", ctype ? ctype : "",
                        ctype ? "\r\n" : "", extra ? extra : "", clen);
}

/* ---------------------------------------------------------------- reply reader */

struct reader {
  char *acc;
  size_t cap, n, limit, max;
  long head_len, clen;
  bool chunked, until_eof, close_after;
  int status;
  size_t end; /* set once the reply is complete */
};

/* Once the head is in: how the body is framed. */
static int
frame_body(struct reader *r, berth_error_t *err)
{
  char value[64];
  size_t hl = (size_t) r->head_len;

  if (berth_http_header(r->acc, hl, "Connection", value, sizeof(value))
      && strcasecmp(value, "close") == 0)
    r->close_after = true;
  if (berth_http_header(r->acc, hl, "Transfer-Encoding", value, sizeof(value))) {
    if (strcasecmp(value, "chunked") != 0)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                              "unsupported transfer encoding '%s' from the engine", value);
    r->chunked = true;
  } else if (berth_http_header(r->acc, hl, "Content-Length", value, sizeof(value))) {
    char *e;
    errno = 0;
    r->clen = strtol(value, &e, 10);
    if (errno != 0 || *e != '\0' || r->clen < 0)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                              "bad Content-Length '%s' from the engine", value);
    if ((unsigned long) r->clen > r->max)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                              "the engine's reply is larger than %zu bytes", r->max);
  } else if (r->status == 204 || r->status == 304 || r->status / 100 == 1) {
    r->clen = 0;
  } else {
    r->until_eof = true;
  }
  return 0;
}

/* 1 when the reply in r->acc is complete (r->end set), 0 when more is
 * needed, -1 on error. */
static int
reader_step(struct reader *r, berth_error_t *err)
{
  if (r->head_len == 0) {
    r->head_len = berth_http_parse_head(r->acc, r->n, &r->status, err);
    if (r->head_len <= 0)
      return r->head_len < 0 ? -1 : 0;
    if (frame_body(r, err) < 0)
      return -1;
  }
  size_t hl = (size_t) r->head_len, blen = r->n - hl;
  if (r->chunked) {
    size_t olen = 0, used = 0;
    /* scan until complete, then decode in place (the output never
     * overtakes the input) */
    int d = berth_http_dechunk(r->acc + hl, blen, NULL, blen, &olen, &used);
    if (d < 0)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO,
                              "malformed chunked reply from the engine");
    if (d == 0)
      return 0;
    if (olen > r->max)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                              "the engine's reply is larger than %zu bytes", r->max);
    berth_http_dechunk(r->acc + hl, blen, r->acc + hl, blen, &olen, &used);
    if (hl + used != r->n)
      r->close_after = true; /* bytes beyond the reply: out of step */
    r->end = hl + olen;
    return 1;
  }
  if (r->clen >= 0 && blen >= (size_t) r->clen) {
    if (blen > (size_t) r->clen)
      r->close_after = true;
    r->end = hl + (size_t) r->clen;
    return 1;
  }
  if (r->until_eof && blen > r->max)
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                            "the engine's reply is larger than %zu bytes", r->max);
  return 0;
}

static int
reader_grow(struct reader *r, size_t want, berth_error_t *err)
{
  size_t ncap = r->cap ? r->cap * 2 : 16384;
  char *q;

  while (ncap < want)
    ncap *= 2;
  if (r->cap >= r->limit || want > r->limit)
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EFBIG,
                            "the engine's reply is larger than %zu bytes", r->max);
  if (ncap > r->limit)
    ncap = r->limit;
  q = realloc(r->acc, ncap + 1);
  if (q == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  r->acc = q;
  r->cap = ncap;
  return 0;
}

int
berth_http_read_reply(struct berth_conn *c, const char *have, size_t n_have, size_t max,
                      int64_t deadline, int *status, char **reply, size_t *reply_len,
                      bool *reusable, berth_error_t *err)
{
  /* a chunked body carries framing overhead on top of max */
  struct reader r
      = { .max = max,
          .clen = -1,
          .limit = max > (SIZE_MAX - 2 * HEAD_MAX) / 2 ? SIZE_MAX / 2 : max * 2 + 2 * HEAD_MAX };
  int done = 0;

  *reply = NULL;
  *reply_len = 0;
  *reusable = false;
  if (n_have > 0) {
    if (reader_grow(&r, n_have, err) < 0)
      goto fail;
    memcpy(r.acc, have, n_have);
    r.n = n_have;
    done = reader_step(&r, err);
  }
  while (done == 0) {
    if (r.n == r.cap && reader_grow(&r, r.n + 1, err) < 0)
      goto fail;
    ssize_t got = berth_conn_recv_wait(c, r.acc + r.n, r.cap - r.n, deadline, err);
    if (got < 0) {
      if (r.n == 0 && (*err)->status == ECONNRESET) {
        berth_error_release(err);
        free(r.acc);
        return 1;
      }
      goto fail;
    }
    if (got == 0) {
      if (r.n == 0) {
        free(r.acc);
        return 1; /* closed unanswered: the request was not taken */
      }
      if (r.until_eof && r.head_len > 0) {
        r.end = r.n;
        break;
      }
      berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ECONNRESET,
                       "the engine closed the connection in the middle of its reply");
      goto fail;
    }
    r.n += (size_t) got;
    done = reader_step(&r, err);
  }
  if (done < 0)
    goto fail;
  *status = r.status;
  *reply_len = r.end - (size_t) r.head_len;
  memmove(r.acc, r.acc + r.head_len, *reply_len);
  r.acc[*reply_len] = '\0';
  *reply = r.acc; /* transferred */
  *reusable = !r.close_after && !r.until_eof;
  return 0;

fail:
  free(r.acc);
  return -1;
}

int
berth_http_raw_request(struct berth_conn *c, const char *head, const char *body, size_t body_len,
                       size_t max, long timeout_ms, int *status, char **reply, size_t *reply_len,
                       bool *reusable, berth_error_t *err)
{
  int64_t deadline = timeout_ms > 0 ? berth_now_ms() + timeout_ms : -1;
  berth_error_t idle = NULL;

  *reply = NULL;
  *reply_len = 0;
  *reusable = false;
  /* A kept connection the engine closed while idle reads EOF; one with
   * stray bytes is out of step.  Either way: not this one. */
  if (berth_conn_wait(c, POLLIN, berth_now_ms(), &idle) == 0
      || idle->kind != BERTH_E_ENGINE_TIMEOUT) {
    berth_error_release(&idle);
    return 1;
  }
  berth_error_release(&idle);
  if (berth_conn_send_all(c, head, strlen(head), deadline, err) < 0
      || (body_len > 0 && berth_conn_send_all(c, body, body_len, deadline, err) < 0)) {
    if ((*err)->status == EPIPE || (*err)->status == ECONNRESET) {
      berth_error_release(err);
      return 1;
    }
    return -1;
  }
  return berth_http_read_reply(c, NULL, 0, max, deadline, status, reply, reply_len, reusable, err);
}
