#!/bin/bash
# tests/engine/test_podman.sh - the engine client against Podman's
# Docker-compatible service: starts a private `podman system service` on its
# own socket, loads the test image into Podman's store, runs
# tests/engine/test_engine_api against that socket, then join mode's
# equality test (tests/engine/test_join.sh), stops the service.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

api_test=$top_builddir/tests/engine/test_engine_api
[ -x "$api_test" ] || fail "$api_test not built (make check builds it)"

require_root
require_cmd podman
require_test_image # built with docker; Podman gets it through docker save

sock=/run/berth-podman-test-$$.sock

# ---- the test image in Podman's store: a docker-archive load keeps the image
# ID and names it localhost/<name>; load only when the IDs differ.
want=$(docker image inspect -f '{{.Id}}' "$BERTH_TEST_IMAGE") || fail "docker has no $BERTH_TEST_IMAGE"
podman_image=localhost/${BERTH_TEST_IMAGE#localhost/}
have=$(podman image inspect -f '{{.Id}}' "$podman_image" 2>/dev/null || true)
if [ "sha256:${have#sha256:}" != "$want" ]; then
	docker save "$BERTH_TEST_IMAGE" | podman load -q >/dev/null 2>&1 ||
		fail "docker save $BERTH_TEST_IMAGE | podman load failed"
fi
have=$(podman image inspect -f '{{.Id}}' "$podman_image" 2>/dev/null || true)
assert_eq "$want" "sha256:${have#sha256:}" "podman holds $podman_image with docker's image ID"

# ---- a private service
svc_pid=
start_service() { # [CONTAINERS_CONF]
	rm -f -- "$sock"
	CONTAINERS_CONF=${1:-${CONTAINERS_CONF:-}} setsid podman system service --time=0 "unix://$sock" \
		>>"$TEST_TMPDIR/service.log" 2>&1 </dev/null &
	svc_pid=$!
	wait_until 30 test -S "$sock" || fail "podman system service did not create $sock"
}
stop_service() {
	[ -n "$svc_pid" ] || return 0
	kill "$svc_pid" 2>/dev/null || true
	wait_until 10 sh -c "! kill -0 $svc_pid 2>/dev/null" || kill -9 "$svc_pid" 2>/dev/null || true
	svc_pid=
	rm -f -- "$sock"
}
on_exit 'stop_service'
on_exit '[ "$BERTH_EXIT_STATUS" -eq 0 ] || sed "s/^/# service: /" "$TEST_TMPDIR/service.log" | tail -20 >&2'

start_service
# Podman 4.3 running as root raises every container's RLIMIT_NPROC and
# RLIMIT_NOFILE to 1048576 unless told otherwise; without CAP_SYS_RESOURCE
# (some sandboxes and nested containers) runc then fails every start with
# "error setting rlimit type 6: operation not permitted".  There, give the
# service defaults no higher than its own limits.
capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
if (((0x$capeff >> 24 & 1) == 0)); then
	nproc=$(awk '/^Max processes/ {print $4}' "/proc/$svc_pid/limits")
	nofile=$(awk '/^Max open files/ {print $5}' "/proc/$svc_pid/limits")
	diag "no CAP_SYS_RESOURCE: container ulimits nproc=$nproc nofile=$nofile"
	printf '[containers]\ndefault_ulimits = [ "nproc=%s:%s", "nofile=%s:%s" ]\n' \
		"$nproc" "$nproc" "$nofile" "$nofile" >"$TEST_TMPDIR/containers.conf"
	stop_service
	start_service "$TEST_TMPDIR/containers.conf"
fi

ver=$(timeout 20 podman --url "unix://$sock" version --format '{{.Server.Version}}' 2>&1) ||
	fail "podman service on $sock does not answer: $ver"
ok "podman $ver answers on $sock"

# ---- the engine API test binary against it
rc=0
BERTH_TEST_SOCKET=$sock BERTH_TEST_IMAGE=$podman_image "$api_test" >"$TEST_TMPDIR/api.log" 2>&1 || rc=$?
sed 's/^/# /' "$TEST_TMPDIR/api.log" >&2
if [ "$rc" -eq 77 ]; then
	skip "test_engine_api skipped against Podman"
fi
assert_eq 0 "$rc" "test_engine_api passes against Podman's compat service"
assert_contains "$(cat "$TEST_TMPDIR/api.log")" "# engine podman at $sock" "test_engine_api ran against Podman"


# ---- join mode against Podman (runc here: crun 1.8 refuses this hybrid cgroup
# layout): the same field-by-field comparison with
# a `docker exec` reference through the service (tests/engine/test_join.sh);
# Podman 4.3 cannot isolate berth's network, so the bridge.
join_test=$top_srcdir/tests/engine/test_join.sh
if [ -u "${BERTH_BINDIR:-/usr/bin}/berth-shell" ]; then
	rc=0
	BERTH_TEST_SOCKET=$sock BERTH_TEST_JOIN_IMAGE=$podman_image BERTH_TEST_JOIN_NETWORK=bridge \
		bash "$join_test" >"$TEST_TMPDIR/join.log" 2>&1 || rc=$?
	sed 's/^/# join: /' "$TEST_TMPDIR/join.log" >&2
	assert_eq 0 "$rc" "join mode is confined as a Podman exec is (tests/engine/test_join.sh on Podman)"
else
	not_ok "join mode on Podman: berth-shell is not installed setuid root (make install)"
fi

done_testing
