#!/bin/bash
# tests/pkg/e2e_installed.sh - run by test_package.sh once the packages are
# installed: tests/e2e/ssh_lib.sh's whole set of checks (identity, exit codes,
# stdio, scp/sftp/rsync, terminal, processes, concurrency, excluded admin)
# through a real sshd on 127.0.0.1, for users whose login shell is the
# packaged /usr/bin/berth-shell, with the packaged berth.conf's path.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/e2e/ssh_lib.sh"

e2e_setup shell
check "the test users' login shell is the packaged berth-shell" \
	test "$(getent passwd "$E2E_A" | cut -d: -f7)" = /usr/bin/berth-shell -a "$E2E_SHELL" = /usr/bin/berth-shell
e2e_check_all
done_testing
