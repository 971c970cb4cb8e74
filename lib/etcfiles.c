/* etcfiles.c - the container's /etc/passwd and /etc/group: merging the user's
 * entries into the image's files, and the minimal ustar writer/reader the
 * engine's archive API needs to carry them.
 *
 * Also how the merged files reach the container: generated as host files
 * under RUNDIR/etc/NAME and bind-mounted read-only (berth's host state for
 * the container, removed with it), or, for an engine that cannot see this
 * host's files, written through the archive API before start.  One module because both ways are the same
 * two files from the same merge; the image's own files come from image.c,
 * handed in by box.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "berth/session.h"
#include "berth/util.h"
#include "etcfiles-internal.h"

/* ---------------------------------------------------------------- lines */

static bool
field_is(const char *f, size_t flen, const char *want)
{
  return strlen(want) == flen && memcmp(f, want, flen) == 0;
}

/* ---------------------------------------------------------------- glibc's reading
 * What the container's libc makes of an image line matters, not what the
 * line looks like: glibc's nss_files (files-parse.c, files-pwd.c,
 * files-grp.c; fgetpwent and fgetgrent use the same parser) skips leading
 * white space, then reads the name up to the first ':', the ids with
 * strtoul (white space, a '+' or '-' sign, wrapping to 32 bits), the shell
 * as the rest of the line whatever colons it has, and a group's members as
 * the rest of the line split at ',' with leading white space skipped.  So
 * " alice:x:0:0::/root:/bin/bash" is alice with uid 0, and
 * "wheel:x:10: alice" has alice as a member. */

static bool
c_isspace(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* One line as glibc splits it: name, and the text after the second colon
 * (where the id starts); id_at NULL when the line has no second colon. */
struct nss_line {
  const char *name;
  size_t name_len;
  const char *id_at;
  const char *end;
};

/* false for lines glibc skips (empty, comments after white space). */
static bool
nss_split(const char *s, size_t n, struct nss_line *l)
{
  const char *end = s + n, *c;

  while (s < end && c_isspace(*s))
    s++;
  if (s == end || *s == '#')
    return false;
  l->name = s;
  c = memchr(s, ':', (size_t) (end - s));
  l->name_len = c ? (size_t) (c - s) : (size_t) (end - s);
  l->id_at = c ? memchr(c + 1, ':', (size_t) (end - c - 1)) : NULL;
  if (l->id_at != NULL)
    l->id_at++;
  l->end = end;
  return true;
}

/* The line's name is `want`, also behind the '+'/'-' of nss_compat lines
 * ("+alice", "-alice" speak about alice). */
static bool
nss_name_is(const struct nss_line *l, const char *want)
{
  const char *nm = l->name;
  size_t n = l->name_len;
  if (n > 0 && (*nm == '+' || *nm == '-')) {
    nm++;
    n--;
  }
  return field_is(nm, n, want);
}

/* The id glibc reads at p (strtoul, base 10, then truncated to 32 bits the
 * way an assignment to uid_t/gid_t does); *next is after its terminating
 * ':' (or at the end).  false when glibc would reject the field. */
static bool
nss_id(const char *p, const char *end, uint32_t *id, const char **next)
{
  unsigned long v = 0;
  bool neg = false, any = false, over = false;

  while (p < end && c_isspace(*p))
    p++;
  if (p < end && (*p == '+' || *p == '-'))
    neg = *p++ == '-';
  for (; p < end && *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned) (*p - '0');
    any = true;
    if (v > (ULONG_MAX - d) / 10)
      over = true;
    else
      v = v * 10 + d;
  }
  if (!any || (p < end && *p != ':'))
    return false;
  if (over)
    v = ULONG_MAX;
  else if (neg)
    v = -v;
  *id = (uint32_t) v;
  *next = p < end ? p + 1 : p;
  return true;
}

