#!/bin/bash
# tests/engine/test_keeper.sh - berth-keeper as a container's main process on a
# real dockerd: runs as an unprivileged user, reaps orphans reparented to it,
# stops promptly and cleanly on SIGTERM / SIGINT / SIGHUP, works in an image
# that has nothing in it at all.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

keeper=$top_builddir/berth-keeper
[ -x "$keeper" ] || fail "$keeper not built"

# ---- host-side checks, no engine needed
case $(file -b "$keeper") in
*"statically linked"*) ok "keeper is statically linked" ;;
*) not_ok "keeper is statically linked: $(file -b "$keeper")" ;;
esac
rc=0
out=$("$keeper" --help 2>&1) || rc=$?
assert_eq 2 "$rc" "keeper refuses arguments with status 2"
assert_contains "$out" "usage: berth-keeper" "keeper prints usage when called wrongly"
# --hold: a session holder (lib/live.c) lives exactly as long as its stdin
rc=0
out=$(printf 'ignored\n' | timeout 10 "$keeper" --hold 2>&1) || rc=$?
assert_eq "0:" "$rc:$out" "keeper --hold reads stdin to its end, then exits 0 silently"
exec {hold_w}> >(timeout 10 "$keeper" --hold; echo "held:$?" >"$TEST_TMPDIR/keeper-hold")
sleep 0.5
check "keeper --hold keeps running while its stdin is open" test ! -e "$TEST_TMPDIR/keeper-hold"
exec {hold_w}>&-
wait_until 5 test -s "$TEST_TMPDIR/keeper-hold" || true
assert_eq "held:0" "$(cat "$TEST_TMPDIR/keeper-hold" 2>&1)" "and exits 0 when it is closed"

require_docker
require_test_image

name=berth-keeper-test-$$
on_exit "docker rm -f $name $name-int $name-hup $name-empty >/dev/null 2>&1"

run_keeper() { # NAME IMAGE
	docker run -d --name "$1" --user 1234:1234 \
		--mount "type=bind,src=$keeper,dst=/.berth/keeper,readonly" \
		--entrypoint /.berth/keeper "$2" >/dev/null
}

running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

# Stops with the given signal, prints the elapsed milliseconds.
stop_ms() { # NAME [SIGNAL]
	local t0 t1
	t0=$(date +%s%N)
	if [ $# -gt 1 ]; then
		docker kill -s "$2" "$1" >/dev/null
		docker wait "$1" >/dev/null
	else
		docker stop -t 5 "$1" >/dev/null
	fi
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

run_keeper "$name" "$BERTH_TEST_IMAGE" || fail "docker run with the keeper as entrypoint failed"
check "keeper container is running" wait_until 10 running "$name"
sleep 0.5
check "keeper is still running after 0.5 s" running "$name"

status=$(docker exec "$name" cat /proc/1/status)
assert_contains "$status" "$(printf 'Uid:\t1234\t1234\t1234\t1234')" "pid 1 runs as uid 1234"
assert_contains "$(docker exec "$name" cat /proc/1/cmdline | tr '\0' ' ')" "/.berth/keeper" "pid 1 is the keeper"

# Orphans of an exec'd shell reparent to pid 1. Ten exit at once, so their
# SIGCHLDs coalesce and only a reaping loop collects them all. They live 2 s
# so that all ten are still there for the first ps on a loaded machine.
ps_out=$(docker exec "$name" sh -c '
	for i in 1 2 3 4 5 6 7 8 9 10; do sh -c "sleep 2 &"; done
	ps -o pid,ppid,stat,comm
	sleep 3.5
	echo ---
	ps -o pid,ppid,stat,comm')
diag "$ps_out"
before=${ps_out%%---*}
after=${ps_out#*---}
# Count by parent only: an orphan may still be the forked `sh` that has not
# exec'd `sleep` yet when ps looks.
orphans=$(awk '$2 == 1' <<<"$before" | wc -l)
assert_eq 10 "$orphans" "orphaned children are reparented to the keeper"
zombies=$(awk '$3 ~ /^Z/' <<<"$after" | wc -l)
assert_eq 0 "$zombies" "no zombie is left after the orphans exit"

ms=$(stop_ms "$name")
diag "docker stop took $ms ms"
check "docker stop -t 5 returns in under 3 s (keeper honours SIGTERM)" test "$ms" -lt 3000
assert_eq 0 "$(docker inspect -f '{{.State.ExitCode}}' "$name")" "keeper exits 0 on SIGTERM"

run_keeper "$name-int" "$BERTH_TEST_IMAGE"
wait_until 10 running "$name-int" || fail "second keeper container did not start"
ms=$(stop_ms "$name-int" INT)
assert_eq 0 "$(docker inspect -f '{{.State.ExitCode}}' "$name-int")" "keeper exits 0 on SIGINT ($ms ms)"

run_keeper "$name-hup" "$BERTH_TEST_IMAGE"
wait_until 10 running "$name-hup" || fail "third keeper container did not start"
ms=$(stop_ms "$name-hup" HUP)
assert_eq 0 "$(docker inspect -f '{{.State.ExitCode}}' "$name-hup")" "keeper exits 0 on SIGHUP ($ms ms)"

# An image with no files at all: no libc, no shell, no sleep.
empty=berth-keeper-empty:$$
on_exit "docker image rm -f $empty >/dev/null 2>&1"
tar -cf - -T /dev/null | docker import - "$empty" >/dev/null || fail "cannot import an empty image"
run_keeper "$name-empty" "$empty"
check "keeper runs in an empty image" wait_until 10 running "$name-empty"
sleep 0.5
check "keeper keeps an empty image's container running" running "$name-empty"
ms=$(stop_ms "$name-empty")
check "empty-image container stops in under 3 s ($ms ms)" test "$ms" -lt 3000
assert_eq 0 "$(docker inspect -f '{{.State.ExitCode}}' "$name-empty")" "keeper exits 0 in the empty image"

done_testing
