/* util.h - ownership helpers (cleanup attributes) and small safe utilities. */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include "berth/error.h"

#define BERTH_HIDDEN __attribute__((visibility("hidden")))

void berth_freep(void *p);
void berth_closep(int *fd);
void berth_strv_freep(char ***v);
#define cleanup_free __attribute__((cleanup(berth_freep)))
#define cleanup_close __attribute__((cleanup(berth_closep)))
#define cleanup_strv __attribute__((cleanup(berth_strv_freep)))

/* Hand ownership out of a function: returns *pp and sets *pp = NULL. */
static inline void *berth_steal_pointer(void *pp)
{
  void **p = (void **) pp;
  void *ret = *p;
  *p = NULL;
  return ret;
}
#define steal_pointer(pp) berth_steal_pointer(pp)

/* Allocation that reports failure through err (never aborts). */
void *berth_malloc0(size_t n, berth_error_t *err);
char *berth_strdup(const char *s, berth_error_t *err);
char *berth_asprintf(berth_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* NULL-terminated string vectors. */
size_t berth_strv_len(char *const *v);
void berth_strv_free(char **v);
char **berth_strv_dup(char *const *v, berth_error_t *err);
bool berth_strv_contains(char *const *v, const char *s);

/* Write all of buf, retrying on EINTR and short writes. */
int berth_write_all(int fd, const void *buf, size_t len, berth_error_t *err);
/* Read a whole (small) file; at most max bytes. */
int berth_read_file(const char *path, size_t max, char **out, size_t *len, berth_error_t *err);

/* Parse a size with optional k/m/g suffix ("512m" -> 536870912).  -1 on error. */
int berth_parse_size(const char *s, int64_t *out);

/* Monotonic milliseconds. */
int64_t berth_now_ms(void);

#endif