/* Values that become fields of a passwd/group line must not break it. */
static int
check_field(const char *what, const char *v, berth_error_t *err)
{
  if (v == NULL || *v == '\0' || strpbrk(v, ":\n\r") != NULL)
    return berth_error_make(err, BERTH_E_USER, EINVAL,
                            "%s '%s' cannot be written to /etc/passwd or /etc/group", what,
                            v ? v : "");
  return 0;
}

/* gecos is free text from NSS: ':' or a newline would forge fields or lines. */
static char *
clean_gecos(const char *g, berth_error_t *err)
{
  char *s = berth_strdup(g ? g : "", err);
  if (s == NULL)
    return NULL;
  for (char *p = s; *p; p++)
    if (*p == ':' || *p == '\n' || *p == '\r')
      *p = ' ';
  return s;
}

char *
berth_merge_passwd(const char *image_passwd, const struct berth_user *u, const char *home,
                   const char *shell, berth_error_t *err)
{
  struct berth_buf out = { 0 };
  cleanup_free char *gecos = NULL;
  cleanup_free char *line = NULL;
  const char *s = image_passwd ? image_passwd : "";

  if (u->uid == 0)
    return berth_error_make(err, BERTH_E_USER, EPERM, "refusing to write an entry for uid 0"), NULL;
  if (check_field("user name", u->name, err) < 0 || check_field("home", home, err) < 0
      || check_field("shell", shell, err) < 0)
    return NULL;
  gecos = clean_gecos(u->gecos, err);
  if (gecos == NULL)
    return NULL;
  line = berth_asprintf(err, "%s:x:%u:%u:%s:%s:%s\n", u->name, (unsigned) u->uid, (unsigned) u->gid,
                        gecos, home, shell);
  if (line == NULL)
    return NULL;

  while (*s) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t) (nl - s) : strlen(s);
    struct nss_line l;
    uint32_t id;
    const char *next;
    bool drop = false;

    /* Every line glibc would read as the user's name or uid goes, whatever
     * else it holds (a line glibc rejects later costs nothing to drop);
     * comments, "+" lines and other users stay as the image has them. */
    if (nss_split(s, n, &l)) {
      if (nss_name_is(&l, u->name))
        drop = true;
      if (l.id_at != NULL && nss_id(l.id_at, l.end, &id, &next) && id == (uint32_t) u->uid)
        drop = true;
    }
    if (!drop
        && (berth_buf_append(&out, s, n, err) < 0 || berth_buf_append_str(&out, "\n", err) < 0)) {
      berth_buf_free(&out);
      return NULL;
    }
    s += n;
    if (*s == '\n')
      s++;
  }
  if (berth_buf_append_str(&out, line, err) < 0) {
    berth_buf_free(&out);
    return NULL;
  }
  return berth_buf_steal(&out, NULL, err);
}

/* The user's groups as they go into the container: named ones, plus the
 * primary group under the user's name when NSS has no name for it (the
 * container needs one so `id` and `ls -l` show a name).  Duplicated gids
 * are dropped. */
struct ugroup {
  gid_t gid;
  const char *name;
  bool primary;
};

static size_t
user_groups(const struct berth_user *u, struct ugroup *g)
{
  size_t n = 0;
  bool have_primary = false;

  for (size_t i = 0; i < u->n_groups; i++) {
    const struct berth_group *bg = &u->groups[i];
    bool dup = false;
    bool primary = bg->gid == u->gid;
    const char *name = bg->name;
    for (size_t j = 0; j < n; j++)
      if (g[j].gid == bg->gid)
        dup = true;
    if (dup)
      continue;
    if (name == NULL && primary)
      name = u->group ? u->group : u->name;
    if (name == NULL || strpbrk(name, ":,\n\r") != NULL || *name == '\0')
      continue;
    /* Two gids with one name would make the file ambiguous: first wins. */
    for (size_t j = 0; j < n; j++)
      if (strcmp(g[j].name, name) == 0)
        dup = true;
    if (dup)
      continue;
    have_primary |= primary;
    g[n++] = (struct ugroup){ bg->gid, name, primary };
  }
  if (!have_primary) {
    /* groups[] normally holds the primary first; be safe if it does not. */
    const char *name = u->group ? u->group : u->name;
    bool clash = false;
    for (size_t j = 0; j < n; j++)
      if (strcmp(g[j].name, name) == 0)
        clash = true;
    if (!clash && strpbrk(name, ":,\n\r") == NULL)
      g[n++] = (struct ugroup){ u->gid, name, true };
  }
  return n;
}

