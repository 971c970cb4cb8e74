/* warm.c - join mode's warm state (warm.h): one root-owned JSON file per
 * container under RUNDIR/warm, written by pam_berth at session open, read
 * by berth-shell so that a join needs no engine request.
 *
 * Why the user can neither forge nor race it: RUNDIR and RUNDIR/warm are
 * root's and writable by nobody else (session.c's checks on every open);
 * the file is created O_EXCL|O_NOFOLLOW 0600 under a temporary name and
 * renamed into place, so a reader sees a whole file or the old one; the
 * reader opens it O_NOFOLLOW|O_NONBLOCK and accepts only a regular file
 * owned by root, mode 0600, one link.  What it says is checked again at
 * the join: the init's pid is pinned by pidfd, its start time must be the
 * recorded one and its cgroups must name the recorded id.  A record that
 * no longer matches sends berth-shell down the engine path. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/log.h"
#include "berth/pin.h"
#include "berth/session.h"
#include "berth/util.h"
#include "berth/warm.h"
#include "join-internal.h"

#define WARM_DIR "warm"
#define WARM_MAX (256 * 1024)

/* The keys of from (an object, or NULL) that it has, into to. */
static int
copy_keys(json_t *to, json_t *from, const char *const *keys)
{
  for (size_t k = 0; keys[k]; k++) {
    json_t *v = json_object_get(from, keys[k]);
    if (v != NULL && json_object_set(to, keys[k], v) < 0)
      return -1;
  }
  return 0;
}

/* What join reads of an inspect (join_target.c), and nothing else. */
static json_t *
subset(json_t *info, berth_error_t *err)
{
  static const char *const state[] = { "Running", "Paused", "Restarting", "Status", "Pid", NULL };
  static const char *const hc[] = { "Privileged", "CapAdd",      "CapDrop",     "Ulimits",
                                    "GroupAdd",   "OomScoreAdj", "SecurityOpt", NULL };
  static const char *const cfg[] = { "Hostname", "Env", "WorkingDir", NULL };
  static const struct {
    const char *name;
    const char *const *keys;
  } parts[] = { { "State", state }, { "HostConfig", hc }, { "Config", cfg } };
  static const char *const top[] = { "AppArmorProfile", "ProcessLabel", NULL };
  json_t *out = json_object();

  if (out == NULL)
    goto oom;
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
    json_t *to = json_object();
    if (to == NULL || json_object_set_new(out, parts[i].name, to) < 0
        || copy_keys(to, json_object_get(info, parts[i].name), parts[i].keys) < 0)
      goto oom;
  }
  if (copy_keys(out, info, top) < 0)
    goto oom;
  return out;
oom:
  json_decref(out);
  berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return NULL;
}

static int
warm_dir(bool create, berth_error_t *err)
{
  int fd = berth_session_rundir_open(WARM_DIR, NULL, create, err);

  if (fd >= 0 && create && fchmod(fd, 0700) < 0) {
    berth_error_errno(err, BERTH_E_SESSION, errno, "chmod %s/%s", berth_session_rundir(), WARM_DIR);
    close(fd);
    return -1;
  }
  return fd;
}

static int
write_record(const char *name, const char *text, berth_error_t *err)
{
  cleanup_close int dfd = warm_dir(true, err);
  cleanup_close int fd = -1;
  char tmp[300];

  if (dfd < 0)
    return -1;
  snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long) getpid());
  unlinkat(dfd, tmp, 0);
  fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "creating the warm state of %s", name);
  if (berth_write_all(fd, text, strlen(text), err) < 0 || renameat(dfd, tmp, dfd, name) < 0) {
    int e = errno;
    unlinkat(dfd, tmp, 0);
    return berth_error_errno(err, BERTH_E_SESSION, e, "writing the warm state of %s", name);
  }
  return 0;
}

/* The pinned init's oldest filter (join_seccomp.c): it never changes while
 * that process lives (filters only stack on top), and the join pins the
 * same pid and start time before using it.  NULL, with the reason logged,
 * when it cannot be read: the record goes without it and the join reads it
 * itself. */
static json_t *
filter_of(const struct berth_box *b, struct berth_join_target *t)
{
  berth_error_t err = NULL;
  json_t *v = NULL;

  if (berth_join_read_filter(t, &err) == 0 && !berth_pin_alive(&t->pin))
    berth_error_make(&err, BERTH_E_JOIN, EAGAIN, "the container's init exited");
  else if (err == NULL)
    v = berth_join_filter_encode(&t->filter, &err);
  if (v == NULL)
    berth_log(LOG_WARNING, "user=%s container=%s warm state without the seccomp filter: %s",
              BERTH_LOG_VAL(b->user->name), BERTH_LOG_VAL(b->name),
              BERTH_LOG_TEXT(err ? err->msg : "unknown error"));
  berth_error_release(&err);
  return v;
}

