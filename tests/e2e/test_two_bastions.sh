#!/bin/bash
# tests/e2e/test_two_bastions.sh - two bastions, one engine (issue 12,
# docs/scale-out.md "Sessions across bastions").  Two real sshds on
# 127.0.0.1, each in its own private mount namespace with its own berth run
# directory bind-mounted over /run/berth (so each sees only its own session
# records and locks, as two hosts would), the installed pam_berth in a test
# PAM stack and the installed berth-shell as the users' shell, one engine.
#
# Checks: a user logged in on both bastions gets one container; a logout on
# one bastion (on_logout = stop, = remove) leaves the other's session
# running, its command still producing output; `berthctl gc` on one bastion
# leaves a container the other's session uses, and the idle clock is the
# last session's end on either bastion; after the last session anywhere
# ends, on_logout applies; concurrent first logins from both bastions create
# exactly one container, and both land in it with the user's identity; a
# home the engine's host lacks is refused with one plain line.
#
# The engine is a remote one, as bastions share it: a test-owned dockerd on
# tcp://127.0.0.1:PORT with --tlsverify (tests/lib/tls_engine.sh), reached
# with mutual TLS; the test's own docker CLI speaks to its unix socket.  (A
# local engine would also resolve bind sources under the one /run/berth
# both namespaces hide: bastions never share a local engine.)
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/lib/tls_engine.sh"

require_berth_stack ssh useradd userdel getent nsenter unshare timeout openssl
tls_make_certs "$TEST_TMPDIR/tlsd/certs"
start_tls_dockerd "$TEST_TMPDIR/tlsd"
engine_conf=$(tls_engine_section "$TEST_TMPDIR/tlsd" 127.0.0.1 client)
# every docker command below (and common.sh's container_state) asks the TLS engine
docker() { command docker -H "unix://$TLS_DOCKER_DIR/docker.sock" "$@"; }

u=$TEST_PREFIX-u  # logs in on both bastions
h=$TEST_PREFIX-h  # whose home only bastion B has
homes=/var/lib/$TEST_PREFIX-homes
run_a=$TEST_TMPDIR/run-a run_b=$TEST_TMPDIR/run-b
holds=()
berthctl=${BERTH_SBINDIR:-/usr/sbin}/berthctl

container_of() { docker ps -a --filter "label=berth.user=$1" --format '{{.Names}}'; }
state_of() { container_state "$1"; } # USER -> running | exited | absent
state_is() { [ "$(state_of "$1")" = "$2" ]; }

cleanup() {
	local x c
	for x in "${holds[@]}"; do kill "$x" 2>/dev/null; done
	for x in "$u" "$h"; do
		for c in $(container_of "$x"); do docker rm -f "$c" >/dev/null 2>&1; done
		remove_test_user "$x"
	done
	rm -rf -- "$homes"
}
on_exit cleanup

# gc acts on every berth container of the engine: idle_timeout = 0 (never)
# but for $u, so that other tests' containers are never touched.
write_conf() { # ON_LOGOUT IDLE_TIMEOUT
	berth_write_config <<EOF
# written by tests/e2e/test_two_bastions.sh
$engine_conf
image = "$BERTH_TEST_IMAGE";
pull = "never";
home = { mount = true; create = true; };
container = { network = "none"; on_logout = "keep"; idle_timeout = 0; };
users = ( { user = "$u"; on_logout = "$1"; idle_timeout = $2; } );
policy = { exclude_users = [ "root" ]; };
EOF
}

# ---------------------------------------------------------------- two bastions

useradd -m -U -s "$shell" "$u" || fail "useradd $u"
install -d -m 0755 "$homes"
useradd -M -d "$homes/$h" -U -s "$shell" "$h" || fail "useradd $h"
usermod -p '*' "$u" && usermod -p '*' "$h" || fail "cannot unlock the test users"
install -d -m 0755 /run/berth "$run_a" "$run_b"
write_conf keep 3600
pam_sshd_stack "$TEST_TMPDIR/pam.sshd" "$module"

# Syslog: a socket of ours over /dev/log in each bastion's namespace (as
# test_policy_ldap.sh does); its lines in $TEST_TMPDIR/syslog-NAME.
if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then # no logger here: a mount point only
	: >/dev/log
	on_exit '[ -f /dev/log ] && [ ! -s /dev/log ] && rm -f /dev/log'
fi

