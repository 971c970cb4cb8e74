#!/bin/bash
# tests/engine/test_tls_engine.sh - berth against a real remote engine: a
# second, test-owned dockerd on tcp://127.0.0.1:PORT with --tlsverify
# (tests/lib/tls_engine.sh), side by side with the shared one.
#
# berthctl check: the handshake it reports (server subject, SAN, issuer,
# client certificate expiry), and one-line failures for a CA that did not
# sign the engine, a client certificate of another CA (the engine rejects
# it), an expired client certificate, a name the engine's certificate does
# not carry, plain TCP, and TLS files with loose owners or modes (file:line
# and key).  A user's container made through berth-shell lands on the TLS
# engine only; the shared engine goes on undisturbed.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/lib/tls_engine.sh"

ctl=$top_builddir/berthctl
[ -x "$ctl" ] || fail "$ctl not built"
require_root
require_cmd openssl dockerd setpriv useradd
require_docker
require_test_image

run() { # CMD...: $out, $err, $rc
	local o=$TEST_TMPDIR/run.out e=$TEST_TMPDIR/run.err
	rc=0
	"$@" >"$o" 2>"$e" || rc=$?
	out=$(cat "$o") err=$(cat "$e")
}

D=$TEST_TMPDIR/tlsd
tls_make_certs "$D/certs"
start_tls_dockerd "$D"
C=$D/certs

# Both engines answer at once; the shared one still has its own socket.
check "the shared dockerd answers while the TLS dockerd runs" quiet docker version
check "the TLS dockerd answers over its own unix socket" quiet $TLS_DOCKER version
run docker --tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/client.pem" --tlskey "$C/client-key.pem" \
	-H "tcp://127.0.0.1:$TLS_PORT" info --format '{{.DockerRootDir}}'
assert_eq "$D/data" "$out" "docker's own client reaches the TLS dockerd over mutual TLS (its data root is the test's)"
run curl -s -m 5 "http://127.0.0.1:$TLS_PORT/_ping"
check "the TLS dockerd does not answer plain HTTP" test "$out" != OK

# ---------------------------------------------------------------- berthctl check
check_conf() { # NAME HOST CERT: `check --no-audit` on a config for the TLS engine
	{
		tls_engine_section "$D" "$2" "$3"
		printf 'image = "%s"; pull = "never";\ncontainer = { network = "none"; };\n' "$BERTH_TEST_IMAGE"
	} >"$TEST_TMPDIR/$1.conf"
	run "$ctl" --config "$TEST_TMPDIR/$1.conf" check --no-audit
}

check_conf good 127.0.0.1 client
assert_eq 0 "$rc" "check passes against the TLS engine with the good client certificate"
assert_contains "$out" "engine: tcp://127.0.0.1:$TLS_PORT: ok (API 1." "check reaches the engine over tcp:// and negotiates the API"
assert_contains "$out" "server CN = berth test engine (SAN IP:127.0.0.1), issuer CN = berth test CA" \
	"check reports the server's identity: subject, SAN and issuer"
assert_contains "$out" "client certificate $C/client.pem valid until " "check reports the client certificate's expiry"
assert_contains "$out" "image: $BERTH_TEST_IMAGE: present" "check finds the image on the TLS engine"
assert_eq "" "$err" "check prints no problem"

# expect_refused NAME HOST CERT WHAT: check fails with one line saying WHAT
expect_check_fails() {
	check_conf "$1" "$2" "$3"
	assert_eq 1 "$rc" "$1: check exits 1"
	assert_eq 1 "$(printf '%s\n' "$err" | grep -c .)" "$1: the failure is one line"
	assert_contains "$err" "$4" "$1: the line says why"
	case $out in *"engine: tcp://"*": ok"*) not_ok "$1: the engine is not reported ok" ;; *) ok "$1: the engine is not reported ok" ;; esac
}
TLS_CA=$C/foreign-ca.pem expect_check_fails wrong-ca 127.0.0.1 client \
	"its certificate is not trusted by engine.tls.ca: SSL certificate problem: unable to get local issuer certificate"
expect_check_fails foreign-client 127.0.0.1 foreign \
	"rejected the client certificate $C/foreign.pem"
expect_check_fails expired-client 127.0.0.1 expired \
	"the client certificate $C/expired.pem (engine.tls.cert) has expired"
expect_check_fails name-mismatch localhost client \
	"its certificate does not name the engine host (name mismatch)"

