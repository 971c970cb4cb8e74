/* netns.h - a session's network namespace: pam_berth moves sshd's
 * per-connection monitor into the network namespace of the user's
 * container at the end of a successful open, so that the forwardings sshd
 * serves afterwards (-L -D -W connect, -R listens) are the container's and
 * not the host's (docs/security.md "Forwarding lands in the container"). */
#ifndef BERTH_NETNS_H
#define BERTH_NETNS_H

#include <stdbool.h>
#include <sys/types.h>
#include "berth/boxdef.h"
#include "berth/config.h"
#include "berth/error.h"

/* A container.network value that gives the container a network namespace
 * of its own: anything but "host" (NULL: the default, berth's network). */
bool berth_netns_own_network(const char *network);

/* Whether a session of b moves into its container's network namespace: a
 * local engine (berth_config_engine_local) and a container.network other
 * than "host". */
bool berth_netns_applies(const struct berth_box *b);

/* Move the calling thread (sshd's monitor is single-threaded) into the
 * network namespace of b's container, whose init process b->init_pid is
 * (set by berth_box_open).  The pid is pinned first: a pidfd, the
 * process's cgroup naming the container id b->id, its ns/net opened, and
 * the pidfd checked alive afterwards, so a pid reused in between is never
 * joined.  Refused when that namespace is the host's own (the container
 * shares the host's network, whatever the config says).  0 moved, -1 with
 * err (kind BERTH_E_CONTAINER); the thread stays where it was on failure. */
int berth_netns_enter(const struct berth_box *b, berth_error_t *err);

/* "net:[INODE]" of the calling thread's network namespace, or of pid's
 * (pid > 0); -1 with err. */
int berth_netns_name(pid_t pid, char *buf, size_t len, berth_error_t *err);

#endif
