/* container.h - the user's container ("box"): effective settings, spec
 * building, spec hash, and ensure (image, create, inject passwd/group, start).
 * Shared by pam_berth, berth-shell and berthctl. */
#ifndef BERTH_CONTAINER_H
#define BERTH_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include "berth/config.h"
#include "berth/engine.h"
#include "berth/user.h"

#define BERTH_LABEL_USER "berth.user"
#define BERTH_LABEL_UID "berth.uid"
#define BERTH_LABEL_SPEC "berth.spec"
/* A scratch container (read an image's files, never started): the user it
 * was made for, and "HOST:PID-STARTTIME" of the process that made it. */
#define BERTH_LABEL_SCRATCH "berth.scratch"
#define BERTH_LABEL_SCRATCH_OWNER "berth.scratch.owner"
#define BERTH_KEEPER_TARGET "/.berth/keeper"

struct berth_box {
  const struct berth_config *cfg;   /* borrowed */
  const struct berth_user *user;    /* borrowed */
  struct berth_container_conf *conf; /* resolved for this user, owned */
  char *name;        /* sanitized container name */
  char *hostname;    /* sanitized hostname */
  char *image_id;    /* after ensure */
  char *spec_hash;   /* after ensure */
  char *id;          /* container id after ensure */
  char *shell;       /* shell to run inside: user's if the image has it, else fallback */
  const char *keeper_path; /* host path of berth-keeper; BERTH_KEEPER_PATH unless changed */
  bool userns_host;  /* the daemon runs userns-remap: opt out (UsernsMode "host"); set by ensure */
  int others_live;   /* live sessions besides this one, as berth_box_open found them */
};

/* Resolve settings, expand templates, compute names.  No engine traffic. */
int berth_box_new(const struct berth_config *cfg, const struct berth_user *u,
                  struct berth_box **out, berth_error_t *err);
void berth_box_free(struct berth_box *b);

/* Build the create body for image_id.  keeper_path is the host path of
 * berth-keeper (bind-mounted read-only) used when conf->keeper is empty.
 * Exposed for unit tests. */
json_t *berth_box_spec(const struct berth_box *b, const char *image_id, const char *keeper_path,
                       berth_error_t *err);
/* Hash of the effective spec (image id included): hex SHA-256 of the
 * canonical (sorted-keys, compact) JSON of the spec.  Exposed for tests. */
int berth_box_spec_hash(json_t *spec, char out[65]);

/* Merge the user's passwd/group entries into an image's files.  The user's
 * passwd line replaces any image line with the same name or uid; each of the
 * user's groups replaces any line with the same name or gid and lists the
 * user as a member.  Exposed for unit tests. */
char *berth_merge_passwd(const char *image_passwd, const struct berth_user *u, const char *home,
                         const char *shell, berth_error_t *err);
char *berth_merge_group(const char *image_group, const struct berth_user *u, berth_error_t *err);

/* A minimal in-memory ustar archive, the archive API's format: entries owned
 * by root; a name ending in '/' is a directory.  Exposed for tests. */
struct berth_tar_entry {
  const char *name;
  const char *data;
  size_t len;
  unsigned mode;
};
int berth_tar_build(const struct berth_tar_entry *files, size_t n, char **out, size_t *len,
                    berth_error_t *err);
/* The contents of the first regular file in an archive (what the archive API
 * returns for one path), NUL-terminated.  A first entry of another type is
 * an error with status EINVAL; no entry at all, status ENOENT. */
int berth_tar_first_file(const char *tar, size_t len, char **data, size_t *dlen,
                         berth_error_t *err);

/* Ensure the container exists, matches the current spec and runs.  The caller
 * holds the user's session lock (session.h).  may_recreate: when the existing
 * container's spec hash differs, remove and recreate it (true only when no
 * session is live in it); when false, an out-of-date container is reused
 * unless it grants more than the spec (another uid:gid, a supplementary
 * group, a bind or write access to one, a missing security option): that
 * fails with BERTH_E_CONTAINER, status EACCES.  Before every create and start
 * each bind source must be one only root can redirect (berth_path_open with
 * BERTH_PATH_TRUSTED), or it fails with BERTH_E_CONTAINER.  Fills b->id,
 * b->image_id, b->spec_hash, b->shell.  *created (may be NULL) tells whether
 * a new container was created. */
int berth_box_ensure(struct berth_engine *e, struct berth_box *b, bool may_recreate,
                     bool *created, berth_error_t *err);

/* How long to wait for a user's lock: the longest a holder can keep it
 * (every request it makes under the lock bounded by engine.timeout_ms). */
long berth_box_lock_timeout(const struct berth_config *cfg);
/* Remove scratch containers left behind: made on this host by a process
 * that is gone, or older than max_age_s (another host's, or unlabelled).
 * now: the real time.  *removed: how many; one line logged for each. */
int berth_box_sweep_scratch(struct berth_engine *e, time_t now, time_t max_age_s, int *removed,
                            berth_error_t *err);

/* The login-time flow both front ends share, run as root: make sure the
 * image is there (inspect, pull per policy: outside the lock, a pull can be
 * slow); take the user's lock; ensure the home (berth_home_ensure, when
 * cfg->home.create); ensure the container (as berth_box_ensure, recreating
 * on a spec change only when no session is live); record a session owned by
 * `owner` (0 = record nothing); release the lock.  Fills b->id etc. */
int berth_box_open(struct berth_engine *e, struct berth_box *b, pid_t owner, berth_error_t *err);
/* After an entry whose command ended with `status` after `elapsed_ms`, when
 * that is 137 (SIGKILL): why.  -1 with err (kind BERTH_E_CONTAINER, status
 * ESRCH) when the container was stopped or removed under the session.  When
 * it died within a few seconds of starting, whether the container's memory
 * is exhausted (the engine's memory stats: usage, less reclaimable file
 * cache, at the limit), which leaves every new process OOM-killed at once,
 * typically because memory-backed files (/dev/shm, a tmpfs) fill it: then 1
 * when no other session was live (b->others_live) and the container has
 * been restarted, so the entry can be tried once more; -1 with err (status
 * ENOMEM) when other sessions are live, or with the restart's error.  0
 * otherwise, or when the engine cannot tell (the 137 stands).  Runs after
 * the privilege drop: only the kept engine connection is used. */
int berth_box_after_kill(struct berth_engine *e, struct berth_box *b, int status,
                         long long elapsed_ms, berth_error_t *err);

/* Release owner's session; when it was the last live one, apply on_logout
 * (keep / stop / remove), bounded by the engine timeout.  *remaining gets the
 * live sessions left (may be NULL). */
int berth_box_close(struct berth_engine *e, struct berth_box *b, pid_t owner, int *remaining,
                    berth_error_t *err);

/* An existing container's inspect reply (info) against the wanted spec:
 * -1 (BERTH_E_CONTAINER) when it is not labelled for b's user, 1 when it
 * grants more than spec (*what says what), else 0.  Exposed for the fuzzer. */
int berth_box_inspect_check(const struct berth_box *b, json_t *info, json_t *spec, char *what,
                            size_t n, berth_error_t *err);

#endif
