#!/bin/bash
# tests/e2e/test_side_doors.sh - the host side of a session (docs/security.md
# "Host side of a session"): sshd starts host processes for a session before
# and beside the shell (the `sh -c` around a ForceCommand, `~/.ssh/rc` through
# popen, the internal-sftp server), and a berthed user writes the home from
# inside the container. Each case is an attack by such a user, through a real
# sshd whose PAM stack is Debian 12's own /etc/pam.d/sshd (pam_env
# user_readenv=1 included) plus `session required pam_berth.so`, bind-mounted
# in the test's mount namespace only. Both deployments run on one sshd:
#   E2E_A    berthed, login shell berth-shell
#   E2E_B    berthed, login shell /bin/sh, `Match Group` + ForceCommand berth-shell
#   E2E_ADM  excluded, like E2E_B          } controls: the same attacks do reach
#   XLS      excluded, like E2E_A          } the host for them, so the probes work
# sshd has `Subsystem sftp internal-sftp`.
#
# Run with SIDE_DOORS_WITHOUT_PAM_BERTH=1 to drop pam_berth from the stack and
# watch the environment checks of E2E_A and E2E_B fail.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/e2e/ssh_lib.sh"

e2e_require
require_cmd cc pgrep md5sum
module=${BERTH_PAMDIR:-/lib/x86_64-linux-gnu/security}/pam_berth.so
[ -f "$module" ] || skip "$module not installed (make install)"
berth_test_lock
on_exit e2e_cleanup

