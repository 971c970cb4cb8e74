/* config.h - berth.conf: defaults-first struct, loaded with libconfig,
 * validated as a whole (config.c, config_setting.c, config_check.c); the
 * per-user effective settings (resolve.c).  Policy: policy.h. */
#ifndef BERTH_CONFIG_H
#define BERTH_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "berth/error.h"
#include "berth/user.h"

#ifndef BERTH_CONFIG_PATH
#define BERTH_CONFIG_PATH "/etc/berth/berth.conf"
/* berth_config_policy() and berth_policy_name() (policy.c) */
#include "berth/policy.h"

#endif

enum berth_pull { BERTH_PULL_NEVER, BERTH_PULL_MISSING, BERTH_PULL_ALWAYS };
enum berth_entry { BERTH_ENTRY_EXEC, BERTH_ENTRY_JOIN };
enum berth_on_logout { BERTH_LOGOUT_KEEP, BERTH_LOGOUT_STOP, BERTH_LOGOUT_REMOVE };

struct berth_mount {
  char *source; /* may hold %-templates; expanded per user */
  char *target;
  bool readonly;
};

/* The default container.network: a bridge network berth creates on first
 * use with inter-container traffic off, so users' containers cannot reach
 * each other (docs/security.md "Default limits and isolation"). */
#define BERTH_NETWORK "berth"
/* The default container.pids: a fork bomb stays inside its container. */
#define BERTH_DEFAULT_PIDS 512

/* The settings that group/user overrides may change.  Also used as the
 * resolved, per-user result. */
struct berth_container_conf {
  char *image;
  enum berth_pull pull;
  char *name;     /* template, default "berth-%u" */
  char *hostname; /* template, default "%u-box" */
  char **keeper;  /* NULL-terminated; empty = built-in berth-keeper */
  int64_t memory; /* bytes, 0 = unlimited */
  double cpus;    /* 0 = unlimited */
  int64_t pids;   /* 0 = unlimited */
  char *network;  /* BERTH_NETWORK (default), "bridge", "none", "host", ... */
  bool readonly_rootfs;
  char **tmpfs; /* "PATH[:OPTIONS]" */
  bool no_new_privileges;
  struct berth_mount *mounts;
  size_t n_mounts;
  char **env; /* "KEY=VALUE" */
  enum berth_on_logout on_logout;
  int64_t idle_timeout; /* seconds, 0 = never */
};

struct berth_override {
  char *match; /* group or user name */
  int line;    /* where it is defined, for messages */
  /* which fields the override sets */
  bool has_image, has_pull, has_memory, has_cpus, has_pids, has_network, has_readonly_rootfs,
      has_tmpfs, has_mounts, has_env, has_on_logout, has_idle_timeout, has_keeper;
  struct berth_container_conf c; /* only the has_* fields are meaningful */
};

struct berth_config {
  char *path;
  struct {
    char *socket;   /* the unix socket; NULL with a tcp:// host */
    char *host;     /* engine.host as written, or NULL */
    int host_line;  /* where, for messages */
    char *tcp_host; /* tcp://HOST:PORT: HOST without brackets; NULL for unix */
    unsigned tcp_port;
    struct {
      char *ca, *cert, *key; /* PEM files, checked at load */
      int line;
    } tls;
    long timeout_ms;
  } engine;
  enum berth_entry entry;
  bool entry_forced; /* entry = "join" was asked for; a remote engine made it exec */
  struct {
    bool mount;
    bool create;
    char *skel;
    mode_t mode;
  } home;
  struct {
    char *fallback;
    char *host;
  } shell;
  struct berth_container_conf container; /* global image/pull live in here too */
  struct {
    char **only_groups;
    char **exclude_users;
    char **exclude_groups;
  } policy;
  struct berth_override *groups;
  size_t n_groups;
  struct berth_override *users;
  size_t n_users;
  bool debug; /* top-level `debug`: log debug messages */
};

/* True when the engine is reached over a local unix socket; false for a
 * tcp:// engine (another host).  What needs the container's processes on
 * this host asks this: join mode (a remote engine always uses exec: the
 * loader sets entry to exec), pam_berth's network-namespace move. */
bool berth_config_engine_local(const struct berth_config *cfg);
/* The engine for messages and log lines: the socket path or engine.host. */
const char *berth_config_engine_name(const struct berth_config *cfg);

/* Load and validate path.  Errors are BERTH_E_CONFIG and read
 * "FILE:LINE: KEY: problem". */
int berth_config_load(const char *path, struct berth_config **out, berth_error_t *err);
void berth_config_free(struct berth_config *cfg);

/* Effective container settings for u: the global container settings, then the
 * first matching `groups` entry (file order; primary and supplementary groups
 * count), then the first matching `users` entry.  Templates are NOT expanded
 * here.  Free with berth_container_conf_free(). */
int berth_config_resolve(const struct berth_config *cfg, const struct berth_user *u,
                         struct berth_container_conf **out, berth_error_t *err);
void berth_container_conf_free(struct berth_container_conf *c);

const char *berth_pull_name(enum berth_pull p);
const char *berth_on_logout_name(enum berth_on_logout o);

/* berth_config_policy() and berth_policy_name() (policy.c) */
#include "berth/policy.h"

#endif