/* Member list [m, m+mlen) without `user`, appended to out: split at ','
 * with leading white space skipped, as glibc reads it (" alice" is alice). */
static int
add_members_without(struct berth_buf *out, const char *m, size_t mlen, const char *user,
                    berth_error_t *err)
{
  const char *end = m + mlen;
  bool first = true;
  while (m < end) {
    const char *c = memchr(m, ',', (size_t) (end - m));
    size_t n = c ? (size_t) (c - m) : (size_t) (end - m);
    const char *e = m;
    while (e < m + n && c_isspace(*e))
      e++;
    n -= (size_t) (e - m);
    if (n > 0 && !field_is(e, n, user)) {
      if ((!first && berth_buf_append_str(out, ",", err) < 0)
          || berth_buf_append(out, e, n, err) < 0)
        return -1;
      first = false;
    }
    m = e + n + (c ? 1 : 0);
  }
  return 0;
}

char *
berth_merge_group(const char *image_group, const struct berth_user *u, berth_error_t *err)
{
  struct berth_buf out = { 0 };
  cleanup_free struct ugroup *g = NULL;
  size_t ng;
  const char *s = image_group ? image_group : "";

  if (check_field("user name", u->name, err) < 0)
    return NULL;
  if (strchr(u->name, ',') != NULL)
    return berth_error_make(err, BERTH_E_USER, EINVAL,
                            "user name '%s' cannot be written to /etc/group", u->name),
           NULL;
  g = berth_malloc0((u->n_groups + 1) * sizeof(*g), err);
  if (g == NULL)
    return NULL;
  ng = user_groups(u, g);

  while (*s) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t) (nl - s) : strlen(s);
    struct nss_line l;
    uint32_t id;
    const char *members = NULL;
    bool drop = false;
    int r = 0;

    if (nss_split(s, n, &l)) {
      bool id_ok = l.id_at != NULL && nss_id(l.id_at, l.end, &id, &members);
      for (size_t i = 0; i < ng && !drop; i++)
        drop = nss_name_is(&l, g[i].name) || (id_ok && id == (uint32_t) g[i].gid);
      if (!id_ok) {
        /* glibc rejects the line (nss_compat's "+name" lines aside: they
         * take an empty gid): when it names the user anywhere, drop it */
        members = NULL;
        drop = drop || memmem(s, n, u->name, strlen(u->name)) != NULL;
      }
    }
    if (drop) {
      /* the user's own groups come from the host, below */
    } else if (members != NULL) {
      /* Membership inside must be what the host says: an image line naming
       * the user in a group the host does not give them goes without that
       * name. */
      r = berth_buf_append(&out, s, (size_t) (members - s), err);
      if (r == 0 && members > s && members[-1] != ':')
        r = berth_buf_append_str(&out, ":", err); /* "name:x:10" (no member field) */
      if (r == 0)
        r = add_members_without(&out, members, (size_t) (s + n - members), u->name, err);
      if (r == 0)
        r = berth_buf_append_str(&out, "\n", err);
    } else {
      r = berth_buf_append(&out, s, n, err);
      if (r == 0)
        r = berth_buf_append_str(&out, "\n", err);
    }
    if (r < 0) {
      berth_buf_free(&out);
      return NULL;
    }
    s += n;
    if (*s == '\n')
      s++;
  }
  for (size_t i = 0; i < ng; i++) {
    cleanup_free char *line
        = berth_asprintf(err, "%s:x:%u:%s\n", g[i].name, (unsigned) g[i].gid, u->name);
    if (line == NULL || berth_buf_append_str(&out, line, err) < 0) {
      berth_buf_free(&out);
      return NULL;
    }
  }
  return berth_buf_steal(&out, NULL, err);
}

