/* util.h - the small helpers every module shares, in one place: ownership
 * (cleanup attributes, steal_pointer, steal_fd), JSON member access, one
 * growable byte buffer, string vectors, whole-file I/O, trusted path
 * resolution, sizes and the monotonic clock. */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include "berth/error.h"

void berth_freep(void *p);
void berth_closep(int *fd);
void berth_strv_freep(char ***v);
#define cleanup_free __attribute__((cleanup(berth_freep)))
#define cleanup_close __attribute__((cleanup(berth_closep)))
#define cleanup_strv __attribute__((cleanup(berth_strv_freep)))
/* jansson's own json_decrefp (the same definition loginshell/berthctl.c has) */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* Hand ownership out of a function: returns *pp and sets *pp = NULL. */
static inline void *
berth_steal_pointer(void *pp)
{
  void **p = (void **) pp;
  void *ret = *p;
  *p = NULL;
  return ret;
}
#define steal_pointer(pp) berth_steal_pointer(pp)

/* The same for a file descriptor: returns *fd and sets it to -1. */
static inline int
berth_steal_fd(int *fd)
{
  int ret = *fd;
  *fd = -1;
  return ret;
}
#define steal_fd(fd) berth_steal_fd(fd)

/* The string at a path of object members, or NULL when a member is missing,
 * is not an object on the way, or the last is not a string:
 * jstr(info, "State", "Status").  Engine replies are untrusted, so every
 * caller must cope with NULL. */
const char *berth_jstr_path(const json_t *j, ...);
#define jstr(j, ...) berth_jstr_path((j), __VA_ARGS__, (const char *) NULL)

/* A growable byte buffer: bytes are appended at the end and consumed from
 * the front; the held bytes, data[off, off + len), are always followed by a
 * NUL, so text can be read as a string.  Zero-initialise it
 * (`struct berth_buf b = { 0 };`, optionally with .max) and release it with
 * berth_buf_free() or cleanup_buf. */
struct berth_buf {
  char *data;
  size_t off; /* consumed bytes at the front */
  size_t len; /* bytes held */
  size_t cap; /* allocated, not counting the NUL */
  size_t max; /* 0: unbounded; otherwise appending past it fails (E2BIG) */
};
/* Append n bytes; on failure (ENOMEM, or E2BIG past max) nothing is added. */
int berth_buf_append(struct berth_buf *b, const void *p, size_t n, berth_error_t *err);
int berth_buf_append_str(struct berth_buf *b, const char *s, berth_error_t *err);
/* The held bytes (NUL-terminated; "" when none). */
const char *berth_buf_bytes(const struct berth_buf *b);
/* Drop n (<= len) bytes from the front. */
void berth_buf_consume(struct berth_buf *b, size_t n);
/* Hand the held bytes out as one malloc'd NUL-terminated string (its
 * length in *len when len is not NULL) and empty the buffer; NULL + err
 * only when an empty buffer cannot allocate its "". */
char *berth_buf_steal(struct berth_buf *b, size_t *len, berth_error_t *err);
void berth_buf_free(struct berth_buf *b);
#define cleanup_buf __attribute__((cleanup(berth_buf_free)))

/* Allocation that reports failure through err (never aborts). */
void *berth_malloc0(size_t n, berth_error_t *err);
char *berth_strdup(const char *s, berth_error_t *err);
char *berth_asprintf(berth_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* NULL-terminated string vectors. */
size_t berth_strv_len(char *const *v);
void berth_strv_free(char **v);
char **berth_strv_dup(char *const *v, berth_error_t *err);
bool berth_strv_contains(char *const *v, const char *s);

/* Write all of buf, retrying on EINTR and short writes. */
int berth_write_all(int fd, const void *buf, size_t len, berth_error_t *err);
/* Read a whole (small) file; at most max bytes. */
int berth_read_file(const char *path, size_t max, char **out, size_t *len, berth_error_t *err);

/* Resolve an absolute path as root without letting anyone else redirect it:
 * from "/" one component at a time, never following a link implicitly.  A
 * symbolic link is followed only when root owns it and nobody else can
 * replace it (see below); links in /proc are never followed (their readlink
 * text is not where the kernel goes).  At most 40 links.
 *
 * An entry cannot be replaced by anyone but root when its directory is owned
 * by root and not writable by group or others, or is root's sticky
 * directory (like /tmp) and the entry itself is owned by root.
 *
 * flags:
 *  BERTH_PATH_TRUSTED  every component must be such an entry (the last one
 *                      may be owned by anyone, except in a sticky directory)
 *  BERTH_PATH_MKDIR    create missing directories root:root 0755
 *  BERTH_PATH_PARENT   stop before the last component: return its
 *                      directory (O_RDONLY) and *last (malloc'd), which is
 *                      not looked at
 *  BERTH_PATH_DIR, BERTH_PATH_FILE  otherwise the last component must be a
 *                      directory / regular file (either, when both); the
 *                      returned fd is an O_PATH one
 * Errors carry `kind`; every fd is O_CLOEXEC. */
#define BERTH_PATH_TRUSTED 0x01u
#define BERTH_PATH_MKDIR 0x02u
#define BERTH_PATH_PARENT 0x04u
#define BERTH_PATH_DIR 0x08u
#define BERTH_PATH_FILE 0x10u
int berth_path_open(const char *path, unsigned flags, enum berth_error_kind kind, char **last,
                    berth_error_t *err);

/* Parse a size with optional k/m/g suffix ("512m" -> 536870912).  -1 on error. */
int berth_parse_size(const char *s, int64_t *out);

/* Monotonic milliseconds. */
int64_t berth_now_ms(void);

#endif
