/* fake_backend.c - a plugin from "another build" for test_backend_load: the
 * right symbol with another interface number and version, which the loader
 * must refuse rather than call. */
#include "config.h"

#include "berth/backend.h"

__attribute__((visibility("default"))) const struct berth_backend_plugin berth_backend_docker = {
  .abi = BERTH_BACKEND_ABI + 1,
  .size = sizeof(struct berth_backend_plugin),
  .ops_size = sizeof(struct berth_backend_ops),
  .version = "0.0.0-another-build",
  .name = "docker",
};
