/* util.c - ownership helpers and small safe utilities shared by the core. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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
        return berth_error_make(err, BERTH_E_INTERNAL, EFBIG, "%s is larger than %zu bytes", path,
                                max);
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

/* ---------------------------------------------------------------- JSON */

const char *
berth_jstr_path(const json_t *j, ...)
{
  va_list ap;
  const char *key;

  va_start(ap, j);
  while (j != NULL && (key = va_arg(ap, const char *)) != NULL)
    j = json_object_get(j, key);
  va_end(ap);
  return json_string_value(j);
}

/* ---------------------------------------------------------------- buffer */

int
berth_buf_append(struct berth_buf *b, const void *p, size_t n, berth_error_t *err)
{
  if (b->max != 0 && (n > b->max || b->len > b->max - n))
    return berth_error_make(err, BERTH_E_INTERNAL, E2BIG, "more than %zu bytes", b->max);
  if (b->off + b->len + n > b->cap && b->off > 0) {
    /* reuse the consumed front before growing */
    memmove(b->data, b->data + b->off, b->len);
    b->off = 0;
  }
  if (b->data == NULL || b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    char *nd;
    while (cap < b->len + n) {
      if (cap > SIZE_MAX / 2 - 1)
        return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
      cap *= 2;
    }
    nd = realloc(b->data, cap + 1);
    if (nd == NULL)
      return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    b->data = nd;
    b->cap = cap;
  }
  if (n > 0)
    memcpy(b->data + b->off + b->len, p, n);
  b->len += n;
  b->data[b->off + b->len] = '\0';
  return 0;
}

int
berth_buf_append_str(struct berth_buf *b, const char *s, berth_error_t *err)
{
  return berth_buf_append(b, s, strlen(s), err);
}

const char *
berth_buf_bytes(const struct berth_buf *b)
{
  return b->data ? b->data + b->off : "";
}

void
berth_buf_consume(struct berth_buf *b, size_t n)
{
  if (n > b->len)
    n = b->len;
  b->off += n;
  b->len -= n;
  if (b->len == 0)
    b->off = 0;
  if (b->data)
    b->data[b->off + b->len] = '\0';
}

char *
berth_buf_steal(struct berth_buf *b, size_t *len, berth_error_t *err)
{
  char *out;

  if (b->data == NULL && berth_buf_append(b, "", 0, err) < 0)
    return NULL;
  if (b->off > 0)
    memmove(b->data, b->data + b->off, b->len + 1);
  if (len)
    *len = b->len;
  out = steal_pointer(&b->data);
  b->off = b->len = b->cap = 0;
  return out;
}

