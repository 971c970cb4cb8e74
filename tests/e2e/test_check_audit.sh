#!/bin/bash
# tests/e2e/test_check_audit.sh - `berthctl check` audits the deployment with
# this machine's sshd (`sshd -T`) and real NSS users: Debian's stock
# /etc/ssh/sshd_config and stock /etc/pam.d/sshd (+ pam_berth appended) name
# the forwarding, user_readenv and pam_systemd doors and exit 1, in text and
# in --json; the guides' etc/sshd_config.example + etc/pam.d-sshd.example are
# clean (exit 0), with the ProxyJump bastion variant reported as restricted;
# a policy group that NSS does not know is reported; and libpam itself agrees
# with the audit that the guide's skip line keeps pam_systemd from the group.
# Nothing under /etc/ssh or /etc/pam.d is changed: --sshd-config and
# --pam-dir point at copies.
#
# Users: $UL (berth-shell as login shell) and $UF (/bin/sh, for the
# ForceCommand deployment), both in group $G = policy.only_groups; berthctl
# picks them as the berthed users sshd is asked about.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

ctl=$top_builddir/berthctl
[ -x "$ctl" ] || fail "$ctl not built"
fixtures=$top_srcdir/tests/fixtures/audit

# audit ARGS...: berthctl ARGS check; sets $out, $err, $rc
audit() {
	rc=0
	"$ctl" "$@" check >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err" || rc=$?
	out=$(cat "$TEST_TMPDIR/out") err=$(cat "$TEST_TMPDIR/err")
}
not_contains() { # HAYSTACK NEEDLE DESC
	case $1 in
	*"$2"*) not_ok "$3"; diag "found: $2" ;;
	*) ok "$3" ;;
	esac
}

rc=0
"$ctl" --sshd-config /etc/ssh/sshd_config list >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "--sshd-config given to list is a usage error"
rc=0
"$ctl" --json --no-audit check >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "check --json --no-audit is a usage error"

require_root
require_cmd useradd userdel usermod groupadd groupdel python3 add-shell remove-shell
[ -x /usr/sbin/sshd ] || skip "needs /usr/sbin/sshd (openssh-server)"
shell=${BERTH_BINDIR:-/usr/bin}/berth-shell
[ -u "$shell" ] || skip "$shell is not installed setuid root (make install)"
require_test_image

# ---------------------------------------------------------------- users
berth_test_lock # users, and /etc/shells below
G=${TEST_PREFIX}g
UL=${TEST_PREFIX}l
UF=${TEST_PREFIX}f
groupadd "$G" || fail "groupadd $G"
on_exit "groupdel '$G' 2>/dev/null"
useradd -M -d "/home/$UL" -s "$shell" -G "$G" "$UL" || fail "useradd $UL"
on_exit "userdel '$UL' 2>/dev/null"
useradd -M -d "/home/$UF" -s /bin/sh -G "$G" "$UF" || fail "useradd $UF"
on_exit "userdel '$UF' 2>/dev/null"
unregistered=false
grep -qxF "$shell" /etc/shells || unregistered=true

conf=$TEST_TMPDIR/berth.conf
cat >"$conf" <<EOF
image = "$BERTH_TEST_IMAGE";
pull = "never";
container = { keeper = ["/bin/sleep", "infinity"]; };
policy = { only_groups = ["$G"]; };
EOF
chmod 0644 "$conf"
# network = "host": pam_berth cannot move the session into a network of the
# container's own, so TCP and agent forwarding land on the host again
hostnet=$TEST_TMPDIR/hostnet.conf
sed 's/^container = { /container = { network = "host"; /' "$conf" >"$hostnet"
chmod 0644 "$hostnet"

# pam_dir NAME SSHD_FILE: a PAM directory with Debian 12's stock common-*
# files and SSHD_FILE as its sshd
pam_dir() {
	local d=$TEST_TMPDIR/$1
	mkdir -p "$d"
	cp "$fixtures"/pam.d-debian12/common-* "$d/"
	cp "$2" "$d/sshd"
	printf '%s\n' "$d"
}

# sshd -T loads the host keys; a machine without them (openssh-server
# installed, keys never generated) gets test keys through a copy of the file
stock_sshd_config=/etc/ssh/sshd_config
if ! ls /etc/ssh/ssh_host_*_key >/dev/null 2>&1; then
	ssh-keygen -q -t ed25519 -N '' -f "$TEST_TMPDIR/hostkey" || fail "ssh-keygen"
	{ echo "HostKey $TEST_TMPDIR/hostkey"; cat /etc/ssh/sshd_config; } >"$TEST_TMPDIR/stock_sshd_config"
	stock_sshd_config=$TEST_TMPDIR/stock_sshd_config
	diag "no host keys in /etc/ssh: using a test key"
