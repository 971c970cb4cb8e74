#!/bin/bash
# tests/fault/test_fault_shell.sh - the fault tier (fault_lib.sh) through a
# real sshd, deployment 1: berth-shell is the users' login shell and
# pam_berth is in sshd's PAM stack (UsePAM yes).
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/fault/fault_lib.sh"

f_setup shell
f_run_all
done_testing
