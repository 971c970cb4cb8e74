#!/bin/bash
# tests/e2e/test_forwarding_container.sh - forwarding lands in the user's
# container (docs/security.md "Forwarding lands in the container"): pam_berth
# moves sshd's monitor into the container's network namespace at session open,
# so -W/-L/-D connect from the container and -R listens in it, and berth-shell
# relays ssh -A's agent into it. Through a real sshd whose PAM session stack has
# pam_berth and whose Match block is the guide's own (etc/sshd_config.example),
# in both deployments:
#   E2E_A    berthed, login shell berth-shell, in the group
#   E2E_B    berthed, login shell /bin/sh, in the group (ForceCommand)
#   E2E_ADM  excluded: the control; its forwardings land on the host, so a probe
#            that finds the container's service for E2E_A/E2E_B is known to
#            tell host from container.
# One service on the host's 127.0.0.1:PORT and another in each container on the
# same port answer GET /id with who they are.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/e2e/ssh_lib.sh"

e2e_require
require_cmd ssh-agent ssh-add timeout curl pgrep

# E2E_C: berthed, container.network = "host": nothing to move into, so its
# forwardings land on the host (the door berthctl check names for it).
E2E_C=bte$$c
cleanup_c() {
	docker rm -f "$(e2e_container "$E2E_C")" >/dev/null 2>&1
	remove_test_user "$E2E_C"
}
on_exit cleanup_c
hostnet_conf="users = ( { user = \"$E2E_C\"; network = \"host\"; } );"

e2e_write_config /bin/sh "$hostnet_conf"

berth_ns_syslog # pam_berth's and berth-shell's lines
# X11 too, for the X11 case; its display socket needs IPv4 only: a container's
# network has no ::1, and sshd gives the display up when one address fails.
e2e_guide_sshd "$(pick_port 3100)" --head "AddressFamily inet" "X11Forwarding yes"
useradd -m -U -G "$E2E_GROUP" -s "$E2E_SHELL" "$E2E_C" && usermod -p '*' "$E2E_C" || fail "useradd $E2E_C"
assert_contains "$(printf '%s\n' "${E2E_MATCH[@]}")" "AllowTcpForwarding yes" \
	"the guide's Match block turns TCP forwarding on"

# ---------------------------------------------------------------- services

port=$(pick_port 3700)
www=$TEST_TMPDIR/www
mkdir -p "$www" && echo host >"$www/id" && chmod -R a+rX "$www"
_berth_spawn /bin/busybox httpd -f -p "127.0.0.1:$port" -h "$www"
on_exit "kill $! 2>/dev/null"
wait_until 10 port_open "$port" || fail "host httpd on 127.0.0.1:$port did not start"

for u in "$E2E_A" "$E2E_B"; do
	e2e_ssh "$u" true </dev/null 2>"$TEST_TMPDIR/first.err" ||
		fail "$u: first login: $(head -c 300 "$TEST_TMPDIR/first.err")"
	c=$(e2e_container "$u")
	docker exec -u "$(id -u "$u")" "$c" sh -c "mkdir -p /tmp/www && echo container-$u >/tmp/www/id" ||
		fail "$u: cannot write the container's page"
	docker exec -d -u "$(id -u "$u")" "$c" busybox httpd -f -p "$port" -h /tmp/www ||
		fail "$u: cannot start the container's httpd"
done
# The sessions really take the entry mode under test: a joined command's
# parent on the host is berth-shell (its host-side part), an exec'd one's
# the engine's shim.
e2e_ssh "$E2E_A" 'sleep 3' </dev/null >/dev/null 2>&1 &
sleeper=$!
_a_sleeps() { pgrep -u "$(id -u "$E2E_A")" -x sleep >/dev/null; }
wait_until 5 _a_sleeps || true
parent=$(ps -o comm= -p "$(ps -o ppid= -p "$(pgrep -u "$(id -u "$E2E_A")" -x sleep | head -n 1)" 2>/dev/null | tr -d ' ')" 2>/dev/null || true)
if [ "${BERTH_TEST_ENTRY:-exec}" = join ]; then
	assert_eq berth-shell "$parent" "the session's command is joined (its host parent is berth-shell)"
else
	assert_contains "$parent" containerd-shim "the session's command is exec'd (its host parent is the shim)"
fi
wait "$sleeper" || true

ip_of() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(e2e_container "$1")"; }
b_ip=$(ip_of "$E2E_B")
[ -n "$b_ip" ] || fail "$E2E_B's container has no IP address"
_b_up() { curl -s -m 2 "http://$b_ip:$port/id" | grep -q "container-$E2E_B"; }
wait_until 10 _b_up || fail "the container's httpd does not answer on $b_ip:$port"