printf 'engine = { host = "tcp://127.0.0.1:%s"; };\n' "$TLS_PORT" >"$TEST_TMPDIR/plain.conf"
run "$ctl" --config "$TEST_TMPDIR/plain.conf" check --no-audit
assert_eq 1 "$rc" "plain TCP: check exits 1"
assert_eq "berthctl: config: $TEST_TMPDIR/plain.conf:1: engine.host: plain TCP to an engine is refused (whoever reaches it is root on the engine host): a tcp:// host needs engine.tls = { ca; cert; key; }" \
	"$err" "plain TCP: refused with file:line and the key, in one line"

# TLS files anyone could swap or read: refused at load, file:line and key.
cp -p "$C/client-key.pem" "$TEST_TMPDIR/loose-key.pem" && chmod 0644 "$TEST_TMPDIR/loose-key.pem"
tls_engine_section "$D" 127.0.0.1 client | sed "s|$C/client-key.pem|$TEST_TMPDIR/loose-key.pem|" >"$TEST_TMPDIR/loose.conf"
run "$ctl" --config "$TEST_TMPDIR/loose.conf" check --no-audit
assert_eq 1 "$rc" "a world-readable key: check exits 1"
assert_contains "$err" "loose.conf:2: engine.tls.key: the private key \"$TEST_TMPDIR/loose-key.pem\" has mode 0644" \
	"a world-readable key is refused with file:line and the key"
cp -p "$C/client.pem" "$TEST_TMPDIR/nobody.pem" && chown 65534 "$TEST_TMPDIR/nobody.pem"
tls_engine_section "$D" 127.0.0.1 client | sed "s|$C/client.pem|$TEST_TMPDIR/nobody.pem|" >"$TEST_TMPDIR/owner.conf"
run "$ctl" --config "$TEST_TMPDIR/owner.conf" check --no-audit
assert_contains "$err" "owner.conf:2: engine.tls.cert: \"$TEST_TMPDIR/nobody.pem\" has owner uid 65534" \
	"a certificate another user owns is refused with file:line and the key"

# ---------------------------------------------------------------- a user's container
# berth-shell (installed setuid) run as a test user, config pointing at the
# TLS engine: the container is made there, data goes both ways over TLS.
shell=${BERTH_BINDIR:-/usr/bin}/berth-shell
if [ -u "$shell" ]; then
	u=${TEST_PREFIX}t
	useradd -m -U -s "$shell" "$u" || fail "useradd $u"
	on_exit "remove_test_user '$u'"
	{
		echo "# written by $TEST_NAME"
		tls_engine_section "$D" 127.0.0.1 client
		printf 'image = "%s"; pull = "never"; entry = "exec";\n' "$BERTH_TEST_IMAGE"
		printf 'container = { network = "none"; };\npolicy = { exclude_users = [ "root" ]; };\n'
	} >"$TEST_TMPDIR/shell.conf"
	# not a pipe: berth_write_config must run in this shell, where its lock
	# and its restore-at-exit hold
	berth_write_config <"$TEST_TMPDIR/shell.conf"
	as_user() { setpriv --reuid="$u" --regid="$u" --init-groups env -i PATH=/usr/bin:/bin HOME="/home/$u" USER="$u" "$@"; }
	run as_user "$shell" -c 'hostname; id -un'
	assert_eq 0 "$rc" "berth-shell -c runs the command in the container on the TLS engine ($err)"
	assert_eq "$u-box
$u" "$out" "... as the user, in the container"
	check "the container berth-$u is on the TLS engine" quiet $TLS_DOCKER inspect "berth-$u"
	check "... and not on the shared engine" sh -c "! docker inspect 'berth-$u' >/dev/null 2>&1"
	head -c 4M /dev/urandom >"$TEST_TMPDIR/blob"
	as_user "$shell" -c 'cat' <"$TEST_TMPDIR/blob" >"$TEST_TMPDIR/blob.back" 2>"$TEST_TMPDIR/blob.err" || true
	check "4 MiB of random bytes go there and back over the TLS exec stream" cmp -s "$TEST_TMPDIR/blob" "$TEST_TMPDIR/blob.back"||
		diag "sent $(stat -c %s "$TEST_TMPDIR/blob"), got $(stat -c %s "$TEST_TMPDIR/blob.back"): $(head -c 400 "$TEST_TMPDIR/blob.err")"
	run as_user "$shell" -c 'echo out; echo err >&2; exit 9'
	assert_eq 9 "$rc" "the command's exit status comes back over TLS"
	assert_eq "out" "$out" "stdout carries only stdout"
	assert_eq "err" "$err" "stderr carries only stderr"
	run as_user cat "$C/client-key.pem"
	check "the user cannot read the client key berth-shell used as root" test "$rc" -ne 0
else
	diag "berth-shell is not installed setuid at $shell: the container checks need make install"
	[ "${CI:-}" != true ] || fail "berth-shell not installed setuid (CI)"
fi

check "the shared dockerd still answers after the TLS one's work" quiet docker version
done_testing
