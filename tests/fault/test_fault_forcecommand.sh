#!/bin/bash
# tests/fault/test_fault_forcecommand.sh - the fault tier (fault_lib.sh)
# through a real sshd, deployment 2: the users keep /bin/sh and sshd runs
# `ForceCommand berth-shell` for them (UsePAM no, so berth-shell alone
# prepares the container).
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/fault/fault_lib.sh"

f_setup forcecommand
f_run_all
done_testing
