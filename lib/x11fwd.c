/* x11fwd.c - the X11 cookie for the container (x11fwd.h).  Runs as the
 * user; reads a file the user writes (~/.Xauthority), so it is parsed with
 * bounds on every field.  Calls agent.c (the directory) and netns.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/agent.h"
#include "berth/netns.h"
#include "berth/util.h"
#include "berth/x11fwd.h"

#define XAUTH_MAX 65536
#define FAMILY_LOCAL 256
#define FAMILY_WILD 65535
#define COOKIE_NAME "MIT-MAGIC-COOKIE-1"

static char *xauth_path; /* this process's file, removed at exit */

static void
remove_xauth(void)
{
  if (xauth_path != NULL)
    unlink(xauth_path);
}

/* "localhost:N" or "localhost:N.S" (X11UseLocalhost yes): N into num. */
static bool
local_display(const char *d, char *num, size_t len)
{
  size_t n = 0;

  if (d == NULL || strncmp(d, "localhost:", 10) != 0)
    return false;
  d += 10;
  while (d[n] >= '0' && d[n] <= '9' && n < 4)
    n++;
  if (n == 0 || n >= len || (d[n] != '\0' && d[n] != '.'))
    return false;
  for (size_t i = n + (d[n] == '.'); d[i] != '\0'; i++)
    if (d[i] < '0' || d[i] > '9' || i > n + 4)
      return false;
  memcpy(num, d, n);
  num[n] = '\0';
  return true;
}

struct field {
  const unsigned char *p;
  size_t len;
};

/* One length-prefixed field (2 bytes, big-endian) at *pos. */
static bool
field(const unsigned char *buf, size_t size, size_t *pos, struct field *f)
{
  size_t len;

  if (size - *pos < 2)
    return false;
  len = ((size_t) buf[*pos] << 8) | buf[*pos + 1];
  if (size - *pos - 2 < len)
    return false;
  f->p = buf + *pos + 2;
  f->len = len;
  *pos += 2 + len;
  return true;
}

static bool
field_is(const struct field *f, const char *s)
{
  return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

/* The cookie sshd's xauth added for display num of this host: the last
 * FamilyLocal entry for our hostname (xauth "remove"s the old one first). */
static int
find_cookie(const unsigned char *buf, size_t size, const char *num, struct field *cookie)
{
  char host[256];
  size_t pos = 0;
  bool found = false;

  if (gethostname(host, sizeof(host)) < 0)
    return -1;
  host[sizeof(host) - 1] = '\0';
  while (pos < size) {
    struct field addr, number, name, data;
    unsigned family;

    if (size - pos < 2)
      return -1;
    family = ((unsigned) buf[pos] << 8) | buf[pos + 1];
    pos += 2;
    if (!field(buf, size, &pos, &addr) || !field(buf, size, &pos, &number)
        || !field(buf, size, &pos, &name) || !field(buf, size, &pos, &data))
      return -1;
    if (family == FAMILY_LOCAL && field_is(&addr, host) && field_is(&number, num)
        && field_is(&name, COOKIE_NAME) && data.len > 0 && data.len <= 256) {
      *cookie = data;
      found = true;
    }
  }
  return found ? 0 : -1;
}

static int
read_xauthority(const char *home, unsigned char **buf, size_t *size, berth_error_t *err)
{
  cleanup_free char *path = berth_asprintf(err, "%s/.Xauthority", home);
  cleanup_close int fd = -1;
  struct stat st;
  ssize_t n;

  if (path == NULL)
    return -1;
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0)
    return berth_error_errno(err, BERTH_E_USAGE, errno, "X11 cookie: %s", path);
  if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > XAUTH_MAX)
    return berth_error_make(err, BERTH_E_USAGE, EINVAL,
                            "X11 cookie: %s is not a regular file of at most %d bytes", path,
                            XAUTH_MAX);
  if ((*buf = berth_malloc0((size_t) st.st_size, err)) == NULL)
    return -1;
  n = read(fd, *buf, (size_t) st.st_size);
  if (n != st.st_size) {
    free(*buf);
    *buf = NULL;
    return berth_error_make(err, BERTH_E_USAGE, EIO, "X11 cookie: short read of %s", path);
  }
  *size = (size_t) n;
  return 0;
}

/* FamilyWild, no address, display num, the cookie: matches whatever name
 * the container's clients look it up under. */
static int
write_entry(const char *path, const char *num, const struct field *cookie, berth_error_t *err)
{
  unsigned char out[2 + 2 + 2 + 8 + 2 + sizeof(COOKIE_NAME) + 2 + 256];
  size_t n = 0, nl = strlen(num), cl = strlen(COOKIE_NAME);
  cleanup_close int fd = -1;

  out[n++] = FAMILY_WILD >> 8;
  out[n++] = FAMILY_WILD & 0xff;
  out[n++] = 0;
  out[n++] = 0;
  out[n++] = 0;
  out[n++] = (unsigned char) nl;
  memcpy(out + n, num, nl);
  n += nl;
  out[n++] = 0;
  out[n++] = (unsigned char) cl;
  memcpy(out + n, COOKIE_NAME, cl);
  n += cl;
  out[n++] = (unsigned char) (cookie->len >> 8);
  out[n++] = (unsigned char) (cookie->len & 0xff);
  memcpy(out + n, cookie->p, cookie->len);
  n += cookie->len;
  unlink(path); /* a stale one of a pid reused */
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "X11 cookie: create %s", path);
  return berth_write_all(fd, out, n, err);
}

int
berth_x11_start(const struct berth_box *b, const char *display, char *env[2], berth_error_t *err)
{
  cleanup_free unsigned char *buf = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *path = NULL;
  struct field cookie;
  size_t size = 0;
  char num[8];

  if (!local_display(display, num, sizeof(num)) || !berth_netns_applies(b) || xauth_path != NULL)
    return 1;
  if (read_xauthority(b->user->home, &buf, &size, err) < 0)
    return -1;
  if (find_cookie(buf, size, num, &cookie) < 0)
    return berth_error_make(err, BERTH_E_USAGE, ENOENT,
                            "X11 cookie: no entry for display %s of this host in %s/.Xauthority",
                            num, b->user->home);
  if ((dir = berth_agent_dir(b->name, err)) == NULL
      || (path = berth_asprintf(err, "%s/xauth.%ld", dir, (long) getpid())) == NULL)
    return -1;
  if (atexit(remove_xauth) != 0)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "atexit (X11 cookie)");
  if (write_entry(path, num, &cookie, err) < 0) {
    unlink(path);
    return -1;
  }
  xauth_path = steal_pointer(&path);
  env[0] = berth_asprintf(err, "DISPLAY=%s", display);
  env[1] = berth_asprintf(err, "XAUTHORITY=%s/xauth.%ld", BERTH_AGENT_TARGET, (long) getpid());
  if (env[0] == NULL || env[1] == NULL) {
    free(env[0]);
    free(env[1]);
    env[0] = env[1] = NULL;
    return -1;
  }
  return 0;
}
