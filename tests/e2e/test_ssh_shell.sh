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
_child_named() { # PARENT NAME: the pid of PARENT's live (not zombie) child running NAME
	ps -o pid=,stat=,comm= --ppid "$1" | awk -v n="$2" '$3 == n && $2 !~ /^Z/ { print $1; exit }'
}
_descendant_named() { # ROOT NAME: the same among ROOT's descendants (a few levels down)
	local level=$1 p r next i
	for i in 1 2 3 4; do
		next=
		for p in $level; do
			r=$(_child_named "$p" "$2")
			[ -z "$r" ] || { echo "$r"; return 0; }
			next="$next $(ps -o pid= --ppid "$p" | tr '\n' ' ')"
		done
		level=$next
	done
}
_su_session() { # NAME HOW
	local s=bte-su-$1 how=$2 d=$TEST_TMPDIR/su-$1 pid pane su_pid
	mkdir -p "$d"
	_e2e_tty_session "$s" "$d" 90 25 "su \"$E2E_A\""
	_e2e_tmux send-keys -t "$s" 'echo "WHO:$(whoami)@$(hostname) $(stty size)"' Enter
	_e2e_pane_wait "$s" "^WHO:$E2E_A@$E2E_A-box 25 90" \
		"su to a berthed user opens a shell in the container, window size 25 90 ($how)" || return 0
	case $how in
	exit) _e2e_tmux send-keys -t "$s" 'exit 3' Enter ;;
	SIGTERM)
		# This session's own berth-shell: the child of the su that the pane's
		# shell runs.  Not "the first berth-shell of the user": an earlier
		# case's berth-shell whose sshd went away (the hangup check kills the
		# client) is reparented to PID 1 and stays a zombie until PID 1 reaps
		# it, which some inits do only now and then; picking it sent SIGTERM
		# to a dead process and this session never ended.
		pane=$(_e2e_tmux display-message -p -t "$s" '#{pane_pid}' 2>/dev/null) || pane=
		su_pid=$([ -z "$pane" ] || _descendant_named "$pane" su)
		pid=$([ -z "$su_pid" ] || _child_named "$su_pid" berth-shell)
		if [ -n "$pid" ]; then
			kill -TERM "$pid"
		else
			diag "no berth-shell under su (pane $pane, su ${su_pid:-none}): $(ps -o pid=,ppid=,stat=,comm= -u "$E2E_A" | tr '\n' ';')"
		fi
		;;
	esac
	if _e2e_tty_wait_end "$s" "$d" "berth-shell ends ($how)"; then
		case $how in
		exit) assert_eq 3 "$(cat "$d/rc")" "berth-shell exits with the shell's status" ;;
		SIGTERM) check "berth-shell ends with a failure status on SIGTERM" test "$(cat "$d/rc")" -ne 0 ;;
		esac
		assert_eq "$(cat "$d/before")" "$(cat "$d/after" 2>/dev/null)" \
			"the terminal settings are restored after berth-shell ends ($how)"
	fi
	_e2e_tmux kill-session -t "$s" 2>/dev/null || true
}
_su_session exit exit
# Another berth-shell of the same user, started first (a lower pid, like the
# leftover of an earlier case): the SIGTERM case must end its own session's
# berth-shell and leave this one alone.
setpriv --reuid="$(id -u "$E2E_A")" --regid="$(id -g "$E2E_A")" --init-groups \
	"$E2E_SHELL" -c 'sleep 120' </dev/null >/dev/null 2>&1 &
other=$!
on_exit "kill $other 2>/dev/null"
wait_until 30 _e2e_top_has "$(e2e_container "$E2E_A")" 'sleep 120' ||
	diag "the other berth-shell's command did not show up in the container"
_su_session term SIGTERM
check "the other berth-shell of $E2E_A was not the one signalled" kill -0 "$other"
kill "$other" 2>/dev/null || true

done_testing
