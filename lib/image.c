/* image.c - what berth needs from the user's image: its id (inspect, pull
 * per policy), and the image facts (its
 * /etc/passwd and /etc/group, whether the user's shell exists), cached per
 * image id under RUNDIR/images and read from a scratch container when the
 * cache lacks them; and gc's sweep of scratch containers left behind.  Its
 * own module because it is everything keyed by image id, never by user
 * container; the cache files go through etcfiles.c's file helpers. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/log.h"
#include "berth/session.h"
#include "berth/sha256.h"
#include "berth/util.h"
#include "etcfiles-internal.h"
#include "image-internal.h"

/* Bound for fetching the shell just to learn that it exists: no shell is
 * this big, and an overflow still proves existence. */
#define SHELL_PROBE_MAX (32 * 1024 * 1024)

int
berth_image_resolve(struct berth_engine *e, const struct berth_container_conf *c, char **id,
                    berth_error_t *err)
{
  int r;

  if (c->image == NULL || *c->image == '\0')
    return berth_error_make(err, BERTH_E_CONFIG, EINVAL, "no image configured");
  if (c->pull == BERTH_PULL_ALWAYS && berth_engine_image_pull(e, c->image, err) < 0)
    return -1;
  r = berth_engine_image_inspect(e, c->image, id, err);
  if (r < 0)
    return -1;
  if (r == 1 && c->pull == BERTH_PULL_MISSING) {
    if (berth_engine_image_pull(e, c->image, err) < 0)
      return -1;
    r = berth_engine_image_inspect(e, c->image, id, err);
    if (r < 0)
      return -1;
  }
  if (r == 1)
    return berth_error_make(err, BERTH_E_IMAGE_MISSING, ENOENT,
                            "image %s is not present on the engine (pull = %s)", c->image,
                            berth_pull_name(c->pull));
  if (*id == NULL || **id == '\0')
    return berth_error_make(err, BERTH_E_ENGINE_REPLY, EPROTO, "image %s has no id", c->image);
  return 0;
}

/* One file out of a container: 1 and *data (NUL-terminated), 0 when absent. */
static int
get_file(struct berth_engine *e, const char *id, const char *path, char **data, berth_error_t *err)
{
  cleanup_free char *tar = NULL;
  size_t len = 0;
  int r;

  *data = NULL;
  r = berth_engine_archive_get(e, id, path, BERTH_ETC_FILE_MAX, &tar, &len, err);
  if (r < 0)
    return -1;
  if (r == 1)
    return 0;
  if (berth_tar_first_file(tar, len, data, NULL, err) < 0) {
    if ((*err)->status == EINVAL) { /* a link or device: start from nothing */
      berth_log(LOG_WARNING, "container=%s file=%s is not a regular file; replacing it", id, path);
      berth_error_release(err);
      return 0;
    }
    return berth_error_wrap(err, "reading %s from container %s", path, id);
  }
  return 1;
}

/* ---------------------------------------------------------------- image facts
 * What berth needs from an image (its /etc/passwd and /etc/group, whether a
 * login shell exists) never changes for one image id, while every read
 * through the archive API costs tens of milliseconds (Docker 20.10 re-execs
 * itself into a chroot for each copy).  So each fact is read once per image
 * (and boot) into RUNDIR/images/<id>/, always from a container nothing has
 * run in yet: a used one may hold another user's entries or files. */

/* "HOST:PID-STARTTIME" of this process. */
static int
scratch_owner(char *buf, size_t len)
{
  char host[256], id[64];

  if (gethostname(host, sizeof(host)) < 0)
    return -1;
  host[sizeof(host) - 1] = '\0';
  if (berth_session_proc_id(getpid(), id, sizeof(id)) < 0)
    return -1;
  snprintf(buf, len, "%s:%s", host, id);
  return 0;
}

