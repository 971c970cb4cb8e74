/* boxdef.h - the box object itself: the struct every box module reads
 * (box, spec, image, etcfiles, binds) and the names they share on the
 * engine (labels, the keeper's path inside).  A header of its own so that
 * the modules below box.c see the object without including the lifecycle
 * above them: calls go box -> spec -> etcfiles / binds, image -> etcfiles,
 * never back. */
#ifndef BERTH_BOXDEF_H
#define BERTH_BOXDEF_H

#include <stdbool.h>
#include <sys/types.h>
#include "berth/config.h"
#include "berth/user.h"

#define BERTH_LABEL_USER "berth.user"
#define BERTH_LABEL_UID "berth.uid"
#define BERTH_LABEL_SPEC "berth.spec"
#define BERTH_KEEPER_TARGET "/.berth/keeper"
/* where RUNDIR/agent/NAME is mounted, read-only (agent.h) */
#define BERTH_AGENT_TARGET "/.berth/agent"

struct berth_box {
  const struct berth_config *cfg;    /* borrowed */
  const struct berth_user *user;     /* borrowed */
  struct berth_container_conf *conf; /* resolved for this user, owned */
  char *name;                        /* sanitized container name */
  char *hostname;                    /* sanitized hostname */
  char *image_id;                    /* after ensure */
  char *spec_hash;                   /* after ensure */
  char *id;                          /* container id after ensure */
  char *shell;             /* shell to run inside: user's if the image has it, else fallback */
  const char *keeper_path; /* host path of berth-keeper; BERTH_KEEPER_PATH unless changed */
  int others_live;         /* live sessions besides this one, as berth_box_open found them */
  pid_t init_pid;     /* host pid of the container's init (State.Pid) after ensure, 0 unknown */
  const char *holder; /* this session's holder exec id (live.h), at its logout; borrowed */
};

#endif