void
berth_buf_free(struct berth_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->off = b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- paths */

#define PATH_HOPS_MAX 40  /* the kernel's MAXSYMLINKS */
#define PROC_MAGIC 0x9fa0 /* PROC_SUPER_MAGIC */

/* Whether only root can replace `entry` in `dir` (shown as dpath); if
 * not, why, into why. */
static bool
entry_trusted(const struct stat *dir, const struct stat *entry, const char *dpath, char *why,
              size_t n)
{
  if (dir->st_uid != 0) {
    snprintf(why, n, "%s is owned by uid %u, not root", dpath, (unsigned) dir->st_uid);
    return false;
  }
  if (!(dir->st_mode & (S_IWGRP | S_IWOTH)))
    return true;
  /* sticky: only the directory's and the entry's owner may rename or
   * remove the entry (rename over it included) */
  if ((dir->st_mode & S_ISVTX) && entry->st_uid == 0)
    return true;
  if (dir->st_mode & S_ISVTX)
    snprintf(why, n, "it is owned by uid %u in %s, which others can write (mode %04o)",
             (unsigned) entry->st_uid, dpath, (unsigned) (dir->st_mode & 07777));
  else
    snprintf(why, n, "%s is writable by group or others (mode %04o)", dpath,
             (unsigned) (dir->st_mode & 07777));
  return false;
}

static void
path_push(char *done, const char *name)
{
  size_t l = strlen(done);
  snprintf(done + l, PATH_MAX - l, "/%s", name);
}

static void
path_pop(char *done)
{
  char *s = strrchr(done, '/');
  if (s != NULL)
    *s = '\0';
}

/* berth_path_open met the symbolic link `name` in *fd (shown as shown):
 * (lstat'ed into *es) follow it only when root owns it and nobody else can replace it (untrusted:
 * why not, or NULL when it is trusted) and it is not in /proc.  The rest of
 * the walk becomes target + what was left (*todo from *pos); an absolute
 * target restarts at "/". */
static int
follow_link(int *fd, const char *name, const struct stat *es, const char *shown,
            const char *untrusted, char **todo, size_t *pos, char *done, enum berth_error_kind kind,
            berth_error_t *err)
{
  struct statfs fs;
  char target[PATH_MAX];
  char *next_todo;
  ssize_t n;

  if (es->st_uid != 0)
    return berth_error_make(err, kind, ELOOP,
                            "%s is a symbolic link owned by uid %u; berth follows only links "
                            "owned by root in directories only root can write",
                            shown, (unsigned) es->st_uid);
  if (untrusted != NULL)
    return berth_error_make(err, kind, ELOOP,
                            "%s is a symbolic link others could replace: %s; berth follows "
                            "only links owned by root in directories only root can write",
                            shown, untrusted);
  if (fstatfs(*fd, &fs) == 0 && fs.f_type == PROC_MAGIC)
    return berth_error_make(err, kind, ELOOP, "%s: links in /proc are not followed", shown);
  n = readlinkat(*fd, name, target, sizeof(target));
  if (n < 0)
    return berth_error_errno(err, kind, errno, "reading link %s", shown);
  if (n == 0 || (size_t) n >= sizeof(target))
    return berth_error_make(err, kind, n ? ENAMETOOLONG : ENOENT, "%s: unusable link target",
                            shown);
  target[n] = '\0';
  next_todo = berth_asprintf(err, "%s%s", target, *todo + *pos);
  if (next_todo == NULL)
    return -1;
  if (strlen(next_todo) >= PATH_MAX) {
    free(next_todo);
    return berth_error_make(err, kind, ENAMETOOLONG, "%s: path too long after the link", shown);
  }
  free(*todo);
  *todo = next_todo;
  *pos = 0;
  if (target[0] == '/') {
    close(*fd);
    if ((*fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
      return berth_error_errno(err, kind, errno, "opening /");
    done[0] = '\0';
  }
  return 0;
}

/* One step of berth_path_open: open `name` (already lstat'ed into *es) in
 * fd without following links, as the kind flags want for the last
 * component, and check it is still what was looked at. */
static int
open_step(int fd, const char *name, const struct stat *es, bool final, unsigned flags,
          const char *shown, enum berth_error_kind kind, berth_error_t *err)
{
  struct stat ns;
  int next;

  if (final) {
    if (!((S_ISDIR(es->st_mode) && (flags & BERTH_PATH_DIR))
          || (S_ISREG(es->st_mode) && (flags & BERTH_PATH_FILE))))
      return berth_error_make(
          err, kind, S_ISDIR(es->st_mode) ? EISDIR : ENOTDIR, "%s is not a %s", shown,
          (flags & BERTH_PATH_DIR) && (flags & BERTH_PATH_FILE) ? "directory or regular file"
          : (flags & BERTH_PATH_DIR)                            ? "directory"
                                                                : "regular file");
    next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  } else {
    if (!S_ISDIR(es->st_mode))
      return berth_error_make(err, kind, ENOTDIR, "%s is not a directory", shown);
    next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (next < 0)
    return berth_error_errno(err, kind, errno, "opening %s", shown);
  if (fstat(next, &ns) < 0 || ns.st_dev != es->st_dev || ns.st_ino != es->st_ino) {
    close(next);
    return berth_error_make(err, kind, EAGAIN, "%s changed while it was checked", shown);
  }
  return next;
}

/* lstat of name in fd; with BERTH_PATH_MKDIR a missing directory on the
 * way (not the final component) is made, 0700 (*made). */
static int
stat_or_make(int fd, const char *name, struct stat *es, unsigned flags, bool final, bool *made,
             const char *shown, enum berth_error_kind kind, berth_error_t *err)
{
  if (fstatat(fd, name, es, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  if (errno != ENOENT || !(flags & BERTH_PATH_MKDIR) || final)
    return berth_error_errno(err, kind, errno, "%s", shown);
  if (mkdirat(fd, name, 0700) == 0)
    *made = true;
  else if (errno != EEXIST) /* EEXIST: made concurrently */
    return berth_error_errno(err, kind, errno, "creating %s", shown);
  if (fstatat(fd, name, es, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_errno(err, kind, errno, "%s", shown);
  return 0;
}

int
berth_path_open(const char *path, unsigned flags, enum berth_error_kind kind, char **last,
                berth_error_t *err)
{
  cleanup_free char *todo = NULL;
  cleanup_close int fd = -1;
  char done[PATH_MAX] = ""; /* where fd is, for messages; "" is "/" */
  char shown[PATH_MAX + NAME_MAX + 2];
  char why[PATH_MAX + 128];
  size_t pos = 0;
  int hops = 0;

  if (last)
    *last = NULL;
  if (path == NULL || path[0] != '/')
    return berth_error_make(err, kind, EINVAL, "%s: not an absolute path", path ? path : "(none)");
  if (strlen(path) >= PATH_MAX)
    return berth_error_make(err, kind, ENAMETOOLONG, "%.64s...: path too long", path);
  if ((todo = berth_strdup(path, err)) == NULL)
    return -1;
  if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return berth_error_errno(err, kind, errno, "opening /");

  for (;;) {
    char name[NAME_MAX + 1];
    const char *p = todo + pos, *end, *q;
    struct stat ds, es;
    bool final, trusted, made = false;
    int next;

    while (*p == '/')
      p++;
    if (*p == '\0') {
      /* the path ended on a directory that is already open ("/", "x/.") */
      if ((flags & BERTH_PATH_PARENT) || !(flags & BERTH_PATH_DIR))
        return berth_error_make(err, kind, EINVAL, "%s: %s is a directory", path,
                                done[0] ? done : "/");
      return steal_fd(&fd);
    }
    end = strchrnul(p, '/');
    if ((size_t) (end - p) > NAME_MAX)
      return berth_error_make(err, kind, ENAMETOOLONG, "%s: a component is too long", path);
    memcpy(name, p, (size_t) (end - p));
    name[end - p] = '\0';
    pos = (size_t) (end - todo);
    for (q = end; *q == '/'; q++)
      ;
    final = *q == '\0';
    snprintf(shown, sizeof(shown), "%s/%s", done, name);

    if (final && (flags & BERTH_PATH_PARENT)) {
      if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return berth_error_make(err, kind, EINVAL, "%s: ends in \"%s\"", path, name);
      if (last && (*last = berth_strdup(name, err)) == NULL)
        return -1;
      return steal_fd(&fd);
    }
    if (strcmp(name, ".") == 0)
      continue;
    if (strcmp(name, "..") == 0) {
      /* every directory above was walked through, so it was checked */
      next = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (next < 0)
        return berth_error_errno(err, kind, errno, "%s: opening %s/..", path, done);
      close(fd);
      fd = next;
      path_pop(done);
      continue;
    }

    if (fstat(fd, &ds) < 0)
      return berth_error_errno(err, kind, errno, "%s: stat %s", path, done[0] ? done : "/");
    if (stat_or_make(fd, name, &es, flags, final, &made, shown, kind, err) < 0)
      return -1;
    trusted = entry_trusted(&ds, &es, done[0] ? done : "/", why, sizeof(why));

    if (S_ISLNK(es.st_mode)) {
      if (++hops > PATH_HOPS_MAX)
        return berth_error_make(err, kind, ELOOP, "%s: too many levels of symbolic links", path);
      if (follow_link(&fd, name, &es, shown, trusted ? NULL : why, &todo, &pos, done, kind, err)
          < 0)
        return -1;
      continue;
    }
    if ((flags & BERTH_PATH_TRUSTED) && !trusted)
      return berth_error_make(err, kind, EPERM,
                              "%s could be replaced by someone other than root: %s", shown, why);

    next = open_step(fd, name, &es, final, flags, shown, kind, err);
    if (next < 0)
      return -1;
    close(fd);
    fd = next;
    /* made 0700 and only then opened up, so the umask does not matter and
     * nobody uses it half-made */
    if (made && (fchown(fd, 0, 0) < 0 || fchmod(fd, 0755) < 0))
      return berth_error_errno(err, kind, errno, "setting owner and mode of %s", shown);
    if (final)
      return steal_fd(&fd);
    path_push(done, name);
  }
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
  case 'k':
  case 'K':
    mul = 1024;
    end++;
    break;
  case 'm':
  case 'M':
    mul = 1024 * 1024;
    end++;
    break;
  case 'g':
  case 'G':
    mul = 1024LL * 1024 * 1024;
    end++;
    break;
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
