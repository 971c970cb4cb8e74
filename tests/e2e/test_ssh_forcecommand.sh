#!/bin/bash
# tests/e2e/test_ssh_forcecommand.sh - end-to-end through a real sshd,
# deployment 2: the test users keep /bin/sh (dash) as their shell and
# sshd_config has `Match Group ...` + `ForceCommand berth-shell`. sshd then
# runs `sh -c berth-shell` with the client's command (or the sftp
# subsystem's) in SSH_ORIGINAL_COMMAND. The checks are shared with
# test_ssh_shell.sh. The login shell must not be bash: it would source the
# user-writable ~/.bashrc on the host first (docs/security.md); run with
# E2E_FC_SHELL=/bin/bash to watch the startup-file check below catch that.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/e2e/ssh_lib.sh"

e2e_setup forcecommand
check "the test users' login shell is /bin/sh" \
	test "$(getent passwd "$E2E_A" | cut -d: -f7)" = "${E2E_FC_SHELL:-/bin/sh}"
check "sshd_config forces berth-shell for the group" \
	grep -qx "ForceCommand $E2E_SHELL" "$SSHD_CONFIG"
e2e_check_all

# The client's command is data for berth-shell, never run by the host bash
# first: quoting and expansions arrive as typed.
out=$(e2e_ssh "$E2E_A" 'printf "%s|" "a b" '"'"'$HOME'"'"' "*"; echo' </dev/null 2>&1) || true
assert_eq 'a b|$HOME|*|' "$out" "the command's quoting and expansions arrive untouched"

# The home is shared with the container, so the user controls its startup
# files: none of them may run anything on the host before berth-shell.
home_a=$(getent passwd "$E2E_A" | cut -d: -f6)
marker=$TEST_TMPDIR/host-rc-ran
rm -f "$marker"
for f in .bashrc .profile .bash_profile .shrc .kshrc; do
	printf 'touch %s\n' "$marker" >"$home_a/$f"
	chown "$E2E_A" "$home_a/$f"
done
chmod 0777 "$TEST_TMPDIR"
out=$(e2e_ssh "$E2E_A" 'echo in-container' </dev/null 2>&1) || true
assert_eq in-container "$out" "a command still runs with hostile startup files in the home"
check "no startup file in the home ran on the host" test ! -e "$marker"
rm -f "$home_a"/.bashrc "$home_a"/.profile "$home_a"/.bash_profile "$home_a"/.shrc "$home_a"/.kshrc

done_testing
