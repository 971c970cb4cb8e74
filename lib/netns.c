/* netns.c - moving a session into its container's network namespace
 * (netns.h).  A leaf of the core: it reads the box object and /proc, and
 * makes no engine request; the box's inspect gave it b->init_pid.
 *
 * Why this works for forwarding (OpenSSH 9.x, UsePAM yes; sshd.c main,
 * auth-pam.c, monitor.c): after authentication the per-connection sshd
 * calls do_pam_setcred() and do_pam_session() (pam_open_session) and only
 * then privsep_postauth(), which forks the unprivileged child that serves
 * every channel: direct-tcpip (-L -D -W) connects, tcpip-forward (-R)
 * listens, the agent and X11 listeners are made there, and the session's
 * shell is its child.  A namespace the monitor joins inside
 * pam_open_session is inherited by all of them.  The monitor stays
 * there until the connection ends; it calls pam_close_session from there
 * (sshpam_cleanup runs only in the monitor).  When pam_open_session fails,
 * sshd restricts the session (auth_restrict_session: no forwarding of any
 * kind), so a refusal here never leaves forwardings on the host. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/netns.h"
#include "berth/pin.h"
#include "berth/util.h"

bool
berth_netns_own_network(const char *network)
{
  return network == NULL || strcmp(network, "host") != 0;
}

bool
berth_netns_applies(const struct berth_box *b)
{
  return berth_config_engine_local(b->cfg) && berth_netns_own_network(b->conf->network);
}

/* The process's cgroup file names the container's full id (cgroupfs
 * /docker/ID, systemd docker-ID.scope, Podman libpod-ID): proof that the
 * pinned pid is that container's process and not a pid reused by another.
 * One line naming it suffices here; join mode, which also opens each
 * hierarchy, wants every line to (join_target.c). */
static int
cgroup_names(const struct berth_pin *pin, const char *id, berth_error_t *err)
{
  char text[8192];

  if (id == NULL || strlen(id) < 64)
    return berth_error_make(err, BERTH_E_CONTAINER, EINVAL,
                            "the container's full id is unknown: its process cannot be checked");
  if (berth_pin_read(pin->procfd, "cgroup", text, sizeof(text), BERTH_E_CONTAINER, err) < 0)
    return berth_error_wrap(err, "reading the container's init process %ld", (long) pin->pid);
  if (strstr(text, id) == NULL)
    return berth_error_make(err, BERTH_E_CONTAINER, ESRCH,
                            "process %ld is not in container %.12s's cgroup (pid reused?)",
                            (long) pin->pid, id);
  return 0;
}

/* The container's network namespace, opened while its init is pinned. */
static int
open_container_netns(const struct berth_box *b, berth_error_t *err)
{
  cleanup_pin struct berth_pin pin;
  cleanup_close int nsfd = -1;

  berth_pin_init(&pin);
  if (b->init_pid <= 1)
    return berth_error_make(err, BERTH_E_CONTAINER, ESRCH,
                            "the init process of container %s is unknown", b->name);
  if (berth_pin_open(&pin, b->init_pid, BERTH_E_CONTAINER, ESRCH, err) < 0
      || cgroup_names(&pin, b->id, err) < 0)
    return -1;
  nsfd = openat(pin.procfd, "ns/net", O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return berth_error_errno(err, BERTH_E_CONTAINER, errno, "open /proc/%ld/ns/net",
                             (long) pin.pid);
  if (!berth_pin_alive(&pin))
    return berth_error_make(err, BERTH_E_CONTAINER, ESRCH,
                            "the init process of container %s exited while being joined", b->name);
  return steal_fd(&nsfd);
}

static bool
same_file(int fd, const char *path)
{
  struct stat a, c;

  return fstat(fd, &a) == 0 && stat(path, &c) == 0 && a.st_dev == c.st_dev && a.st_ino == c.st_ino;
}

int
berth_netns_enter(const struct berth_box *b, berth_error_t *err)
{
  cleanup_close int nsfd = open_container_netns(b, err);

  if (nsfd < 0)
    return berth_error_wrap(err, "moving the session into container %s's network", b->name);
  /* pid 1's namespace is the host's: a container that shares it has no
   * network of its own to move into. */
  if (same_file(nsfd, "/proc/1/ns/net"))
    return berth_error_make(err, BERTH_E_CONTAINER, EPERM,
                            "container %s shares the host's network namespace (network mode "
                            "host?), so its forwardings would land on the host",
                            b->name);
  if (setns(nsfd, CLONE_NEWNET) < 0)
    return berth_error_errno(err, BERTH_E_CONTAINER, errno,
                             "moving the session into container %s's network (setns)", b->name);
  return 0;
}

int
berth_netns_name(pid_t pid, char *buf, size_t len, berth_error_t *err)
{
  char path[64];
  ssize_t n;

  if (pid > 0)
    snprintf(path, sizeof(path), "/proc/%ld/ns/net", (long) pid);
  else
    snprintf(path, sizeof(path), "/proc/thread-self/ns/net");
  n = readlink(path, buf, len - 1);
  if (n < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "readlink %s", path);
  buf[n] = '\0';
  return 0;
}
