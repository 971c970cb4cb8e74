# tests/lib/services.sh - daemons the script tests need: dockerd, and test-scoped
# sshd, slapd and nslcd.
#
# Nothing here edits the host's /etc/pam.d, /etc/ssh, /etc/nsswitch.conf or
# /etc/nslcd.conf. sshd and nslcd run in one private mount namespace per test
# (a `sleep infinity` created by `unshare -m` holds it; daemons join it with
# `nsenter -m`); test PAM service files, nsswitch.conf and nslcd.conf are bind
# mounts inside it, with propagation private so nothing reaches the host. The
# namespace also gets its own tmpfs on /run/nslcd (so a packaged nslcd on the
# host keeps its socket and we keep ours) and /run/nscd (so a host nscd cannot
# answer from its cache). slapd needs no namespace: it listens on 127.0.0.1.
# Everything started here is stopped when the test exits; dockerd is not.
#
#   start_dockerd                      make /var/run/docker.sock answer (up to 60 s)
#   berth_ns_start / berth_ns_run CMD... / berth_ns_bind SRC DST
#   start_sshd [--pam] [--bind SRC DST]... PORT [sshd_config line]...
#   ssh_to USER PORT [ssh args / command]...     (also SSH_OPTS, SSH_RSH)
#   start_ldap [PORT] / ldap_add_user NAME UID GID HOME [GROUP[:GID]]...
#   start_nslcd                        nslcd + `passwd: files ldap` in the namespace
#   pick_port BASE                     a free port in BASE..BASE+199 and up

if ! declare -F on_exit >/dev/null; then
	. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

BERTH_DOCKERD_LOG=${BERTH_DOCKERD_LOG:-/var/log/berth-test-dockerd.log}
_berth_service_logs=()

# Service logs die with TEST_TMPDIR; show their tails when a test fails.
_berth_dump_service_logs() {
	local f
	[ "${BERTH_EXIT_STATUS:-0}" -ne 0 ] || return 0
	for f in "${_berth_service_logs[@]}"; do
		[ -s "$f" ] || continue
		printf '# ---- last lines of %s\n' "$f" >&2
		tail -n 40 -- "$f" | sed 's/^/# /' >&2
	done
}
on_exit _berth_dump_service_logs

# _berth_spawn: tests/lib/common.sh

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Spread by pid so tests started together by `make -j check` rarely race for one port.
pick_port() {
	local p=$(($1 + $$ % 200))
	while port_open "$p"; do p=$((p + 1)); done
	echo "$p"
}

# ---------------------------------------------------------------- dockerd

docker_answers() {
	timeout 10 docker version >/dev/null 2>&1
}

start_dockerd() {
	docker_answers && return 0
	command -v dockerd >/dev/null || fail "dockerd not installed (Debian package docker.io)"
	# A systemd host has the packaged unit; elsewhere (containers, chroots) run it by hand.
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		systemctl start docker.service >/dev/null 2>&1 || true
		wait_until 30 docker_answers && return 0
	fi
	echo "starting dockerd, log in $BERTH_DOCKERD_LOG" >&2
	# Outlives the caller, in its own session.
	_berth_spawn setsid dockerd </dev/null >>"$BERTH_DOCKERD_LOG" 2>&1
	disown $! 2>/dev/null || true
	wait_until 60 docker_answers || {
		tail -n 20 "$BERTH_DOCKERD_LOG" >&2
		fail "dockerd did not answer within 60 s"
	}
}

# require_berth_stack CMD...: what a test of the installed berth needs: root,
# CMDs, berth installed, dockerd answering and the test image.
require_berth_stack() {
	require_root
	require_cmd "$@"
	require_installed
	start_dockerd
	require_test_image
}

# ---------------------------------------------------------------- mount namespace

BERTH_NS_PID=

_berth_ns_ready() {
	local ours theirs
	[ -n "$BERTH_NS_PID" ] || return 1
	theirs=$(readlink "/proc/$BERTH_NS_PID/ns/mnt" 2>/dev/null) || return 1
	ours=$(readlink "/proc/$$/ns/mnt")
	# Until unshare has exec'd sleep, the pid may still be in our namespace.
	[ "$theirs" != "$ours" ] && [ "$(cat "/proc/$BERTH_NS_PID/comm" 2>/dev/null)" = sleep ]
}