/* ---------------------------------------------------------------- ustar
 * POSIX ustar: 512-byte header blocks, octal NUL-terminated numbers, the
 * checksum is the byte sum of the header with the checksum field read as
 * eight spaces, the archive ends with two zero blocks. */

#define TAR_BLOCK 512

struct tar_header {
  char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag;
  char linkname[100], magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8];
  char prefix[155], pad[12];
};
_Static_assert(sizeof(struct tar_header) == TAR_BLOCK, "ustar header is one block");

/* width-1 zero-padded octal digits and a NUL (values are range-checked by
 * the callers: sizes below 8 GiB, modes, zero ids). */
static void
octal(char *dst, size_t width, unsigned long long v)
{
  dst[width - 1] = '\0';
  for (size_t i = width - 1; i > 0; i--, v >>= 3)
    dst[i - 1] = (char) ('0' + (v & 7));
}

static unsigned
header_sum(const struct tar_header *h)
{
  const unsigned char *p = (const unsigned char *) h;
  unsigned sum = 0;
  for (size_t i = 0; i < TAR_BLOCK; i++)
    sum += (i >= offsetof(struct tar_header, chksum)
            && i < offsetof(struct tar_header, chksum) + sizeof(h->chksum))
               ? ' '
               : p[i];
  return sum;
}

int
berth_tar_build(const struct berth_tar_entry *files, size_t n, char **out, size_t *len,
                berth_error_t *err)
{
  size_t total = 2 * TAR_BLOCK;
  cleanup_free char *tar = NULL;
  size_t off = 0;
  time_t now = time(NULL);

  for (size_t i = 0; i < n; i++) {
    size_t nl = strlen(files[i].name);
    if (nl == 0 || nl >= sizeof(((struct tar_header *) 0)->name))
      return berth_error_make(err, BERTH_E_INTERNAL, ENAMETOOLONG, "tar entry name '%s'",
                              files[i].name);
    if (files[i].len >= 077777777777ULL)
      return berth_error_make(err, BERTH_E_INTERNAL, EFBIG, "tar entry '%s' is too large",
                              files[i].name);
    total += TAR_BLOCK + (files[i].len + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
  }
  tar = berth_malloc0(total, err); /* zeroed: padding and end blocks */
  if (tar == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    struct tar_header *h = (struct tar_header *) (tar + off);
    size_t nl = strlen(files[i].name);
    bool dir = files[i].name[nl - 1] == '/';

    memcpy(h->name, files[i].name, nl);
    octal(h->mode, sizeof(h->mode), files[i].mode & 07777);
    octal(h->uid, sizeof(h->uid), 0);
    octal(h->gid, sizeof(h->gid), 0);
    octal(h->size, sizeof(h->size), dir ? 0 : files[i].len);
    octal(h->mtime, sizeof(h->mtime), (unsigned long long) (now > 0 ? now : 0));
    h->typeflag = dir ? '5' : '0';
    memcpy(h->magic, "ustar", 6);
    memcpy(h->version, "00", 2);
    memcpy(h->uname, "root", 4);
    memcpy(h->gname, "root", 4);
    octal(h->devmajor, sizeof(h->devmajor), 0);
    octal(h->devminor, sizeof(h->devminor), 0);
    snprintf(h->chksum, sizeof(h->chksum), "%06o", header_sum(h));
    h->chksum[7] = ' ';
    off += TAR_BLOCK;
    if (!dir && files[i].len > 0) {
      memcpy(tar + off, files[i].data, files[i].len);
      off += (files[i].len + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
    }
  }
  *len = total;
  *out = steal_pointer(&tar);
  return 0;
}

static bool
parse_octal(const char *f, size_t width, unsigned long long *v)
{
  size_t i = 0;
  *v = 0;
  while (i < width && f[i] == ' ')
    i++;
  if (i == width || f[i] < '0' || f[i] > '7')
    return false;
  for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
    if (*v > (~0ULL >> 3))
      return false;
    *v = (*v << 3) | (unsigned long long) (f[i] - '0');
  }
  return i == width || f[i] == '\0' || f[i] == ' ';
}

int
berth_tar_first_file(const char *tar, size_t len, char **data, size_t *dlen, berth_error_t *err)
{
  size_t off = 0;

  while (off + TAR_BLOCK <= len) {
    const struct tar_header *h = (const struct tar_header *) (tar + off);
    unsigned long long size, sum;
    static const char zero[TAR_BLOCK];

    if (memcmp(h, zero, TAR_BLOCK) == 0)
      break;
    if (!parse_octal(h->chksum, sizeof(h->chksum), &sum) || sum != header_sum(h))
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EBADMSG, "bad tar header checksum");
    if (!parse_octal(h->size, sizeof(h->size), &size))
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EBADMSG, "bad tar entry size");
    off += TAR_BLOCK;
    if (size > len - off)
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EBADMSG, "truncated tar archive");
    switch (h->typeflag) {
    case '0':
    case '\0':
    case '7': {
      char *d = berth_malloc0((size_t) size + 1, err);
      if (d == NULL)
        return -1;
      memcpy(d, tar + off, (size_t) size);
      *data = d;
      if (dlen)
        *dlen = (size_t) size;
      return 0;
    }
    case 'x':
    case 'g':
    case 'L':
    case 'K':
      /* pax / GNU extended headers describe the next entry: skip them */
      off += ((size_t) size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
      continue;
    default:
      return berth_error_make(err, BERTH_E_ENGINE_REPLY, EINVAL,
                              "tar entry is not a regular file (type '%c')", h->typeflag);
    }
  }
  return berth_error_make(err, BERTH_E_ENGINE_REPLY, ENOENT, "tar archive holds no file");
}

