#!/bin/bash
# tests/e2e/test_join_live_restore.sh - a joined session does not need the
# engine: through a real sshd with entry = "join", a streaming command (no
# tty) and an interactive session (tty) keep working while dockerd is down
# and after it comes back, with dockerd's live-restore on (containers
# outlive the daemon).  Both end normally, no output lost; the container is
# the same process afterwards; a new login works.
#
# The engine is a test-owned dockerd (tests/lib/tls_engine.sh
# start_test_dockerd, unix socket only) with live-restore in its own
# daemon.json, stopped and started again here: the shared dockerd, which
# the tests running beside this one use, is never touched.  Skips while the
# installed berth refuses entry = "join".
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
BERTH_TEST_ENTRY=join
. "$top_srcdir/tests/e2e/ssh_lib.sh"

. "$top_srcdir/tests/lib/tls_engine.sh"

require_cmd pgrep python3
start_dockerd
require_test_image
start_test_dockerd "$TEST_TMPDIR/lrd" '{ "live-restore": true }'
E2E_ENGINE_CONF="engine = { socket = \"$TLS_DOCKER_DIR/docker.sock\"; };
container = { network = \"none\"; };"
# every docker command below (and ssh_lib's) asks the test dockerd
docker() { command docker -H "unix://$TLS_DOCKER_DIR/docker.sock" "$@"; }
e2e_setup shell
d=$TEST_TMPDIR/lr
mkdir -p "$d"

live_restore() { docker info -f '{{.LiveRestoreEnabled}}' 2>/dev/null; }
assert_eq true "$(live_restore)" "the test dockerd runs with live-restore"
pid=$(test_dockerd_pid) || fail "the test dockerd has no pid"

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
kill -TERM "$pid"
wait_until 60 bash -c "! kill -0 $pid 2>/dev/null" || fail "dockerd $pid did not stop"
ok "dockerd stopped"
check "with dockerd down, the container's init ($init) lives" kill -0 "$init"
_e2e_tmux send-keys -t "$s" 'echo "DOWN:$(hostname):$(cat /proc/1/comm)"' Enter
check "with dockerd down, the interactive join session answers" \
	wait_until 10 _e2e_pane_has "$s" "^DOWN:$u-box:"
n1=$(grep -c '^tick' "$d/ticks" || true)
sleep 1
n2=$(grep -c '^tick' "$d/ticks" || true)
check "with dockerd down, the streaming session keeps streaming ($n1 -> $n2 lines)" test "$n2" -gt "$n1"

restart_test_dockerd || fail "dockerd did not come back: $(tail -n 5 "$TEST_DOCKERD_LOG")"
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