berth_ns_start() {
	[ -z "$BERTH_NS_PID" ] || return 0
	require_root
	require_cmd unshare nsenter
	_berth_spawn unshare -m --propagation private -- sleep infinity
	BERTH_NS_PID=$!
	on_exit "kill $BERTH_NS_PID 2>/dev/null"
	wait_until 10 _berth_ns_ready || fail "private mount namespace did not come up"
	berth_ns_run mount --make-rprivate / || fail "cannot make the test namespace private"
	# Our own sockets, invisible to (and unaffected by) host daemons.
	[ -d /run/nslcd ] || install -d -m 0755 /run/nslcd
	berth_ns_run mount -t tmpfs -o mode=0755 berth-nslcd /run/nslcd
	if [ -d /run/nscd ]; then berth_ns_run mount -t tmpfs -o mode=0755 berth-nscd /run/nscd; fi
}

berth_ns_run() {
	_berth_ns_ready || fail "test mount namespace is gone"
	nsenter -t "$BERTH_NS_PID" -m -- "$@"
}

# berth_ns_bind SRC DST: SRC appears at DST inside the namespace only. A missing
# DST is made by binding a copy of its parent directory (never touching the host).
berth_ns_bind() {
	local src=$1 dst=$2 parent copy
	berth_ns_start
	[ -e "$src" ] || fail "berth_ns_bind: $src does not exist"
	if ! berth_ns_run test -e "$dst"; then
		parent=$(dirname -- "$dst")
		berth_ns_run test -d "$parent" || fail "berth_ns_bind: $parent does not exist"
		copy=$(mktemp -d "$TEST_TMPDIR/nsdir.XXXXXX")
		berth_ns_run cp -a -- "$parent/." "$copy/" || fail "cannot copy $parent"
		chmod --reference="$parent" -- "$copy" && chown --reference="$parent" -- "$copy"
		if [ -d "$src" ]; then mkdir -p -- "$copy/${dst##*/}"; else : >"$copy/${dst##*/}"; fi
		berth_ns_run mount --bind -- "$copy" "$parent" || fail "cannot bind $copy on $parent"
	fi
	berth_ns_run mount --bind -- "$src" "$dst" || fail "cannot bind $src on $dst"
}

# berth_ns_syslog: pam_berth's and berth-shell's lines in $SYSLOG, through a
# socket of ours over /dev/log inside the test namespace (where sshd runs).
berth_ns_syslog() {
	SYSLOG=$TEST_TMPDIR/syslog
	: >"$SYSLOG"
	syslog_listen "$TEST_TMPDIR/log.sock" "$SYSLOG"
	_berth_service_logs+=("$SYSLOG")
	if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then # no logger here: a mount point only
		: >/dev/log
		on_exit '[ -f /dev/log ] && [ ! -s /dev/log ] && rm -f /dev/log'
	fi
	berth_ns_bind "$TEST_TMPDIR/log.sock" /dev/log
}

# ---------------------------------------------------------------- sshd

SSHD_DIR='' SSHD_PID='' SSHD_PORT='' SSHD_CONFIG='' SSHD_LOG='' SSH_KEY='' SSH_RSH=''
SSH_OPTS=()

