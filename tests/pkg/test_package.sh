#!/bin/bash
# tests/pkg/test_package.sh - the Debian package tier (docs/packaging.md).
#
# Builds berth's .debs from a copy of the source tree (dpkg-buildpackage -b,
# outside the tree), lints them, installs them with apt like an admin would,
# runs end-to-end login tests (tests/e2e/ssh_lib.sh's checks through
# e2e_installed.sh, and tests/e2e/test_side_doors.sh for pam_berth) against
# the INSTALLED files, upgrades over itself to a rebuilt, bumped version
# keeping an edited berth.conf (and honouring a dpkg-statoverride on
# berth-shell), removes (config kept) and purges (nothing left).
#
# It replaces any make-installed berth with the package and purges it at the
# end (also when a check fails; BERTH_PKG_KEEP=1 keeps a failed install):
# run it last (tests/run-all does), then `make install` again to get the
# source build back. A berth.conf that was there before is put back.
# Needs root, dockerd, sshd and the Debian packaging tools.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

require_root
require_cmd dpkg-buildpackage dh lintian fakeroot apt-get dpkg-statoverride add-shell remove-shell
require_test_image
# The lock the other script tiers take around berth.conf and users: held for
# the whole run, so the e2e test below gets a private one (it runs as a child).
berth_test_lock

SHELL_PATH=/usr/bin/berth-shell
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
PAM_SO=/lib/$MULTIARCH/security/pam_berth.so
CONF=/etc/berth/berth.conf
PKGS=(berth libpam-berth)
export DEBIAN_FRONTEND=noninteractive
out=$TEST_TMPDIR/out
src=$TEST_TMPDIR/src/berth
mkdir -p "$out" "$src"

