# tests/lib/setup.sh - what tests/run-all and tests/demo share: the Debian
# packages berth needs, and configure + build + install from the source tree.
# Sourced (after which services.sh and common.sh are loaded too).

. "$(dirname "${BASH_SOURCE[0]}")/services.sh"

# To build berth.
BERTH_BUILD_PACKAGES=(autoconf automake libtool pkg-config make gcc libc6-dev
	libpam0g-dev libcurl4-openssl-dev libssl-dev libjansson-dev libconfig-dev libcmocka-dev
	clang-format # make format-check
	clang libclang-rt-14-dev) # clang + libFuzzer: the fuzz stage (docs/fuzzing.md)
# To run it and its test tiers (engine, PAM, end-to-end, benchmarks).
BERTH_TEST_PACKAGES=(docker.io busybox-static openssh-server openssh-client tmux rsync
	slapd ldap-utils nslcd libnss-ldapd libpam-wrapper hyperfine file procps curl util-linux podman python3 bsdutils diffutils
	openssl iproute2) # the TLS engine's certificates, ss (tests/lib/tls_engine.sh)
# To build and lint the Debian package (tests/pkg/test_package.sh).
BERTH_TEST_PACKAGES+=(debhelper dpkg-dev fakeroot lintian git)

stage() {
	printf '\n==> %s\n' "$*" >&2
}

# Installs whatever of the packages is missing; no apt at all when nothing is.
berth_install_packages() {
	local missing=() p
	for p in "${BERTH_BUILD_PACKAGES[@]}" "${BERTH_TEST_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		echo "all needed Debian packages are installed" >&2
		return 0
	fi
	command -v apt-get >/dev/null || fail "missing packages (${missing[*]}) and no apt-get: this needs Debian 12"
	stage "installing Debian packages: ${missing[*]}"
	# Debconf questions (slapd, nslcd, libnss-ldapd) take their defaults; the
	# tests run their own slapd/nslcd and never use the packaged configuration.
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || fail "apt-get update failed"
	apt-get install -y -q -o Dpkg::Options::=--force-confold "${missing[@]}" ||
		fail "apt-get install failed"
}

# berth_build SRCDIR BUILDDIR [configure args...]: autoreconf once, configure
# out of tree (the source tree stays clean for `make distcheck`), build.
berth_build() {
	local src=$1 build=$2
	shift 2
	if [ ! -x "$src/configure" ] || [ "${BERTH_AUTORECONF:-1}" = 1 ]; then
		stage "autoreconf -fi"
		(cd "$src" && autoreconf -fi) || fail "autoreconf failed"
		BERTH_AUTORECONF=0 # once per run is enough
	fi
	stage "configure $* (in $build)"
	mkdir -p "$build"
	(cd "$build" && "$src/configure" "$@") || fail "configure failed (see $build/config.log)"
	stage "make (in $build)"
	make -C "$build" -j"$(nproc)" || fail "build failed"
}

# Options of the build the tests and the demo run: installed system-wide, since
# the end-to-end tests use the installed setuid berth-shell and PAM module.
BERTH_SYSTEM_CONFIGURE=(--prefix=/usr --sysconfdir=/etc --localstatedir=/var --enable-werror)

berth_install() {
	stage "make install"
	make -C "$1" install || fail "make install failed"
}
