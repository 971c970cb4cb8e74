#!/bin/bash
# tests/e2e/test_ssh_tls.sh - logins through a real sshd (berth-shell the
# login shell, pam_berth in sshd's PAM stack) to a remote engine: a
# test-owned dockerd on tcp://127.0.0.1:PORT with --tlsverify
# (tests/lib/tls_engine.sh).  The fault tier's fixture (fault_lib.sh: users,
# sshd, syslog, the denied/works checks) with its config pointed at the TLS
# engine, and the end-to-end checks of ssh_lib.sh that need no local engine.
#
# Cases: a login lands in a container on the TLS engine; exit codes, stdout
# and stderr apart, stdin and its EOF, 8 MiB both ways, a terminal with its
# size and a resize, ^C; berth-shell holds no fd of the client key after it
# dropped root; refused with one plain line and a syslog line saying why: a
# client certificate of another CA, an expired client certificate, a CA
# that did not sign the engine, a name the engine's certificate lacks, plain
# TCP in berth.conf.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/fault/fault_lib.sh"
. "$top_srcdir/tests/e2e/ssh_lib.sh"
. "$top_srcdir/tests/lib/tls_engine.sh"

require_root
require_cmd openssl dockerd tmux cmp
start_dockerd
require_test_image
D=$TEST_TMPDIR/tlsd
tls_make_certs "$D/certs"
start_tls_dockerd "$D"

# fault_lib's config, at the TLS engine; F_TLS_HOST, F_TLS_CERT, TLS_CA and
# F_PLAIN (tcp:// without tls) break it one way each.
f_conf() {
	local engine
	if [ -n "${F_PLAIN:-}" ]; then
		engine="engine = { host = \"tcp://127.0.0.1:$TLS_PORT\"; };"
	else
		engine=$(tls_engine_section "$D" "${F_TLS_HOST:-127.0.0.1}" "${F_TLS_CERT:-client}")
	fi
	berth_write_config <<EOF
# written by $TEST_NAME
$engine
image = "$BERTH_TEST_IMAGE"; pull = "never";
entry = "exec";
home = { mount = true; create = true; };
shell = { fallback = "/bin/sh"; host = "/bin/bash"; };
container = { network = "none"; on_logout = "keep"; };
policy = { exclude_users = [ "root", "$F_ADM" ]; };
EOF
}

f_setup shell
check "the container berth-$F_U is on the TLS engine" quiet $TLS_DOCKER inspect "berth-$F_U"
check "... and not on the shared engine" sh -c "! docker inspect 'berth-$F_U' >/dev/null 2>&1"

# ssh_lib's checks for the user of this fixture
E2E_A=$F_U
E2E_TMUX=$TEST_TMPDIR/tmux.sock
on_exit "tmux -S '$E2E_TMUX' kill-server 2>/dev/null"
e2e_check_exit_codes
e2e_check_stdio
e2e_check_tty
# A remote engine cannot bind this host's RUNDIR: passwd and group go in
# through the archive API, and the names must be right all the same.
out=$(e2e_ssh "$F_U" 'whoami; id -un; id -u' </dev/null 2>&1) || true
assert_eq "$F_U
$F_U
$(id -u "$F_U")" "$out" "whoami and id name the user in a container on the TLS engine (/etc written through the archive API)"
check "... whose /etc/passwd is not a bind mount" \
	sh -c "! $TLS_DOCKER inspect -f '{{range .Mounts}}{{.Destination}} {{end}}' 'berth-$F_U' | grep -q /etc/passwd"

# After the drop berth-shell keeps its TLS connections but no way to the key.
if f_live_start; then
	pid=$(ps -o pid=,comm= -u "$F_U" | awk '$2 == "berth-shell" { print $1; exit }')
	if [ -n "$pid" ]; then
		fds=$(ls -l "/proc/$pid/fd" 2>&1 || true)
		case $fds in
		*key.pem*) not_ok "berth-shell holds no fd of the client key during the session"; diag "$fds" ;;
		*) ok "berth-shell holds no fd of the client key during the session" ;;
		esac
		assert_eq "$(id -u "$F_U") $(id -u "$F_U") $(id -u "$F_U")" \
			"$(awk '/^Uid:/ { print $2, $3, $4 }' "/proc/$pid/status")" \
			"... and runs as the user (real, effective, saved uid)"
		check "... whose connection to the engine is TCP to 127.0.0.1:$TLS_PORT" \
			sh -c "ss -Htnp state established '( dport = :$TLS_PORT )' | grep -q 'pid=$pid,'"
	else
		not_ok "a berth-shell of $F_U runs during the live session"
	fi
	f_live_end
fi

unreachable=$(f_line 'the container service is not reachable')
F_TLS_CERT=foreign f_conf
f_expect_denied "a client certificate of another CA" "$F_U" "$unreachable" \
	"user=$F_U .*error=engine-unreachable.*rejected the client certificate"
F_TLS_CERT=expired f_conf
f_expect_denied "an expired client certificate" "$F_U" "$unreachable" \
	"user=$F_U .*error=engine-unreachable.*expired\\.pem \\(engine\\.tls\\.cert\\) has expired"
TLS_CA=$D/certs/foreign-ca.pem f_conf
f_expect_denied "a CA that did not sign the engine's certificate" "$F_U" "$unreachable" \
	"user=$F_U .*error=engine-unreachable.*not trusted by engine\\.tls\\.ca"
F_TLS_HOST=localhost f_conf
f_expect_denied "a host name the engine's certificate does not carry" "$F_U" "$unreachable" \
	"user=$F_U .*error=engine-unreachable.*name mismatch"
F_PLAIN=1 f_conf
f_expect_denied "plain TCP in berth.conf" "$F_U" "$(f_line 'the berth configuration is invalid')" \
	"user=$F_U .*error=config: $BERTH_CONFIG_PATH:[0-9]+: engine.host: plain TCP to an engine is refused"
f_conf
f_expect_works "the TLS config repaired: the next login works"
done_testing
