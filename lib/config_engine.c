/* config_engine.c - berth.conf's engine section: `socket` (the short form),
 * `host` ("unix:///path" or "tcp://HOST:PORT"), `tls = { ca; cert; key; }`
 * and `timeout_ms`, with the rules that span them:
 * - socket and host together are an error (which one would win?);
 * - tcp:// without tls is an error: whoever reaches an engine's TCP port
 *   without mutual TLS is root on the engine host, so plain TCP is refused;
 * - tls without tcp:// is an error (it would silently do nothing);
 * - the three TLS files are absolute, regular, root-owned and not writable
 *   by group or others; the key is readable by root alone.
 * Checked at load, so every error names file:line and the key. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/util.h"
#include "config-internal.h"

static int
check_tls_file(struct cfg_ctx *c, const config_setting_t *s, const char *path, bool secret)
{
  struct stat st;

  if (cfg_check_abs_path(c, s, path) < 0)
    return -1;
  if (stat(path, &st) < 0)
    return cfg_fail(c, s, "cannot use \"%s\": %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return cfg_fail(c, s, "\"%s\" is not a regular file", path);
  if (st.st_uid != 0 || (st.st_mode & 022) != 0)
    return cfg_fail(c, s,
                    "\"%s\" has owner uid %u and mode %04o (it must be root's and not "
                    "writable by group or others)",
                    path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
  if (secret && (st.st_mode & 077) != 0)
    return cfg_fail(c, s,
                    "the private key \"%s\" has mode %04o: it must be readable by root "
                    "alone (chmod 600)",
                    path, (unsigned) (st.st_mode & 07777));
  return 0;
}

static int
tls_key(struct cfg_ctx *c, const config_setting_t *f, const char *name, void *data)
{
  struct berth_config *cfg = data;
  char **dst = strcmp(name, "ca") == 0     ? &cfg->engine.tls.ca
               : strcmp(name, "cert") == 0 ? &cfg->engine.tls.cert
               : strcmp(name, "key") == 0  ? &cfg->engine.tls.key
                                           : NULL;

  if (dst == NULL)
    return cfg_fail(c, f, "unknown key (engine.tls has ca, cert and key)");
  if (cfg_get_string(c, f, dst) < 0 || check_tls_file(c, f, *dst, dst == &cfg->engine.tls.key) < 0)
    return -1;
  return 0;
}

static int
load_tls(struct cfg_ctx *c, const config_setting_t *s, struct berth_config *cfg)
{
  cfg->engine.tls.line = (int) config_setting_source_line(s);
  if (cfg_each_key(c, s, tls_key, cfg) < 0)
    return -1;
  if (cfg->engine.tls.ca == NULL || cfg->engine.tls.cert == NULL || cfg->engine.tls.key == NULL)
    return cfg_fail(c, s, "needs all of ca, cert and key (mutual TLS)");
  return 0;
}

/* "HOST:PORT" after "tcp://": HOST a name, an IPv4 address or [IPv6]. */
static int
parse_tcp(struct cfg_ctx *c, const config_setting_t *s, const char *hp, struct berth_config *cfg)
{
  const char *host = hp, *end, *colon;
  char *stop = NULL;
  unsigned long port;

  if (*hp == '[') {
    host = hp + 1;
    end = strchr(host, ']');
    if (end == NULL || end[1] != ':')
      return cfg_fail(c, s, "\"tcp://%s\": an IPv6 address is written [ADDR]:PORT", hp);
    colon = end + 1;
  } else {
    colon = strrchr(hp, ':');
    end = colon;
    if (colon == NULL || memchr(hp, ':', (size_t) (colon - hp)) != NULL)
      return cfg_fail(c, s, "\"tcp://%s\" is not tcp://HOST:PORT", hp);
  }
  if (end == host)
    return cfg_fail(c, s, "\"tcp://%s\" has no host", hp);
  for (const char *p = host; p < end; p++)
    if (!(isalnum((unsigned char) *p) || *p == '.' || *p == '-' || *p == ':' || *p == '_'))
      return cfg_fail(c, s, "\"tcp://%s\": the host may hold letters, digits, '.', '-' and ':'",
                      hp);
  errno = 0;
  port = strtoul(colon + 1, &stop, 10);
  if (colon[1] == '\0' || *stop != '\0' || errno != 0 || port == 0 || port > 65535
      || !isdigit((unsigned char) colon[1]))
    return cfg_fail(c, s, "\"tcp://%s\" needs a port from 1 to 65535", hp);
  free(cfg->engine.tcp_host);
  cfg->engine.tcp_host = berth_asprintf(c->err, "%.*s", (int) (end - host), host);
  cfg->engine.tcp_port = (unsigned) port;
  return cfg->engine.tcp_host ? 0 : -1;
}