fi
with_hostkey() { # FILE: prepend the test host key when there is one
	[ "$stock_sshd_config" = /etc/ssh/sshd_config ] && return 0
	{ echo "HostKey $TEST_TMPDIR/hostkey"; cat "$1"; } >"$1.k" && mv "$1.k" "$1"
}

# ---------------------------------------------------------------- stock Debian
cp "$fixtures/pam.d-debian12/sshd" "$TEST_TMPDIR/stock-sshd"
printf 'session    optional     pam_berth.so\n' >>"$TEST_TMPDIR/stock-sshd"
stock_pam=$(pam_dir stock "$TEST_TMPDIR/stock-sshd")

# The default network: TCP and agent forwarding land in the container.
audit -c "$conf" --sshd-config "$stock_sshd_config" --pam-dir "$stock_pam"
assert_contains "$out" "ok: sshd: AllowTcpForwarding yes lands in the user's container" "stock, own network: TCP forwarding is in the container, and said so"
assert_contains "$out" "ok: sshd: AllowAgentForwarding yes" "stock, own network: agent forwarding is relayed into the container"
not_contains "$err" "AllowTcpForwarding" "stock, own network: TCP forwarding is no door"
audit -c "$hostnet" --sshd-config "$stock_sshd_config" --pam-dir "$stock_pam"
assert_eq 1 "$rc" "stock sshd_config + stock PAM stack: check exits 1"
assert_contains "$out" "audit: sshd and PAM as seen by $UL (login shell berth-shell)" "the berthed users are the ones sshd is asked about"
assert_contains "$err" "berthctl: door: sshd: AllowTcpForwarding yes" "stock: TCP forwarding is named"
assert_contains "$err" "door: sshd: AllowStreamLocalForwarding yes" "stock: unix-socket forwarding is named"
assert_contains "$err" "door: sshd: AllowAgentForwarding yes" "stock: agent forwarding is named"
assert_contains "$err" "door: sshd: X11Forwarding yes" "stock: X11 forwarding is named"
assert_contains "$err" "risk: sshd serves -L/-D/-W/-R itself, on the host" "each door says its risk"
assert_contains "$err" "fix: AllowTcpForwarding no under \`Match Group\`" "each door says its fix"
assert_contains "$out" "note: pam: $stock_pam/sshd:47: pam_env.so user_readenv=1 (pam_berth.so at $stock_pam/sshd:$(wc -l <"$TEST_TMPDIR/stock-sshd") scrubs it)" "stock: user_readenv is named, with pam_berth after it"
assert_contains "$err" "door: pam: $stock_pam/common-session:" "stock: a PAM door in an @included file names that file"
assert_contains "$err" "pam_systemd.so runs for berthed users (for $UL" "stock: pam_systemd is named for the berthed users"
assert_contains "$err" "door: sshd: login shell /bin/sh and ForceCommand none: not berth-shell (for $UF)" "stock: a berthed user without berth-shell is named"
assert_contains "$err" "door: sshd: PermitUserRC yes, login shell /bin/sh" "stock: ~/.ssh/rc on the host is named"
not_contains "$err" "PermitUserRC yes, login shell $shell" ".ssh/rc through berth-shell is no door"

if $unregistered; then
	assert_contains "$err" "problem: berth-shell: $shell is not in /etc/shells (for $UL)" "a login shell missing from /etc/shells is named"
fi
# deploy-local.md registers the shell; do the same while the test runs
if $unregistered; then
	add-shell "$shell" || fail "add-shell $shell"
	on_exit "remove-shell '$shell'"
fi

# Without pam_berth, user_readenv itself is the door.
stock_nob=$(pam_dir stock-nob "$fixtures/pam.d-debian12/sshd")
audit -c "$conf" --sshd-config "$stock_sshd_config" --pam-dir "$stock_nob"
assert_contains "$err" "door: pam: $stock_nob/sshd:47: pam_env.so user_readenv=1" "stock without pam_berth: user_readenv is a door"
assert_contains "$err" "door: pam: pam_berth.so does not run in the session stack of $stock_nob/sshd" "stock without pam_berth: the missing module is named"

