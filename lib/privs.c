/* privs.c - permanent privilege drop and its verification, and process
 * hardening.  The order is fixed (setgroups needs CAP_SETGID, so it comes
 * first; setresuid last because it gives up the capabilities), and every id
 * is re-read afterwards: a drop that cannot be verified is a failure. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/privs.h"
#include "berth/util.h"

static int
cmp_gid(const void *a, const void *b)
{
  gid_t x = *(const gid_t *) a, y = *(const gid_t *) b;
  return x < y ? -1 : x > y;
}

/* The kernel keeps supplementary groups sorted, so compare as sorted lists. */
static int
verify_groups(const gid_t *groups, size_t n, berth_error_t *err)
{
  cleanup_free gid_t *want = NULL;
  cleanup_free gid_t *have = NULL;
  int got = getgroups(0, NULL);

  if (got < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "getgroups");
  if ((size_t) got != n)
    return berth_error_make(err, BERTH_E_INTERNAL, EPERM,
                            "privilege drop: %d supplementary groups, expected %zu", got, n);
  if (n == 0)
    return 0;
  want = malloc(n * sizeof(gid_t));
  have = malloc(n * sizeof(gid_t));
  if (want == NULL || have == NULL)
    return berth_error_make(err, BERTH_E_INTERNAL, ENOMEM, "out of memory");
  if (getgroups((int) n, have) != (int) n)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "getgroups");
  memcpy(want, groups, n * sizeof(gid_t));
  qsort(want, n, sizeof(gid_t), cmp_gid);
  qsort(have, n, sizeof(gid_t), cmp_gid);
  if (memcmp(want, have, n * sizeof(gid_t)) != 0)
    return berth_error_make(err, BERTH_E_INTERNAL, EPERM,
                            "privilege drop: supplementary groups differ from the requested ones");
  return 0;
}

/* A non-root process must hold no capabilities at all; a parent that set
 * SECBIT_KEEP_CAPS or SECBIT_NO_SETUID_FIXUP could otherwise leave some. */
static int
verify_no_caps(berth_error_t *err)
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

  memset(data, 0, sizeof(data));
  if (syscall(SYS_capget, &hdr, data) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "capget");
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
    if (data[i].effective != 0 || data[i].permitted != 0)
      return berth_error_make(err, BERTH_E_INTERNAL, EPERM,
                              "privilege drop: capabilities are still held");
  return 0;
}

int
berth_privs_drop(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, berth_error_t *err)
{
  uid_t ru, eu, su;
  gid_t rg, eg, sg;

  if (setgroups(n_groups, n_groups ? groups : NULL) < 0)
    return berth_error_errno(err, errno == EPERM ? BERTH_E_PERM : BERTH_E_INTERNAL, errno,
                             "setgroups");
  if (setresgid(gid, gid, gid) < 0)
    return berth_error_errno(err, errno == EPERM ? BERTH_E_PERM : BERTH_E_INTERNAL, errno,
                             "setresgid %u", (unsigned) gid);
  if (setresuid(uid, uid, uid) < 0)
    return berth_error_errno(err, errno == EPERM ? BERTH_E_PERM : BERTH_E_INTERNAL, errno,
                             "setresuid %u", (unsigned) uid);

  if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "getresuid");
  if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
    return berth_error_make(err, BERTH_E_INTERNAL, EPERM,
                            "privilege drop: ids are %u/%u/%u:%u/%u/%u, expected %u:%u",
                            (unsigned) ru, (unsigned) eu, (unsigned) su, (unsigned) rg,
                            (unsigned) eg, (unsigned) sg, (unsigned) uid, (unsigned) gid);
  if (verify_groups(groups, n_groups, err) < 0)
    return -1;

  if (uid != 0) {
    /* Any success here means root (or a capability) survived the drop. */
    if (setuid(0) == 0 || seteuid(0) == 0 || setreuid((uid_t) -1, 0) == 0)
      return berth_error_make(err, BERTH_E_INTERNAL, EPERM,
                              "privilege drop: uid 0 could be regained");
    if (gid != 0 && (setgid(0) == 0 || setegid(0) == 0))
      return berth_error_make(err, BERTH_E_INTERNAL, EPERM,
                              "privilege drop: gid 0 could be regained");
    if (verify_no_caps(err) < 0)
      return -1;
  }
  return 0;
}

int
berth_privs_harden(berth_error_t *err)
{
  /* Non-dumpable: no core files with secrets, no ptrace attach by the user
   * we run as (ptrace_may_access checks the dumpable flag). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return berth_error_errno(err, BERTH_E_INTERNAL, errno, "prctl(PR_SET_DUMPABLE)");
  if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
    return berth_error_make(err, BERTH_E_INTERNAL, EPERM, "process is still dumpable");
  return 0;
}
