#!/bin/bash
# tests/e2e/test_pam_ldap.sh - pam_berth inside a real sshd (UsePAM yes) for
# LDAP-only users served by slapd + nslcd on loopback.  The PAM stack is the
# test's own, bind-mounted over /etc/pam.d/sshd in the test's private mount
# namespace (the host's /etc/pam.d is never touched); the session line loads
# the INSTALLED module from the system PAM directory and the users' login
# shell is the installed berth-shell, as an admin would set it up.
#
# Checks: the first login creates the home (owner, mode 0700, skel copied);
# supplementary LDAP groups show inside by name and gid; a name@domain user
# with a nested home works; a dozen concurrent first logins of one user all
# succeed with exactly one container; on_logout keep / stop / remove; the
# container survives while any session is open; the session is recorded as
# owned by sshd's monitor; with the engine down a berthed login is denied
# with a plain message while root still logs in.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"

require_berth_stack ssh getent stat mkfifo
rundir=/run/berth

# ---------------------------------------------------------------- fixtures

p=$TEST_PREFIX
base=$((40000 + ($$ % 2000) * 10))
alice=$p-alice bob=$p-bob carol=$p-carol erin=$p-erin frank=$p-frank
domain=$p.example
dana=dana@$domain
users=("$alice" "$bob" "$carol" "$erin" "$frank" "$dana")

# Containers are found by their berth.user label: names are the core's business.
container_of() {
	docker ps -a --filter "label=berth.user=$1" --format '{{.Names}}'
}
state_of() { container_state "$1"; } # USER -> running | exited | absent
state_is() { [ "$(state_of "$1")" = "$2" ]; }
# Live session records of USER's container (RUNDIR/sessions/NAME/PID-START).
records() {
	local c
	c=$(container_of "$1")
	[ -n "$c" ] || return 0
	ls "$rundir/sessions/$c" 2>/dev/null || true
}
no_records() { [ -z "$(records "$1")" ]; }
has_records() { [ "$(records "$1" | wc -l)" -ge "${2:-1}" ]; }
n_records() { [ "$(records "$1" | wc -l)" -eq "$2" ]; }

cleanup_users() {
	local u c
	for u in "${users[@]}"; do
		for c in $(container_of "$u"); do
			docker rm -f "$c" >/dev/null 2>&1
			rm -rf -- "$rundir/sessions/$c" "$rundir/etc/$c" "$rundir/lock/$c.lock"
		done
	done
	rm -rf -- "/home/$alice" "/home/$bob" "/home/$carol" "/home/$erin" "/home/$frank" "/home/$domain"
}
on_exit cleanup_users

write_conf() { # ON_LOGOUT [ENGINE_SOCKET]
	berth_write_config <<EOF
# written by tests/e2e/test_pam_ldap.sh
engine = { socket = "${2:-/var/run/docker.sock}"; timeout_ms = 30000; };
image = "$BERTH_TEST_IMAGE";
pull = "never";
home = { mount = true; create = true; skel = "$TEST_TMPDIR/skel"; };
container = { network = "none"; on_logout = "$1"; };
policy = { exclude_users = [ "root" ]; };
EOF
}

mkdir -p "$TEST_TMPDIR/skel"
echo "from skel" >"$TEST_TMPDIR/skel/.berth-skel"
write_conf keep

# The stack an admin would write (pam_sshd_stack says why `required`);
# berth-shell would hide a failed open by preparing the container itself.
pam_sshd_stack "$TEST_TMPDIR/pam.sshd" "$module"

start_ldap
LDAP_USER_SHELL=$shell
ldap_add_user "$alice" $((base + 1)) $((base + 1)) "/home/$alice" "$p-dev:$((base + 8))" "$p-ops:$((base + 9))"
ldap_add_user "$bob" $((base + 2)) $((base + 2)) "/home/$bob"
ldap_add_user "$carol" $((base + 3)) $((base + 3)) "/home/$carol"
ldap_add_user "$erin" $((base + 4)) $((base + 4)) "/home/$erin"
ldap_add_user "$dana" $((base + 5)) $((base + 5)) "/home/$domain/dana"
# frank keeps a host shell, so what his sessions see is the module's work alone.
LDAP_USER_SHELL=/bin/bash
ldap_add_user "$frank" $((base + 6)) $((base + 6)) "/home/$frank"
start_nslcd
start_sshd --pam --bind "$TEST_TMPDIR/pam.sshd" /etc/pam.d/sshd "$(pick_port 2400)"
port=$SSHD_PORT