XLS=bte$$xls
cleanup_xls() {
	local pids
	getent passwd "$XLS" >/dev/null || return 0
	pids=$(ps -o pid= -u "$XLS" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
	[ -z "$pids" ] || kill -9 $pids 2>/dev/null
	userdel -r -f "$XLS" >/dev/null 2>&1
	getent group "$XLS" >/dev/null && groupdel "$XLS" >/dev/null 2>&1
	return 0
}
on_exit cleanup_xls

# ---------------------------------------------------------------- fixtures

groupadd "$E2E_GROUP" || fail "groupadd $E2E_GROUP"
useradd -m -U -s "$E2E_SHELL" "$E2E_A" || fail "useradd $E2E_A"
useradd -m -U -G "$E2E_GROUP" -s /bin/sh "$E2E_B" || fail "useradd $E2E_B"
useradd -m -U -G "$E2E_GROUP" -s /bin/sh "$E2E_ADM" || fail "useradd $E2E_ADM"
useradd -m -U -s "$E2E_SHELL" "$XLS" || fail "useradd $XLS"
for u in "$E2E_A" "$E2E_B" "$E2E_ADM" "$XLS"; do usermod -p '*' "$u" || fail "usermod $u"; done

# E2E_A's image has no sftp-server (its sftp is internal-sftp on the host
# anyway): for the plain line berth-shell gives when internal-sftp finds none.
E2E_DERIVED_IMAGE=berth-e2e-nosftp:$$ # removed by e2e_cleanup, after the containers
docker run --name "bte$$-nosftp" --entrypoint /bin/busybox "$BERTH_TEST_IMAGE" \
	rm /usr/lib/openssh/sftp-server >/dev/null &&
	docker commit "bte$$-nosftp" "$E2E_DERIVED_IMAGE" >/dev/null ||
	fail "cannot make an image without sftp-server"
docker rm -f "bte$$-nosftp" >/dev/null

berth_write_config <<EOF
# written by tests/e2e/test_side_doors.sh
image = "$BERTH_TEST_IMAGE";
pull = "never";
entry = "exec";
shell = { fallback = "/bin/sh"; host = "/bin/sh"; };
policy = { exclude_users = [ "root", "$E2E_ADM", "$XLS" ]; };
users = ( { user = "$E2E_A"; image = "$E2E_DERIVED_IMAGE"; } );
EOF

# Debian's stack as shipped: say so when this host's copy was edited.
stock_sum=$(dpkg-query -W -f='${Conffiles}\n' openssh-server 2>/dev/null | awk '$1 == "/etc/pam.d/sshd" { print $2 }')
[ "$(md5sum </etc/pam.d/sshd | cut -d' ' -f1)" = "$stock_sum" ] ||
	diag "WARNING: /etc/pam.d/sshd differs from openssh-server's shipped file"
grep -q '^session.*pam_env.so.*user_readenv=1' /etc/pam.d/sshd ||
	diag "WARNING: /etc/pam.d/sshd has no pam_env user_readenv=1 line: ~/.pam_environment is not read"
pam_file=$TEST_TMPDIR/pam.sshd
{
	cat /etc/pam.d/sshd
	if [ -z "${SIDE_DOORS_WITHOUT_PAM_BERTH:-}" ]; then
		echo "session    required     $module"
	else
		diag "SIDE_DOORS_WITHOUT_PAM_BERTH: pam_berth is left out of the stack"
	fi
} >"$pam_file"
chmod 0644 "$pam_file"

start_sshd --pam --bind "$pam_file" /etc/pam.d/sshd "$(pick_port 2800)" \
	"Subsystem sftp internal-sftp -u 077" "Match Group $E2E_GROUP" "ForceCommand $E2E_SHELL"
diag "sshd on 127.0.0.1:$SSHD_PORT: $E2E_A (login shell), $E2E_B (ForceCommand), controls $XLS, $E2E_ADM"
e2e_ssh "$E2E_ADM" true </dev/null 2>"$TEST_TMPDIR/preflight.err" ||
	fail "the test sshd does not let $E2E_ADM in: $(cat "$TEST_TMPDIR/preflight.err")"

# The probes below need sessions sshd did not restrict: a failed
# pam_open_session turns ~/.ssh/rc off (auth_restrict_session).
if grep -q 'pam_open_session()' "$SSHD_LOG"; then
	diag "$(grep 'pam_open_session()' "$SSHD_LOG" | head -3)"
	fail "Debian's session stack fails on this host: sshd restricts every session"
fi
if [ -d /run/systemd/system ]; then
	diag "systemd is PID 1 here: pam_systemd starts systemd --user for each user"
else
	diag "no systemd as PID 1 ($(cat /proc/1/comm)): pam_systemd cannot reach logind, so its door (systemd --user on the host) cannot be tried here"
fi

# ---------------------------------------------------------------- the attack files

# Whatever runs the planted code on the host leaves a file here. The
# container never sees this directory, so code that ran inside cannot.
MARK=$TEST_TMPDIR/mark
mkdir -m 1777 "$MARK"
EVIL=$TEST_TMPDIR/evil.so
cc -shared -fPIC -DMARK_DIR="\"$MARK\"" -o "$EVIL" "$top_srcdir/tests/e2e/evil_preload.c" ||
	fail "cannot build evil.so"

# plant USER: what the user could write from inside the container, and does.
plant() {
	local u=$1 h
	h=$(getent passwd "$u" | cut -d: -f6)
	install -o "$u" -g "$u" -m 0755 "$EVIL" "$h/e.so"
	printf 'touch %s/sourced-%s\n' "$MARK" "$u" >"$h/evil.sh"
	cat >"$h/.pam_environment" <<EOF
LD_PRELOAD DEFAULT=$h/e.so
BASH_ENV DEFAULT=$h/evil.sh
ENV DEFAULT=$h/evil.sh
PATH DEFAULT=$h/bin:/usr/bin:/bin
BTE_PLANTED DEFAULT=planted
EOF
	mkdir -p "$h/.ssh"
	printf 'hostname >>%s/rc-ran; touch %s/rc-on-host-%s 2>/dev/null; true\n' "$h" "$MARK" "$u" >"$h/.ssh/rc"
	chown -R "$u:$u" "$h/evil.sh" "$h/.pam_environment" "$h/.ssh"
}
for u in "$E2E_A" "$E2E_B" "$E2E_ADM" "$XLS"; do plant "$u"; done

preloaded() { # USER: evil.so's constructor ran on the host as USER
	compgen -G "$MARK/loaded-pid*-euid$(id -u "$1")" >/dev/null
}

# host_env USER: the environment sshd gave USER's berth-shell (the process
# it starts on the host for `sleep 23`), one NAME=VALUE a line. Root reads
# /proc/PID/environ, the strings as execve received them.
host_env() {
	local u=$1 pid p client out=''
	e2e_ssh "$u" 'sleep 23' </dev/null >/dev/null 2>&1 &
	client=$!
	_find_shell() {
		for p in $(pgrep -u "$u" -x berth-shell); do
			if tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qx 'sleep 23' ||
				tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'SSH_ORIGINAL_COMMAND=sleep 23'; then
				pid=$p
				return 0
			fi
		done
		return 1
	}
	if wait_until 20 _find_shell; then
		out=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null) || out=''
	fi
	kill "$client" 2>/dev/null
	wait "$client" 2>/dev/null || true
	printf '%s\n' "$out"
}

# ---------------------------------------------------------------- (a) ~/.pam_environment

# One session each: ~/.ssh/rc (login shell) and the `sh -c` wrapper
# (ForceCommand) are the host processes that get the PAM environment.
for u in "$E2E_A" "$E2E_B" "$E2E_ADM" "$XLS"; do
	e2e_ssh "$u" 'echo session-ran' </dev/null >"$TEST_TMPDIR/out.$u" 2>&1 || true
