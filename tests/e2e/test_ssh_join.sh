#!/bin/bash
# tests/e2e/test_ssh_join.sh - end-to-end through a real sshd in join mode
# (entry = "join"): every check test_ssh_shell.sh makes in exec mode
# (ssh_lib.sh: identity, exit codes, streams, scp/sftp/rsync, terminal and
# resize, hangup, process isolation, concurrent sessions, the excluded
# admin), then what join mode adds: the session's terminal is a pty of the
# container's own devpts (docker exec ls /dev/pts lists it), and a command
# runs in the container's namespaces, the ones docker exec gives.
# Skips while the installed berth refuses entry = "join" (join mode not in).
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
BERTH_TEST_ENTRY=join
. "$top_srcdir/tests/e2e/ssh_lib.sh"

e2e_setup shell
e2e_check_all

# The terminal of an interactive session: the container's own pty.
check_join_tty() {
	local u=$E2E_A d=$TEST_TMPDIR/jtty s=bte-join-tty line n ctr
	ctr=$(e2e_container "$u")
	mkdir -p "$d"
	_e2e_tty_session "$s" "$d" 90 25 "ssh ${SSH_OPTS[*]} -tt -p $SSHD_PORT $u@127.0.0.1"
	_e2e_tmux send-keys -t "$s" 'echo "PTS:$(tty) LS:$(ls /dev/pts | tr "\n" " ")END"' Enter
	_e2e_pane_wait "$s" '^PTS:/dev/pts/[0-9]+ LS:' "an interactive join session has a /dev/pts terminal" || return 0
	line=$(_e2e_tmux capture-pane -p -J -S -300 -t "$s" | grep -m1 '^PTS:')
	n=$(sed -n 's|^PTS:/dev/pts/\([0-9]*\) .*|\1|p' <<<"$line")
	check "... that the session's own ls /dev/pts lists ($line)" grep -qE "LS:(.* )?$n " <<<"$line"
	check "... and docker exec ls /dev/pts in $ctr lists $n too" \
		bash -c "docker exec '$ctr' ls /dev/pts | grep -qx '$n'"
	_e2e_tmux send-keys -t "$s" 'echo "OWN:$(stat -c "%u %g %a" "$(tty)")"' Enter
	check "... owned by the user, group tty (5), mode 620, as docker exec -t leaves its own" \
		wait_until 10 _e2e_pane_has "$s" "^OWN:$(id -u "$u") 5 620 *$"
	_e2e_tty_exit "$s" "$d" 'exit 4' 4 "the join session"
	check "after the session, $ctr's /dev/pts no longer lists $n" \
		wait_until 10 bash -c "! docker exec '$ctr' ls /dev/pts | grep -qx '$n'"
}

# A joined command's namespaces are the ones docker exec gives (the full
# comparison is tests/engine/test_join.sh's).
check_join_namespaces() {
	local u=$E2E_A ctr want got ns='pid mnt uts ipc net cgroup'
	ctr=$(e2e_container "$u")
	want=$(docker exec -u "$(id -u "$u"):$(id -g "$u")" "$ctr" sh -c \
		"for n in $ns; do readlink /proc/self/ns/\$n; done" 2>&1) || true
	got=$(e2e_ssh "$u" "for n in $ns; do readlink /proc/self/ns/\$n; done" </dev/null 2>&1) || true
	assert_eq "$want" "$got" "a join session's namespaces ($ns) are docker exec's"
}

check_join_tty
check_join_namespaces
done_testing
