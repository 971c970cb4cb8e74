#!/bin/bash
# tests/e2e/test_ldap_nss.sh - the LDAP fixture the end-to-end tests build on:
# slapd + nslcd + `passwd: files ldap` inside the test mount namespace resolve
# LDAP users and groups there (getent, id, and a login through the test sshd),
# while the host's NSS configuration and answers stay untouched.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"

require_root
require_cmd getent sha256sum

host_files_sum() {
	sha256sum /etc/nsswitch.conf /etc/nslcd.conf /etc/pam.d/sshd 2>/dev/null || true
}
before=$(host_files_sum)

start_ldap
diag "slapd on $LDAP_URI"
user=bt-ldapuser-$$
ldap_add_user "$user" 5901 5901 "/home/$user" "bt-ldapgrp-$$:5902" "bt-ldapgrp2-$$:5903"
start_nslcd

pw=$(berth_ns_run getent passwd "$user") || pw=
assert_eq "$user:*:5901:5901:$user (berth LDAP test user):/home/$user:/bin/bash" "$pw" \
	"getent passwd resolves the LDAP user inside the namespace"
gr=$(berth_ns_run getent group "bt-ldapgrp-$$") || gr=
assert_eq "bt-ldapgrp-$$:*:5902:$user" "$gr" "getent group resolves an LDAP group with its member"
ids=$(berth_ns_run id "$user") || ids=
assert_contains "$ids" "uid=5901($user) gid=5901($user)" "id shows the LDAP uid and primary group"
assert_contains "$ids" "5902(bt-ldapgrp-$$)" "id shows the first supplementary LDAP group"
assert_contains "$ids" "5903(bt-ldapgrp2-$$)" "id shows the second supplementary LDAP group"
check "local users still resolve from files in the namespace" quiet berth_ns_run getent passwd root

# A user added after nslcd started is visible at once (no cache in the way).
ldap_add_user "$user-late" 5904 5901 "/home/$user-late"
check "a user added later resolves at once" quiet berth_ns_run getent passwd "$user-late"

check "the host does not see the LDAP user" bash -c "! getent passwd '$user'"
check "the host does not see the LDAP group" bash -c "! getent group 'bt-ldapgrp-$$'"

# The test sshd shares the namespace, so a login as the LDAP user works.
start_sshd "$(pick_port 2300)"
out=$(ssh_to "$user" "$SSHD_PORT" 'id -u; id -G' 2>"$TEST_TMPDIR/ssh.err") ||
	out="ssh failed: $(cat "$TEST_TMPDIR/ssh.err")"
assert_eq "5901
5901 5902 5903" "$out" "an LDAP user logs in through the test sshd with LDAP uid and groups"

assert_eq "$before" "$(host_files_sum)" "host nsswitch.conf, nslcd.conf and pam.d/sshd are unchanged"
done_testing