done
assert_eq session-ran "$(cat "$TEST_TMPDIR/out.$E2E_A")" "login shell: the command still runs with the planted files"
assert_eq session-ran "$(cat "$TEST_TMPDIR/out.$E2E_B")" "ForceCommand: the command still runs with the planted files"
check "control: the planted LD_PRELOAD runs on the host for an excluded login-shell user (through ~/.ssh/rc)" \
	preloaded "$XLS"
check "control: the planted LD_PRELOAD runs on the host for an excluded ForceCommand user (sh -c wrapper)" \
	preloaded "$E2E_ADM"
check "login shell: ~/.pam_environment LD_PRELOAD runs nothing on the host" eval '! preloaded "$E2E_A"'
check "ForceCommand: ~/.pam_environment LD_PRELOAD runs nothing on the host" eval '! preloaded "$E2E_B"'
ls "$MARK" | sed 's/^/# marker: /' >&2

for u in "$E2E_A" "$E2E_B"; do
	env_u=$(host_env "$u")
	check "$u: the host process of the session got an environment" test -n "$env_u"
	planted=$(printf '%s\n' "$env_u" | grep -E '^(LD_PRELOAD|BASH_ENV|ENV|BTE_PLANTED)=' || true)
	assert_eq "" "$planted" "$u: no planted variable (LD_PRELOAD BASH_ENV ENV BTE_PLANTED) reaches the host processes"
	assert_eq "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games" \
		"$(printf '%s\n' "$env_u" | grep '^PATH=' || true)" "$u: PATH on the host is berth's fixed one, not the planted one"
	assert_contains "$env_u" "BERTH_CONTAINER=berth-$u" "$u: pam_berth's own BERTH_CONTAINER survives"
done

# ---------------------------------------------------------------- (b) ~/.ssh/rc

home_of() { getent passwd "$1" | cut -d: -f6; }
assert_eq "$E2E_A-box" "$(sort -u "$(home_of "$E2E_A")/rc-ran" 2>&1)" \
	"login shell: ~/.ssh/rc runs, in the container (its hostname)"
check "login shell: ~/.ssh/rc never ran on the host" test ! -e "$MARK/rc-on-host-$E2E_A"
check "ForceCommand: ~/.ssh/rc does not run at all" test ! -e "$(home_of "$E2E_B")/rc-ran"
check "ForceCommand: ... not on the host either" test ! -e "$MARK/rc-on-host-$E2E_B"
check "control: an excluded login-shell user's ~/.ssh/rc runs on the host" test -e "$MARK/rc-on-host-$XLS"

# ---------------------------------------------------------------- (c) internal-sftp

sftp_batch() { # USER: runs stdin as an sftp batch, prints what sftp printed
	e2e_timeout sftp -b - -q "${SSH_OPTS[@]}" -P "$SSHD_PORT" "$1@127.0.0.1" 2>&1 || true
}
e2e_ssh "$E2E_B" 'touch /tmp/bte-inside-only' </dev/null || true
[ ! -e /tmp/bte-inside-only ] || fail "/tmp/bte-inside-only exists on the host"
out=$(printf -- '-ls /etc/berth\nls /tmp\nmkdir sftp-made\n' | sftp_batch "$E2E_B")
case $out in
*berth.conf*) not_ok "ForceCommand + internal-sftp: sftp does not list the host's /etc/berth"; diag "$out" ;;
*) ok "ForceCommand + internal-sftp: sftp does not list the host's /etc/berth" ;;
esac
assert_contains "$out" "bte-inside-only" "ForceCommand + internal-sftp: sftp serves the container's files"
assert_eq "$E2E_B 700" "$(stat -c '%U %a' "$(home_of "$E2E_B")/sftp-made" 2>&1)" \
	"ForceCommand + internal-sftp: sftp writes the home as the user, with the subsystem's arguments (-u 077)"
out=$(printf 'ls /etc/berth\n' | sftp_batch "$E2E_ADM")
assert_contains "$out" "berth.conf" "control: for an excluded user sftp serves the host (the probe sees /etc/berth)"
rc=0
out=$(e2e_ssh "$E2E_A" internal-sftp </dev/null 2>&1) || rc=$?
assert_eq "127 berth: sftp is not available here (no sftp-server is installed); please contact your administrator" \
	"$rc $out" "internal-sftp in an image without sftp-server: one plain line, exit 127"
out=$(printf 'ls /etc/berth\n' | sftp_batch "$E2E_A")
case $out in
*berth.conf*) diag "login shell + internal-sftp: sshd serves sftp on the host, as documented (berthctl check names it)" ;;
esac

done_testing