for u in "${users[@]}"; do
	getent passwd "$u" >/dev/null && fail "$u must be an LDAP-only user, unknown to the host"
done
check "LDAP users resolve in the test namespace" quiet berth_ns_run getent passwd "$alice"

# ---------------------------------------------------------------- first login

[ ! -e "/home/$alice" ] || fail "/home/$alice exists before the first login"
out=$(ssh_to "$alice" "$port" id 2>"$TEST_TMPDIR/err") || out="ssh failed: $(cat "$TEST_TMPDIR/err")"
assert_contains "$out" "uid=$((base + 1))($alice) gid=$((base + 1))($alice)" \
	"first login: id inside shows the LDAP uid and primary group by name"
assert_contains "$out" "$((base + 8))($p-dev)" "supplementary LDAP group $p-dev shows inside by name and gid"
assert_contains "$out" "$((base + 9))($p-ops)" "supplementary LDAP group $p-ops shows inside by name and gid"
assert_eq "$((base + 1)):$((base + 1)) 700" "$(stat -c '%u:%g %a' "/home/$alice" 2>&1)" \
	"first login created the home: owned by the user, mode 0700"
assert_eq "$((base + 1)) from skel" \
	"$(stat -c %u "/home/$alice/.berth-skel" 2>&1) $(cat "/home/$alice/.berth-skel" 2>&1)" \
	"skel copied into the new home, owned by the user"
out=$(ssh_to "$alice" "$port" 'cat ~/.berth-skel; pwd' 2>&1) || true
assert_eq "from skel
/home/$alice" "$out" "the home is mounted at the same path inside"
assert_eq "running" "$(state_of "$alice")" "the container is running after the first login"
assert_eq 1 "$(container_of "$alice" | wc -l)" "one container for the user"
wait_until 20 no_records "$alice" || true
check "the session record is released at logout" no_records "$alice"

# The session is recorded by sshd's monitor (pam_open_session runs there),
# not by the shell: while a session is open its owner is an sshd process.
mkfifo "$TEST_TMPDIR/hold"
ssh_to "$alice" "$port" 'cat >/dev/null' <"$TEST_TMPDIR/hold" >/dev/null 2>&1 &
held=$!
exec {hold}>"$TEST_TMPDIR/hold"
wait_until 20 has_records "$alice" || true
rec=$(records "$alice" | head -n1)
owner=${rec%%-*}
assert_eq sshd "$(cat "/proc/${owner:-0}/comm" 2>/dev/null)" "the open session is owned by sshd's monitor (record $rec)"
exec {hold}>&-
wait "$held" || true

# ---------------------------------------------------------------- the module alone

# No berth-shell in frank's sessions: the container, the home and
# BERTH_CONTAINER below are pam_berth's doing, and so is the removal at
# logout (pam_close_session in sshd's monitor).
write_conf remove
out=$(ssh_to "$frank" "$port" 'printenv BERTH_CONTAINER; stat -c "%u %a" "$HOME"; cat "$HOME/.berth-skel"' 2>&1) || true
c=$(container_of "$frank")
assert_eq "$c
$((base + 6)) 700
from skel" "$out" "pam_berth alone: BERTH_CONTAINER exported, home created from skel before the shell ran"
check "pam_berth alone: BERTH_CONTAINER names the user's container" test -n "$c"
wait_until 30 state_is "$frank" absent || true
assert_eq absent "$(state_of "$frank")" "pam_berth alone: close_session in sshd applied on_logout = remove"
write_conf keep

# ---------------------------------------------------------------- name@domain

[ ! -e "/home/$domain" ] || fail "/home/$domain exists before the test"
out=$(ssh_to "$dana" "$port" 'id -un; id -u; pwd' 2>"$TEST_TMPDIR/err") || out="ssh failed: $(cat "$TEST_TMPDIR/err")"
assert_eq "$dana
$((base + 5))
/home/$domain/dana" "$out" "a name@domain user logs in, with the right name, uid and home inside"
assert_eq "0:0 755" "$(stat -c '%u:%g %a' "/home/$domain" 2>&1)" "the nested home's parent is root-owned 0755"
assert_eq "$((base + 5)):$((base + 5)) 700" "$(stat -c '%u:%g %a' "/home/$domain/dana" 2>&1)" \
	"the nested home /home/$domain/dana is created for the user"
