#!/bin/bash
# tests/e2e/test_join_live_restore.sh - a joined session does not need the
# engine: through a real sshd with entry = "join", a streaming command (no
# tty) and an interactive session (tty) keep working while dockerd is down
# and after it comes back, with dockerd's live-restore on (containers
# outlive the daemon).  Both end normally, no output lost; the container is
# the same process afterwards; a new login works.
#
# The shared dockerd is put back as it was: live-restore is turned on by
# writing /etc/docker/daemon.json and SIGHUP (a reloadable option), dockerd
# is restarted with its own command line (systemctl where systemd runs it),
# then daemon.json is restored and reloaded.  Runs under the global lock
# with the rest of the e2e tier.  Skips while the installed berth refuses
# entry = "join".
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
BERTH_TEST_ENTRY=join
. "$top_srcdir/tests/e2e/ssh_lib.sh"

require_cmd pgrep python3
e2e_setup shell

DAEMON_JSON=${BERTH_DAEMON_JSON:-/etc/docker/daemon.json}
d=$TEST_TMPDIR/lr
mkdir -p "$d"

live_restore() { docker info -f '{{.LiveRestoreEnabled}}' 2>/dev/null; }
dockerd_pid() {
	local p
	p=$(pgrep -x dockerd) || return 1
	case $p in *[!0-9]*) return 1 ;; esac
	echo "$p"
}
systemd_docker() {
	[ -d /run/systemd/system ] && command -v systemctl >/dev/null &&
		systemctl is-active -q docker.service 2>/dev/null
}

# ---------------------------------------------------------------- live-restore on
pid=$(dockerd_pid) || fail "not exactly one dockerd running"
mapfile -d '' dockerd_argv </proc/"$pid"/cmdline
was=$(live_restore)
[ -n "$was" ] || fail "docker info says nothing about live-restore"
# dockerd's reload leaves a key the file does not name as it is (and a
# missing file changes nothing): live-restore is set back by reloading a
# file that says the old value, and only then is the admin's file (or its
# absence) put back.  Cleanups run last-registered first: dockerd is started
# again if it is down (e2e_cleanup's docker rm needs it), then set back.
write_daemon_json() { # true|false
	mkdir -p "$(dirname "$DAEMON_JSON")"
	if [ -e "$d/daemon.json.saved" ] && [ -s "$d/daemon.json.saved" ]; then
		python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c["live-restore"] = sys.argv[2] == "true"; print(json.dumps(c))' \
			"$d/daemon.json.saved" "$1" >"$DAEMON_JSON.berth-test"
	else
		echo "{ \"live-restore\": $1 }" >"$DAEMON_JSON.berth-test"
	fi && mv -f "$DAEMON_JSON.berth-test" "$DAEMON_JSON"
}
set_back() {
	local p
	if p=$(dockerd_pid) && write_daemon_json "$was"; then
		kill -HUP "$p"
		wait_until 10 test "$(live_restore)" = "$was" ||
			diag "WARNING: dockerd's live-restore is $(live_restore), was $was"
	fi
	if [ -e "$d/daemon.json.saved" ]; then
		cp -p -- "$d/daemon.json.saved" "$DAEMON_JSON"
	else
		rm -f -- "$DAEMON_JSON"
	fi
}
[ ! -e "$DAEMON_JSON" ] || cp -p -- "$DAEMON_JSON" "$d/daemon.json.saved"
on_exit set_back
restart_dockerd() {
	docker_answers && return 0
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null &&
		systemctl cat docker.service >/dev/null 2>&1; then
		systemctl start docker.service
	else
		# as start_dockerd does, from /, with its own command line
		(cd / && _berth_spawn setsid "${dockerd_argv[@]}" </dev/null >>"$BERTH_DOCKERD_LOG" 2>&1)
	fi
	wait_until 60 docker_answers
}
on_exit restart_dockerd

if [ "$was" != true ]; then
	write_daemon_json true || fail "cannot write $DAEMON_JSON"
	kill -HUP "$pid"
	wait_until 10 test "$(live_restore)" = true || fail "SIGHUP did not turn dockerd's live-restore on"
fi
ok "dockerd runs with live-restore (turned on by daemon.json + SIGHUP: $was -> true)"

# ---------------------------------------------------------------- two sessions
u=$E2E_A
ctr=$(e2e_container "$u")
e2e_ssh "$u" true </dev/null || fail "the first login of $u failed"
init=$(docker inspect -f '{{.State.Pid}}' "$ctr")

# no tty: 60 numbered lines over 12 s
(
	rc=0
	e2e_ssh "$u" 'i=0; while [ $i -lt 60 ]; do echo "tick $i"; i=$((i+1)); sleep 0.2; done; echo end-of-ticks' \
		</dev/null >"$d/ticks" 2>"$d/ticks.err" || rc=$?
	echo "$rc" >"$d/ticks.rc"
) &
# tty: an interactive shell
s=bte-lr
_e2e_tty_session "$s" "$d" 80 24 "ssh ${SSH_OPTS[*]} -tt -p $SSHD_PORT $u@127.0.0.1"
_e2e_tmux send-keys -t "$s" 'echo "BEFORE:$(hostname)"' Enter
_e2e_pane_wait "$s" "^BEFORE:$u-box" "an interactive join session runs" || true
wait_until 10 grep -q 'tick 2' "$d/ticks" || diag "the streaming session did not start: $(cat "$d/ticks.err")"

# ---------------------------------------------------------------- dockerd restart
if systemd_docker; then
	systemctl stop docker.service || fail "systemctl stop docker"
else
	kill -TERM "$pid"
	wait_until 60 bash -c "! kill -0 $pid 2>/dev/null" || fail "dockerd $pid did not stop"
fi
ok "dockerd stopped"
check "with dockerd down, the container's init ($init) lives" kill -0 "$init"
_e2e_tmux send-keys -t "$s" 'echo "DOWN:$(hostname):$(cat /proc/1/comm)"' Enter
check "with dockerd down, the interactive join session answers" \
	wait_until 10 _e2e_pane_has "$s" "^DOWN:$u-box:"
n1=$(grep -c '^tick' "$d/ticks" || true)
sleep 1
n2=$(grep -c '^tick' "$d/ticks" || true)
check "with dockerd down, the streaming session keeps streaming ($n1 -> $n2 lines)" test "$n2" -gt "$n1"

restart_dockerd || fail "dockerd did not come back: $(tail -n 5 "$BERTH_DOCKERD_LOG")"
ok "dockerd is back"

# ---------------------------------------------------------------- after
wait_until 30 test -s "$d/ticks.rc" || true
assert_eq 0 "$(cat "$d/ticks.rc" 2>/dev/null)" "the streaming session ends with status 0"
assert_eq "$(seq 0 59 | sed 's/^/tick /'; echo end-of-ticks)" "$(cat "$d/ticks")" \
	"... every line arrived, in order"
_e2e_tmux send-keys -t "$s" 'echo "AFTER:$(hostname)"' Enter
check "after the restart the interactive session still answers" \
	wait_until 10 _e2e_pane_has "$s" "^AFTER:$u-box"
_e2e_tty_exit "$s" "$d" exit 0 "the interactive session, after the restart"
assert_eq "$init" "$(docker inspect -f '{{.State.Pid}}' "$ctr" 2>&1)" \
	"$ctr is the same container process after the restart (live-restored)"
assert_eq 0 "$(e2e_status "$u" true)" "a new login after the restart works"

done_testing
