/* fuzz_config.c - berth.conf through berth_config_load (libconfig and every
 * validation of lib/config.c and lib/config_check.c), from a file of the fuzzer's bytes in a
 * private temporary directory.  Properties: a load either fails with a
 * BERTH_E_CONFIG error (or an internal one) or yields a config whose
 * overrides resolve for a user in every group they name. */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "berth/config.h"
#include "berth/util.h"

static char dir[64];
static char path[96];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct berth_config *cfg = NULL;
  berth_error_t err = NULL;
  int fd;

  if (dir[0] == '\0') {
    snprintf(dir, sizeof(dir), "/tmp/berth-fuzz-config-XXXXXX");
    if (mkdtemp(dir) == NULL)
      abort();
    snprintf(path, sizeof(path), "%s/berth.conf", dir);
  }
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
    abort();
  close(fd);
  if (berth_config_load(path, &cfg, &err) < 0) {
    FUZZ_ASSERT(cfg == NULL && err != NULL);
    FUZZ_ASSERT(err->kind == BERTH_E_CONFIG || err->kind == BERTH_E_INTERNAL);
    berth_error_release(&err);
    return 0;
  }
  FUZZ_ASSERT(cfg != NULL && err == NULL);
  /* a user in the first group override, named as the first user override */
  struct berth_group g = { 4242, cfg->n_groups ? cfg->groups[0].match : (char *) "g" };
  struct berth_user u = {
    .name = cfg->n_users ? cfg->users[0].match : (char *) "u",
    .uid = 4242,
    .gid = 4242,
    .gecos = (char *) "",
    .home = (char *) "/home/u",
    .shell = (char *) "/bin/sh",
    .group = g.name,
    .groups = &g,
    .n_groups = 1,
  };
  struct berth_container_conf *c = NULL;
  if (berth_config_resolve(cfg, &u, &c, &err) < 0) {
    FUZZ_ASSERT(err != NULL && err->kind == BERTH_E_INTERNAL);
    berth_error_release(&err);
  }
  berth_container_conf_free(c);
  berth_config_free(cfg);
  return 0;
}
