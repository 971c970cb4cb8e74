/* names.c - %-template expansion and the mapping of user-derived strings to
 * container names and hostnames that never collide for different users. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/sha256.h"
#include "berth/user.h"
#include "berth/util.h"

#define HASH_LEN 8  /* hex digits of SHA-256(original) in a suffix */
#define HOST_MAX 63 /* one DNS label (RFC 1123) */

static bool
is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_hex_lower(char c)
{
  return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

/* A user-derived value (a name from NSS or LDAP, a home) must not change
 * which directory a path template names: a user or group called "." or ".."
 * would turn "/srv/%u" into "/srv/." (all of /srv) or "/srv/.." (/).  So a
 * path component of the result that is "", "." or ".." and holds, or is
 * bounded by, a substituted byte is refused.  taint[i] is 1 for the bytes
 * that came from %u %g %h (numbers cannot form such a component).  The empty
 * component before a leading '/' is the root, not a hole. */
static int
check_components(const char *tmpl, const char *out, const char *taint, size_t len,
                 berth_error_t *err)
{
  for (size_t b = 0; b <= len;) {
    size_t e = b;
    bool tainted;

    while (e < len && out[e] != '/')
      e++;
    tainted = (b > 0 && taint[b - 1]) || (e < len && taint[e]);
    for (size_t i = b; i < e && !tainted; i++)
      tainted = taint[i];
    if (tainted && !(b == 0 && e == 0)
        && (e == b || (e - b == 1 && out[b] == '.')
            || (e - b == 2 && out[b] == '.' && out[b + 1] == '.')))
      return berth_error_make(err, BERTH_E_USER, EINVAL,
                              "template \"%s\" expands to \"%s\": the path component \"%.*s\" "
                              "is refused (it comes from a user or group name or a home)",
                              tmpl, out, (int) (e - b), out + b);
    b = e + 1;
  }
  return 0;
}

/* s into f, and as many 1s (user-derived) or 0s into t. */
static void
put(FILE *f, FILE *t, const char *s, bool derived)
{
  fputs(s, f);
  for (; *s; s++)
    fputc(derived, t);
}

char *
berth_expand_template(const char *tmpl, const struct berth_user *u, berth_error_t *err)
{
  cleanup_free char *out = NULL;
  cleanup_free char *taint = NULL;
  size_t len = 0, tlen = 0;
  FILE *f, *t;
  char num[16];
  long before;

  if (tmpl == NULL || u == NULL || u->name == NULL || u->home == NULL) {
    berth_error_make(err, BERTH_E_CONFIG, EINVAL, "missing template or user");
    return NULL;
  }
  f = open_memstream(&out, &len);
  t = f ? open_memstream(&taint, &tlen) : NULL;
  if (t == NULL) {
    if (f)
      fclose(f);
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    return NULL;
  }
  for (const char *p = tmpl; *p; p++) {
    if (*p != '%') {
      char c[2] = { *p, '\0' };
      put(f, t, c, false);
      continue;
    }
    before = ftell(f);
    switch (p[1]) {
    case 'u': put(f, t, u->name, true); break;
    case 'U':
      snprintf(num, sizeof(num), "%u", (unsigned) u->uid);
      put(f, t, num, false);
      break;
    case 'g':
      if (u->group != NULL) {
        put(f, t, u->group, true);
        break;
      }
      /* an unnamed group is its gid */
      __attribute__((fallthrough));
    case 'G':
      snprintf(num, sizeof(num), "%u", (unsigned) u->gid);
      put(f, t, num, false);
      break;
    case 'h': put(f, t, u->home, true); break;
    case '%': put(f, t, "%", false); break;
    case '\0':
      fclose(f);
      fclose(t);
      berth_error_make(err, BERTH_E_CONFIG, EINVAL,
                       "template \"%s\": lone '%%' at the end (write %%%% for a literal '%%')",
                       tmpl);
      return NULL;
    default:
      fclose(f);
      fclose(t);
      berth_error_make(err, BERTH_E_CONFIG, EINVAL,
                       "template \"%s\": unknown escape %%%c (known: %%u %%U %%g %%G %%h %%%%)",
                       tmpl, p[1]);
      return NULL;
    }
    if (strchr("ugh", p[1]) != NULL && ftell(f) == before) {
      /* an empty name or home would make a hole: "/srv/%u/x" -> "/srv//x" */
      fclose(f);
      fclose(t);
      berth_error_make(err, BERTH_E_USER, EINVAL,
                       "template \"%s\": %%%c is empty for this user (a path component "
                       "\"\" is refused)",
                       tmpl, p[1]);
      return NULL;
    }
    p++;
  }
  if (fclose(f) != 0 || fclose(t) != 0 || out == NULL || taint == NULL || tlen != len) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    return NULL;
  }
  if (check_components(tmpl, out, taint, len, err) < 0)
    return NULL;
  return steal_pointer(&out);
}