# start_sshd [--pam] [--bind SRC DST]... PORT [sshd_config line]...
# Every user authenticates with the test key $SSH_KEY. Caller lines come first
# (sshd keeps the first value of a keyword); from the first `Match` line on,
# they go last, where Match blocks must be.
start_sshd() {
	local use_pam=no binds=() head=() tail=() line in_match=0 k
	while [ $# -gt 0 ]; do
		case $1 in
		--pam) use_pam=yes; shift ;;
		--bind) binds+=("$2" "$3"); shift 3 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	[ $# -ge 1 ] || fail "start_sshd: no port"
	SSHD_PORT=$1
	shift
	[ -z "$SSHD_PID" ] || fail "start_sshd: one sshd per test"
	require_root
	[ -x /usr/sbin/sshd ] || skip "needs /usr/sbin/sshd (Debian package openssh-server)"
	require_cmd ssh ssh-keygen
	port_open "$SSHD_PORT" && fail "start_sshd: port $SSHD_PORT is already in use"

	for line in "$@"; do
		case $line in [Mm]atch\ *) in_match=1 ;; esac
		if [ "$in_match" = 1 ]; then tail+=("$line"); else head+=("$line"); fi
	done

	berth_ns_start
	for ((k = 0; k < ${#binds[@]}; k += 2)); do
		berth_ns_bind "${binds[k]}" "${binds[k + 1]}"
	done

	SSHD_DIR=${SSHD_DIR:-$TEST_TMPDIR/sshd} # a test with two sshds names the second's
	mkdir -p "$SSHD_DIR"
	chmod 0755 "$SSHD_DIR"
	ssh-keygen -q -t ed25519 -N '' -C berth-test-host -f "$SSHD_DIR/host_ed25519_key"
	ssh-keygen -q -t ed25519 -N '' -C berth-test-client -f "$SSHD_DIR/id_ed25519"
	# sshd reads this as the user: world-readable, in a world-searchable dir.
	install -m 0644 "$SSHD_DIR/id_ed25519.pub" "$SSHD_DIR/authorized_keys"
	SSH_KEY=$SSHD_DIR/id_ed25519
	SSHD_CONFIG=$SSHD_DIR/sshd_config
	SSHD_LOG=$SSHD_DIR/sshd.log
	_berth_service_logs+=("$SSHD_LOG")
	{
		echo "# berth test sshd (tests/lib/services.sh)"
		printf '%s\n' "${head[@]}"
		cat <<EOF
ListenAddress 127.0.0.1
Port $SSHD_PORT
HostKey $SSHD_DIR/host_ed25519_key
PidFile $SSHD_DIR/sshd.pid
UsePAM $use_pam
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $SSHD_DIR/authorized_keys
StrictModes no
LogLevel VERBOSE
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 200:30:400
MaxSessions 100
LoginGraceTime 60
AcceptEnv LANG LC_* TZ
EOF
		printf '%s\n' "${head[@]}" | grep -qi '^[[:space:]]*subsystem[[:space:]]' ||
			echo "Subsystem sftp /usr/lib/openssh/sftp-server"
		printf '%s\n' "${tail[@]}"
	} >"$SSHD_CONFIG"

	# sshd's privilege separation directory; the package creates it at boot.
	[ -d /run/sshd ] || install -d -m 0755 /run/sshd
	berth_ns_run /usr/sbin/sshd -t -f "$SSHD_CONFIG" || fail "sshd rejects $SSHD_CONFIG"
	_berth_spawn nsenter -t "$BERTH_NS_PID" -m -- /usr/sbin/sshd -D -f "$SSHD_CONFIG" -E "$SSHD_LOG"
	SSHD_PID=$!
	on_exit "kill $SSHD_PID 2>/dev/null"
	wait_until 15 _sshd_up || {
		cat "$SSHD_LOG" >&2 2>/dev/null
		fail "sshd did not start on 127.0.0.1:$SSHD_PORT"
	}

	SSH_OPTS=(-F /dev/null -i "$SSH_KEY" -o IdentitiesOnly=yes -o BatchMode=yes
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
	SSH_RSH="ssh ${SSH_OPTS[*]} -p $SSHD_PORT"
	export SSH_KEY SSH_RSH
}

_sshd_up() {
	kill -0 "$SSHD_PID" 2>/dev/null || {
		cat "$SSHD_LOG" >&2 2>/dev/null
		fail "sshd exited at startup"
	}
	port_open "$SSHD_PORT"
}

# ssh_to USER PORT [ssh options] [command...]
ssh_to() {
	local user=$1 port=$2
	shift 2
	ssh "${SSH_OPTS[@]}" -p "$port" "$user@127.0.0.1" "$@"
}

# ---------------------------------------------------------------- slapd + nslcd

LDAP_BASE="dc=berth,dc=test"
LDAP_ROOTDN="cn=admin,$LDAP_BASE"
LDAP_ROOTPW=berth-test-secret
LDAP_PORT='' LDAP_URI='' LDAP_DIR='' SLAPD_PID='' NSLCD_PID=''
: "${LDAP_USER_SHELL:=/bin/bash}"

_ldap_answers() {
	ldapsearch -x -H "$LDAP_URI" -b "" -s base namingContexts >/dev/null 2>&1
}

_ldap() { # ldapadd|ldapmodify, LDIF on stdin
	"$1" -x -H "$LDAP_URI" -D "$LDAP_ROOTDN" -w "$LDAP_ROOTPW" >/dev/null
}

# start_ldap [PORT]: slapd with the nis schema and an empty dc=berth,dc=test
# tree (ou=people, ou=groups). Without PORT, the first free one from 3899.
start_ldap() {
	[ -z "$SLAPD_PID" ] || return 0
	require_root
	[ -x /usr/sbin/slapd ] || skip "needs /usr/sbin/slapd (Debian package slapd)"
	require_cmd ldapadd ldapsearch ldapmodify
	LDAP_PORT=${1:-}
	[ -n "$LDAP_PORT" ] || LDAP_PORT=$(pick_port 3899)
	port_open "$LDAP_PORT" && fail "start_ldap: port $LDAP_PORT is already in use"
	LDAP_URI=ldap://127.0.0.1:$LDAP_PORT/
	LDAP_DIR=$TEST_TMPDIR/ldap
	mkdir -p "$LDAP_DIR/db"
	local s=/etc/ldap/schema
	cat >"$LDAP_DIR/slapd.conf" <<EOF
# berth test directory (tests/lib/services.sh)
include $s/core.schema
include $s/cosine.schema
include $s/nis.schema
include $s/inetorgperson.schema
pidfile $LDAP_DIR/slapd.pid
argsfile $LDAP_DIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 67108864
suffix "$LDAP_BASE"
rootdn "$LDAP_ROOTDN"
rootpw $LDAP_ROOTPW
directory $LDAP_DIR/db
index objectClass,uid,uidNumber,gidNumber,memberUid,cn eq
access to * by * read
EOF
	_berth_service_logs+=("$LDAP_DIR/slapd.log")
	# -d 0: stay in the foreground (so we own the pid) without debug noise.
	_berth_spawn /usr/sbin/slapd -d 0 -h "$LDAP_URI" -f "$LDAP_DIR/slapd.conf" >"$LDAP_DIR/slapd.log" 2>&1
	SLAPD_PID=$!
	on_exit "kill $SLAPD_PID 2>/dev/null; wait $SLAPD_PID 2>/dev/null"
	wait_until 20 _slapd_up || fail "slapd did not answer on $LDAP_URI"
	_ldap ldapadd <<EOF || fail "cannot create the LDAP base entries"
dn: $LDAP_BASE
objectClass: dcObject
objectClass: organization
dc: berth
o: berth test

dn: ou=people,$LDAP_BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$LDAP_BASE
objectClass: organizationalUnit
ou: groups
EOF
}

_slapd_up() {
	kill -0 "$SLAPD_PID" 2>/dev/null || {
		cat "$LDAP_DIR/slapd.log" >&2
		fail "slapd exited at startup"
	}
	_ldap_answers
}

_ldap_count() { # FILTER -> number of entries below the base
	ldapsearch -x -LLL -H "$LDAP_URI" -b "$LDAP_BASE" "$1" dn 2>/dev/null | grep -c '^dn:' || true
}

# ldap_add_user NAME UID GID HOME [GROUP[:GID]]...
# Creates the posixAccount (shell $LDAP_USER_SHELL), a posixGroup named NAME
# for GID unless one with that gid exists, and adds NAME as memberUid of each
# GROUP (created with GID when it does not exist yet).
ldap_add_user() {
	local name=$1 uid=$2 gid=$3 home=$4 spec g ggid
	shift 4
	[ -n "$LDAP_URI" ] || fail "ldap_add_user: start_ldap first"
	if [ "$(_ldap_count "(&(objectClass=posixGroup)(gidNumber=$gid))")" -eq 0 ]; then
		_ldap ldapadd <<EOF || fail "cannot add LDAP group $name ($gid)"
dn: cn=$name,ou=groups,$LDAP_BASE
objectClass: posixGroup
cn: $name
gidNumber: $gid
EOF
	fi
	_ldap ldapadd <<EOF || fail "cannot add LDAP user $name"
dn: uid=$name,ou=people,$LDAP_BASE
objectClass: account
objectClass: posixAccount
objectClass: shadowAccount
uid: $name
cn: $name
uidNumber: $uid
gidNumber: $gid
homeDirectory: $home
loginShell: $LDAP_USER_SHELL
gecos: $name (berth LDAP test user)
EOF
	for spec in "$@"; do
		g=${spec%%:*}
		ggid=
		[ "$g" = "$spec" ] || ggid=${spec#*:}
		if [ "$(_ldap_count "(&(objectClass=posixGroup)(cn=$g))")" -eq 0 ]; then
			[ -n "$ggid" ] || fail "ldap_add_user: group $g does not exist and has no gid"
			_ldap ldapadd <<EOF || fail "cannot add LDAP group $g ($ggid)"
dn: cn=$g,ou=groups,$LDAP_BASE
objectClass: posixGroup
cn: $g
gidNumber: $ggid
memberUid: $name
EOF
		else
			ldap_add_member "$g" "$name"
		fi
	done
}

# ldap_add_member GROUP USER: USER (LDAP or local) into an LDAP group's memberUid.
ldap_add_member() {
	_ldap ldapmodify <<EOF || fail "cannot add $2 to LDAP group $1"
dn: cn=$1,ou=groups,$LDAP_BASE
changetype: modify
add: memberUid
memberUid: $2
EOF
}

# pam_sshd_stack FILE MODULE: the sshd PAM service the e2e tests bind over
# /etc/pam.d/sshd.  Pubkey auth is sshd's own (no PAM auth), pam_permit for
# account, pam_unix + MODULE for the session.  MODULE is `required` here
# (docs/pam.md recommends `optional`) so that every failed open shows in
# sshd's own log as "PAM: pam_open_session(): ...": there is no syslog to
# read the module's lines from.
pam_sshd_stack() {
	cat >"$1" <<EOF
# berth test PAM service for sshd (tests/lib/services.sh, $TEST_NAME)
auth       required   pam_deny.so
account    required   pam_permit.so
session    required   pam_unix.so
session    required   $2 debug
EOF
}

_nslcd_up() {
	kill -0 "$NSLCD_PID" 2>/dev/null || {
		cat "$LDAP_DIR/nslcd.log" >&2
		fail "nslcd exited at startup"
	}
	berth_ns_run test -S /run/nslcd/socket
}

# start_nslcd: nslcd for the test directory plus an nsswitch.conf with
# `passwd: files ldap`, both only inside the test namespace, where start_sshd
# puts sshd: every process sshd starts resolves the LDAP users.
start_nslcd() {
	[ -z "$NSLCD_PID" ] || return 0
	[ -n "$LDAP_URI" ] || start_ldap ""
	[ -x /usr/sbin/nslcd ] || skip "needs /usr/sbin/nslcd (Debian package nslcd)"
	ls /lib/*/libnss_ldap.so.2 /usr/lib/*/libnss_ldap.so.2 >/dev/null 2>&1 ||
		skip "needs libnss_ldap.so.2 (Debian package libnss-ldapd)"
	getent passwd nslcd >/dev/null || skip "needs the nslcd system user (Debian package nslcd)"
	berth_ns_start

	cat >"$LDAP_DIR/nslcd.conf" <<EOF
# berth test nslcd (tests/lib/services.sh)
uid nslcd
gid nslcd
uri $LDAP_URI
base $LDAP_BASE
EOF
	chmod 0640 "$LDAP_DIR/nslcd.conf"
	chgrp nslcd "$LDAP_DIR/nslcd.conf"
	cat >"$LDAP_DIR/nsswitch.conf" <<'EOF'
# berth test nsswitch.conf (tests/lib/services.sh)
passwd:         files ldap
group:          files ldap
shadow:         files
hosts:          files dns
networks:       files
protocols:      db files
services:       db files
ethers:         db files
rpc:            db files
netgroup:       files
EOF
	chmod 0644 "$LDAP_DIR/nsswitch.conf"
	berth_ns_bind "$LDAP_DIR/nslcd.conf" /etc/nslcd.conf
	berth_ns_bind "$LDAP_DIR/nsswitch.conf" /etc/nsswitch.conf
	berth_ns_run chown nslcd:nslcd /run/nslcd

	_berth_service_logs+=("$LDAP_DIR/nslcd.log")
	_berth_spawn nsenter -t "$BERTH_NS_PID" -m -- /usr/sbin/nslcd -d >"$LDAP_DIR/nslcd.log" 2>&1
	NSLCD_PID=$!
	on_exit "kill $NSLCD_PID 2>/dev/null; wait $NSLCD_PID 2>/dev/null"
	wait_until 20 _nslcd_up || fail "nslcd did not create /run/nslcd/socket"
}
