/* backend-internal.h - loading the engine backend as a plugin (backend.h):
 * the loader for lib/engine.c and the unit tests, and the log bridge that
 * only the plugin itself links. */
#ifndef BERTH_BACKEND_INTERNAL_H
#define BERTH_BACKEND_INTERNAL_H

#include "berth/backend.h"
#include "berth/error.h"

/* lib/backend_load.c: the descriptor of the plugin at path.  The file has to
 * be one only root can have put there: a regular file owned by root and
 * writable by nobody else, reached through directories only root can change
 * (berth_path_open's BERTH_PATH_TRUSTED walk).  It is loaded from the
 * checked file itself (RTLD_NOW | RTLD_LOCAL), and its descriptor must be of
 * this build (ABI, sizes, PACKAGE_VERSION).  Never unloaded.  0, or -1 with
 * err (BERTH_E_ENGINE_UNREACHABLE: without it the engine cannot be reached). */
int berth_backend_load(const char *path, const struct berth_backend_plugin **out,
                       berth_error_t *err);
/* The plugin at BERTH_ENGINE_PLUGIN, loaded (berth_backend_load) by the
 * first call of the process: for the first engine opened (engine.c) or the
 * first TLS connection (conn.c), whichever comes first; later calls give
 * the same descriptor, or try again after a failure.  Not set up: that is
 * global_init's, which engine.c calls.  0, or -1 with err. */
int berth_backend_get(const struct berth_backend_plugin **out, berth_error_t *err);

/* lib/backend_host.c, in engine-docker.so only: where the plugin's
 * berth_log and berth_log_debug_enabled send their lines. */
void berth_backend_host_set(const struct berth_backend_host *host);

#endif