static const char *
source_container(struct berth_image_source *s, berth_error_t *err)
{
  cleanup_json json_t *spec = NULL;
  char owner[320];

  if (s->fresh != NULL)
    return s->fresh;
  if (s->scratch != NULL)
    return s->scratch;
  /* who made it (host and process), so that berthctl gc can tell one left
   * behind by a killed login from one in use (berth_box_sweep_scratch) */
  if (scratch_owner(owner, sizeof(owner)) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "naming this process"), NULL;
  spec = json_pack("{s:s, s:[s], s:{s:s, s:s}, s:b, s:{s:s}}", "Image", s->image_id, "Entrypoint",
                   BERTH_KEEPER_TARGET, "Labels", BERTH_LABEL_SCRATCH, s->b->user->name,
                   BERTH_LABEL_SCRATCH_OWNER, owner, "NetworkDisabled", 1, "HostConfig",
                   "NetworkMode", "none");
  if (spec == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory"), NULL;
  if (berth_engine_container_create(s->e, NULL, spec, &s->scratch, err) < 0) {
    berth_error_wrap(err, "reading image %s", s->image_id);
    return NULL;
  }
  return s->scratch;
}

void
berth_image_source_done(struct berth_image_source *s)
{
  berth_error_t err = NULL;
  if (s->scratch == NULL)
    return;
  if (berth_engine_container_remove(s->e, s->scratch, true, &err) < 0) {
    berth_log(LOG_WARNING, "container=%s error=\"removing scratch container: %s\"", s->scratch,
              err->msg);
    berth_error_release(&err);
  }
  free(s->scratch);
  s->scratch = NULL;
}

static int
image_dir(const char *image_id, berth_error_t *err)
{
  const char *colon = strchr(image_id, ':');
  const char *hex = colon ? colon + 1 : image_id; /* "sha256:<hex>" */
  char name[65];

  if (strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64)
    memcpy(name, hex, sizeof(name));
  else
    berth_sha256_hex(image_id, strlen(image_id), name);
  return berth_session_rundir_open("images", name, true, err);
}

int
berth_image_etc(struct berth_image_source *s, char **pw, char **gr, berth_error_t *err)
{
  cleanup_close int dfd = image_dir(s->image_id, err);
  const char *id;

  *pw = *gr = NULL;
  if (dfd < 0)
    return -1;
  *pw = berth_etc_read_file(dfd, "passwd");
  *gr = berth_etc_read_file(dfd, "group");
  if (*pw != NULL && *gr != NULL)
    return 0;
  free(*pw);
  free(*gr);
  *pw = *gr = NULL;
  if ((id = source_container(s, err)) == NULL)
    return -1;
  if (get_file(s->e, id, "/etc/passwd", pw, err) < 0
      || get_file(s->e, id, "/etc/group", gr, err) < 0)
    goto fail;
  if ((*pw == NULL && (*pw = berth_strdup("", err)) == NULL)
      || (*gr == NULL && (*gr = berth_strdup("", err)) == NULL))
    goto fail;
  if (berth_etc_write_file(dfd, "passwd", *pw, err) < 0
      || berth_etc_write_file(dfd, "group", *gr, err) < 0)
    goto fail;
  return 0;
fail:
  free(*pw);
  free(*gr);
  *pw = *gr = NULL;
  return -1;
}

int
berth_image_shell(struct berth_image_source *s, struct berth_box *b, berth_error_t *err)
{
  const char *wanted = b->user->shell;
  const char *fallback = b->cfg->shell.fallback;
  cleanup_close int dfd = -1;
  cleanup_free char *cached = NULL, *line = NULL, *tar = NULL;
  char h[65], file[32];
  bool present = false;
  size_t len = 0;
  const char *id;
  int r;

  free(b->shell);
  b->shell = NULL;
  if (wanted == NULL || wanted[0] != '/' || strchr(wanted, '\n') != NULL)
    goto done;
  if ((dfd = image_dir(s->image_id, err)) < 0)
    return -1;
  berth_sha256_hex(wanted, strlen(wanted), h);
  snprintf(file, sizeof(file), "shell-%.16s", h);
  cached = berth_etc_read_file(dfd, file);
  if (cached != NULL && strncmp(cached, wanted, strlen(wanted)) == 0
      && cached[strlen(wanted)] == '\n') {
    present = strcmp(cached + strlen(wanted) + 1, "yes\n") == 0;
    goto done;
  }
  if ((id = source_container(s, err)) == NULL)
    return -1;
  /* No HEAD in the archive API that every engine answers alike: fetch the
   * file.  Bigger than any shell still proves it is there. */
  r = berth_engine_archive_get(s->e, id, wanted, SHELL_PROBE_MAX, &tar, &len, err);
  if (r < 0 && (*err)->status == EFBIG) {
    berth_error_release(err);
    r = 0;
  }
  if (r < 0)
    return berth_error_wrap(err, "looking for shell %s", wanted);
  present = r == 0;
  if (!present)
    berth_log(LOG_INFO, "user=%s image=%.19s shell=%s not in the image; using %s",
              BERTH_LOG_VAL(b->user->name), s->image_id, BERTH_LOG_VAL(wanted),
              BERTH_LOG_VAL(fallback));
  line = berth_asprintf(err, "%s\n%s\n", wanted, present ? "yes" : "no");
  if (line == NULL || berth_etc_write_file(dfd, file, line, err) < 0)
    return -1;
done:
  b->shell = berth_strdup(present ? wanted : fallback, err);
  return b->shell ? 0 : -1;
}

/* ---------------------------------------------------------------- leftovers
 * A scratch container lives for the few archive reads before
 * berth_image_source_done; one that outlives its maker (SIGKILL between
 * create and remove, an engine that failed the remove) stays forever, never started.  gc removes those
 * whose maker on this host is gone, and those of other hosts (or from a
 * berth without the owner label) once they are older than max_age_s: a
 * live scratch container is never that old. */
int
berth_box_sweep_scratch(struct berth_engine *e, time_t now, time_t max_age_s, int *removed,
                        berth_error_t *err)
{
  cleanup_json json_t *list = NULL;
  char host[256];
  size_t i;
  json_t *item;

  *removed = 0;
  if (gethostname(host, sizeof(host)) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "gethostname");
  host[sizeof(host) - 1] = '\0';
  if (berth_engine_container_list(e, BERTH_LABEL_SCRATCH, &list, err) < 0)
    return -1;
  json_array_foreach(list, i, item)
  {
    json_t *labels = json_object_get(item, "Labels");
    const char *id = json_string_value(json_object_get(item, "Id"));
    const char *state = json_string_value(json_object_get(item, "State"));
    const char *owner = json_string_value(json_object_get(labels, BERTH_LABEL_SCRATCH_OWNER));
    const char *user = json_string_value(json_object_get(labels, BERTH_LABEL_SCRATCH));
    json_int_t created = json_integer_value(json_object_get(item, "Created"));
    const char *colon = owner ? strrchr(owner, ':') : NULL;
    bool ours = colon && (size_t) (colon - owner) == strlen(host)
                && strncmp(owner, host, strlen(host)) == 0;
    const char *why;
    berth_error_t rm_err = NULL;

    if (id == NULL || state == NULL || strcmp(state, "created") != 0)
      continue; /* never started; anything else is not one of ours */
    if (ours && !berth_session_proc_id_live(colon + 1))
      why = "maker-gone";
    else if (!ours && created > 0 && now - (time_t) created > max_age_s)
      why = "old";
    else
      continue;
    if (berth_engine_container_remove(e, id, true, &rm_err) < 0) {
      berth_log(LOG_WARNING,
                "action=sweep leftover=scratch container=%.12s user=%s "
                "outcome=failed error=%s: %s",
                id, BERTH_LOG_VAL(user), berth_error_kind_name(rm_err->kind),
                BERTH_LOG_TEXT(rm_err->msg));
      berth_error_release(&rm_err);
      continue;
    }
    berth_log(LOG_NOTICE,
              "action=sweep leftover=scratch container=%.12s user=%s why=%s "
              "age=%lld outcome=ok",
              id, BERTH_LOG_VAL(user), why, (long long) (now - (time_t) created));
    (*removed)++;
  }
  return 0;
}