assert_eq running "$(state_of "$dana")" "name@domain user's container runs"

# ---------------------------------------------------------------- concurrent first logins

pids=()
for i in $(seq 1 12); do
	ssh_to "$bob" "$port" 'id -u' >"$TEST_TMPDIR/bob.$i.out" 2>"$TEST_TMPDIR/bob.$i.err" &
	pids+=($!)
done
okcount=0
for i in "${!pids[@]}"; do
	if wait "${pids[i]}" && [ "$(cat "$TEST_TMPDIR/bob.$((i + 1)).out")" = "$((base + 2))" ]; then
		okcount=$((okcount + 1))
	else
		diag "login $((i + 1)): $(cat "$TEST_TMPDIR/bob.$((i + 1)).out" "$TEST_TMPDIR/bob.$((i + 1)).err")"
	fi
done
assert_eq 12 "$okcount" "12 concurrent first logins of one user all succeed inside the container"
assert_eq 1 "$(container_of "$bob" | wc -l)" "and exactly one container exists for that user"
open_errors=$(grep -c 'pam_open_session' "$SSHD_LOG" || true)
assert_eq 0 "$open_errors" "sshd logged no pam_open_session failure for any of them"

# ---------------------------------------------------------------- on_logout

logout_cycle() { # ON_LOGOUT -> the container state after the last logout
	write_conf "$1"
	ssh_to "$carol" "$port" true >/dev/null 2>&1 || echo "ssh failed" >&2
	wait_until 20 no_records "$carol" || true
}
logout_cycle keep
assert_eq running "$(state_of "$carol")" "on_logout = keep: running after the last logout"
logout_cycle stop
wait_until 30 state_is "$carol" exited || true
assert_eq exited "$(state_of "$carol")" "on_logout = stop: stopped (not removed) after the last logout"
logout_cycle remove
wait_until 30 state_is "$carol" absent || true
assert_eq absent "$(state_of "$carol")" "on_logout = remove: gone after the last logout"

# on_logout = remove still: one long session keeps the container while a
# second one comes and goes.
ssh_to "$carol" "$port" 'cat >/dev/null' <"$TEST_TMPDIR/hold" >/dev/null 2>&1 &
held=$!
exec {hold}>"$TEST_TMPDIR/hold"
wait_until 30 state_is "$carol" running || true
assert_eq running "$(state_of "$carol")" "a long session is open"
out=$(ssh_to "$carol" "$port" 'echo second' 2>&1) || true
assert_eq second "$out" "a second session runs"
wait_until 20 n_records "$carol" 1 || true
sleep 2
assert_eq running "$(state_of "$carol")" "the container survives the second session's logout while the first is open"
exec {hold}>&-
wait "$held" || true
wait_until 30 state_is "$carol" absent || true
assert_eq absent "$(state_of "$carol")" "removed once the last session closes"

# ---------------------------------------------------------------- engine down

write_conf keep "$TEST_TMPDIR/dead.sock"
rc=0
out=$(ssh_to "$erin" "$port" 'echo SHOULD-NOT-$((1 + 1))' 2>&1) || rc=$?
check "engine down: the login is refused (ssh status $rc)" test "$rc" -ne 0
case $out in *SHOULD-NOT-2*) not_ok "engine down: no command ran on the host or anywhere" ;; *) ok "engine down: no command ran" ;; esac
assert_contains "$out" "berth: " "engine down: the user gets a plain berth: line"
assert_contains "$out" "not reachable" "engine down: the line says why"
# An interactive login (pty) also shows the PAM module's own line.
out=$(printf 'echo SHOULD-NOT-$((1 + 1))\nexit\n' | timeout 30 ssh "${SSH_OPTS[@]}" -tt -p "$port" "$erin@127.0.0.1" 2>&1) || true
case $out in *SHOULD-NOT-2*) not_ok "engine down, interactive: nothing runs" ;; *) ok "engine down, interactive: nothing runs" ;; esac
assert_contains "$out" "container service is not reachable" "engine down, interactive: plain message"
check "engine down: sshd logged the failed pam_open_session" grep -q 'pam_open_session()' "$SSHD_LOG"
check "engine down: no home was created" test ! -e "/home/$erin"
check "engine down: no container was created" test -z "$(container_of "$erin")"
out=$(ssh_to root "$port" 'echo root-ok' 2>&1) || true
assert_eq root-ok "$out" "engine down: root (excluded) still logs in to the host"

done_testing
