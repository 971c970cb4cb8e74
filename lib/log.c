/* log.c - the logging sink, and the escaping of the values that go into a
 * line.  Default sink: syslog(LOG_AUTHPRIV).  Front ends replace it
 * (pam_syslog in the module, syslog + stderr in berthctl).
 *
 * Why escape: syslog lines are read by people and parsed by tools
 * (fail2ban, SIEM rules on "action=... user=..."), and many values in them
 * come from outside berth (argv, the environment, NSS and LDAP names,
 * engine messages).  A newline in a value would start a forged line, a
 * space or '=' a forged key.  docs/logging.md ("Values") documents it. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "berth/log.h"

static berth_log_sink_fn sink_fn;
static void *sink_ctx;
static bool debug_on;

void
berth_log_set_sink(berth_log_sink_fn fn, void *ctx)
{
  sink_fn = fn;
  sink_ctx = ctx;
}

void
berth_log_set_debug(bool on)
{
  debug_on = on;
}

bool
berth_log_debug_enabled(void)
{
  return debug_on;
}

void
berth_log_scrub(char *msg)
{
  for (unsigned char *p = (unsigned char *) msg; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      *p = '?';
}

void
berth_log(int priority, const char *fmt, ...)
{
  char buf[2048];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  /* Every value should have been escaped already; this keeps a line one
   * line even where one was not. */
  berth_log_scrub(buf);
  if (sink_fn != NULL)
    sink_fn(sink_ctx, priority, buf);
  else
    syslog(LOG_AUTHPRIV | priority, "%s", buf);
}

/* ---------------------------------------------------------------- values */

static bool
plain_byte(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || (c != '\0' && strchr("._+/@:,~-", c) != NULL);
}

/* The escaped form of one byte into tok (no NUL); its length.  In a quoted
 * value '"' is escaped too; in text (the end of a line) it can stay. */
static size_t
escape_byte(unsigned char c, bool quoted, char tok[4])
{
  static const char hex[] = "0123456789abcdef";

  /* the two-byte escapes: the letter after the backslash, 0 for none */
  char letter = c == '\\'            ? '\\'
                : c == '\n'          ? 'n'
                : c == '\r'          ? 'r'
                : c == '\t'          ? 't'
                : c == '"' && quoted ? '"'
                                     : 0;

  if (letter != 0) {
    tok[0] = '\\';
    tok[1] = letter;
    return 2;
  }
  if (c < 0x20 || c >= 0x7f) {
    tok[0] = '\\';
    tok[1] = 'x';
    tok[2] = hex[c >> 4];
    tok[3] = hex[c & 15];
    return 4;
  }
  tok[0] = (char) c;
  return 1;
}

/* s escaped into buf, within max bytes (and size), in double quotes when
 * `quoted`, cut with "..." (inside the quotes) when it does not fit. */
static const char *
escape_into(char *buf, size_t size, size_t max, const char *s, bool quoted)
{
  const char *q = quoted ? "\"" : "";
  size_t ql = strlen(q), total = 2 * ql, pos = 0;
  char tok[4];

  if (size == 0)
    return "";
  if (max > size - 1)
    max = size - 1;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    total += escape_byte(*p, quoted, tok);
  memcpy(buf + pos, q, ql);
  pos += ql;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
    size_t n = escape_byte(*p, quoted, tok);
    if (total > max && pos + n + 3 + ql > max) {
      memcpy(buf + pos, "...", 3);
      pos += 3;
      break;
    }
    memcpy(buf + pos, tok, n);
    pos += n;
  }
  memcpy(buf + pos, q, ql);
  pos += ql;
  buf[pos] = '\0';
  return buf;
}

const char *
berth_log_value(char *buf, size_t size, const char *s)
{
  bool plain;

  if (s == NULL)
    return "-";
  plain = *s != '\0';
  for (const unsigned char *p = (const unsigned char *) s; *p && plain; p++)
    plain = plain_byte(*p);
  return escape_into(buf, size, BERTH_LOG_VALUE_MAX, s, !plain);
}

const char *
berth_log_text(char *buf, size_t size, const char *s)
{
  if (s == NULL)
    return "-";
  return escape_into(buf, size, BERTH_LOG_TEXT_MAX, s, false);
}

/* ---------------------------------------------------------------- action lines */

/* " key=value", or nothing for a NULL value */
static const char *
opt_kv(char *buf, size_t size, const char *key, const char *v)
{
  if (v == NULL || *v == '\0')
    return "";
  snprintf(buf, size, " %s=%s", key, v);
  return buf;
}

void
berth_log_action(int priority, const char *action, const struct berth_action *a)
{
  char usr[BERTH_LOG_VALUE_MAX + 16] = "", cont[BERTH_LOG_VALUE_MAX + 16] = "", sess[32] = "";
  char trig[64], eng[BERTH_LOG_VALUE_MAX + 16];
  char out[64], err[BERTH_LOG_TEXT_MAX + 64] = "";
  const berth_error_t e = a->err;

  if (!a->no_user)
    snprintf(usr, sizeof(usr), " user=%s", BERTH_LOG_VAL(a->user));
  if (!a->no_container)
    snprintf(cont, sizeof(cont), " container=%s", BERTH_LOG_VAL(a->container));
  if (a->session > 0)
    snprintf(sess, sizeof(sess), " session=%ld", a->session);
  if (e != NULL || (a->outcome != NULL && strcmp(a->outcome, "failed") == 0))
    snprintf(err, sizeof(err), " error=%s: %s",
             berth_error_kind_name(e ? e->kind : BERTH_E_INTERNAL),
             BERTH_LOG_TEXT(e ? e->msg : "an internal error occurred"));
  berth_log(priority, "action=%s%s%s%s%s%s%s%s%s%s%s%s", action, usr, cont, sess,
            opt_kv(trig, sizeof(trig), "trigger", a->trigger), a->extra && *a->extra ? " " : "",
            a->extra ? a->extra : "",
            a->engine ? opt_kv(eng, sizeof(eng), "engine", BERTH_LOG_VAL(a->engine)) : "",
            opt_kv(out, sizeof(out), "outcome", a->outcome), a->tail && *a->tail ? " " : "",
            a->tail ? a->tail : "", err);
}

/* What the entry line shows of a command: its first word and nothing more,
 * because the rest can carry secrets (`mysql -pPASSWORD`, `curl -u user:pw`).
 * Only [A-Za-z0-9._+/@:,~-] is copied, so no user-chosen byte can forge log
 * text; a word that is an assignment (`TOKEN=... cmd`, `--password=...`) or
 * starts with anything else (a quote, `$(`) shows as "-".  No command at all
 * is "interactive". */
void
berth_log_command_word(const char *cmd, char *out, size_t len)
{
  size_t n = 0;

  if (cmd == NULL) {
    snprintf(out, len, "interactive");
    return;
  }
  while (*cmd == ' ' || *cmd == '\t' || *cmd == '\n')
    cmd++;
  while (n + 1 < len && cmd[n] != '\0'
         && ((cmd[n] >= 'a' && cmd[n] <= 'z') || (cmd[n] >= 'A' && cmd[n] <= 'Z')
             || (cmd[n] >= '0' && cmd[n] <= '9') || strchr("._+/@:,~-", cmd[n]) != NULL))
    n++;
  if (n == 0 || cmd[n] == '=')
    snprintf(out, len, "-");
  else
    snprintf(out, len, "%.*s", (int) n, cmd);
}