get() { printf 'GET /id HTTP/1.0\r\n\r\n'; sleep 2; }
via_w() { # USER HOST:PORT: the body -W brings back (last line)
	get | e2e_timeout ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" -W "$2" "$1@127.0.0.1" 2>/dev/null |
		tr -d '\r' | tail -n1 || true
}

# ---------------------------------------------------------------- -W

assert_eq host "$(via_w "$E2E_ADM" "127.0.0.1:$port")" "control: -W 127.0.0.1:PORT reaches the host's service"
for u in "$E2E_A" "$E2E_B"; do
	assert_eq "container-$u" "$(via_w "$u" "127.0.0.1:$port")" "$u: -W 127.0.0.1:PORT reaches the container's service, not the host's"
done
# (-W 127.0.0.1:SSHD, the host's sshd: tests/e2e/test_forwarding_doors.sh)
# Another user's container, on berth's network (no traffic between containers).
assert_eq "container-$E2E_B" "$(curl -s -m 3 "http://$b_ip:$port/id")" "control: the host reaches $E2E_B's container at $b_ip"
assert_eq "" "$(via_w "$E2E_A" "$b_ip:$port")" "$E2E_A: -W cannot reach $E2E_B's container"

# network = "host": the session stays on the host's network, and says so.
assert_eq host "$(via_w "$E2E_C" "127.0.0.1:$port")" "$E2E_C (network = host): -W lands on the host, as berthctl check says"

# ---------------------------------------------------------------- -L and -D

with_forward() { # USER FLAG SPEC URL [CURL OPTIONS]: what curl gets through the forward
	local u=$1 flag=$2 spec=$3 url=$4 lp client out=''
	shift 4
	lp=${spec%%:*}
	# timeout itself, not the e2e_timeout function: $! must be what ends ssh
	timeout -k 5 "$E2E_TIMEOUT" ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" -N "$flag" "$spec" "$u@127.0.0.1" \
		</dev/null >/dev/null 2>&1 &
	client=$!
	if wait_until 10 port_open "$lp"; then
		out=$(curl -s -m 5 "$@" "$url" 2>/dev/null) || true
	fi
	kill "$client" 2>/dev/null
	wait "$client" 2>/dev/null || true
	printf '%s\n' "$out"
}
for u in "$E2E_ADM" "$E2E_A" "$E2E_B"; do
	want=container-$u
	[ "$u" != "$E2E_ADM" ] || want=host
	lp=$(pick_port 4100)
	assert_eq "$want" "$(with_forward "$u" -L "$lp:127.0.0.1:$port" "http://127.0.0.1:$lp/id")" \
		"$u: -L to 127.0.0.1:PORT reaches the $want service"
	lp=$(pick_port 4300)
	assert_eq "$want" "$(with_forward "$u" -D "$lp" "http://127.0.0.1:$port/id" --socks5-hostname "127.0.0.1:$lp")" \
		"$u: -D (SOCKS) to 127.0.0.1:PORT reaches the $want service"
done

# ---------------------------------------------------------------- -R

for u in "$E2E_A" "$E2E_B"; do
	rp=$(pick_port 4500)
	out=$(e2e_timeout ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" -o ExitOnForwardFailure=yes \
		-R "127.0.0.1:$rp:127.0.0.1:$port" "$u@127.0.0.1" \
		"wget -q -O - http://127.0.0.1:$rp/id; sleep 2" </dev/null 2>"$TEST_TMPDIR/r.err" &
		sleep 1.5; port_open "$rp" && echo "host-listens" || true; wait) || true
	assert_contains "$out" "host" "$u: -R listens in the container (its wget reaches the client's service)"
	check "$u: ... and nothing listens on the host's port" test "${out/host-listens/}" = "$out"
done

# ---------------------------------------------------------------- namespaces

# While a session lives, its sshd processes (the root monitor and the user's
# child) sit in the container's network namespace.
e2e_timeout ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" "$E2E_A@127.0.0.1" 'sleep 4' </dev/null >/dev/null 2>&1 &
client=$!
cpid=$(docker inspect -f '{{.State.Pid}}' "$(e2e_container "$E2E_A")")
want=$(readlink "/proc/$cpid/ns/net")
_priv_there() { pgrep -f "^sshd: $E2E_A \[priv\]" >/dev/null; }
wait_until 5 _priv_there || true
sleep 0.5
monitor=$(pgrep -f "^sshd: $E2E_A \[priv\]" | head -n1)
child=$(pgrep -u "$E2E_A" -x sshd | head -n1)
assert_eq "$want" "$(readlink "/proc/$monitor/ns/net" 2>/dev/null)" "$E2E_A: the session's sshd monitor is in the container's network namespace"
assert_eq "$want" "$(readlink "/proc/$child/ns/net" 2>/dev/null)" "$E2E_A: the session's sshd child (forwardings) is there too"
check "$E2E_A: ... which is not the host's" test "$want" != "$(readlink /proc/1/ns/net)"
wait "$client" 2>/dev/null || true

