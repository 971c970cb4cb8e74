#!/bin/bash
# tests/e2e/test_policy_ldap.sh - policy.only_groups fails closed, through a
# real sshd (UsePAM yes, pam_berth in the session stack, berth-shell as the
# login shell) for LOCAL users whose membership lives in an LDAP group
# served by slapd + nslcd on loopback (docs/security.md "Policy fails
# closed").
#
# Checks: with nslcd up, the member lands in its container and the
# non-member is excluded to the host shell (so the test can tell the three
# outcomes apart); with nslcd stopped, getgrouplist silently drops the LDAP
# source, and both users' next logins are denied with one plain line: no
# command runs, neither in a container nor on the host; berth-shell run
# directly (no PAM) denies the same way and exits 1.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"

require_berth_stack ssh getent useradd userdel hostname setpriv python3
rundir=/run/berth

p=$TEST_PREFIX
base=$((42000 + ($$ % 2000) * 10))
member=$p-in    # local user, member of the LDAP group by memberUid
outsider=$p-out # local user, in no listed group
group=$p-ldb    # the LDAP group policy.only_groups names
host=$(hostname)

container_of() {
	docker ps -a --filter "label=berth.user=$1" --format '{{.Names}}'
}
for u in "$member" "$outsider"; do
	useradd -M -d "/home/$u" -s "$shell" "$u" || fail "cannot create local user $u"
	on_exit "for c in \$(docker ps -aq --filter label=berth.user=$u); do docker rm -f \$c >/dev/null 2>&1; done; userdel $u 2>/dev/null; rm -rf -- /home/$u $rundir/sessions/berth-$u $rundir/lock/berth-$u.lock $rundir/etc/berth-$u"
done

berth_write_config <<EOF
# written by tests/e2e/test_policy_ldap.sh
engine = { timeout_ms = 30000; };
image = "$BERTH_TEST_IMAGE";
pull = "never";
home = { mount = true; create = true; };
shell = { host = "/bin/sh"; };
container = { network = "none"; hostname = "%u-box"; on_logout = "keep"; };
policy = { only_groups = [ "$group" ]; exclude_users = [ "root" ]; };
EOF

pam_sshd_stack "$TEST_TMPDIR/pam.sshd" "$module"

# The group is LDAP's alone: a placeholder LDAP user brings it into being,
# then the local member is added to its memberUid.
start_ldap
ldap_add_user "$p-ph" $((base + 1)) $((base + 1)) "/home/$p-ph" "$group:$((base + 2))"
ldap_add_member "$group" "$member"
start_nslcd

# Syslog: a socket of ours over /dev/log inside the test namespace, where
# sshd (pam_berth) and berth-shell run, so their lines can be read.
berth_ns_syslog

start_sshd --pam --bind "$TEST_TMPDIR/pam.sshd" /etc/pam.d/sshd "$(pick_port 2600)"
port=$SSHD_PORT

check "the group is unknown to the host's files" bash -c "! grep -q '^$group:' /etc/group"
assert_contains "$(berth_ns_run getent group "$group" 2>&1)" "$member" \
	"with nslcd up the LDAP group lists the local member"

# Where a command ran: the container's hostname, or the host's, and a file
# only the host has (the container sees its image and the home, no /tmp).
echo "host-$$" >"$TEST_TMPDIR/marker"
chmod 0644 "$TEST_TMPDIR/marker"
where="echo \"host=\$(hostname) marker=\$(cat $TEST_TMPDIR/marker 2>/dev/null || echo none)\""
failed() { ! grep -q '^status=0$' <<<"$1"; }
login() { # USER -> output and status line
	local rc=0 out
	out=$(ssh_to "$1" "$port" "$where" 2>&1) || rc=$?
	printf '%s\nstatus=%s\n' "$out" "$rc"
}

# ---------------------------------------------------------------- nslcd up

out=$(login "$member")
assert_contains "$out" "host=$member-box marker=none" "nslcd up: the member lands in the container"
assert_contains "$out" "status=0" "nslcd up: the member's command succeeds"
check "nslcd up: the member has a container" test -n "$(container_of "$member")"
out=$(login "$outsider")
assert_contains "$out" "host=$host marker=host-$$" "nslcd up: the non-member is excluded to the host shell"
check "nslcd up: no container for the excluded user" test -z "$(container_of "$outsider")"

# ---------------------------------------------------------------- nslcd down

kill "$NSLCD_PID"
wait "$NSLCD_PID" 2>/dev/null || true
check "nslcd down: the LDAP group no longer resolves" bash -c "! nsenter -t $BERTH_NS_PID -m -- getent group '$group' >/dev/null"
check "nslcd down: the local member still resolves from files" quiet berth_ns_run getent passwd "$member"

plain="berth: your container could not be started (your group membership could not be read; the user directory may be unreachable); please contact your administrator"
for u in "$member" "$outsider"; do
	out=$(login "$u")
	case $out in
	*host=*) not_ok "nslcd down: $u: no command runs anywhere (got: $out)" ;;
	*) ok "nslcd down: $u: no command runs, in a container or on the host" ;;
	esac
	assert_contains "$out" "$plain" "nslcd down: $u is denied with the plain line"
	check "nslcd down: $u: the login fails" failed "$out"
done
check "nslcd down: still no container for the non-member" test -z "$(container_of "$outsider")"

# berth-shell alone decides the same (deployments without pam_berth): run as
# the user in the test namespace, it exits 1 with the plain line.
for u in "$member" "$outsider"; do
	rc=0
	out=$(berth_ns_run setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups \
		"$shell" -c "$where" 2>&1) || rc=$?
	assert_eq "1 $plain" "$rc $out" "nslcd down: berth-shell run by $u exits 1 with only the plain line"
done

why="error=policy: policy\.only_groups: group $group: "
check_syslog "nslcd down: pam_berth logs the failed login with the unreadable group" \
	"action=login user=$member .*outcome=failed .*$why"
check_syslog "nslcd down: berth-shell logs the failed entry with the unreadable group" \
	"berth\[[0-9]+\]: action=entry user=$outsider .*outcome=failed $why"
grep -E -- "$why" "$SYSLOG" | tail -n 2 | sed 's/^/# syslog: /' >&2

# The admin's view says the same.
ctl=${BERTH_SBINDIR:-/usr/sbin}/berthctl
out=$(berth_ns_run "$ctl" status "$member" 2>&1) || true
assert_contains "$out" "policy:       denied" "nslcd down: berthctl status shows the member as denied"
assert_contains "$out" "group $group" "nslcd down: berthctl status names the unreadable group"
rc=0
out=$(berth_ns_run "$ctl" check 2>&1) || rc=$?
assert_contains "$out" "policy.only_groups: group $group" "nslcd down: berthctl check names the unreadable group"
check "nslcd down: berthctl check exits non-zero" test "$rc" -ne 0

# An interactive login is refused the same way and never reaches a prompt.
out=$(printf 'echo SHOULD-NOT-$((1 + 1))\nexit\n' |
	timeout 30 ssh "${SSH_OPTS[@]}" -tt -p "$port" "$member@127.0.0.1" 2>&1) || true
case $out in *SHOULD-NOT-2*) not_ok "nslcd down, interactive: nothing runs" ;; *) ok "nslcd down, interactive: nothing runs" ;; esac
assert_contains "$out" "your group membership could not be read" "nslcd down, interactive: plain line"

out=$(ssh_to root "$port" 'echo root-ok' 2>&1) || true
assert_eq root-ok "$out" "nslcd down: root (uid 0, positively excluded) still logs in to the host"

done_testing
