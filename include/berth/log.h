/* log.h - the one logging sink of the core.
 *
 * lib/ never prints: it logs through the sink the front end installs
 * (pam_syslog inside PAM, syslog(LOG_AUTHPRIV) in berth-shell and berthctl).
 * Messages are lowercase "key=value" lines without the program prefix.
 *
 * Every value that is not a constant or a number (user names from NSS,
 * paths, container names, engine and system messages, anything a user
 * typed) goes through BERTH_LOG_VAL (a key=value value) or BERTH_LOG_TEXT
 * (the error= text that ends a line), so that nothing a user or a directory
 * controls can forge a line or a key.  The scheme is in docs/logging.md
 * ("Values"). */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "berth/error.h"

typedef void (*berth_log_sink_fn)(void *ctx, int priority, const char *msg);

/* Install a sink; NULL restores the default (syslog, facility authpriv). */
void berth_log_set_sink(berth_log_sink_fn fn, void *ctx);
void berth_log_set_debug(bool on);
bool berth_log_debug_enabled(void);
/* Formats the line, replaces any control character left in it with '?'
 * (the last guard: a line stays one line), and hands it to the sink. */
void berth_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define berth_debug(...)                 \
  do {                                   \
    if (berth_log_debug_enabled())       \
      berth_log(LOG_DEBUG, __VA_ARGS__); \
  } while (0)

/* Most bytes a value takes in a line (quotes included), and the error text. */
#define BERTH_LOG_VALUE_MAX 256
#define BERTH_LOG_TEXT_MAX 1024

/* s as one key=value value: as is when it only holds [A-Za-z0-9._+/@:,~-],
 * "-" for NULL, otherwise in double quotes with \\ \" \n \r \t and \xNN for
 * every other byte below 0x20 or from 0x7f up.  Longer than
 * BERTH_LOG_VALUE_MAX: cut at a whole character or escape and marked "...".
 * Writes into buf (size >= BERTH_LOG_VALUE_MAX + 1) and returns it. */
const char *berth_log_value(char *buf, size_t size, const char *s);
/* s as the free text that ends a line (error=KIND: TEXT): spaces, quotes
 * and '=' stay, '\\' and the bytes above are escaped the same way, at most
 * BERTH_LOG_TEXT_MAX bytes, cut with "...".  buf: >= BERTH_LOG_TEXT_MAX + 1. */
const char *berth_log_text(char *buf, size_t size, const char *s);
/* The replacement of control characters berth_log does, for front ends that
 * must call their own logger (pam_syslog). */
void berth_log_scrub(char *msg);

/* For a printf argument list: the escaped form lives until the end of the
 * enclosing block (a compound literal), so
 *   berth_log(LOG_INFO, "user=%s home=%s", BERTH_LOG_VAL(u->name), BERTH_LOG_VAL(home));
 * needs no buffers of its own. */
#define BERTH_LOG_VAL(s) \
  berth_log_value((char[BERTH_LOG_VALUE_MAX + 1]){ 0 }, BERTH_LOG_VALUE_MAX + 1, (s))
#define BERTH_LOG_TEXT(s) \
  berth_log_text((char[BERTH_LOG_TEXT_MAX + 1]){ 0 }, BERTH_LOG_TEXT_MAX + 1, (s))

/* The one action line (docs/logging.md): what berth did for whom, one line
 * per action, in this key order:
 *   action=A user=U container=C [session=S] [trigger=T] [EXTRA] [engine=E]
 *   [outcome=O] [TAIL] [error=KIND: TEXT]
 * user and container are escaped here ("-" for NULL); each is left out
 * only with no_user / no_container (a sweep of leftovers names neither).  session 0, trigger, extra, engine, outcome and
 * tail NULL: left out.  extra and tail are preformatted "k=v k=v" whose
 * values the caller escaped (BERTH_LOG_VAL).  With outcome "failed" and no
 * err the error reads "internal: an internal error occurred". */
struct berth_action {
  const char *user, *container, *engine;
  long session;
  const char *trigger;
  const char *extra;   /* between trigger= and engine= */
  const char *outcome; /* "ok", "failed", "skipped" */
  const char *tail;    /* after outcome= */
  bool no_user, no_container;
  berth_error_t err; /* borrowed: ends the line as error=KIND: TEXT */
};
void berth_log_action(int priority, const char *action, const struct berth_action *a);

/* What an entry line shows of a command (cmd NULL: "interactive"): its
 * first word, only [A-Za-z0-9._+/@:,~-], "-" for an assignment or
 * anything else (berth-shell's entry lines). */
void berth_log_command_word(const char *cmd, char *out, size_t len);

#endif
