#!/bin/bash
# tests/lib/build-image.sh - builds the shared test image (default berth-test:latest)
# offline, with `docker import` of a rootfs made on the spot: busybox-static
# with every applet linked, plus the host's bash, scp, rsync and sftp-server
# with their shared libraries and dynamic loader, because end-to-end tests run
# those inside the container (legacy scp runs `scp -t` remotely, rsync runs
# `rsync --server`, the sftp subsystem runs sftp-server).
#
# The image has its own user imguser (1000) and group imggroup (1000) so tests
# can prove that berth's passwd/group entries win over the image's.
#
# Idempotent: the image carries a label with a hash of this script and of every
# file copied in; when it matches, nothing is rebuilt. Prints the image name on
# stdout, everything else goes to stderr.
#
# Usage: build-image.sh [IMAGE]      (default: $BERTH_TEST_IMAGE or berth-test:latest)
set -euo pipefail
umask 022

image=${1:-${BERTH_TEST_IMAGE:-berth-test:latest}}
label=berth.test-image.hash

busybox=/bin/busybox
extra_bins=(/bin/bash /usr/bin/scp /usr/bin/rsync /usr/lib/openssh/sftp-server /usr/bin/ssh-add)

die() {
	printf 'build-image.sh: %s\n' "$*" >&2
	exit 1
}

command -v docker >/dev/null || die "docker not installed"
if ! "$busybox" --list-full >/dev/null 2>&1; then
	die "$busybox missing or not a full busybox: install the Debian package busybox-static"
fi
case $(file -b -L "$busybox" 2>/dev/null) in
*dynamically*) die "$busybox is dynamically linked: install the Debian package busybox-static" ;;
esac
for b in "${extra_bins[@]}"; do
	[ -x "$b" ] || die "$b missing (Debian packages: bash openssh-client openssh-server rsync)"
done

# Shared objects of a binary as ldd resolves them, loader included.
libs_of() {
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

mapfile -t libs < <(for b in "${extra_bins[@]}"; do libs_of "$b"; done | sort -u)
[ "${#libs[@]}" -gt 0 ] || die "ldd found no libraries for ${extra_bins[*]}"

# Serialise concurrent builds (make -j check starts several tests at once).
exec {lockfd}>>/run/berth-test-image.lock
flock -w 600 "$lockfd" || die "timed out waiting for /run/berth-test-image.lock"

hash=$({
	sha256sum <"${BASH_SOURCE[0]}"
	sha256sum "$busybox" "${extra_bins[@]}" "${libs[@]}" | awk '{ print $1 }'
} | sha256sum | cut -c1-32)

have=$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null || true)
if [ "$have" = "$hash" ]; then
	printf '%s\n' "$image"
	exit 0
fi

old_id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
root=$(mktemp -d "${TMPDIR:-/tmp}/berth-image.XXXXXX")
trap 'rm -rf -- "$root"' EXIT

echo "build-image.sh: building $image from busybox-static" >&2
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,home,root,tmp,var/tmp,dev,proc,sys,run,usr/lib/openssh}
chmod 0755 "$root"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"

cp -- "$busybox" "$root/bin/busybox"
while read -r applet; do
	[ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done < <("$busybox" --list-full | grep -v -e '^bin/busybox$' -e '^$')

# Real binaries win over applets of the same name; dereference the host's
# usrmerge symlinks so every path the ELF headers name exists in the image.
for f in "${extra_bins[@]}" "${libs[@]}"; do
	mkdir -p "$root$(dirname "$f")"
	rm -f -- "$root$f"
	cp -L -- "$f" "$root$f"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
imguser:x:1000:1000:image user:/home/imguser:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
imggroup:x:1000:imguser
nogroup:x:65534:
EOF
cat >"$root/etc/shells" <<'EOF'
/bin/sh
/bin/ash
/bin/bash
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
printf 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' >"$root/etc/profile"
: >"$root/etc/hostname"
chmod 0644 "$root"/etc/*

tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . |
	docker import \
		--change "LABEL $label=$hash" \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--message "berth test image" - "$image" >/dev/null ||
	die "docker import failed"

# The previous build is now untagged; drop it unless a container still uses it.
new_id=$(docker image inspect --format '{{.Id}}' "$image")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
	docker image rm "$old_id" >/dev/null 2>&1 || true
fi
printf '%s\n' "$image"
