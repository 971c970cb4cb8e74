/* entry.c - the entry-mode interface (entry.h): the table of modes, chosen
 * by the config's `entry`, and the calls that dispatch to the chosen one. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "berth/session.h"
#include "berth/util.h"
#include "entry_internal.h"

struct berth_entry_prep {
  const struct berth_entry_mode *mode;
  struct berth_engine *e;
  const struct berth_box *b;
  void *state;
};

/* Indexed by enum berth_entry. */
static const struct berth_entry_mode *const modes[] = {
  [BERTH_ENTRY_EXEC] = &berth_entry_mode_exec,
  [BERTH_ENTRY_JOIN] = &berth_entry_mode_join,
};

const char *
berth_entry_chosen(const struct berth_config *cfg, const char **why)
{
  if (cfg->entry_forced) {
    *why = "entry = \"join\" in berth.conf, but the engine is remote (engine.host tcp://): "
           "join needs the container's processes on this host";
    return "exec";
  }
  if (cfg->entry == BERTH_ENTRY_JOIN) {
    *why = "entry = \"join\" in berth.conf";
    return "join";
  }
  *why = "entry = \"exec\" in berth.conf (the default)";
  return "exec";
}

int
berth_entry_prepare(struct berth_engine *e, const struct berth_box *b,
                    struct berth_entry_prep **out, berth_error_t *err)
{
  unsigned m = (unsigned) b->cfg->entry;
  struct berth_entry_prep *en;

  *out = NULL;
  if (m >= sizeof(modes) / sizeof(modes[0]) || modes[m] == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOTSUP, "entry mode %u is not built in", m);
  en = berth_malloc0(sizeof(*en), err);
  if (en == NULL)
    return -1;
  en->mode = modes[m];
  en->e = e;
  en->b = b;
  if (en->mode->prepare(e, b, &en->state, err) < 0) {
    free(en);
    return -1;
  }
  *out = en;
  return 0;
}

int
berth_entry_prepare_warm(struct berth_box *b, struct berth_entry_prep **out, berth_error_t *err)
{
  unsigned m = (unsigned) b->cfg->entry;
  struct berth_entry_prep *en;
  int r;

  *out = NULL;
  /* only inside a session pam_berth opened (its record's owner is our
   * ancestor, as sshd's monitor is): it wrote the state at that open */
  if (m >= sizeof(modes) / sizeof(modes[0]) || modes[m] == NULL || modes[m]->prepare_warm == NULL
      || !berth_session_owned_by_ancestor(b->name))
    return 1;
  en = berth_malloc0(sizeof(*en), err);
  if (en == NULL)
    return -1;
  en->mode = modes[m];
  en->b = b;
  r = en->mode->prepare_warm(b, &en->state, err);
  if (r != 0) {
    free(en);
    return r;
  }
  *out = en;
  return 0;
}

int
berth_entry_run(struct berth_entry_prep *en, const struct berth_exec_req *r, berth_error_t *err)
{
  return en->mode->run(en->e, en->b, en->state, r, err);
}

bool
berth_entry_can_rerun(const struct berth_entry_prep *en)
{
  return en->mode->can_rerun(en->state);
}

void
berth_entry_free(struct berth_entry_prep *en)
{
  if (en == NULL)
    return;
  en->mode->release(en->state);
  free(en);
}
