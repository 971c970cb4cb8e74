/* docker_images.c - image endpoints of the Docker backend: inspect, and the
 * pull with its progress stream. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/http.h"
#include "berth/log.h"
#include "berth/util.h"
#include "docker.h"

/* Bound on one progress object of the pull stream. */
#define PULL_OBJECT_MAX ((size_t) 1024 * 1024)
/* A pull may legitimately take much longer than an API call. */
#define PULL_TIMEOUT_FACTOR 10

/* Image references go into paths the way the docker CLI sends them: '/' of a
 * repository path, ':' of a tag or registry port and '@' of a digest stay
 * literal; both engines route /images/{name:.*}/json on them. */
#define IMAGE_PATH_KEEP "/:@"

int
docker_image_inspect(struct berth_engine *e, const char *image, char **id, berth_error_t *err)
{
  cleanup_free char *path = NULL;
  json_t *reply = NULL;
  long status = 0;
  int ret = -1;

  if (id)
    *id = NULL;
  if (docker_object_path("images", "image name", image, IMAGE_PATH_KEEP, "/json", &path, err) < 0)
    return -1;
  if (docker_request_json(docker_of(e), "GET", path, NULL, 0, &status, &reply, err) < 0)
    return berth_error_wrap(err, "inspecting image %s", image);
  if (status == 404) {
    ret = 1;
    goto out;
  }
  if (docker_check(status, reply, BERTH_E_ENGINE, "inspecting image", err) < 0)
    goto out;
  ret = docker_reply_id(reply, status, "inspecting image", image, id, err);
out:
  json_decref(reply);
  return ret;
}

/* Split a reference the way the engine's /images/create wants it:
 * "repo:tag" -> (repo, tag); "repo@sha256:..." -> (repo, "sha256:...");
 * "host:5000/repo" -> (host:5000/repo, "latest"): a ':' before the last '/'
 * is a registry port, not a tag. */
static int
split_reference(const char *image, char **repo, char **tag, berth_error_t *err)
{
  const char *at = strchr(image, '@');
  const char *slash, *colon;

  if (at != NULL) {
    if (at == image || at[1] == '\0')
      return berth_error_make(err, BERTH_E_USAGE, EINVAL, "invalid image reference '%s'", image);
    *repo = strndup(image, (size_t) (at - image));
    *tag = strdup(at + 1);
  } else {
    slash = strrchr(image, '/');
    colon = strrchr(slash ? slash : image, ':');
    if (colon != NULL && (colon == image || colon[1] == '\0'))
      return berth_error_make(err, BERTH_E_USAGE, EINVAL, "invalid image reference '%s'", image);
    *repo = colon ? strndup(image, (size_t) (colon - image)) : strdup(image);
    *tag = strdup(colon ? colon + 1 : "latest");
  }
  if (*repo == NULL || *tag == NULL) {
    free(*repo);
    free(*tag);
    *repo = *tag = NULL;
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  }
  return 0;
}

/* The pull reply is a stream of JSON objects (progress), newline-separated
 * in practice but parsed without relying on it.  A failed pull still answers
 * HTTP 200: the failure is an object with "error" / "errorDetail". */
struct pull_state {
  struct docker_buf pending;
  char *error; /* first error reported in the stream */
  bool malformed;
};

static bool
is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
pull_object(struct pull_state *ps, json_t *j)
{
  const char *msg;

  if (ps->error != NULL || !json_is_object(j))
    return;
  msg = json_string_value(json_object_get(json_object_get(j, "errorDetail"), "message"));
  if (msg == NULL)
    msg = json_string_value(json_object_get(j, "error"));
  if (msg == NULL && json_object_get(j, "errorDetail") != NULL)
    msg = "unspecified error";
  /* an HTTP error reply carries {"message": ...} */
  if (msg == NULL && json_object_size(j) == 1)
    msg = json_string_value(json_object_get(j, "message"));
  if (msg != NULL)
    ps->error = strdup(msg);
}