# A container restarted under a live session gets a new network namespace; the
# session keeps the old one, whose network went with the old container: its
# forwardings reach nothing, never the host. The next login joins the new one.
ca=$(e2e_container "$E2E_A")
lp=$(pick_port 4700)
timeout -k 5 "$E2E_TIMEOUT" ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" -N -L "$lp:127.0.0.1:$port" \
	"$E2E_A@127.0.0.1" </dev/null >/dev/null 2>&1 &
client=$!
wait_until 10 port_open "$lp" || not_ok "$E2E_A: -L for the restart case"
docker restart -t 1 "$ca" >/dev/null || fail "docker restart $ca"
check "$E2E_A: the restarted container has a new network namespace" \
	test "$want" != "$(readlink "/proc/$(docker inspect -f '{{.State.Pid}}' "$ca")/ns/net")"
out=$(curl -s -m 5 "http://127.0.0.1:$lp/id" 2>/dev/null) || true
assert_eq "" "$out" "$E2E_A: after a restart under a live session, its -L reaches nothing (not the host's service)"
kill "$client" 2>/dev/null
wait "$client" 2>/dev/null || true
docker exec -u "$(id -u "$E2E_A")" "$ca" sh -c "mkdir -p /tmp/www && echo container-$E2E_A >/tmp/www/id" &&
	docker exec -d -u "$(id -u "$E2E_A")" "$ca" busybox httpd -f -p "$port" -h /tmp/www ||
	fail "$E2E_A: cannot restart the container's httpd"
_a_up() { [ "$(via_w "$E2E_A" "127.0.0.1:$port")" = "container-$E2E_A" ]; }
wait_until 10 _a_up || true
check "$E2E_A: ... and the next login's -W reaches the restarted container's service" _a_up

# ---------------------------------------------------------------- ssh -A

eval "$(ssh-agent -s)" >/dev/null
on_exit "kill $SSH_AGENT_PID 2>/dev/null"
ssh-add -q "$SSH_KEY" 2>/dev/null || fail "ssh-add"
fp=$(ssh-add -l | awk '{ print $2 }')
for u in "$E2E_A" "$E2E_B"; do
	out=$(e2e_ssh "$u" -A 'echo "sock=$SSH_AUTH_SOCK"; ssh-add -l' </dev/null 2>&1) || true
	assert_contains "$out" "sock=/.berth/agent/agent." "$u: ssh -A sets SSH_AUTH_SOCK inside the container"
	assert_contains "$out" "$fp" "$u: ssh -A then ssh-add -l inside lists the client's key"
	out=$(e2e_ssh "$u" 'echo "sock=${SSH_AUTH_SOCK:-none}"' </dev/null 2>&1) || true
	assert_eq "sock=none" "$out" "$u: without -A no agent socket is named inside"
done
# Nobody else's agent: while E2E_A's -A session lives, E2E_B's container does
# not see E2E_A's sockets, and the host directory is E2E_A's own, 0700.
e2e_timeout ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" -A "$E2E_A@127.0.0.1" 'sleep 5' </dev/null >/dev/null 2>&1 &
client=$!
adir=/run/berth/agent/$(e2e_container "$E2E_A")
_sock_there() { [ -n "$(find "$adir" -type s 2>/dev/null)" ]; }
wait_until 5 _sock_there || true
check "$E2E_A: the relay's socket is in $adir while the session lives" _sock_there
assert_eq "$E2E_A 700" "$(stat -c '%U %a' "$adir")" "$E2E_A: $adir is the user's own, mode 0700"
out=$(e2e_ssh "$E2E_B" 'ls -a /.berth/agent; mount | grep berth/agent || true' </dev/null 2>&1) || true
check "$E2E_B: ... and $E2E_B's container does not see it" test "${out/$(e2e_container "$E2E_A")/}" = "$out"
check "$E2E_B: ... nor any socket of $E2E_A's" test "${out/agent.[0-9]/}" = "$out"
out=$(e2e_ssh "$E2E_B" "touch /.berth/agent/x 2>&1 || echo refused" </dev/null 2>&1) || true
assert_contains "$out" "refused" "$E2E_B: the agent directory is read-only inside the container"
wait "$client" 2>/dev/null || true

# ---------------------------------------------------------------- ssh -X

