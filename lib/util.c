/* util.c - ownership helpers and small safe utilities shared by the core. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth/util.h"

void
berth_freep(void *p)
{
  free(*(void **) p);
}

void
berth_closep(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

void
berth_strv_freep(char ***v)
{
  berth_strv_free(*v);
}

void *
berth_malloc0(size_t n, berth_error_t *err)
{
  void *p = calloc(1, n ? n : 1);
  if (p == NULL)
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return p;
}

char *
berth_strdup(const char *s, berth_error_t *err)
{
  char *p = strdup(s ? s : "");
  if (p == NULL)
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return p;
}

char *
berth_asprintf(berth_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *p = NULL;
  va_start(ap, fmt);
  if (vasprintf(&p, fmt, ap) < 0)
    p = NULL;
  va_end(ap);
  if (p == NULL)
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return p;
}

size_t
berth_strv_len(char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

void
berth_strv_free(char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

char **
berth_strv_dup(char *const *v, berth_error_t *err)
{
  size_t n = berth_strv_len(v);
  cleanup_strv char **out = berth_malloc0((n + 1) * sizeof(char *), err);
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    out[i] = berth_strdup(v[i], err);
    if (out[i] == NULL)
      return NULL;
  }
  return steal_pointer(&out);
}

bool
berth_strv_contains(char *const *v, const char *s)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp(v[i], s) == 0)
      return true;
  return false;
}

int
berth_write_all(int fd, const void *buf, size_t len, berth_error_t *err)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return berth_error_errno(err, BERTH_E_INTERNAL, errno, "write");
    }
    p += w;
    len -= (size_t) w;
  }
  return 0;
}

int
berth_read_file(const char *path, size_t max, char **out, size_t *len, berth_error_t *err)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  cleanup_free char *buf = NULL;
  size_t used = 0, cap = 0;

  if (fd < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "open %s", path);
  for (;;) {
    ssize_t r;
    if (used == cap) {
      char *nb;
      if (cap >= max)
        return berth_error_make(err, BERTH_E_INTERNAL, EFBIG, "%s is larger than %zu bytes", path, max);
      cap = cap ? cap * 2 : 4096;
      if (cap > max)
        cap = max;
      nb = realloc(buf, cap + 1);
      if (nb == NULL)
        return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      buf = nb;
    }
    r = read(fd, buf + used, cap - used);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return berth_error_errno(err, BERTH_E_INTERNAL, errno, "read %s", path);
    }
    if (r == 0)
      break;
    used += (size_t) r;
  }
  if (buf == NULL && (buf = malloc(1)) == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  buf[used] = '\0';
  if (len)
    *len = used;
  *out = steal_pointer(&buf);
  return 0;
}

int
berth_parse_size(const char *s, int64_t *out)
{
  char *end = NULL;
  long long v;
  int64_t mul = 1;

  if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
    return -1;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || v < 0)
    return -1;
  switch (*end) {
  case '\0': break;
  case 'k': case 'K': mul = 1024; end++; break;
  case 'm': case 'M': mul = 1024 * 1024; end++; break;
  case 'g': case 'G': mul = 1024LL * 1024 * 1024; end++; break;
  default: return -1;
  }
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end != '\0')
    return -1;
  if (v > INT64_MAX / mul)
    return -1;
  *out = (int64_t) v * mul;
  return 0;
}

int64_t
berth_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
