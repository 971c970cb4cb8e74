#!/bin/bash
# test_engine_plugin.sh - the engine client as a plugin (backend.h,
# docs/security.md "The engine client plugin"): the installed berth-shell,
# berthctl and pam_berth.so do not link libcurl nor OpenSSL (libssl,
# libcrypto: the TLS side is the plugin's); berth-shell maps the plugin
# (and libcurl with it) only once it opens the engine, and a session in exec
# mode works through it; a plugin that anyone but root could have written (a
# group- or world-writable file, a file not root's, a directory others can
# write) is refused: one plain line, a syslog line naming the file and why,
# and the command never runs.
#
# The bad plugins are bind-mounted over the installed one in a private mount
# namespace (the test reruns itself under unshare), so no other process ever
# sees them.  Needs root, dockerd and `make install`.
set -euo pipefail
if [ -z "${BERTH_PLUGIN_NS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	exec env BERTH_PLUGIN_NS=1 unshare -m --propagation private -- bash "$0" "$@"
fi
. "$(dirname "$0")/../lib/common.sh"

require_root
[ -n "${BERTH_PLUGIN_NS:-}" ] || fail "cannot make a private mount namespace (unshare -m)"
require_cmd setpriv useradd userdel readelf ldd mount umount
require_installed
require_test_image

SHELL_BIN=${BERTH_BINDIR:-/usr/bin}/berth-shell
CTL=${BERTH_SBINDIR:-/usr/sbin}/berthctl
PAM_SO=${BERTH_PAMDIR:-/lib/x86_64-linux-gnu/security}/pam_berth.so
PLUGIN=${BERTH_ENGINE_PLUGIN:-/usr/lib/berth/engine-docker.so}
[ -f "$PLUGIN" ] || fail "$PLUGIN is not installed (make install)"

# ---------------------------------------------------------------- what is linked

for bin in "$SHELL_BIN" "$CTL" "$PAM_SO"; do
	needed=$(readelf -d "$bin" | awk '/NEEDED/ { print $NF }' | tr -d '[]' | tr '\n' ' ')
	case $needed in
	*libcurl*) not_ok "$(basename "$bin") does not link libcurl"; diag "NEEDED: $needed" ;;
	*libssl* | *libcrypto*)
		not_ok "$(basename "$bin") does not link libssl or libcrypto"
		diag "NEEDED: $needed"
		;;
	*libc.so*) ok "$(basename "$bin") does not link libcurl, libssl or libcrypto (NEEDED: $needed)" ;;
	*) not_ok "readelf -d $bin lists its libraries"; diag "NEEDED: $needed" ;;
	esac
done
for bin in "$SHELL_BIN" "$CTL" "$PAM_SO"; do
	deps=$(ldd "$bin")
	if grep -qE 'libcurl|libssl|libcrypto|libgnutls|libssh2|libldap|libkrb5' <<<"$deps"; then
		not_ok "nothing $(basename "$bin") loads at start pulls libcurl or OpenSSL in"
		diag "$deps"
	else
		ok "nothing $(basename "$bin") loads at start pulls libcurl or OpenSSL in ($(wc -l <<<"$deps") objects)"
	fi
done
assert_contains "$(readelf -d "$PLUGIN")" "[libcurl.so" "the plugin is what links libcurl"
assert_contains "$(readelf -d "$PLUGIN")" "[libssl.so" "... and OpenSSL (the TLS side it lends the core)"
read -r p_uid p_mode < <(stat -c '%u %a' "$PLUGIN")
assert_eq "0 0" "$p_uid $((8#$p_mode & 8#022))" "the installed plugin is root's and writable by nobody else"

# ---------------------------------------------------------------- a user, syslog

U=${TEST_PREFIX}u
BOX=berth-$U
berth_test_lock
useradd -m -s "$SHELL_BIN" "$U"
on_exit "remove_test_user '$U'"
on_exit "docker rm -f '$BOX' >/dev/null 2>&1; rm -rf /run/berth/sessions/'$BOX' /run/berth/etc/'$BOX' /run/berth/lock/'$BOX'.lock"
U_UID=$(id -u "$U")
U_GID=$(id -g "$U")
U_HOME=$(getent passwd "$U" | cut -d: -f6)
berth_write_config <<CONF
image = "$BERTH_TEST_IMAGE";
pull = "never";
entry = "exec";
container = { on_logout = "keep"; };
policy = { exclude_users = [ "root" ]; };
CONF

