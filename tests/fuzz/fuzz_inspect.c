/* fuzz_inspect.c - the readers of an engine's container inspect reply in
 * lib/spec.c (owner labels, what an existing container grants beyond
 * the wanted spec), behind berth_box_inspect_check.  The input is the JSON
 * reply.  Properties: the verdict is -1, 0 or 1, an error exactly with -1,
 * and the wanted spec itself, labelled for the user, grants nothing more
 * than itself. */
#include "config.h"

#include "fuzz.h"
#include "berth/box.h"
#include "../../lib/config-internal.h"
#include "../../lib/spec-internal.h"
#include "../lib/fixture_users.h"

static struct berth_config *cfg;
static struct berth_box *box;
static json_t *spec;
static struct berth_group groups[] = { { 1000, (char *) "alice" }, { 2001, (char *) "devs" } };
static struct berth_user alice
    = TEST_USER("alice", 1000, 1000, "", "/home/alice", "/bin/sh", "alice", groups);

static void
setup(void)
{
  berth_error_t err = NULL;
  json_t *info;
  char what[256];

  if (berth_config_defaults(&cfg, &err) < 0 || berth_box_new(cfg, &alice, &box, &err) < 0
      || (spec = berth_box_spec(box, "sha256:0123", "/usr/libexec/berth/berth-keeper", &err))
             == NULL)
    abort();
  /* the spec as an inspect reply would carry it */
  info = json_pack("{s:O,s:O}", "Config", spec, "HostConfig", json_object_get(spec, "HostConfig"));
  FUZZ_ASSERT(berth_box_inspect_check(box, info, spec, what, sizeof(what), &err) == 0);
  json_decref(info);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  berth_error_t err = NULL;
  char what[256];
  json_t *info;
  int r;

  if (spec == NULL)
    setup();
  info = json_loadb((const char *) data, size, 0, NULL);
  if (info == NULL)
    return 0;
  what[0] = '\0';
  r = berth_box_inspect_check(box, info, spec, what, sizeof(what), &err);
  FUZZ_ASSERT(r >= -1 && r <= 1 && (r < 0) == (err != NULL));
  FUZZ_ASSERT(r != 1 || what[0] != '\0');
  berth_error_release(&err);
  json_decref(info);
  return 0;
}