# The client's "X server": a unix socket that records what a connection sends.
# In the container, a hand-made X11 connection setup with the cookie berth
# copied (XAUTHORITY) goes to DISPLAY; the ssh client lets it through to its
# display only when the cookie is the session's (else "wrong authentication").
xn=$(($$ % 50 + 150))
xsock=/tmp/.X11-unix/X$xn
xlog=$TEST_TMPDIR/x11.log
[ -d /tmp/.X11-unix ] || install -d -m 1777 /tmp/.X11-unix
: >"$xlog"
_berth_spawn python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
while True:
    c, _ = s.accept(); d = c.recv(4096)
    open(sys.argv[2], "ab").write(b"connection " + d.hex().encode() + b"\n"); c.close()' "$xsock" "$xlog"
on_exit "kill $! 2>/dev/null; rm -f '$xsock'"
wait_until 5 test -S "$xsock" || fail "fake X server at $xsock"
# shellcheck disable=SC2016 # expanded inside the container
x11_client='echo "display=$DISPLAY xauth=$XAUTHORITY"; n=${DISPLAY#localhost:}; n=${n%%.*}
hex=$(tail -c 16 "$XAUTHORITY" | od -An -tx1 -v | tr -d " \n"); [ "$1" = wrong ] && hex=00000000000000000000000000000000
pkt="l\x00\x0b\x00\x00\x00\x12\x00\x10\x00\x00\x00MIT-MAGIC-COOKIE-1\x00\x00"
for i in $(seq 0 15); do pkt="$pkt\\x${hex:$((2 * i)):2}"; done
{ printf "$pkt"; sleep 2; } | timeout 5 nc 127.0.0.1 $((6000 + n)) >/dev/null; echo sent'
x11_run() { # USER right|wrong
	DISPLAY=:$xn e2e_ssh "$1" -Y "bash -c '$x11_client' - $2" </dev/null 2>"$TEST_TMPDIR/x11.err" || true
}
out=$(x11_run "$E2E_A" right)
case $out in *display=localhost:*) ;; *) diag "ssh -X: $(tr '\n' ' ' <"$TEST_TMPDIR/x11.err"); $(grep -ih 'x11\|forwarded' "$SYSLOG" "$SSHD_LOG" | tail -n 5 | tr '\n' ' ')" ;; esac
assert_contains "$out" "display=localhost:" "$E2E_A: ssh -X sets DISPLAY inside the container"
assert_contains "$out" "xauth=/.berth/agent/xauth." "$E2E_A: ... and XAUTHORITY names berth's copy of the cookie"
wait_until 5 grep -q connection "$xlog" || true
assert_contains "$(cat "$xlog")" "$(printf 'MIT-MAGIC-COOKIE-1' | od -An -tx1 -v | tr -d ' \n')" \
	"$E2E_A: an X11 client in the container reaches the client's display with that cookie"
: >"$xlog"
out=$(x11_run "$E2E_A" wrong)
sleep 1
# (the ssh client opens its display when the channel opens, then drops it
# when the cookie is wrong: nothing of the setup reaches it)
case $(cat "$xlog") in
*4d49542d*) not_ok "$E2E_A: ... and with a wrong cookie it does not (the ssh client refuses it)" ;;
*) ok "$E2E_A: ... and with a wrong cookie it does not (the ssh client refuses it)" ;;
esac

# ---------------------------------------------------------------- logout

# The user's processes on the host (not those inside a container: another pid namespace).
host_procs() {
	local p hostns out=''
	hostns=$(readlink /proc/1/ns/pid)
	for p in $(pgrep -u "$1"); do
		[ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" = "$hostns" ] && out+="$p "
	done
	printf '%s' "$out"
}
_a_gone() { [ -z "$(host_procs "$E2E_A")" ]; }
wait_until 10 _a_gone || diag "left: $(host_procs "$E2E_A")"
check "$E2E_A: logout leaves no process of the user on the host (relay included)" _a_gone
assert_eq "" "$(ls -A "$adir")" "$E2E_A: logout leaves no socket in $adir"
# close_session runs in the monitor, inside the container's network namespace:
# its engine requests still reach the engine (a filesystem unix socket).
e2e_write_config /bin/sh "users = ( { user = \"$E2E_B\"; on_logout = \"stop\"; } );"
e2e_ssh "$E2E_B" true </dev/null || not_ok "$E2E_B: a session with on_logout = stop"
_b_stopped() { [ "$(docker inspect -f '{{.State.Running}}' "$(e2e_container "$E2E_B")")" = false ]; }
wait_until 10 _b_stopped || true
check "$E2E_B: close_session, run from the container's network namespace, stopped the container (on_logout = stop)" _b_stopped
_b_stopped || grep "action=log.*$E2E_B" "$SYSLOG" | sed 's/^/# syslog: /' >&2

done_testing
