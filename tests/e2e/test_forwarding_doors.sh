#!/bin/bash
# tests/e2e/test_forwarding_doors.sh - sshd serves forwardings itself, as the
# user (docs/security.md "Host side of a session"): with Debian's defaults
# `ssh -W 127.0.0.1:22` reaches the host's own loopback services and `-R` with
# a unix socket listens on the host. Through a real sshd with pam_berth in its
# session stack and the guides' `Match Group` block (etc/sshd_config.example,
# read from the file itself, so the test follows the guide), in both
# deployments: TCP forwarding lands in the container (pam_berth moves the
# session into its network namespace; tests/e2e/test_forwarding_container.sh
# shows where it lands), so the host's loopback stays out of reach, and what
# would still land on the host (streamlocal) is refused:
#   E2E_A    berthed, login shell berth-shell, in the group
#   E2E_B    berthed, login shell /bin/sh, in the group (ForceCommand from the block)
#   E2E_ADM  excluded, not in the group: the control; for it every forwarding
#            works, so a probe that finds nothing for E2E_A/E2E_B is known to work.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/e2e/ssh_lib.sh"

e2e_require
require_cmd timeout

berth_write_config <<EOF
# written by tests/e2e/test_forwarding_doors.sh
image = "$BERTH_TEST_IMAGE";
pull = "never";
shell = { fallback = "/bin/sh"; host = "/bin/sh"; };
policy = { exclude_users = [ "root", "$E2E_ADM" ]; };
EOF

e2e_guide_sshd "$(pick_port 3000)"
assert_contains "$(printf '%s\n' "${E2E_MATCH[@]}")" "AllowStreamLocalForwarding no" \
	"the guide's Match block turns unix-socket forwarding off"

# A host-only service on loopback: sshd itself. Its banner is what -W shows.
banner() { # USER: the first line -W 127.0.0.1:SSHD_PORT brings back
	e2e_timeout ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" -W "127.0.0.1:$SSHD_PORT" "$1@127.0.0.1" \
		</dev/null 2>/dev/null | head -n1 | tr -d '\r' || true
}
case $(banner "$E2E_ADM") in
SSH-2.0-*) ok "control: ssh -W 127.0.0.1:PORT reaches the host's sshd for an excluded user" ;;
*) not_ok "control: ssh -W 127.0.0.1:PORT reaches the host's sshd for an excluded user" ;;
esac
for u in "$E2E_A" "$E2E_B"; do
	b=$(banner "$u")
	case $b in
	SSH-2.0-*) not_ok "$u: ssh -W 127.0.0.1:PORT does not reach the host's sshd"; diag "got: $b" ;;
	*) ok "$u: ssh -W 127.0.0.1:PORT does not reach the host's sshd" ;;
	esac
done

# -L: a local listener whose connections sshd opens on the host.
local_forward() { # USER: what a connection through -L brings back
	local u=$1 lp out=''
	lp=$(pick_port 3400)
	e2e_timeout ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" -N -L "127.0.0.1:$lp:127.0.0.1:$SSHD_PORT" \
		"$u@127.0.0.1" </dev/null >/dev/null 2>&1 &
	local client=$!
	if wait_until 10 port_open "$lp"; then
		out=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$lp; head -n1 <&3" 2>/dev/null | tr -d '\r') || true
	fi
	kill "$client" 2>/dev/null
	wait "$client" 2>/dev/null || true
	printf '%s\n' "$out"
}
case $(local_forward "$E2E_ADM") in
SSH-2.0-*) ok "control: ssh -L to 127.0.0.1:PORT reaches the host's sshd for an excluded user" ;;
*) not_ok "control: ssh -L to 127.0.0.1:PORT reaches the host's sshd for an excluded user" ;;
esac
for u in "$E2E_A" "$E2E_B"; do
	case $(local_forward "$u") in
	SSH-2.0-*) not_ok "$u: ssh -L does not reach the host's sshd" ;;
	*) ok "$u: ssh -L does not reach the host's sshd" ;;
	esac
done

# -R (TCP and unix socket): a listener sshd would open on the host.
remote_forward() { # USER SPEC: ssh's status with ExitOnForwardFailure
	local u=$1 rc=0
	e2e_timeout ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" -o ExitOnForwardFailure=yes -R "$2" \
		"$u@127.0.0.1" true </dev/null >/dev/null 2>"$TEST_TMPDIR/fwd.err" || rc=$?
	[ "$rc" = 0 ] || diag "ssh -R $2 $u: $(tr '\n' ' ' <"$TEST_TMPDIR/fwd.err")"
	echo "$rc"
}
assert_eq 0 "$(remote_forward "$E2E_ADM" "127.0.0.1:0:127.0.0.1:$SSHD_PORT")" \
	"control: ssh -R opens a listener on the host for an excluded user"
sock=/tmp/bte$$-adm.sock
assert_eq 0 "$(remote_forward "$E2E_ADM" "$sock:127.0.0.1:$SSHD_PORT")" \
	"control: ssh -R with a unix socket opens one on the host for an excluded user"
rm -f "$sock"
for u in "$E2E_A" "$E2E_B"; do
	sock=/tmp/bte$$-$u.sock
	check "$u: ssh -R (unix socket) is refused" \
		test "$(remote_forward "$u" "$sock:127.0.0.1:$SSHD_PORT")" -ne 0
	check "$u: ... and no socket appears on the host" test ! -e "$sock"
	rm -f "$sock"
done

# The sessions themselves still work, in the container.
for u in "$E2E_A" "$E2E_B"; do
	assert_eq "$u-box" "$(e2e_ssh "$u" hostname </dev/null 2>/dev/null)" "$u: the session runs in the container"
done

done_testing