audit -c "$hostnet" --json --sshd-config "$stock_sshd_config" --pam-dir "$stock_pam"
assert_eq 1 "$rc" "--json: exit 1 while doors are open"
check "--json: one object per finding with id, severity, what, risk, fix; the doors are there" \
	python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
assert all(set(x) >= {"id", "severity", "what", "risk", "fix", "users"} for x in f), f
doors = {x["id"] for x in f if x["severity"] == "door"}
need = {"sshd-tcp-forwarding", "sshd-x11-forwarding", "pam-systemd"}
assert need <= doors, doors
assert any(x["id"] == "pam-env-user-readenv" for x in f)
assert any(sys.argv[2] in x["users"] for x in f if x["id"] == "sshd-tcp-forwarding")
' "$TEST_TMPDIR/out" "$UL"

# ---------------------------------------------------------------- the guide
sed "s/berthed/$G/g" "$top_srcdir/etc/sshd_config.example" >"$TEST_TMPDIR/guide_sshd_config"
with_hostkey "$TEST_TMPDIR/guide_sshd_config"
sed "s/berthed/$G/g" "$top_srcdir/etc/pam.d-sshd.example" >"$TEST_TMPDIR/guide-sshd"
guide_pam=$(pam_dir guide "$TEST_TMPDIR/guide-sshd")

audit -c "$conf" --sshd-config "$TEST_TMPDIR/guide_sshd_config" --pam-dir "$guide_pam"
assert_eq 0 "$rc" "the guide's sshd_config and PAM stack: check exits 0"
assert_eq "" "$err" "the guide's configuration: no door, no problem"
assert_contains "$out" "audit: no open door" "the guide's configuration: the audit says it is clean"
assert_contains "$out" "audit: sshd and PAM as seen by $UF (member of $G)" "the guide: both users were audited"

# The audit's reading of the skip line is libpam's: run the guide's session
# stack through libpam itself (pam_start_confdir), pam_systemd replaced by a
# pam_exec marker and pam_berth by pam_permit.
libpam_dir=$TEST_TMPDIR/libpam
mkdir -p "$libpam_dir"
cp "$guide_pam"/common-* "$libpam_dir/"
# shellcheck disable=SC2016 # $PAM_USER is for the marker script
printf '#!/bin/sh\ntouch "%s/ran-$PAM_USER"\n' "$TEST_TMPDIR" >"$TEST_TMPDIR/mark"
chmod 0755 "$TEST_TMPDIR/mark"
sed -e "s|^-session *optional *pam_systemd.so|session optional pam_exec.so $TEST_TMPDIR/mark|" \
	-e 's/pam_berth\.so/pam_permit.so/' "$guide_pam/sshd" >"$libpam_dir/sshd"
grep -q "pam_exec.so $TEST_TMPDIR/mark" "$libpam_dir/sshd" || fail "no pam_systemd line to replace in the guide"
open_session() { # USER: pam_open_session through the stack in $libpam_dir
	python3 - "$1" "$libpam_dir" <<'PY'
import ctypes, sys
pam = ctypes.CDLL("libpam.so.0")
CONV = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
class Conv(ctypes.Structure):
    _fields_ = [("conv", CONV), ("appdata", ctypes.c_void_p)]
conv = Conv(CONV(lambda *a: 0), None)
h = ctypes.c_void_p()
if pam.pam_start_confdir(b"sshd", sys.argv[1].encode(), ctypes.byref(conv), sys.argv[2].encode(), ctypes.byref(h)) != 0:
    sys.exit("pam_start_confdir failed")
pam.pam_open_session(h, 0)
pam.pam_end(h, 0)
PY
}
open_session "$UF" || fail "libpam session for $UF"
open_session root || fail "libpam session for root"
check "libpam: the guide's skip line jumps over pam_systemd for a member of the group" test ! -e "$TEST_TMPDIR/ran-$UF"
check "libpam: pam_systemd still runs for others (root)" test -e "$TEST_TMPDIR/ran-root"

# The way an admin applies it: Debian's stock file with the Match block appended.
{ cat "$stock_sshd_config"; sed -n '/^Match /,$p' "$TEST_TMPDIR/guide_sshd_config"; } >"$TEST_TMPDIR/appended"
audit -c "$conf" --sshd-config "$TEST_TMPDIR/appended" --pam-dir "$guide_pam"
assert_eq 0 "$rc" "stock sshd_config + the guide's Match block: clean"
assert_eq "" "$err" "stock sshd_config + the guide's Match block: nothing on stderr"