/* Parse every complete object in ps->pending; keep an incomplete tail. */
static void
pull_drain(struct pull_state *ps, bool at_end)
{
  size_t pos = 0;
  struct docker_buf *b = &ps->pending;

  while (pos < b->len && !ps->malformed) {
    json_error_t jerr;
    json_t *j;

    while (pos < b->len && is_blank(b->data[pos]))
      pos++;
    if (pos == b->len)
      break;
    j = json_loadb(b->data + pos, b->len - pos, JSON_DISABLE_EOF_CHECK, &jerr);
    if (j == NULL) {
      /* an error at the very end of the input means "incomplete, wait" */
      if (!at_end && jerr.position >= 0 && (size_t) jerr.position >= b->len - pos)
        break;
      ps->malformed = true;
      break;
    }
    pull_object(ps, j);
    json_decref(j);
    pos += (size_t) jerr.position;
  }
  if (pos > 0) {
    memmove(b->data, b->data + pos, b->len - pos);
    b->len -= pos;
  }
}

static size_t
pull_sink(char *ptr, size_t size, size_t nmemb, void *ud)
{
  struct pull_state *ps = ud;
  size_t n = size * nmemb;

  if (docker_buf_write(ptr, size, nmemb, &ps->pending) != n)
    return 0; /* one progress object beyond PULL_OBJECT_MAX: overflow set */
  pull_drain(ps, false);
  return n;
}

int
docker_image_pull(struct berth_engine *e, const char *image, berth_error_t *err)
{
  cleanup_free char *repo = NULL, *tag = NULL, *qrepo = NULL, *qtag = NULL, *path = NULL;
  struct pull_state ps = { .pending = { .max = PULL_OBJECT_MAX } };
  struct docker_request r
      = { .method = "POST", .versioned = true, .sink = pull_sink, .sink_ctx = &ps };
  int ret = -1;

  if (image == NULL || *image == '\0')
    return berth_error_make(err, BERTH_E_USAGE, EINVAL, "empty image name");
  if (split_reference(image, &repo, &tag, err) < 0)
    return -1;
  qrepo = docker_escape(repo, err);
  qtag = qrepo ? docker_escape(tag, err) : NULL;
  if (qtag == NULL)
    return -1;
  path = berth_asprintf(err, "/images/create?fromImage=%s&tag=%s", qrepo, qtag);
  if (path == NULL)
    return -1;
  r.path = path;
  r.timeout_ms = docker_of(e)->timeout_ms * PULL_TIMEOUT_FACTOR;
  if (docker_perform(docker_of(e), &r, err) < 0) {
    if (ps.pending.overflow) {
      berth_error_release(err);
      berth_error_make(err, BERTH_E_PULL, EFBIG,
                       "pulling %s: a progress message from the engine is larger than %zu bytes",
                       image, PULL_OBJECT_MAX);
    } else {
      berth_error_wrap(err, "pulling %s", image);
      if (*err && (*err)->kind == BERTH_E_ENGINE_REPLY)
        (*err)->kind = BERTH_E_PULL;
    }
    goto out;
  }
  pull_drain(&ps, true);
  if (ps.error != NULL) {
    berth_error_make(err, BERTH_E_PULL, r.status >= 400 ? berth_http_errno(r.status) : EIO,
                     "pulling %s: engine said: %s (HTTP %ld)", image, ps.error, r.status);
    goto out;
  }
  if (r.status >= 400) {
    berth_error_make(err, BERTH_E_PULL, berth_http_errno(r.status),
                     "pulling %s: HTTP %ld from the engine", image, r.status);
    goto out;
  }
  if (ps.malformed) {
    berth_error_make(err, BERTH_E_PULL, EPROTO,
                     "pulling %s: the engine's progress stream is not JSON", image);
    goto out;
  }
  ret = 0;
out:
  free(ps.pending.data);
  free(ps.error);
  return ret;
}

/* ---------------------------------------------------------------- containers */
