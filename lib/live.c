/* live.c - the engine's view of a container's live sessions and its idle
 * clock, for bastions that share one engine (live.h says why the engine
 * and not RUNDIR; docs/scale-out.md has the design and its limits). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/boxdef.h"
#include "berth/hijack.h"
#include "berth/live.h"
#include "berth/util.h"
#include "etcfiles-internal.h"

/* How often a holder is asked whether it ended. */
#define SETTLE_STEP_MS 100
/* How often a "created" container is asked whether it started. */
#define CREATED_STEP_MS 50
/* The idle mark is a decimal time and a newline. */
#define MARK_MAX 64

/* Whether exec `id` runs and counts (kind; a holder is the keeper run with
 * --hold): 1 yes, 0 no (or gone: the engine forgets an ended exec after a
 * few minutes), -1 on error. */
static int
exec_counts(struct berth_engine *e, const char *id, enum berth_live_kind kind, berth_error_t *err)
{
  cleanup_free char *q = NULL, *path = NULL;
  cleanup_json json_t *reply = NULL;
  const char *entry, *arg;
  json_t *pc, *args;
  long status = 0;

  q = berth_engine_escape(id, err);
  if (q == NULL || (path = berth_asprintf(err, "/exec/%s/json", q)) == NULL
      || berth_engine_request(e, "GET", path, NULL, &status, &reply, err) < 0)
    return -1;
  if (status == 404)
    return 0;
  if (berth_engine_check(status, reply, BERTH_E_ENGINE, "inspecting an exec", err) < 0)
    return -1;
  if (!json_is_true(json_object_get(reply, "Running")))
    return 0;
  if (kind == BERTH_LIVE_ANY)
    return 1;
  pc = json_object_get(reply, "ProcessConfig");
  args = json_object_get(pc, "arguments");
  entry = jstr(pc, "entrypoint");
  arg = json_string_value(json_array_get(args, 0));
  return entry != NULL && strcmp(entry, BERTH_KEEPER_TARGET) == 0 && json_array_size(args) == 1
         && arg != NULL && strcmp(arg, BERTH_LIVE_HOLD_ARG) == 0;
}

int
berth_live_execs(struct berth_engine *e, json_t *info, enum berth_live_kind kind,
                 const char *exclude, int *running, berth_error_t *err)
{
  json_t *ids = json_object_get(info, "ExecIDs"); /* null when there are none */

  *running = 0;
  for (size_t i = 0; i < json_array_size(ids); i++) {
    const char *id = json_string_value(json_array_get(ids, i));
    int r;
    if (id == NULL || *id == '\0' || (exclude != NULL && strcmp(id, exclude) == 0))
      continue;
    if ((r = exec_counts(e, id, kind, err)) < 0)
      return berth_error_wrap(err, "counting the sessions in the container");
    *running += r;
  }
  return 0;
}

/* ---------------------------------------------------------------- holders */

struct berth_live_hold {
  char *exec_id;
  struct berth_hijack h;
};

int
berth_live_hold(struct berth_engine *e, const struct berth_config *cfg, const char *container,
                uid_t uid, gid_t gid, long timeout_ms, struct berth_live_hold **out,
                berth_error_t *err)
{
  struct berth_endpoint ep;
  struct berth_live_hold *hd = berth_malloc0(sizeof(*hd), err);
  cleanup_json json_t *spec = NULL;
  struct berth_conn *conn = NULL;
  char user[64];
  bool running = false;
  int code = -1;

  *out = NULL;
  if (hd == NULL)
    return -1;
  /* the user's own uid:gid, as every process berth starts in there; stdin
   * only: the holder prints nothing */
  snprintf(user, sizeof(user), "%lu:%lu", (unsigned long) uid, (unsigned long) gid);
  spec = json_pack("{s:b, s:b, s:b, s:b, s:[ss], s:[], s:s, s:s}", "AttachStdin", 1, "AttachStdout",
                   0, "AttachStderr", 0, "Tty", 0, "Cmd", BERTH_KEEPER_TARGET, BERTH_LIVE_HOLD_ARG,
                   "Env", "User", user, "WorkingDir", "/");
  if (spec == NULL) {
    berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
    goto fail;
  }
  berth_engine_endpoint(cfg, &ep);
  if (berth_engine_exec_create(e, container, spec, &hd->exec_id, err) < 0
      || (conn = berth_engine_hijack_connect_endpoint(&ep, timeout_ms, err)) == NULL)
    goto fail;
  if (berth_engine_exec_attach(conn, berth_engine_api_version(e), hd->exec_id, false, timeout_ms,
                               &hd->h, err)
      < 0) {
    berth_conn_free(conn);
    goto fail;
  }
  /* A keeper from before hold mode exits at once (status 2, usage): the
   * container's keeper is the binary it was started with. */
  if (berth_engine_exec_inspect(e, hd->exec_id, &running, &code, NULL, err) < 0)
    goto fail;
  if (!running && code != -1) {
    berth_error_make(err, BERTH_E_EXEC, ENOTSUP,
                     "the session holder in %s exited at once with status %d (a keeper older "
                     "than hold mode: restart the container)",
                     container, code);
    goto fail;
  }
  *out = hd;
  return 0;
fail:
  berth_live_hold_free(hd);
  return berth_error_wrap(err, "starting the session holder");
}

