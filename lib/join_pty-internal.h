/* join_pty-internal.h - what join_pty.c shows its unit test: the message
 * on the socket (so the test can forge one) and the master's wait with a
 * chosen bound. */
#ifndef BERTH_JOIN_PTY_INTERNAL_H
#define BERTH_JOIN_PTY_INTERNAL_H

#include <stdint.h>
#include "berth/join_pty.h"

/* One fixed-size message from the child to the parent, sent with one
 * sendmsg; the master rides on it as SCM_RIGHTS when cause == 0. */
#define BERTH_JOIN_PTY_MAGIC 0x42505459u /* "BPTY" */
struct berth_join_pty_msg {
  uint32_t magic;
  int32_t cause;  /* errno, 0 = the master is attached */
  uint32_t stage; /* where it failed */
};

/* Send m with fd (>= 0) attached: 0, or -1 with errno. */
int berth_join_pty_send(int sock, const struct berth_join_pty_msg *m, int fd);
int berth_join_pty_recv_within(int sock, int *master, long wait_ms, berth_error_t *err);

#endif