# bastion NAME RUNDIR [CMD...]: an sshd in a namespace of its own; CMD runs
# in that namespace before sshd starts.  Sets NS_<NAME> and PORT_<NAME>.
bastion() {
	local name=$1 rundir=$2
	shift 2
	BERTH_NS_PID='' SSHD_PID='' SSHD_DIR=$TEST_TMPDIR/sshd-$name
	berth_ns_start
	[ $# -eq 0 ] || berth_ns_run "$@" || fail "bastion $name: $*"
	: >"$TEST_TMPDIR/syslog-$name"
	syslog_listen "$TEST_TMPDIR/log-$name.sock" "$TEST_TMPDIR/syslog-$name"
	berth_ns_bind "$TEST_TMPDIR/log-$name.sock" /dev/log
	_berth_service_logs+=("$TEST_TMPDIR/syslog-$name")
	start_sshd --pam --bind "$TEST_TMPDIR/pam.sshd" /etc/pam.d/sshd --bind "$rundir" /run/berth \
		"$(pick_port 2400)"
	printf -v "NS_$name" %s "$BERTH_NS_PID"
	printf -v "PORT_$name" %s "$SSHD_PORT"
}
bastion A "$run_a"
key_a=$SSHD_DIR/authorized_keys
# B's home directory tree is its own: $homes is an empty tmpfs there
bastion B "$run_b" mount -t tmpfs -o mode=0755 bt-homes "$homes"
cat "$SSHD_DIR/id_ed25519.pub" >>"$key_a" # SSH_OPTS now carry B's key: A takes it too
diag "bastion A: 127.0.0.1:$PORT_A run dir $run_a; bastion B: 127.0.0.1:$PORT_B run dir $run_b"

on() { # A|B CMD...: CMD on that bastion (its mount namespace: its run directory)
	local ns=NS_$1
	shift
	nsenter -t "${!ns}" -m -- "$@"
}
to() { # A|B USER [CMD]: ssh to that bastion, bounded
	local port=PORT_$1
	timeout -k 5 60 ssh "${SSH_OPTS[@]}" -p "${!port}" "$2@127.0.0.1" "${@:3}"
}
# hold A|B TAG: a session whose command prints a line a second into
# $TEST_TMPDIR/TAG.out until its stdin (a fifo of ours) ends: unhold.
hold() {
	: >"$TEST_TMPDIR/$2.out"
	rm -f "$TEST_TMPDIR/$2.in"
	mkfifo "$TEST_TMPDIR/$2.in"
	to "$1" "$u" "echo $2 > /tmp/bt-held; echo in; (while :; do date +%s; sleep 1; done) & cat >/dev/null; kill \$!" \
		<"$TEST_TMPDIR/$2.in" >"$TEST_TMPDIR/$2.out" 2>"$TEST_TMPDIR/$2.err" &
	HELD=$!
	holds+=("$HELD")
	exec {HELD_FD}>"$TEST_TMPDIR/$2.in"
	wait_until 30 grep -qx in "$TEST_TMPDIR/$2.out" || diag "$2: $(cat "$TEST_TMPDIR/$2.err")"
}
lines() { wc -l <"$TEST_TMPDIR/$1.out"; }
# still_ticking TAG: the held session's command goes on producing output
still_ticking() {
	local n
	n=$(lines "$1")
	sleep 2.5
	[ "$(lines "$1")" -gt "$n" ]
}
unhold() { # EOF: the command ends, then the session
	exec {HELD_FD}>&-
	timeout 30 tail --pid="$HELD" -f /dev/null || kill "$HELD" 2>/dev/null || true
	wait "$HELD" 2>/dev/null || true
}
records() { ls "$1/sessions/$(container_of "$u")" 2>/dev/null | wc -l; }
no_records() { [ "$(records "$1")" = 0 ]; }

out=$(to A "$u" 'id -un' </dev/null 2>"$TEST_TMPDIR/err") || out="ssh failed: $(cat "$TEST_TMPDIR/err")"
assert_eq "$u" "$out" "bastion A lets the user into a container"

# ---------------------------------------------------------------- one container

hold A a1
out=$(to B "$u" 'cat /tmp/bt-held; id -un' </dev/null 2>&1) || true
assert_eq "a1
$u" "$out" "a session on bastion B lands in the container bastion A's session uses"
assert_eq 1 "$(container_of "$u" | wc -l)" "one container for the user, logged in on both bastions"
# The holder's connection stays in sshd's monitor; the user's own host-side
# processes (sshd's session child) cannot reach its fds.
child=$(pgrep -u "$u" -f "^sshd: $u" | head -n 1 || true)
if [ -n "$child" ]; then
	check "the user cannot reach the fds of the session's sshd child (pid $child), which inherited the holder's" \
		bash -c "! runuser -u '$u' -- ls /proc/$child/fd >/dev/null 2>&1"
else
	not_ok "the session's sshd child runs as the user"
fi
wait_until 10 no_records "$run_b" || true
assert_eq "1 0" "$(records "$run_a") $(records "$run_b")" \
	"the session records are per bastion: A has its session's, B none of it"

# ---------------------------------------------------------------- on_logout = stop

write_conf stop 1
out=$(to B "$u" 'echo b-was-here' </dev/null 2>&1) || true
assert_eq b-was-here "$out" "on_logout = stop: a second session, on bastion B, runs and ends"
wait_until 10 no_records "$run_b" || true
assert_eq running "$(state_of "$u")" "the logout on B (its last session) leaves the container A's session uses running"
check "A's session keeps producing output after the logout on B" still_ticking a1

now=$(date +%s)
on B "$berthctl" gc --now $((now + 3600)) >"$TEST_TMPDIR/gc.out" 2>&1 || diag "gc: $(cat "$TEST_TMPDIR/gc.out")"
assert_eq running "$(state_of "$u")" "berthctl gc on B (idle_timeout 1 s, an hour later by its clock) leaves it running"
check "A's session keeps producing output after gc on B" still_ticking a1

unhold
wait_until 30 state_is "$u" exited || true
assert_eq exited "$(state_of "$u")" "on_logout = stop applies when A's session, the last anywhere, ends"

# ---------------------------------------------------------------- on_logout = remove

write_conf remove 3600
hold B b1
out=$(to A "$u" 'cat /tmp/bt-held' </dev/null 2>&1) || true
assert_eq b1 "$out" "on_logout = remove: a session on A (B's running) shares B's container"
wait_until 10 no_records "$run_a" || true
assert_eq running "$(state_of "$u")" "the logout on A leaves the container B's session uses in place, running"
check "B's session keeps producing output after the logout on A" still_ticking b1
unhold
wait_until 30 state_is "$u" absent || true
assert_eq absent "$(state_of "$u")" "on_logout = remove applies when B's session, the last anywhere, ends"

# ---------------------------------------------------------------- idle clock

# keep, idle_timeout 5 s: A's last session ends first, B's 7 s later.  By
# A's own records the container is idle 8 s at A's gc; the end of B's
# session, written into the container, says 1 s.
write_conf keep 5
# (sshd closes the PAM session after the client has gone: wait for it)
to A "$u" true </dev/null >/dev/null 2>&1 || true
wait_until 10 no_records "$run_a" || true
sleep 7
to B "$u" true </dev/null >/dev/null 2>&1 || true
wait_until 10 no_records "$run_b" || true
now=$(date +%s)
on A "$berthctl" gc --now $((now + 1)) >"$TEST_TMPDIR/gc.out" 2>&1 || diag "gc: $(cat "$TEST_TMPDIR/gc.out")"
assert_eq running "$(state_of "$u")" "gc on A counts idle time from the last session's end on B, not A's own"
on A "$berthctl" gc --now $((now + 60)) >"$TEST_TMPDIR/gc.out" 2>&1 || diag "gc: $(cat "$TEST_TMPDIR/gc.out")"
assert_eq exited "$(state_of "$u")" "gc on A stops it once idle past idle_timeout since that end"

# ---------------------------------------------------------------- concurrent first logins

write_conf keep 3600
rounds=4 good=0
for i in $(seq 1 "$rounds"); do
	for c in $(container_of "$u"); do docker rm -f "$c" >/dev/null; done
	cmd='id -un; grep -o "containers/[0-9a-f]*/hostname" /proc/self/mountinfo | head -n 1'
	to A "$u" "$cmd" </dev/null >"$TEST_TMPDIR/ca.out" 2>&1 &
	pa=$!
	to B "$u" "$cmd" </dev/null >"$TEST_TMPDIR/cb.out" 2>&1 &
	pb=$!
	wait "$pa" || true
	wait "$pb" || true
	n=$(container_of "$u" | wc -l)
	id=$(docker inspect -f '{{.Id}}' "$(container_of "$u" | head -n 1)" 2>/dev/null) || id=none
	want="$u
containers/$id/hostname"
	if [ "$n" = 1 ] && [ "$(cat "$TEST_TMPDIR/ca.out")" = "$want" ] && [ "$(cat "$TEST_TMPDIR/cb.out")" = "$want" ]; then
		good=$((good + 1))
	else
		diag "round $i: $n container(s) $id; A: $(cat "$TEST_TMPDIR/ca.out"); B: $(cat "$TEST_TMPDIR/cb.out")"
	fi
done
assert_eq "$rounds" "$good" \
	"concurrent first logins on A and B: one container, both sessions in it as the user ($rounds rounds)"

# ---------------------------------------------------------------- a home the engine's host lacks

rc=0
out=$(to B "$h" 'id -un' </dev/null 2>&1) || rc=$?
check "the user's home exists on bastion B (made at login there)" on B test -d "$homes/$h"
check "but not on the engine's host" test ! -e "$homes/$h"
assert_contains "$out" "berth: your container could not be started (your home directory is not available on the container host); please contact your administrator" \
	"a home the engine's host lacks: one plain line"
check "and the login is denied (ssh exit $rc)" test "$rc" -ne 0
assert_eq absent "$(state_of "$h")" "and no container is left behind"

done_testing