# Our own /dev/log, in this namespace only where a logger owns the real one.
SYSLOG=$TEST_TMPDIR/syslog
: >"$SYSLOG"
have_syslog=true
if [ -e /dev/log ] || [ -L /dev/log ]; then
	syslog_listen "$TEST_TMPDIR/log.sock" "$SYSLOG"
	mount --bind "$TEST_TMPDIR/log.sock" /dev/log || fail "cannot bind our socket over /dev/log"
else
	syslog_listen /dev/log "$SYSLOG"
fi

# as_user CMD: berth-shell -c CMD as U from a clean environment, as sshd starts
# it; sets $out, $err, $rc.
as_user() {
	rc=0
	setpriv --reuid="$U_UID" --regid="$U_GID" --init-groups \
		env -i PATH=/usr/bin:/bin HOME="$U_HOME" "$SHELL_BIN" -c "$1" \
		</dev/null >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || rc=$?
	out=$(cat "$TEST_TMPDIR/out") err=$(cat "$TEST_TMPDIR/err")
}

# ---------------------------------------------------------------- the plugin at work

as_user 'echo "in $(hostname) as $(id -u)"'
assert_eq 0 "$rc" "exec mode through the plugin: the command exits 0 ($err)"
assert_eq "in $U-box as $U_UID" "$out" "... and ran in the user's container as the user"

# While a session runs, what berth-shell has mapped (/proc/PID/maps: the
# loader's LD_DEBUG is ignored for a setuid program).
setpriv --reuid="$U_UID" --regid="$U_GID" --init-groups \
	env -i PATH=/usr/bin:/bin HOME="$U_HOME" "$SHELL_BIN" -c 'sleep 3' </dev/null >/dev/null 2>&1 &
pid=$!
if wait_until 10 grep -qF "$PLUGIN" "/proc/$pid/maps"; then
	ok "a session's berth-shell has mapped $PLUGIN"
	assert_contains "$(awk '{ print $6 }' "/proc/$pid/maps" | sort -u)" "libcurl.so" \
		"... and libcurl, through it"
else
	not_ok "a session's berth-shell has mapped $PLUGIN"
fi
wait "$pid" || true

# ---------------------------------------------------------------- untrusted plugins

# refused DESC: berth-shell with the plugin as bound now refuses to load it.
refused() {
	local why=$1
	rm -f "$U_HOME/ran"
	: >"$SYSLOG"
	as_user 'touch ~/ran; echo ran'
	assert_eq 1 "$rc" "$why: berth-shell fails (status 1)"
	assert_eq "berth: your container could not be started (the container service is not reachable); please contact your administrator" \
		"$err" "... with one plain line"
	assert_eq "" "$out" "... and the command never runs (no output)"
	check "... nor touches the home" test ! -e "$U_HOME/ran"
	check_syslog "... and syslog says which file and why" \
		"action=entry user=$U container=$BOX .*outcome=failed error=engine-unreachable: .*$2"
}

cp "$PLUGIN" "$TEST_TMPDIR/group.so"
chmod 0664 "$TEST_TMPDIR/group.so"
mount --bind "$TEST_TMPDIR/group.so" "$PLUGIN"
refused "a group-writable plugin" "$PLUGIN is writable by group or others \\(mode 0664\\)"
umount "$PLUGIN"

cp "$PLUGIN" "$TEST_TMPDIR/world.so"
chmod 0646 "$TEST_TMPDIR/world.so"
mount --bind "$TEST_TMPDIR/world.so" "$PLUGIN"
refused "a world-writable plugin" "$PLUGIN is writable by group or others \\(mode 0646\\)"
umount "$PLUGIN"

cp "$PLUGIN" "$TEST_TMPDIR/users.so"
chmod 0755 "$TEST_TMPDIR/users.so"
chown "$U_UID:$U_GID" "$TEST_TMPDIR/users.so"
mount --bind "$TEST_TMPDIR/users.so" "$PLUGIN"
refused "a plugin the user owns" "$PLUGIN is owned by uid $U_UID, not root"
umount "$PLUGIN"

# a directory others can write: a tmpfs of mode 1777 would be root's sticky
# directory, so 0777
plugdir=$(dirname "$PLUGIN")
cp "$PLUGIN" "$TEST_TMPDIR/dir.so"
mount -t tmpfs -o mode=0777 berth-test "$plugdir"
install -m 0644 -o root -g root "$TEST_TMPDIR/dir.so" "$PLUGIN"
refused "a plugin in a directory anyone can write" \
	"$PLUGIN could be replaced by someone other than root: $plugdir is writable by group or others \\(mode 0777\\)"
umount "$plugdir"

as_user 'echo again'
assert_eq "0 again" "$rc $out" "with the installed plugin back, the session works again"

done_testing
