#!/bin/bash
# tests/pam/test_pam_module.sh - runs the PAM driver (test_pam_module.c):
# pam_berth.so through libpam's pam_start_confdir for every return code and
# option.  The scenarios that need neither root nor dockerd always run; the
# engine scenarios need root, dockerd and the test image (a skip fails under
# CI=true).
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

driver=$top_builddir/tests/pam/test_pam_module
[ -x "$driver" ] || fail "$driver not built (make check builds it)"

engine=1
if [ "$(id -u)" -ne 0 ]; then
	engine=0 why="needs root"
elif ! command -v docker >/dev/null 2>&1 || ! timeout 20 docker version >/dev/null 2>&1; then
	engine=0 why="docker engine not answering"
fi
if [ "$engine" = 0 ]; then
	rc=0
	BERTH_PAM_TEST_ENGINE=0 CI= "$driver" || rc=$?
	[ "$rc" -eq 77 ] || fail "driver failed without the engine (status $rc)"
	skip "engine scenarios: $why"
fi
require_test_image
# berthctl gc/rm tests act on every berth container: keep them off ours.
berth_test_lock
BERTH_TEST_IMAGE=$BERTH_TEST_IMAGE BERTH_PAM_TEST_ENGINE=1 "$driver"
