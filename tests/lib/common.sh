# tests/lib/common.sh - sourced by every script test (engine, pam, e2e tiers).
#
# Results follow automake's test driver: exit 0 pass, 1 fail, 77 skip. Under
# CI=true a skip is a failure, so a CI machine that lacks root, dockerd or sshd
# cannot go green by skipping everything. The TAP-style lines (ok / not ok)
# are for humans reading the .log files.
#
# Scripts are expected to `set -euo pipefail` before sourcing this file; every
# helper here is safe under those options.
#
# Provided:
#   skip REASON / fail MSG / diag MSG
#   ok DESC / not_ok DESC / check DESC CMD... / assert_eq WANT GOT DESC /
#   assert_contains HAYSTACK NEEDLE DESC / done_testing
#   require_root / require_docker / require_cmd CMD... / require_test_image
#   require_installed        the installed pam_berth.so and setuid berth-shell
#                            (make install); sets $module and $shell to them
#   syslog_listen SOCKET FILE  a datagram socket (mode 0666) whose messages are
#                            appended to FILE, one a line, until the test exits
#   _berth_spawn CMD...      CMD in the background with no fd above 2 ($! its pid)
#   remove_test_user USER    kill what still runs as USER, userdel -r, and
#                            groupdel its own group (cleanups)
#   install_test_helper NAME DEST  copy a helper `make check` built in
#                            tests/e2e/ to DEST (mode 0755, for the test user)
#   on_exit 'shell code'     cleanup, run in reverse order at exit; sees
#                            BERTH_EXIT_STATUS (non-zero: the test failed)
#   wait_until SECONDS CMD... poll until CMD succeeds;  quiet CMD... (no output)
#   berth_test_lock          serialise tests that touch host-global state
#   berth_write_config       stdin -> /etc/berth/berth.conf, restored at exit
#   TEST_TMPDIR              a per-test directory (mode 0755), removed at exit
#   TEST_PREFIX              unique prefix for containers/users a test creates

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
if [ -z "${top_builddir:-}" ]; then
	# Run by hand from a build directory, or in-tree.
	if [ -f "$PWD/config.status" ]; then top_builddir=$PWD; else top_builddir=$top_srcdir; fi
fi
: "${BERTH_CONFIG_PATH:=/etc/berth/berth.conf}"
: "${BERTH_TEST_IMAGE:=berth-test:latest}"
export top_srcdir top_builddir BERTH_CONFIG_PATH BERTH_TEST_IMAGE

TEST_NAME=$(basename "$0" .sh)
TEST_PREFIX="bt$$"
_berth_tap_n=0
_berth_tap_failed=0
_berth_cleanups=()

# ---------------------------------------------------------------- results

diag() { printf '# %s\n' "$*" >&2; }

skip() {
	if [ "${CI:-}" = true ]; then
		printf 'SKIP is a failure under CI=true: %s\n' "$*" >&2
		exit 1
	fi
	printf 'SKIP: %s\n' "$*" >&2
	exit 77
}

fail() {
	printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
	exit 1
}

ok() {
	_berth_tap_n=$((_berth_tap_n + 1))
	printf 'ok %d - %s\n' "$_berth_tap_n" "$*"
}

# Records a failure and carries on; done_testing (or exit) turns it into status 1.
not_ok() {
	_berth_tap_n=$((_berth_tap_n + 1))
	_berth_tap_failed=$((_berth_tap_failed + 1))
	printf 'not ok %d - %s\n' "$_berth_tap_n" "$*"
}

check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

assert_eq() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "want: $1"
		diag " got: $2"
	fi
}

assert_contains() {
	case $1 in
	*"$2"*) ok "$3" ;;
	*)
		not_ok "$3"
		diag "wanted to find: $2"
		diag "in: $1"
		;;
	esac
}

done_testing() {
	printf '1..%d\n' "$_berth_tap_n"
	[ "$_berth_tap_failed" -eq 0 ] || fail "$_berth_tap_failed of $_berth_tap_n checks failed"
	exit 0
}

# ---------------------------------------------------------------- requirements

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

require_docker() {
	require_cmd docker
	timeout 20 docker version >/dev/null 2>&1 ||
		skip "docker engine not answering on ${DOCKER_HOST:-/var/run/docker.sock}"
}

# Builds berth-test:latest when missing or stale (build-image.sh is idempotent).
# _berth_spawn CMD...: starts CMD in the background; $! is CMD's pid. Daemons get
# none of our fds above 2, so they cannot hold the test lock or make's pipes.
_berth_spawn() {
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || eval "exec $fd>&-" 2>/dev/null || true
		done
		exec "$@"
	) &
}

syslog_listen() { # SOCKET FILE
	require_cmd python3
	_berth_spawn python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")' "$1" "$2"
	on_exit "kill $! 2>/dev/null; rm -f -- '$1'"
	wait_until 10 test -S "$1" || fail "cannot serve a syslog socket at $1"
}

