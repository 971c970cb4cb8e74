#!/bin/bash
# tests/e2e/test_ssh_shell.sh - end-to-end through a real sshd, deployment 1:
# berth-shell is the login shell of the test users (useradd -s berth-shell).
# sshd then runs it as `-berth-shell` for an interactive login and as
# `berth-shell -c CMD` for commands, scp, rsync and the sftp subsystem.
# The checks are shared with test_ssh_forcecommand.sh (ssh_lib.sh).
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/e2e/ssh_lib.sh"

e2e_setup shell
check "the test users' login shell is berth-shell" \
	test "$(getent passwd "$E2E_A" | cut -d: -f7)" = "$E2E_SHELL"
e2e_check_all

# berth-shell restores its own terminal: run it straight on a tmux pane (su,
# no sshd in between, so the pane is the terminal berth-shell put in raw
# mode), leave once with `exit` and once by SIGTERM.
_su_session() { # NAME HOW
	local s=bte-su-$1 how=$2 d=$TEST_TMPDIR/su-$1 pid
	mkdir -p "$d"
	cat >"$d/session.sh" <<EOS
stty -g >'$d/before'
su "$E2E_A"
echo \$? >'$d/rc.tmp' && mv '$d/rc.tmp' '$d/rc'
stty -g >'$d/after'
sleep 60
EOS
	_e2e_tmux new-session -d -s "$s" -x 90 -y 25 "bash '$d/session.sh'" || fail "tmux new-session"
	_e2e_tmux send-keys -t "$s" 'echo "WHO:$(whoami)@$(hostname) $(stty size)"' Enter
	if ! wait_until 30 _e2e_pane_has "$s" "^WHO:$E2E_A@$E2E_A-box 25 90"; then
		_e2e_pane_dump "$s"
		not_ok "su to a berthed user opens a shell in the container, window size 25 90 ($how)"
		return 0
	fi
	ok "su to a berthed user opens a shell in the container, window size 25 90 ($how)"
	case $how in
	exit) _e2e_tmux send-keys -t "$s" 'exit 3' Enter ;;
	SIGTERM)
		pid=$(ps -o pid=,comm= -u "$E2E_A" | awk '$2 == "berth-shell" { print $1 }' | head -n1)
		[ -n "$pid" ] && kill -TERM "$pid" || diag "no berth-shell process of $E2E_A found"
		;;
	esac
	if wait_until 20 test -s "$d/rc"; then
		wait_until 5 test -s "$d/after" || true
		case $how in
		exit) assert_eq 3 "$(cat "$d/rc")" "berth-shell exits with the shell's status" ;;
		SIGTERM) check "berth-shell ends with a failure status on SIGTERM" test "$(cat "$d/rc")" -ne 0 ;;
		esac
		assert_eq "$(cat "$d/before")" "$(cat "$d/after" 2>/dev/null)" \
			"the terminal settings are restored after berth-shell ends ($how)"
	else
		_e2e_pane_dump "$s"
		not_ok "berth-shell ends ($how)"
	fi
	_e2e_tmux kill-session -t "$s" 2>/dev/null || true
}
_su_session exit exit
_su_session term SIGTERM

done_testing
