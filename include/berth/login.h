/* login.h - the login preparation pam_berth, berth-shell and berthctl share
 * (user -> config -> policy -> box -> engine), with one rule for root, and
 * the root-side engine connection set-up: front ends call these and never
 * the engine itself. */
#ifndef BERTH_LOGIN_H
#define BERTH_LOGIN_H

#include <stdbool.h>
#include <sys/types.h>

#include "berth/config.h"
#include "berth/box.h"
#include "berth/image.h"
#include "berth/spec.h"
#include "berth/engine.h"
#include "berth/error.h"
#include "berth/user.h"

/* One login's view of the core objects, filled phase by phase; freed by
 * berth_login_clear. */
struct berth_login {
  struct berth_user *u;
  struct berth_config *cfg; /* uid 0: NULL when berth.conf does not load */
  struct berth_box *box;
  struct berth_engine *engine;
  const char *why;       /* excluded: why (static) */
  berth_error_t cfg_err; /* uid 0: why berth.conf did not load, for the host shell */
};

/* Phase 1, who: by name (PAM_USER, berthctl's argument) or by real uid. */
int berth_login_identify(struct berth_login *l, const char *name, berth_error_t *err);
int berth_login_identify_uid(struct berth_login *l, uid_t uid, berth_error_t *err);

/* Phase 2, config and policy.  The one rule for root: uid 0 is never
 * berthed, decided before berth.conf is read, so root logs in cleanly
 * (forwarding and all) to repair a broken one; the config is still loaded,
 * best effort, for the host shell it names (a failure goes to l->cfg_err).
 * For everyone else: load config_path (debug in it turns debug logging on;
 * timeout_ms > 0 overrides engine.timeout_ms) and ask the policy.  DENIED
 * with *err when the config does not load or the policy cannot decide. */
enum berth_policy berth_login_decide(struct berth_login *l, const char *config_path,
                                     long timeout_ms, berth_error_t *err);

/* Phase 3, for a berthed user, as root: the box (names, settings; no
 * engine traffic), then the engine connection.  pin: keep the one
 * connection for the whole process (berth-shell: after the privilege drop
 * a reconnect would be made as the user, and must fail, not be tried). */
int berth_login_box(struct berth_login *l, berth_error_t *err);
int berth_login_connect(struct berth_login *l, bool pin, berth_error_t *err);
void berth_login_clear(struct berth_login *l);

/* The engine connection of berthctl: reached and answering (ping). */
int berth_core_connect(const struct berth_config *cfg, struct berth_engine **out,
                       berth_error_t *err);
void berth_core_disconnect(struct berth_engine *e);
const char *berth_core_api_version(const struct berth_engine *e);
/* berthctl check: a TLS handshake with a tcp:// engine and what it showed
 * (server identity, client certificate expiry).  0 with *out, 1 for a local
 * engine (no TLS), -1 with err (the one-line reason the handshake failed). */
struct berth_tls_info;
int berth_core_tls_probe(const struct berth_config *cfg, struct berth_tls_info *out,
                         berth_error_t *err);

#endif