int
berth_warm_save(struct berth_engine *e, const struct berth_box *b, berth_error_t *err)
{
  cleanup_json json_t *info = NULL;
  cleanup_json json_t *rec = NULL;
  cleanup_free char *text = NULL;
  struct berth_join_target t;
  json_t *sub, *seccomp;
  unsigned long long start;
  json_int_t pid;
  int r;

  if (b->id == NULL || b->shell == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, EINVAL, "no container to record");
  r = berth_engine_container_inspect(e, b->id, &info, err);
  if (r != 0)
    return r < 0
               ? -1
               : berth_error_make(err, BERTH_E_CONTAINER, ENOENT, "container %s vanished", b->name);
  pid = json_integer_value(json_object_get(json_object_get(info, "State"), "Pid"));
  /* the start time and the filter both of the one process pinned */
  berth_join_target_init(&t);
  if (pid <= 1 || berth_pin_open(&t.pin, (pid_t) pid, BERTH_E_JOIN, EAGAIN, err) < 0) {
    berth_join_target_release(&t);
    return berth_error_wrap(err, "recording the warm state of %s", b->name);
  }
  start = t.pin.start_time;
  seccomp = filter_of(b, &t);
  berth_join_target_release(&t);
  sub = subset(info, err);
  if (sub == NULL) {
    json_decref(seccomp);
    return -1;
  }
  rec = json_pack("{s:i, s:I, s:s, s:s, s:s?, s:s, s:I, s:I, s:o, s:o*}", "v", 1, "uid",
                  (json_int_t) b->user->uid, "name", b->name, "id", b->id, "spec", b->spec_hash,
                  "shell", b->shell, "pid", pid, "start", (json_int_t) start, "inspect", sub,
                  "seccomp", seccomp);
  if (rec == NULL || (text = json_dumps(rec, JSON_COMPACT)) == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  return write_record(b->name, text, err);
}

/* The record's file, if it is root's own and nothing else's. */
static int
read_record(const char *name, char **text, berth_error_t *err)
{
  cleanup_close int dfd = warm_dir(false, err);
  cleanup_close int fd = -1;
  struct stat st;
  size_t got = 0;

  if (dfd == -2)
    return 1;
  if (dfd < 0)
    return -1;
  fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 1;
  if (fd < 0 || fstat(fd, &st) < 0)
    return berth_error_errno(err, BERTH_E_SESSION, errno, "opening the warm state of %s", name);
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0 || st.st_nlink != 1
      || st.st_size <= 0 || st.st_size > WARM_MAX)
    return berth_error_make(err, BERTH_E_SESSION, EPERM,
                            "the warm state of %s is not a private file of root's", name);
  *text = calloc(1, (size_t) st.st_size + 1);
  if (*text == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  got = berth_join_read_full(fd, *text, (size_t) st.st_size);
  if (got != (size_t) st.st_size) {
    free(*text);
    *text = NULL;
    return berth_error_make(err, BERTH_E_SESSION, EIO, "reading the warm state of %s", name);
  }
  return 0;
}

int
berth_warm_load(struct berth_box *b, json_t **info, unsigned long long *start,
                struct berth_join_filter *filter, bool *has_filter, berth_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_json json_t *rec = NULL;
  json_t *seccomp;
  const char *id, *shell, *name;
  int r;

  *info = NULL;
  *has_filter = false;
  r = read_record(b->name, &text, err);
  if (r != 0)
    return r;
  rec = json_loads(text, 0, NULL);
  id = json_string_value(json_object_get(rec, "id"));
  shell = json_string_value(json_object_get(rec, "shell"));
  name = json_string_value(json_object_get(rec, "name"));
  if (json_integer_value(json_object_get(rec, "v")) != 1
      || json_integer_value(json_object_get(rec, "uid")) != (json_int_t) b->user->uid
      || name == NULL || strcmp(name, b->name) != 0 || id == NULL || *id == '\0' || shell == NULL
      || shell[0] != '/' || !json_is_object(json_object_get(rec, "inspect")))
    return 1; /* another user's name, an old format: not ours to use */
  seccomp = json_object_get(rec, "seccomp");
  if (seccomp != NULL) {
    r = berth_join_filter_decode(seccomp, filter, err);
    if (r != 0)
      return r; /* a malformed filter: as any malformed record */
    *has_filter = true;
  }
  *start = (unsigned long long) json_integer_value(json_object_get(rec, "start"));
  free(b->id);
  b->id = berth_strdup(id, err);
  if (b->shell == NULL)
    b->shell = berth_strdup(shell, err);
  if (b->id == NULL || b->shell == NULL)
    return -1;
  *info = json_incref(json_object_get(rec, "inspect"));
  return 0;
}

void
berth_warm_forget(const struct berth_box *b)
{
  int dfd = warm_dir(false, NULL);

  if (dfd < 0)
    return;
  unlinkat(dfd, b->name, 0);
  close(dfd);
}