/* body (at most keep bytes of it) + "-" + HASH_LEN hex of SHA-256(orig). */
static char *
with_hash(const char *body, size_t keep, const char *orig, berth_error_t *err)
{
  char hex[65];
  size_t blen = strlen(body);

  berth_sha256_hex(orig, strlen(orig), hex);
  hex[HASH_LEN] = '\0';
  if (blen > keep)
    blen = keep;
  return berth_asprintf(err, "%.*s-%s", (int) blen, body, hex);
}

/* True when s ends like a hash suffix: an unchanged name that merely looks
 * hashed gets a real suffix too, so unchanged and hashed names can never be
 * equal. */
static bool
ends_like_hash(const char *s)
{
  size_t n = strlen(s);
  if (n < HASH_LEN + 1 || s[n - HASH_LEN - 1] != '-')
    return false;
  for (size_t i = n - HASH_LEN; i < n; i++)
    if (!is_hex_lower(s[i]))
      return false;
  return true;
}

/* A zeroed buffer for the sanitized form of name, extra bytes longer than
 * it; an empty name (what it names, in the error) is refused. */
static char *
sanitize_buf(const char *name, const char *what, size_t extra, berth_error_t *err)
{
  if (name == NULL || name[0] == '\0') {
    berth_error_make(err, BERTH_E_CONFIG, EINVAL, "%s is empty", what);
    return NULL;
  }
  return berth_malloc0(strlen(name) + extra, err);
}

/* Docker accepts names matching [a-zA-Z0-9][a-zA-Z0-9_.-]+ (case kept, at
 * least two characters).  Every other byte (including each byte of a UTF-8
 * sequence) becomes '_'; a leading non-alphanumeric gets an "x" prefix. */
char *
berth_sanitize_name(const char *name, berth_error_t *err)
{
  cleanup_free char *body = NULL;
  size_t n, off = 0;
  bool changed = false;

  body = sanitize_buf(name, "container name", 2, err);
  if (body == NULL)
    return NULL;
  n = strlen(name);
  if (!is_alnum(name[0])) {
    body[off++] = 'x';
    changed = true;
  }
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-') {
      c = '_';
      changed = true;
    }
    body[off++] = c;
  }
  body[off] = '\0';
  if (off < 2 || ends_like_hash(body))
    changed = true;
  if (!changed && off <= BERTH_NAME_MAX)
    return steal_pointer(&body);
  return with_hash(body, BERTH_NAME_MAX - HASH_LEN - 1, name, err);
}

/* Hostnames are one lowercase DNS label.  They are cosmetic (not an
 * identity), so the readable mappings - case folding and '.', '_', '@' to
 * '-' - add no suffix; anything that drops information beyond that (other
 * bytes, trimmed '-', truncation) does, so distinct users stay distinct. */
char *
berth_sanitize_hostname(const char *name, berth_error_t *err)
{
  cleanup_free char *body = NULL;
  size_t n, off = 0, start = 0;
  bool lossy = false;

  body = sanitize_buf(name, "hostname", 1, err);
  if (body == NULL)
    return NULL;
  n = strlen(name);
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z')
      c = (char) (c - 'A' + 'a');
    else if (c == '.' || c == '_' || c == '@')
      c = '-';
    else if (!is_alnum(c) && c != '-') {
      c = '-';
      lossy = true;
    }
    body[off++] = c;
  }
  body[off] = '\0';
  while (body[start] == '-')
    start++;
  while (off > start && body[off - 1] == '-')
    body[--off] = '\0';
  if (start > 0 || off < n)
    lossy = true;
  if (off == start) {
    /* nothing usable left: still a valid, distinct label */
    return with_hash("host", 4, name, err);
  }
  if (ends_like_hash(body + start))
    lossy = true;
  if (!lossy && off - start <= HOST_MAX)
    return berth_strdup(body + start, err);
  {
    size_t keep = HOST_MAX - HASH_LEN - 1;
    /* the cut must not leave a '-' before the suffix's own '-' */
    if (off - start > keep)
      body[start + keep] = '\0';
    for (size_t m = strlen(body + start); m > 0 && body[start + m - 1] == '-'; m--)
      body[start + m - 1] = '\0';
    if (body[start] == '\0')
      return with_hash("host", 4, name, err);
    return with_hash(body + start, keep, name, err);
  }
}
