/* docker_archive.c - files in and out of a container (tar archives). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/http.h"
#include "berth/log.h"
#include "berth/util.h"
#include "docker.h"

/* "/containers/{id}/archive?path={path}", both escaped. */
static int
archive_path(const char *id, const char *path, char **out, berth_error_t *err)
{
  cleanup_free char *qp = docker_escape(path, err), *suffix = NULL;

  *out = NULL;
  if (qp == NULL || (suffix = berth_asprintf(err, "/archive?path=%s", qp)) == NULL)
    return -1;
  return docker_container_path(id, suffix, out, err);
}

int
docker_archive_put(struct berth_engine *e, const char *id, const char *dir, const void *tar,
                   size_t len, berth_error_t *err)
{
  cleanup_free char *path = NULL;
  struct docker_request r = { .method = "PUT", .versioned = true };
  json_t *reply = NULL;
  int ret;

  if (archive_path(id, dir, &path, err) < 0)
    return -1;
  r.path = path;
  r.body = tar;
  r.body_len = len;
  r.ctype = DOCKER_CT_TAR;
  if (docker_perform(docker_of(e), &r, err) < 0) {
    free(r.reply.data);
    return berth_error_wrap(err, "copying files to %s in container %s", dir, id);
  }
  reply = docker_parse_json(&r.reply);
  free(r.reply.data);
  r.status = docker_compat_status(r.status, reply);
  ret = 0;
  if (r.status >= 400) {
    cleanup_free char *ctx = berth_asprintf(NULL, "copying files to %s in container %s", dir, id);
    ret = docker_check(r.status, reply, BERTH_E_CONTAINER, ctx ? ctx : "archive put", err);
  }
  json_decref(reply);
  return ret;
}

int
docker_archive_get(struct berth_engine *e, const char *id, const char *path, size_t max, char **tar,
                   size_t *len, berth_error_t *err)
{
  cleanup_free char *rpath = NULL;
  struct docker_request r
      = { .method = "GET", .versioned = true, .max = max ? max : DOCKER_REPLY_MAX };

  *tar = NULL;
  *len = 0;
  if (archive_path(id, path, &rpath, err) < 0)
    return -1;
  r.path = rpath;
  if (docker_perform(docker_of(e), &r, err) < 0) {
    free(r.reply.data);
    return berth_error_wrap(err, "copying %s from container %s", path, id);
  }
  if (r.status == 404) {
    free(r.reply.data);
    return 1;
  }
  if (r.status >= 400) {
    json_t *reply = docker_parse_json(&r.reply);
    cleanup_free char *ctx = berth_asprintf(NULL, "copying %s from container %s", path, id);
    docker_check(r.status, reply, BERTH_E_CONTAINER, ctx ? ctx : "archive get", err);
    json_decref(reply);
    free(r.reply.data);
    return -1;
  }
  if (r.reply.data == NULL && (r.reply.data = malloc(1)) == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  *tar = r.reply.data; /* transferred */
  *len = r.reply.len;
  return 0;
}

/* ---------------------------------------------------------------- exec */
