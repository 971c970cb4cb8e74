/* env.c - the environment whitelist of a berthed session (env.h). */
#include "config.h"

#include <string.h>

#include "berth/env.h"
#include "berth/util.h"

static const char *const passed[] = {
  "TERM", "LANG", "TZ", "SSH_CONNECTION", "SSH_CLIENT", "SSH_ORIGINAL_COMMAND", NULL,
};

static bool
name_is(const char *name, size_t len, const char *want)
{
  return strlen(want) == len && strncmp(name, want, len) == 0;
}

/* LC_ALL, LC_CTYPE, ...: upper case and '_' only, as locale(7) names them. */
static bool
is_lc_name(const char *name, size_t len)
{
  if (len <= 3 || strncmp(name, "LC_", 3) != 0)
    return false;
  for (size_t i = 3; i < len; i++)
    if (!((name[i] >= 'A' && name[i] <= 'Z') || name[i] == '_'))
      return false;
  return true;
}

bool
berth_env_passes(const char *name, size_t len)
{
  for (size_t i = 0; passed[i] != NULL; i++)
    if (name_is(name, len, passed[i]))
      return true;
  return is_lc_name(name, len);
}

/* The value berth gives an identity variable on the host, NULL for one that
 * is not an identity variable; *known false when there is no value to give
 * (the variable is then deleted). */
static const char *
identity_value(const char *name, size_t len, const struct berth_user *u, bool *known)
{
  const char *v;

  *known = true;
  if (name_is(name, len, "PATH"))
    return BERTH_ENV_HOST_PATH;
  if (name_is(name, len, "HOME"))
    v = u ? u->home : NULL;
  else if (name_is(name, len, "USER") || name_is(name, len, "LOGNAME"))
    v = u ? u->name : NULL;
  else if (name_is(name, len, "SHELL"))
    v = u ? u->shell : NULL;
  else {
    *known = false;
    return NULL;
  }
  if (v == NULL || *v == '\0')
    return ""; /* identity, but nothing to give: delete */
  return v;
}

char **
berth_env_session_edits(char *const *env, const struct berth_user *u, berth_error_t *err)
{
  size_t n = berth_strv_len(env), k = 0;
  cleanup_strv char **edits = berth_malloc0((n + 1) * sizeof(char *), err);

  if (edits == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    const char *kv = env[i], *eq = strchr(kv, '=');
    size_t len = eq ? (size_t) (eq - kv) : strlen(kv);
    const char *value;
    bool identity;
    char *edit;

    if (len == 0 || berth_env_passes(kv, len))
      continue; /* no name: nothing pam_putenv could name; passing: opaque data */
    value = identity_value(kv, len, u, &identity);
    if (identity && *value != '\0') {
      if (eq != NULL && strcmp(eq + 1, value) == 0)
        continue; /* already right */
      edit = berth_asprintf(err, "%.*s=%s", (int) len, kv, value);
    } else {
      edit = berth_asprintf(err, "%.*s", (int) len, kv);
    }
    if (edit == NULL)
      return NULL;
    edits[k++] = edit;
  }
  return steal_pointer(&edits);
}