step() { printf '\n# ==== %s\n' "$*" >&2; }
# apt's own output goes to a log, shown when it fails.
apt_q() { # LOG apt-get-args...
	local log=$TEST_TMPDIR/$1.log
	shift
	apt-get -y -q "$@" </dev/null >"$log" 2>&1 || {
		sed 's/^/#   /' "$log" >&2
		return 1
	}
}
pkg_status() { dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$1" 2>/dev/null || echo none; }

# ---------------------------------------------------------------- build

step "copy the source tree to $src"
if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	# Tracked and new files as they are in the work tree, nothing ignored (no builds).
	(cd "$top_srcdir" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$src" || fail "cannot copy the source tree"
else
	rsync -a --exclude='/build*/' --exclude=/debian/build/ "$top_srcdir/" "$src/" ||
		fail "cannot copy the source tree"
fi

# build VERSION: the .debs of VERSION into $out/VERSION/.
build() {
	local v=$1 log=$TEST_TMPDIR/build-$1.log
	sed -i "1s/^berth ([^)]*)/berth ($v)/" "$src/debian/changelog"
	# The unit tests ran before this tier (tests/run-all); BERTH_PKG_CHECK=1 reruns them.
	local opts="nocheck parallel=$(nproc)"
	[ "${BERTH_PKG_CHECK:-0}" != 1 ] || opts="parallel=$(nproc)"
	if ! (cd "$src" && DEB_BUILD_OPTIONS=$opts dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
		tail -n 60 "$log" | sed 's/^/#   /' >&2
		fail "dpkg-buildpackage of $v failed (log above)"
	fi
	mkdir -p "$out/$v"
	mv "$src"/../*_"$v"_* "$out/$v/"
	ok "dpkg-buildpackage -us -uc -b built $v: $(cd "$out/$v" && echo *.deb)"
}

V1=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
V2=$V1+pkgtest1
step "build $V1, and $V2 to upgrade to"
build "$V1"
build "$V2"
debs() { printf '%s\n' "$out/$1/berth_$1_"*.deb "$out/$1/libpam-berth_$1_"*.deb; }

step "lintian"
lint=$(lintian --fail-on error,warning,info -I "$out/$V1"/*.changes 2>&1 | grep -v '^running with root privileges' || true)
printf '%s\n' "${lint:-(no lintian tags)}" | sed 's/^/#   lintian: /' >&2
assert_eq "" "$lint" "lintian reports nothing (info included) on the .changes of $V1"

step "file lists"
for d in $(debs "$V1"); do
	diag "dpkg -c $(basename "$d"):"
	dpkg-deb -c "$d" | awk '{ print "#   " $1, $2, $6 }' >&2
done
# Every non-directory path the packages ship (for "nothing left" and the clean slate).
shipped=$(for d in $(debs "$V1"); do dpkg-deb -c "$d"; done | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }')
assert_contains "$(dpkg-deb -c "$out/$V1"/berth_"$V1"_*.deb)" "-rwsr-xr-x root/root" \
	"the berth .deb carries berth-shell setuid root"

# ---------------------------------------------------------------- clean slate

step "clean slate: no berth package, no make-installed berth files"
for p in "${PKGS[@]}"; do
	case $(pkg_status "$p") in none | un*) ;; *) apt_q purge-old purge "$p" || fail "cannot purge $p" ;; esac
done
# A make-installed berth.conf (maybe edited) comes back when the test ends.
if [ -f "$CONF" ]; then
	cp -p -- "$CONF" "$TEST_TMPDIR/berth.conf.before" || fail "cannot save $CONF"
	on_exit "mkdir -p /etc/berth && cp -p -- '$TEST_TMPDIR/berth.conf.before' '$CONF'"
fi
# A failed run leaves no package behind (BERTH_PKG_KEEP=1 keeps it to look at).
[ "${BERTH_PKG_KEEP:-0}" = 1 ] ||
	on_exit "dpkg-query -W -f='\${db:Status-Abbrev}' berth libpam-berth 2>/dev/null | grep -q '[ir]' && apt-get -y -q purge berth libpam-berth >/dev/null 2>&1"
for f in $shipped; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	dpkg -S "$f" >/dev/null 2>&1 && fail "$f belongs to another package: $(dpkg -S "$f")"
	rm -f -- "$f"
done
rmdir /etc/berth /usr/share/doc/berth/examples /usr/libexec/berth "/usr/lib/$MULTIARCH/berth" 2>/dev/null || true
if grep -qxF "$SHELL_PATH" /etc/shells; then
	remove-shell "$SHELL_PATH"
	# make install does not touch /etc/shells: give the admin back what they had.
	on_exit "add-shell '$SHELL_PATH'"
fi
wired_before=$(grep -rl berth /etc/pam.d /etc/ssh 2>/dev/null | sort || true)

# ---------------------------------------------------------------- install

step "install $V1 with apt-get install ./*.deb"
mapfile -t v1debs < <(debs "$V1")
apt_q install-v1 install --no-install-recommends "${v1debs[@]}" || fail "apt-get install of $V1 failed"
for p in "${PKGS[@]}"; do assert_eq "ii $V1" "$(pkg_status "$p")" "$p $V1 is installed"; done
assert_eq "berth: $SHELL_PATH" "$(dpkg -S "$SHELL_PATH" 2>&1)" "$SHELL_PATH belongs to the package"
assert_eq "4755 root root" "$(stat -c '%a %U %G' "$SHELL_PATH" 2>&1)" "berth-shell is setuid root"
assert_eq "libpam-berth: $PAM_SO" "$(dpkg -S "$PAM_SO" 2>&1)" "pam_berth.so is in the multiarch PAM directory"
check "berthctl and berth-keeper are installed" test -x /usr/sbin/berthctl -a -x /usr/libexec/berth/berth-keeper
assert_eq "644 root root" "$(stat -c '%a %U %G' "/usr/lib/$MULTIARCH/berth/engine-docker.so" 2>&1)" \
	"the engine client plugin is root's and writable by nobody else (berth loads no other)"
check "postinst added berth-shell to /etc/shells" grep -qxF "$SHELL_PATH" /etc/shells
assert_contains "$(dpkg-query -W -f='${Conffiles}' berth)" "$CONF" "berth.conf is a conffile"
check "the examples are in /usr/share/doc/berth/examples" \
	test -f /usr/share/doc/berth/examples/sshd_config.example -a -f /usr/share/doc/berth/examples/pam.d-sshd.example
check "the gc timer is installed" test -f /lib/systemd/system/berth-gc.timer -a -f /lib/systemd/system/berth-gc.service
check "... and not enabled" test ! -e /etc/systemd/system/timers.target.wants/berth-gc.timer
if command -v systemd-tmpfiles >/dev/null; then
	assert_eq "755 root" "$(stat -c '%a %U' /run/berth 2>&1)" "tmpfiles.d made /run/berth"
fi
assert_eq "$wired_before" "$(grep -rl berth /etc/pam.d /etc/ssh 2>/dev/null | sort || true)" \
	"nothing in /etc/pam.d or /etc/ssh was changed"

# e2e SCRIPT: runs SCRIPT (under $top_srcdir) against the installed files, its
# log in $TEST_TMPDIR/NAME.log.
e2e() {
	local t rc=0 log
	t=$(basename "$1" .sh)
	log=$TEST_TMPDIR/$t.log
	step "end-to-end: $1 against the installed berth"
	BERTH_TEST_LOCK=$TEST_TMPDIR/e2e.lock BERTH_BINDIR=/usr/bin BERTH_SBINDIR=/usr/sbin \
		BERTH_PAMDIR=/lib/$MULTIARCH/security BERTH_KEEPER_PATH=/usr/libexec/berth/berth-keeper \
		BERTH_CONFIG_PATH=$CONF bash "$top_srcdir/$1" >"$log" 2>&1 || rc=$?
	grep -E '^(not )?ok |FAIL|^# mode=' "$log" | sed "s/^/#   $t: /" >&2 || true
	[ "$rc" -eq 0 ] || grep -B3 -A12 '^not ok' "$log" | sed "s/^/#   $t: /" >&2 || true
	assert_eq 0 "$rc" "$t passes against the packaged berth"
}
# Users with berth-shell as login shell, through a real sshd on 127.0.0.1:
# every check of tests/e2e/ssh_lib.sh.
e2e tests/pkg/e2e_installed.sh
check "... a user logged in over ssh, and id and hostname were the container's" \
	grep -qE "^ok [0-9]+ - whoami, id -un, id -u, id -g, HOME, cwd and hostname are the user's, in the container" \
	"$TEST_TMPDIR/e2e_installed.log"
# Debian's own /etc/pam.d/sshd plus the packaged pam_berth.so, both deployments.
e2e tests/e2e/test_side_doors.sh
check "... the packaged pam_berth.so ran in sshd's PAM session" \
	grep -qE "^ok [0-9]+ - .*pam_berth's own BERTH_CONTAINER survives" "$TEST_TMPDIR/test_side_doors.log"

# ---------------------------------------------------------------- upgrade

step "edit berth.conf, take the setuid bit away with dpkg-statoverride, upgrade to $V2"
marker="# edited by the admin ($TEST_NAME $$)"
printf '%s\n' "$marker" >>"$CONF"
edited=$(sha256sum <"$CONF")
dpkg-statoverride --add root root 0755 "$SHELL_PATH" || fail "dpkg-statoverride --add"
on_exit "dpkg-statoverride --remove '$SHELL_PATH' >/dev/null 2>&1"
mapfile -t v2debs < <(debs "$V2")
# No --force-conf*: an upgrade that asked about berth.conf would fail here (stdin is /dev/null).
apt_q install-v2 install --no-install-recommends "${v2debs[@]}" || fail "apt-get install of $V2 failed"
for p in "${PKGS[@]}"; do assert_eq "ii $V2" "$(pkg_status "$p")" "$p upgraded to $V2"; done
assert_eq "$edited" "$(sha256sum <"$CONF")" "the edited berth.conf survived the upgrade"
check "... with no .dpkg-new/.dpkg-dist next to it" bash -c "! ls $CONF.dpkg-* 2>/dev/null"
assert_eq "755 root" "$(stat -c '%a %U' "$SHELL_PATH" 2>&1)" \
	"the admin's statoverride (0755) wins over the package's setuid bit"
dpkg-statoverride --remove "$SHELL_PATH" || fail "dpkg-statoverride --remove"
apt_q reinstall-v2 install --reinstall --no-install-recommends "${v2debs[@]}" || fail "reinstall of $V2 failed"
assert_eq "4755 root" "$(stat -c '%a %U' "$SHELL_PATH" 2>&1)" \
	"without the statoverride, a reinstall makes berth-shell setuid root again"
check "berth-shell is still in /etc/shells, once" test "$(grep -cxF "$SHELL_PATH" /etc/shells)" = 1

# ---------------------------------------------------------------- remove, purge

step "apt-get remove: the configuration stays"
apt_q remove remove "${PKGS[@]}" || fail "apt-get remove failed"
assert_eq "rc $V2" "$(pkg_status berth)" "berth removed, its configuration kept"
# libpam-berth has no conffiles: removing it leaves nothing to purge.
check "libpam-berth removed" bash -c "! dpkg-query -W -f='\${db:Status-Abbrev}' libpam-berth 2>/dev/null | grep -q '^[ir]'"
assert_eq "$edited" "$(sha256sum <"$CONF" 2>&1)" "the edited berth.conf is still there"
check "berth-shell and pam_berth.so are gone" test ! -e "$SHELL_PATH" -a ! -e "$PAM_SO"
check "postrm removed berth-shell from /etc/shells" bash -c "! grep -qxF '$SHELL_PATH' /etc/shells"

step "apt-get purge: nothing of berth is left"
apt_q purge purge "${PKGS[@]}" || fail "apt-get purge failed"
for p in "${PKGS[@]}"; do
	check "$p is not installed (dpkg-query)" bash -c "! dpkg-query -W -f='\${db:Status-Abbrev}' '$p' 2>/dev/null | grep -q '^[ir]'"
	assert_eq "" "$(dpkg -L "$p" 2>/dev/null)" "dpkg -L $p lists nothing"
done
check "no /etc/berth" test ! -e /etc/berth
check "no /run/berth" test ! -e /run/berth
check "berth-shell is not in /etc/shells" bash -c "! grep -qxF '$SHELL_PATH' /etc/shells"
left=$(for f in $shipped; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done || true)
assert_eq "" "$left" "none of the files the packages shipped is left"

step "package tier done: built, linted, installed, logged in, upgraded, removed, purged"
done_testing
