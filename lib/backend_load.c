/* backend_load.c - loading the engine backend from its plugin file
 * (backend.h, backend-internal.h).
 *
 * berth-shell is setuid root and pam_berth runs inside sshd as root: the
 * object they load runs with root's rights, so it must be a file only root
 * could have written.  The path is compiled in (never from the
 * environment or the config); the file is reached by the same trust walk as
 * bind sources (berth_path_open: every directory root's and writable by
 * nobody else, or root's sticky directory holding a root-owned entry, links
 * followed only when trusted alike); the file itself must be a regular file
 * owned by root and writable by nobody else.  dlopen() is then given the
 * same path: between the check and the load only root could change what it
 * names.  (Not /proc/self/fd/N: glibc knows loaded objects by name first,
 * and would hand back whatever an earlier load through the same fd number
 * was.) */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "backend-internal.h"
#include "berth/log.h"
#include "berth/util.h"

static int
check_file(int fd, const char *path, berth_error_t *err)
{
  struct stat st;

  if (fstat(fd, &st) < 0)
    return berth_error_errno(err, BERTH_E_ENGINE_UNREACHABLE, errno, "engine client %s", path);
  if (!S_ISREG(st.st_mode))
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPERM,
                            "engine client %s is not a regular file", path);
  if (st.st_uid != 0)
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPERM,
                            "engine client %s is owned by uid %u, not root: not loaded", path,
                            (unsigned) st.st_uid);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, EPERM,
                            "engine client %s is writable by group or others (mode %04o): "
                            "not loaded",
                            path, (unsigned) (st.st_mode & 07777));
  return 0;
}

/* The descriptor must be of this very build: the plugin shares the core's
 * structs (berth_error_s, the ops table) without any other check. */
static int
check_descriptor(const struct berth_backend_plugin *p, const char *path, berth_error_t *err)
{
  if (p->abi != BERTH_BACKEND_ABI || p->size != sizeof(*p)
      || p->ops_size != sizeof(struct berth_backend_ops) || p->version == NULL
      || strcmp(p->version, PACKAGE_VERSION) != 0 || p->global_init == NULL || p->engine_new == NULL
      || p->conn_tls == NULL)
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ENOEXEC,
                            "engine client %s is from another build of berth (version %s, "
                            "interface %u; this is %s, interface %u)",
                            path, p->version ? p->version : "?", p->abi, PACKAGE_VERSION,
                            BERTH_BACKEND_ABI);
  return 0;
}

int
berth_backend_load(const char *path, const struct berth_backend_plugin **out, berth_error_t *err)
{
  cleanup_close int fd = -1;
  const struct berth_backend_plugin *p;
  const char *why;
  void *h;

  *out = NULL;
  fd = berth_path_open(path, BERTH_PATH_TRUSTED | BERTH_PATH_FILE, BERTH_E_ENGINE_UNREACHABLE, NULL,
                       err);
  if (fd < 0)
    return berth_error_wrap(err, "loading the engine client");
  if (check_file(fd, path, err) < 0)
    return -1;
  dlerror();
  h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    why = dlerror();
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ENOEXEC,
                            "engine client %s cannot be loaded: %s", path, why ? why : "dlopen");
  }
  p = dlsym(h, BERTH_BACKEND_SYMBOL);
  if (p == NULL) {
    dlclose(h);
    return berth_error_make(err, BERTH_E_ENGINE_UNREACHABLE, ENOEXEC, "engine client %s has no %s",
                            path, BERTH_BACKEND_SYMBOL);
  }
  if (check_descriptor(p, path, err) < 0) {
    dlclose(h);
    return -1;
  }
  berth_debug("engine client loaded path=%s backend=%s", BERTH_LOG_VAL(path),
              BERTH_LOG_VAL(p->name));
  *out = p; /* the handle stays open for the process: never dlclose'd */
  return 0;
}

int
berth_backend_get(const struct berth_backend_plugin **out, berth_error_t *err)
{
  static const struct berth_backend_plugin *loaded;

  if (loaded == NULL && berth_backend_load(BERTH_ENGINE_PLUGIN, &loaded, err) < 0) {
    *out = NULL;
    return -1;
  }
  *out = loaded;
  return 0;
}