static int
load_host(struct cfg_ctx *c, const config_setting_t *s, struct berth_config *cfg)
{
  const char *v;

  if (cfg_get_string(c, s, &cfg->engine.host) < 0)
    return -1;
  v = cfg->engine.host;
  cfg->engine.host_line = (int) config_setting_source_line(s);
  if (strncmp(v, "unix://", 7) == 0) {
    if (cfg_check_abs_path(c, s, v + 7) < 0)
      return -1;
    free(cfg->engine.socket);
    cfg->engine.socket = berth_strdup(v + 7, c->err);
    return cfg->engine.socket ? 0 : -1;
  }
  if (strncmp(v, "tcp://", 6) == 0)
    return parse_tcp(c, s, v + 6, cfg);
  return cfg_fail(c, s, "\"%s\" is neither unix:///PATH nor tcp://HOST:PORT", v);
}

/* The engine section being read: where each key stands, for the rules
 * between them. */
struct engine_read {
  struct berth_config *cfg;
  const config_setting_t *host_s, *socket_s, *tls_s;
};

/* The rules between the keys, once the section is read. */
static int
engine_rules(struct cfg_ctx *c, const struct engine_read *r)
{
  struct berth_config *cfg = r->cfg;

  if (r->host_s != NULL && r->socket_s != NULL)
    return cfg_fail(c, r->host_s,
                    "engine.socket is set too (line %u): set one of them (socket is the "
                    "short form of host = \"unix://...\")",
                    config_setting_source_line(r->socket_s));
  if (cfg->engine.tcp_host != NULL) {
    if (r->tls_s == NULL)
      return cfg_fail(c, r->host_s,
                      "plain TCP to an engine is refused (whoever reaches it is root on the "
                      "engine host): a tcp:// host needs engine.tls = { ca; cert; key; }");
    free(cfg->engine.socket);
    cfg->engine.socket = NULL;
    return 0;
  }
  if (r->tls_s != NULL)
    return cfg_fail(c, r->tls_s, "engine.tls is for a tcp:// engine.host only");
  return 0;
}

static int
engine_key(struct cfg_ctx *c, const config_setting_t *f, const char *name, void *data)
{
  struct engine_read *r = data;
  struct berth_config *cfg = r->cfg;
  int64_t v = 0;

  if (strcmp(name, "socket") == 0) {
    r->socket_s = f;
    if (cfg_get_string(c, f, &cfg->engine.socket) < 0)
      return -1;
    return cfg_check_abs_path(c, f, cfg->engine.socket);
  }
  if (strcmp(name, "host") == 0) {
    r->host_s = f;
    return load_host(c, f, cfg);
  }
  if (strcmp(name, "tls") == 0) {
    r->tls_s = f;
    return load_tls(c, f, cfg);
  }
  if (strcmp(name, "timeout_ms") != 0)
    return cfg_fail(c, f, "unknown key (engine has socket, host, tls and timeout_ms)");
  if (cfg_get_int(c, f, &v) < 0)
    return -1;
  if (v <= 0 || v > INT32_MAX)
    return cfg_fail(c, f, "%lld is not a timeout (milliseconds, greater than 0)", (long long) v);
  cfg->engine.timeout_ms = (long) v;
  return 0;
}

int
cfg_load_engine(struct cfg_ctx *c, const config_setting_t *s, struct berth_config *cfg)
{
  struct engine_read r = { cfg, NULL, NULL, NULL };

  if (cfg_each_key(c, s, engine_key, &r) < 0)
    return -1;
  return engine_rules(c, &r);
}

void
cfg_engine_clear(struct berth_config *cfg)
{
  free(cfg->engine.socket);
  free(cfg->engine.host);
  free(cfg->engine.tcp_host);
  free(cfg->engine.tls.ca);
  free(cfg->engine.tls.cert);
  free(cfg->engine.tls.key);
}

bool
berth_config_engine_local(const struct berth_config *cfg)
{
  return cfg != NULL && cfg->engine.tcp_host == NULL;
}

const char *
berth_config_engine_name(const struct berth_config *cfg)
{
  if (cfg->engine.tcp_host != NULL && cfg->engine.host != NULL)
    return cfg->engine.host;
  return cfg->engine.socket ? cfg->engine.socket : "-";
}