# The bastion that keeps ProxyJump: restricted forwarding is ok, and says so.
sed 's/^    AllowTcpForwarding yes$/    AllowTcpForwarding local\n    PermitOpen inner1.example:22 inner2.example:22/' \
	"$TEST_TMPDIR/guide_sshd_config" >"$TEST_TMPDIR/bastion"
audit -c "$conf" --sshd-config "$TEST_TMPDIR/bastion" --pam-dir "$guide_pam"
assert_eq 0 "$rc" "bastion (AllowTcpForwarding local + PermitOpen host:port): clean"
assert_contains "$out" "ok: sshd: AllowTcpForwarding local restricted to PermitOpen inner1.example:22 inner2.example:22" "bastion: the restricted forwarding is reported as ok"
# ... and PermitOpen any is not a restriction
sed 's/^    AllowTcpForwarding yes$/    AllowTcpForwarding local/' "$TEST_TMPDIR/guide_sshd_config" >"$TEST_TMPDIR/bastion-any"
audit -c "$hostnet" --sshd-config "$TEST_TMPDIR/bastion-any" --pam-dir "$guide_pam"
assert_eq 1 "$rc" "AllowTcpForwarding local without PermitOpen: a door"
assert_contains "$err" "door: sshd: AllowTcpForwarding local, PermitOpen any" "AllowTcpForwarding local without PermitOpen is named"

# internal-sftp: a door for login-shell users unless ForceCommand berth-shell
sed -e 's|^Subsystem sftp .*|Subsystem sftp internal-sftp|' -e '/^    ForceCommand/d' \
	"$TEST_TMPDIR/guide_sshd_config" >"$TEST_TMPDIR/isftp"
audit -c "$conf" --sshd-config "$TEST_TMPDIR/isftp" --pam-dir "$guide_pam"
assert_contains "$err" "door: sshd: Subsystem sftp internal-sftp (for $UL" "internal-sftp without ForceCommand is named"
sed -e 's|^Subsystem sftp .*|Subsystem sftp internal-sftp|' "$TEST_TMPDIR/guide_sshd_config" >"$TEST_TMPDIR/isftp-fc"
audit -c "$conf" --sshd-config "$TEST_TMPDIR/isftp-fc" --pam-dir "$guide_pam"
not_contains "$err" "internal-sftp" "internal-sftp under ForceCommand berth-shell is no door"

# A ForceCommand user whose login shell is bash
usermod -s /bin/bash "$UF" || fail "usermod $UF"
audit -c "$conf" --sshd-config "$TEST_TMPDIR/guide_sshd_config" --pam-dir "$guide_pam"
assert_eq 1 "$rc" "ForceCommand through bash: check exits 1"
assert_contains "$err" "door: sshd: ForceCommand /usr/bin/berth-shell through login shell /bin/bash (for $UF)" "ForceCommand through bash is named"
usermod -s /bin/sh "$UF" || fail "usermod $UF"

# ---------------------------------------------------------------- policy
sed "s/only_groups = \[\"$G\"\]/only_groups = [\"$G\", \"${TEST_PREFIX}nosuch\"]/" "$conf" >"$TEST_TMPDIR/nosuch.conf"
audit -c "$TEST_TMPDIR/nosuch.conf" --sshd-config "$TEST_TMPDIR/guide_sshd_config" --pam-dir "$guide_pam"
assert_eq 1 "$rc" "a policy group NSS does not know: check exits 1"
assert_contains "$err" "problem: config: policy.only_groups: group ${TEST_PREFIX}nosuch does not resolve through NSS" "the unresolved group is named"

# The engine down: the image checks cannot run, the audit still does.
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TEST_TMPDIR/dead.sock"
{ echo "engine = { socket = \"$TEST_TMPDIR/dead.sock\"; timeout_ms = 2000; };"; cat "$hostnet"; } >"$TEST_TMPDIR/dead.conf"
audit -c "$TEST_TMPDIR/dead.conf" --sshd-config "$stock_sshd_config" --pam-dir "$stock_pam"
assert_eq 1 "$rc" "engine down: check exits 1"
assert_contains "$err" "berthctl: engine: the container service is not reachable" "engine down: said in one line"
assert_contains "$err" "door: sshd: AllowTcpForwarding yes" "engine down: the doors are still named"

# --no-audit keeps check to config, keeper, engine and images
audit -c "$conf" --no-audit --sshd-config "$stock_sshd_config" --pam-dir "$stock_pam"
assert_eq 0 "$rc" "--no-audit: the stock doors are not looked at"
not_contains "$out" "audit:" "--no-audit: no audit line"

done_testing
