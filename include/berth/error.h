/* error.h - the error object every core function that can fail fills in.
 *
 * Convention (docs/error_handling.md): a function that can fail takes
 * `berth_error_t *err` as its last argument and returns < 0 (or NULL).  On
 * failure *err holds an errno-style status, a kind that maps to the one plain
 * line a user is shown, and a detailed message for syslog.  *err is never
 * set on success.  Callers add context with berth_error_wrap() and either
 * pass the error up or report it once and berth_error_release() it. */
#ifndef BERTH_ERROR_H
#define BERTH_ERROR_H

#include <stdarg.h>

/* What went wrong, in the terms a user is told.  The kind survives wrapping. */
enum berth_error_kind {
  BERTH_E_INTERNAL = 0,       /* a bug or resource exhaustion */
  BERTH_E_CONFIG,             /* berth.conf is invalid */
  BERTH_E_USER,               /* the user cannot be resolved through NSS */
  BERTH_E_HOME,               /* the home directory could not be prepared */
  BERTH_E_ENGINE_UNREACHABLE, /* cannot connect to the engine socket */
  BERTH_E_ENGINE_TIMEOUT,     /* the engine did not answer in time */
  BERTH_E_ENGINE,             /* the engine answered with an error */
  BERTH_E_ENGINE_REPLY,       /* the engine's reply could not be understood */
  BERTH_E_IMAGE_MISSING,      /* image absent and pull = never */
  BERTH_E_PULL,               /* the image pull failed */
  BERTH_E_CONTAINER,          /* the container could not be created or started */
  BERTH_E_EXEC,               /* the command could not be started in the container */
  BERTH_E_SESSION,            /* session bookkeeping (locks, records) failed */
  BERTH_E_USAGE,              /* bad arguments or input */
  BERTH_E_PERM,               /* caller lacks the privilege */
  BERTH_E_POLICY,             /* the policy could not decide: membership unreadable */
  BERTH_E_JOIN,        /* join mode refuses: it cannot confine the session as the engine would */
  BERTH_E_HOME_ENGINE, /* the engine's host has no such home (shared storage) */
};

struct berth_error_s {
  int status; /* errno value, 0 when none applies */
  enum berth_error_kind kind;
  char *msg; /* detailed, for syslog; never NULL once set */
};
typedef struct berth_error_s *berth_error_t;

/* Set *err and return -1.  `status` is an errno value or 0.  An error
 * already in *err is released and replaced: the newest failure is the one
 * reported, and nothing leaks when a fallback fails too.  A NULL err is
 * allowed (the caller does not want the detail). */
int berth_error_make(berth_error_t *err, enum berth_error_kind kind, int status, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
/* Same, appending strerror(status) to the message. */
int berth_error_errno(berth_error_t *err, enum berth_error_kind kind, int status, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
/* Prefix context: "context: previous message", keeping status and kind.
 * Returns -1.  With no error in *err (a callee that failed without setting
 * one: a bug) it makes a BERTH_E_INTERNAL one saying so, so a failure never
 * reaches the user or syslog without a message. */
int berth_error_wrap(berth_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Free *err and set it to NULL; safe on NULL. */
void berth_error_release(berth_error_t *err);
/* The plain reason shown to users, e.g. "the container service is not reachable". */
const char *berth_error_reason(const berth_error_t err);
/* A short token for syslog, e.g. "engine-unreachable". */
const char *berth_error_kind_name(enum berth_error_kind kind);

#endif