/* ---------------------------------------------------------------- host files */

int
berth_etc_write_file(int dfd, const char *name, const char *data, berth_error_t *err)
{
  cleanup_free char *tmp = berth_asprintf(err, ".%s.%ld.tmp", name, (long) getpid());
  cleanup_close int fd = -1;

  if (tmp == NULL)
    return -1;
  unlinkat(dfd, tmp, 0);
  fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
  if (fd < 0)
    return berth_error_errno(err, BERTH_E_CONTAINER, errno, "creating %s", name);
  if (fchmod(fd, 0644) < 0) {
    int saved = errno;
    unlinkat(dfd, tmp, 0);
    return berth_error_errno(err, BERTH_E_CONTAINER, saved, "chmod %s", name);
  }
  if (berth_write_all(fd, data, strlen(data), err) < 0) {
    unlinkat(dfd, tmp, 0);
    return -1;
  }
  if (renameat(dfd, tmp, dfd, name) < 0) {
    int saved = errno;
    unlinkat(dfd, tmp, 0);
    return berth_error_errno(err, BERTH_E_CONTAINER, saved, "renaming %s", name);
  }
  return 0;
}

char *
berth_etc_read_file(int dfd, const char *name)
{
  cleanup_close int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  struct stat st;
  size_t used = 0;

  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()
      || st.st_size < 0 || st.st_size > BERTH_ETC_FILE_MAX)
    return NULL;
  buf = malloc((size_t) st.st_size + 1);
  if (buf == NULL)
    return NULL;
  while (used < (size_t) st.st_size) {
    ssize_t n = read(fd, buf + used, (size_t) st.st_size - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return NULL;
    used += (size_t) n;
  }
  buf[used] = '\0';
  return steal_pointer(&buf);
}

