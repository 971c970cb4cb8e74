/* etcfiles-internal.h - lib/etcfiles.c's functions for the other box
 * modules and the unit tests and fuzzers: the passwd/group merge, the
 * ustar writer/reader, berth's own files under RUNDIR, and the two ways the
 * merged files reach a container. */
#ifndef BERTH_ETCFILES_INTERNAL_H
#define BERTH_ETCFILES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include "berth/boxdef.h"
#include "berth/engine.h"
#include "berth/error.h"
#include "berth/user.h"

/* /etc/passwd and /etc/group of an image are small; anything bigger is not
 * a file berth should copy around. */
#define BERTH_ETC_FILE_MAX (4 * 1024 * 1024)

/* Merge the user's passwd/group entries into an image's files.  The user's
 * passwd line replaces any image line with the same name or uid; each of the
 * user's groups replaces any line with the same name or gid and lists the
 * user as a member. */
char *berth_merge_passwd(const char *image_passwd, const struct berth_user *u, const char *home,
                         const char *shell, berth_error_t *err);
char *berth_merge_group(const char *image_group, const struct berth_user *u, berth_error_t *err);

/* A minimal in-memory ustar archive, the archive API's format: entries owned
 * by root; a name ending in '/' is a directory. */
struct berth_tar_entry {
  const char *name;
  const char *data;
  size_t len;
  unsigned mode;
};
int berth_tar_build(const struct berth_tar_entry *files, size_t n, char **out, size_t *len,
                    berth_error_t *err);
/* The contents of the first regular file in an archive (what the archive API
 * returns for one path), NUL-terminated.  A first entry of another type is
 * an error with status EINVAL; no entry at all, status ENOENT. */
int berth_tar_first_file(const char *tar, size_t len, char **data, size_t *dlen,
                         berth_error_t *err);

/* Write dfd/name atomically (0644, owned by us), never through a link. */
int berth_etc_write_file(int dfd, const char *name, const char *data, berth_error_t *err);
/* dfd/name as berth_etc_write_file wrote it (a regular file of ours, at
 * most BERTH_ETC_FILE_MAX), or NULL. */
char *berth_etc_read_file(int dfd, const char *name);

/* Whether b's /etc/passwd and /etc/group are bind-mounted host files
 * (true) or written into the container through the archive API (false). */
bool berth_etc_by_bind(const struct berth_box *b);
/* RUNDIR/etc/NAME/FILE, the source of such a bind. */
char *berth_etc_host_path(const char *name, const char *file, berth_error_t *err);

/* The image's files (image_pw, image_gr) merged with b->user's entries
 * (shell b->shell), written into container id through the archive API. */
int berth_etc_inject(struct berth_engine *e, const struct berth_box *b, const char *id,
                     const char *image_pw, const char *image_gr, berth_error_t *err);
/* The same merge, written as the host files of b->name. */
int berth_etc_write_host(const struct berth_box *b, const char *image_pw, const char *image_gr,
                         berth_error_t *err);

#endif
