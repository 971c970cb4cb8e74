/* error.c - the error object: creation, wrapping, user-facing reasons. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"

/* Used when even the error could not be allocated: callers still get a
 * usable, static message. */
static struct berth_error_s oom_error = { ENOMEM, BERTH_E_INTERNAL, (char *) "out of memory" };

static int __attribute__((format(printf, 5, 0)))
make_v(berth_error_t *err, enum berth_error_kind kind, int status, const char *suffix,
       const char *fmt, va_list ap)
{
  struct berth_error_s *e;
  char *msg = NULL;

  if (err == NULL)
    return -1;
  /* the contract (error.h): a new error replaces one already there */
  if (*err != NULL)
    berth_error_release(err);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  if (msg != NULL && suffix != NULL) {
    char *full = NULL;
    if (asprintf(&full, "%s: %s", msg, suffix) < 0)
      full = NULL;
    free(msg);
    msg = full;
  }
  e = calloc(1, sizeof(*e));
  if (e == NULL || msg == NULL) {
    free(e);
    free(msg);
    *err = &oom_error;
    return -1;
  }
  e->status = status;
  e->kind = kind;
  e->msg = msg;
  *err = e;
  return -1;
}

int
berth_error_make(berth_error_t *err, enum berth_error_kind kind, int status, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  make_v(err, kind, status, NULL, fmt, ap);
  va_end(ap);
  return -1;
}

int
berth_error_errno(berth_error_t *err, enum berth_error_kind kind, int status, const char *fmt, ...)
{
  va_list ap;
  char buf[256];
  const char *s = strerror_r(status, buf, sizeof(buf));
  va_start(ap, fmt);
  make_v(err, kind, status, s, fmt, ap);
  va_end(ap);
  return -1;
}

int
berth_error_wrap(berth_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *ctx = NULL, *full = NULL;

  if (err == NULL || *err == &oom_error)
    return -1;
  va_start(ap, fmt);
  if (vasprintf(&ctx, fmt, ap) < 0)
    ctx = NULL;
  va_end(ap);
  if (*err == NULL) {
    /* the callee broke the contract; say where, rather than report nothing */
    berth_error_make(err, BERTH_E_INTERNAL, 0, "%s: failed without an error message",
                     ctx ? ctx : "(no context)");
    free(ctx);
    return -1;
  }
  if (ctx == NULL)
    return -1; /* keep the original message: better than nothing */
  if (asprintf(&full, "%s: %s", ctx, (*err)->msg) < 0)
    full = NULL;
  free(ctx);
  if (full != NULL) {
    free((*err)->msg);
    (*err)->msg = full;
  }
  return -1;
}

void
berth_error_release(berth_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  if (*err != &oom_error) {
    free((*err)->msg);
    free(*err);
  }
  *err = NULL;
}

const char *
berth_error_reason(const berth_error_t err)
{
  switch (err ? err->kind : BERTH_E_INTERNAL) {
  case BERTH_E_CONFIG: return "the berth configuration is invalid";
  case BERTH_E_USER: return "your account could not be resolved";
  case BERTH_E_HOME: return "your home directory could not be prepared";
  case BERTH_E_ENGINE_UNREACHABLE: return "the container service is not reachable";
  case BERTH_E_ENGINE_TIMEOUT: return "the container service did not answer in time";
  case BERTH_E_ENGINE: return "the container service reported an error";
  case BERTH_E_ENGINE_REPLY: return "the container service sent a reply berth does not understand";
  case BERTH_E_IMAGE_MISSING: return "the container image is not available";
  case BERTH_E_PULL: return "the container image could not be downloaded";
  case BERTH_E_CONTAINER: return "your container could not be started";
  case BERTH_E_EXEC: return "your command could not be started in the container";
  case BERTH_E_SESSION: return "your session could not be recorded";
  case BERTH_E_USAGE: return "the request was not understood";
  case BERTH_E_PERM: return "permission denied";
  case BERTH_E_POLICY:
    return "your group membership could not be read; the user directory may be unreachable";
  case BERTH_E_JOIN: return "your container cannot be entered with its own confinement";
  case BERTH_E_HOME_ENGINE: return "your home directory is not available on the container host";
  case BERTH_E_INTERNAL:
  default: return "an internal error occurred";
  }
}

const char *
berth_error_kind_name(enum berth_error_kind kind)
{
  switch (kind) {
  case BERTH_E_CONFIG: return "config";
  case BERTH_E_USER: return "user";
  case BERTH_E_HOME: return "home";
  case BERTH_E_ENGINE_UNREACHABLE: return "engine-unreachable";
  case BERTH_E_ENGINE_TIMEOUT: return "engine-timeout";
  case BERTH_E_ENGINE: return "engine";
  case BERTH_E_ENGINE_REPLY: return "engine-reply";
  case BERTH_E_IMAGE_MISSING: return "image-missing";
  case BERTH_E_PULL: return "pull";
  case BERTH_E_CONTAINER: return "container";
  case BERTH_E_EXEC: return "exec";
  case BERTH_E_SESSION: return "session";
  case BERTH_E_USAGE: return "usage";
  case BERTH_E_PERM: return "permission";
  case BERTH_E_POLICY: return "policy";
  case BERTH_E_JOIN: return "join";
  case BERTH_E_HOME_ENGINE: return "home-engine";
  case BERTH_E_INTERNAL:
  default: return "internal";
  }
}