/* How /etc/passwd and /etc/group reach the container.  Generated on the
 * host and bind-mounted read-only whenever the engine can see this host's
 * RUNDIR, which a local engine always can: no archive PUT (~40 ms of a cold login on Docker 20.10, which
 * re-execs itself into a chroot for each copy), and a read-only rootfs
 * works the same way.  The archive API (written into the container before
 * start) stays for an engine on another host, whose containers cannot
 * bind a file of ours.  The engine resolves the bind source in its own
 * view of the file system, so RUNDIR must be the same directory there as
 * here (as homes must be the same path on the engine host): a berth in a
 * mount namespace with its own RUNDIR mounted over /run/berth would hand
 * the engine a path it resolves to another directory. */
bool
berth_etc_by_bind(const struct berth_box *b)
{
  /* A read-only rootfs refuses the archive API, so with a remote engine it
   * binds too: the engine host must then see RUNDIR at the same path, as it
   * must see the keeper and the homes (docs/scale-out.md). */
  return berth_config_engine_local(b->cfg) || b->conf->readonly_rootfs;
}

char *
berth_etc_host_path(const char *name, const char *file, berth_error_t *err)
{
  return berth_asprintf(err, "%s/etc/%s/%s", berth_session_rundir(), name, file);
}

static int
merged(const struct berth_box *b, const char *image_pw, const char *image_gr, char **pw, char **gr,
       berth_error_t *err)
{
  *gr = NULL;
  *pw = berth_merge_passwd(image_pw, b->user, b->user->home, b->shell, err);
  if (*pw == NULL)
    return -1;
  *gr = berth_merge_group(image_gr, b->user, err);
  if (*gr == NULL) {
    free(*pw);
    *pw = NULL;
    return -1;
  }
  return 0;
}

/* Written before start through the archive API, so the very first exec
 * already resolves the user's name and groups. */
int
berth_etc_inject(struct berth_engine *e, const struct berth_box *b, const char *id,
                 const char *image_pw, const char *image_gr, berth_error_t *err)
{
  cleanup_free char *pw = NULL, *gr = NULL, *tar = NULL;
  size_t len = 0;

  if (merged(b, image_pw, image_gr, &pw, &gr, err) < 0)
    return -1;
  /* Extracted at "/" with "etc/..." names: the engine creates a missing
   * /etc (root, 0755) instead of failing the copy. */
  struct berth_tar_entry files[] = {
    { "etc/passwd", pw, strlen(pw), 0644 },
    { "etc/group", gr, strlen(gr), 0644 },
  };
  if (berth_tar_build(files, 2, &tar, &len, err) < 0)
    return -1;
  if (berth_engine_archive_put(e, id, "/", tar, len, err) < 0)
    return berth_error_wrap(err, "writing /etc/passwd and /etc/group");
  return 0;
}

/* The files bound into the container (berth_etc_by_bind), generated as
 * RUNDIR/etc/NAME/{passwd,group}: root's, 0644, in root's 0755 directories
 * (session.c checks each), each written to a temp file and renamed over
 * the old one, never through a link.  They must exist before create, and
 * the new container shows them instead of the image's: the image's own
 * come from the cache or a scratch container (image.c). */
int
berth_etc_write_host(const struct berth_box *b, const char *image_pw, const char *image_gr,
                     berth_error_t *err)
{
  cleanup_close int dfd = -1;
  cleanup_free char *pw = NULL, *gr = NULL;

  dfd = berth_session_rundir_open("etc", b->name, true, err);
  if (dfd < 0)
    return berth_error_wrap(err, "preparing /etc files for %s", b->name);
  if (merged(b, image_pw, image_gr, &pw, &gr, err) < 0)
    return -1;
  if (berth_etc_write_file(dfd, "passwd", pw, err) < 0
      || berth_etc_write_file(dfd, "group", gr, err) < 0)
    return berth_error_wrap(err, "writing %s/etc/%s", berth_session_rundir(), b->name);
  return 0;
}