# check_syslog DESC ERE: a line matching ERE reaches $SYSLOG within 3 s;
# check_no_syslog DESC ERE: none has, half a second on.  Both pass as a skip
# when the test set have_syslog=false (/dev/log belongs to the system logger).
check_syslog() {
	if ! "${have_syslog:-true}"; then
		ok "$1 # SKIP /dev/log belongs to the system logger"
	elif wait_until 3 grep -qE -- "$2" "$SYSLOG"; then
		ok "$1"
	else
		not_ok "$1"
		diag "no syslog line matching: $2"
		sed 's/^/# syslog: /' "$SYSLOG" >&2
	fi
}
check_no_syslog() {
	if ! "${have_syslog:-true}"; then
		ok "$1 # SKIP /dev/log belongs to the system logger"
	elif sleep 0.5 && ! grep -qE -- "$2" "$SYSLOG"; then
		ok "$1"
	else
		not_ok "$1"
		grep -E -- "$2" "$SYSLOG" | sed 's/^/# syslog: /' >&2
	fi
}

# container_state USER: the State.Status of USER's container (found by its
# berth.user label: names are the core's business), or "absent".
container_state() {
	local c
	c=$(docker ps -a --filter "label=berth.user=$1" --format '{{.Names}}' | head -n 1)
	if [ -z "$c" ]; then echo absent; else docker inspect -f '{{.State.Status}}' "$c"; fi
}

require_installed() {
	module=${BERTH_PAMDIR:-/lib/x86_64-linux-gnu/security}/pam_berth.so
	shell=${BERTH_BINDIR:-/usr/bin}/berth-shell
	[ -f "$module" ] || skip "$module not installed (make install)"
	[ -u "$shell" ] || skip "$shell not installed setuid root (make install)"
}

remove_test_user() { # USER; never fails
	local pids
	if getent passwd "$1" >/dev/null; then
		# what a failed check left running as the test user (its ssh
		# sessions); userdel refuses users with processes
		pids=$(ps -o pid= -u "$1" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
		[ -z "$pids" ] || kill -9 $pids 2>/dev/null
		userdel -r -f "$1" >/dev/null 2>&1
	fi
	getent group "$1" >/dev/null && groupdel "$1" >/dev/null 2>&1
	return 0
}

install_test_helper() { # NAME DEST
	local built=$top_builddir/tests/e2e/$1
	[ -x "$built" ] || fail "$built is not built (make check builds it)"
	install -m 0755 "$built" "$2"
}

require_test_image() {
	require_docker
	BERTH_TEST_IMAGE=$("$top_srcdir/tests/lib/build-image.sh") ||
		fail "could not build the test image"
}

# ---------------------------------------------------------------- cleanup

_berth_run_cleanups() {
	local rc=$? i
	set +e
	BERTH_EXIT_STATUS=$rc
	if [ "$rc" -eq 0 ] && [ "$_berth_tap_failed" -ne 0 ]; then BERTH_EXIT_STATUS=1; fi
	for ((i = ${#_berth_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_berth_cleanups[i]}"
	done
	if [ "$rc" -eq 0 ] && [ "$_berth_tap_failed" -ne 0 ]; then
		printf 'FAIL: %s: %d of %d checks failed\n' "$TEST_NAME" "$_berth_tap_failed" "$_berth_tap_n" >&2
		rc=1
	fi
	exit "$rc"
}

# on_exit 'shell code': runs at exit, last registered first, errors ignored.
on_exit() {
	_berth_cleanups+=("$1")
}

trap _berth_run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/berth-$TEST_NAME.XXXXXX")
chmod 0755 "$TEST_TMPDIR" # unprivileged test users and sshd-as-user read from here
on_exit 'rm -rf -- "$TEST_TMPDIR"'

# ---------------------------------------------------------------- helpers

# quiet CMD...: CMD's status without its output (for check).
quiet() { "$@" >/dev/null 2>&1; }

# wait_until SECONDS CMD...: true as soon as CMD succeeds, false on timeout.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Tests that rewrite host-global state (berth.conf, users, sshd ports) take this
# lock so `make -j check` runs them one at a time. Held until the script exits.
BERTH_TEST_LOCK=${BERTH_TEST_LOCK:-/run/berth-tests.lock}
# A benchmark that runs another under its lock hands the fd down in
# BERTH_TEST_LOCK_FD (the lock is the open file's, which the child inherits).
_berth_lock_fd=${BERTH_TEST_LOCK_FD:-}
berth_test_lock() {
	[ -z "$_berth_lock_fd" ] || return 0
	exec {_berth_lock_fd}>>"$BERTH_TEST_LOCK" || fail "cannot open $BERTH_TEST_LOCK"
	flock -w 900 "$_berth_lock_fd" || fail "timed out waiting for $BERTH_TEST_LOCK"
}

# berth_write_config < file: installs a test berth.conf; the previous file (or
# its absence) is restored at exit. Takes the test lock.
_berth_conf_saved=
berth_write_config() {
	local conf=$BERTH_CONFIG_PATH
	berth_test_lock
	if [ -z "$_berth_conf_saved" ]; then
		_berth_conf_saved=$TEST_TMPDIR/berth.conf.saved
		if [ -e "$conf" ]; then
			cp -p -- "$conf" "$_berth_conf_saved" || fail "cannot save $conf"
			on_exit "cp -p -- '$_berth_conf_saved' '$conf.berth-test' && mv -f -- '$conf.berth-test' '$conf'"
		else
			: >"$_berth_conf_saved"
			on_exit "rm -f -- '$conf'"
		fi
	fi
	mkdir -p -- "$(dirname "$conf")"
	cat >"$conf.berth-test" && chmod 0644 "$conf.berth-test" && mv -f -- "$conf.berth-test" "$conf" ||
		fail "cannot write $conf"
}