const char *
berth_live_hold_id(const struct berth_live_hold *hd)
{
  return hd ? hd->exec_id : NULL;
}

void
berth_live_hold_free(struct berth_live_hold *hd)
{
  if (hd == NULL)
    return;
  berth_hijack_close(&hd->h);
  free(hd->exec_id);
  free(hd);
}

void
berth_live_unhold(struct berth_engine *e, struct berth_live_hold *hd, long settle_ms)
{
  int64_t deadline = berth_now_ms() + settle_ms;
  bool running = true;

  if (hd == NULL)
    return;
  /* EOF on the holder's stdin: it exits; the engine notices a moment later */
  berth_hijack_close(&hd->h);
  memset(&hd->h, 0, sizeof(hd->h));
  while (running && berth_now_ms() < deadline) {
    berth_error_t err = NULL;
    if (berth_engine_exec_inspect(e, hd->exec_id, &running, NULL, NULL, &err) < 0) {
      berth_error_release(&err);
      break;
    }
    if (running)
      poll(NULL, 0, SETTLE_STEP_MS);
  }
}

int
berth_live_mark_idle(struct berth_engine *e, const char *id, time_t when, berth_error_t *err)
{
  char data[MARK_MAX];
  cleanup_free char *tar = NULL;
  size_t len = 0;
  int n = snprintf(data, sizeof(data), "%lld\n", (long long) when);
  /* /.berth is the keeper's directory, root's; made here when a custom
   * keeper means there is none. */
  const struct berth_tar_entry files[] = {
    { .name = ".berth/", .mode = 0755 },
    { .name = ".berth/idle", .data = data, .len = (size_t) n, .mode = 0644 },
  };

  if (berth_tar_build(files, 2, &tar, &len, err) < 0
      || berth_engine_archive_put(e, id, "/", tar, len, err) < 0)
    return berth_error_wrap(err, "writing the idle mark %s", BERTH_LIVE_MARK_PATH);
  return 0;
}

int
berth_live_idle_mark(struct berth_engine *e, const char *id, time_t *when, berth_error_t *err)
{
  cleanup_free char *tar = NULL, *data = NULL;
  size_t len = 0;
  char *end = NULL;
  long long t;
  int r;

  r = berth_engine_archive_get(e, id, BERTH_LIVE_MARK_PATH, 4 * 512 + MARK_MAX, &tar, &len, err);
  if (r != 0)
    return r < 0 ? berth_error_wrap(err, "reading the idle mark %s", BERTH_LIVE_MARK_PATH) : 1;
  if (berth_tar_first_file(tar, len, &data, NULL, err) < 0) {
    berth_error_release(err); /* not a file of ours: no mark */
    return 1;
  }
  errno = 0;
  t = strtoll(data, &end, 10);
  if (errno != 0 || end == data || (*end != '\n' && *end != '\0') || t <= 0)
    return 1;
  *when = (time_t) t;
  return 0;
}

int
berth_live_wait_created(struct berth_engine *e, const char *name, json_t **info, berth_error_t *err)
{
  int64_t deadline = berth_now_ms() + BERTH_LIVE_CREATED_WAIT_MS;
  const char *status = jstr(*info, "State", "Status");

  /* missing: the engine holds a name for a create in progress (409)
   * before the container can be inspected; "created": not started yet */
  while ((*info == NULL || (status != NULL && strcmp(status, "created") == 0))
         && berth_now_ms() < deadline) {
    json_t *again = NULL;
    int r;
    poll(NULL, 0, CREATED_STEP_MS);
    r = berth_engine_container_inspect(e, name, &again, err);
    if (r < 0)
      return -1;
    if (r == 1 && *info != NULL)
      return berth_error_make(err, BERTH_E_CONTAINER, EAGAIN,
                              "container %s was created and removed concurrently", name);
    json_decref(*info);
    *info = r == 0 ? again : NULL;
    status = jstr(*info, "State", "Status");
  }
  if (*info == NULL)
    return berth_error_make(err, BERTH_E_CONTAINER, EAGAIN,
                            "container %s: its name is taken, but there is no such container",
                            name);
  return 0;
}
