/* login.c - the login preparation shared by the front ends (login.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "berth/conn.h"
#include "berth/log.h"
#include "berth/login.h"

int
berth_login_identify(struct berth_login *l, const char *name, berth_error_t *err)
{
  return berth_user_lookup(name, &l->u, err);
}

int
berth_login_identify_uid(struct berth_login *l, uid_t uid, berth_error_t *err)
{
  return berth_user_lookup_uid(uid, &l->u, err);
}

enum berth_policy
berth_login_decide(struct berth_login *l, const char *config_path, long timeout_ms,
                   berth_error_t *err)
{
  if (l->u->uid == 0) {
    l->why = "uid 0 is never berthed";
    if (berth_config_load(config_path, &l->cfg, &l->cfg_err) < 0)
      l->cfg = NULL;
    else if (l->cfg->debug)
      berth_log_set_debug(true);
    return BERTH_POLICY_EXCLUDED;
  }
  if (berth_config_load(config_path, &l->cfg, err) < 0)
    return BERTH_POLICY_DENIED;
  if (l->cfg->debug)
    berth_log_set_debug(true); /* `debug` in berth.conf works like the option */
  if (timeout_ms > 0)
    l->cfg->engine.timeout_ms = timeout_ms;
  return berth_config_policy(l->cfg, l->u, &l->why, err);
}

int
berth_login_box(struct berth_login *l, berth_error_t *err)
{
  return berth_box_new(l->cfg, l->u, &l->box, err);
}

int
berth_core_connect(const struct berth_config *cfg, struct berth_engine **out, berth_error_t *err)
{
  struct berth_engine *e = NULL;
  struct berth_endpoint ep;

  *out = NULL;
  berth_engine_endpoint(cfg, &ep);
  if (berth_engine_global_init(err) < 0
      || berth_engine_new_endpoint(&ep, cfg->engine.timeout_ms, &e, err) < 0)
    return -1;
  if (berth_engine_ping(e, err) < 0) {
    berth_engine_free(e);
    return -1;
  }
  *out = e;
  return 0;
}

void
berth_core_disconnect(struct berth_engine *e)
{
  berth_engine_free(e);
}

int
berth_core_tls_probe(const struct berth_config *cfg, struct berth_tls_info *out, berth_error_t *err)
{
  struct berth_endpoint ep;
  cleanup_conn struct berth_conn *c = NULL;

  memset(out, 0, sizeof(*out));
  if (berth_config_engine_local(cfg))
    return 1;
  berth_engine_endpoint(cfg, &ep);
  if (berth_conn_open_checked(&ep, cfg->engine.timeout_ms, &c, err) < 0)
    return -1;
  return berth_conn_tls_info(c, out) < 0 ? 1 : 0;
}

const char *
berth_core_api_version(const struct berth_engine *e)
{
  return berth_engine_api_version(e);
}

int
berth_login_connect(struct berth_login *l, bool pin, berth_error_t *err)
{
  if (berth_core_connect(l->cfg, &l->engine, err) < 0)
    return -1;
  if (pin)
    berth_engine_pin_connection(l->engine);
  return 0;
}

void
berth_login_clear(struct berth_login *l)
{
  berth_engine_free(l->engine);
  berth_box_free(l->box);
  berth_config_free(l->cfg);
  berth_user_free(l->u);
  berth_error_release(&l->cfg_err);
  *l = (struct berth_login){ 0 };
}
