# tests/e2e/ssh_lib.sh - the end-to-end checks through a real OpenSSH sshd,
# shared by both deployments so they prove exactly the same things:
#   test_ssh_shell.sh         berth-shell is the users' login shell
#   test_ssh_forcecommand.sh  users keep /bin/sh; sshd `ForceCommand berth-shell`
#
#   e2e_setup shell|forcecommand   users, berth.conf, sshd (takes the test lock)
#                                  BERTH_TEST_ENTRY=join: berth.conf says entry = "join"
#                                  E2E_SSHD_LINES=(...): extra sshd_config lines (shell)
#                                  (a skip while the installed berth refuses it)
#   e2e_ssh USER [ssh args...]     ssh to the test sshd as USER
#   e2e_check_*                    one group of checks each; e2e_check_all runs them
#
# Users: E2E_A and E2E_B (berthed, both in group E2E_GROUP) and E2E_ADM
# (excluded by policy.exclude_users, also in E2E_GROUP so that sshd's Match
# sends it through berth-shell too: the policy, not sshd, keeps it on the host).
# E2E_A gets uid 1000, the uid of the image's own user imguser, when that uid
# is free on the host; otherwise a copy of the image whose imguser has E2E_A's
# uid is made for E2E_A (a per-user override), so the collision is always there.

if ! declare -F start_sshd >/dev/null; then
	. "$top_srcdir/tests/lib/services.sh"
fi

E2E_SHELL=${BERTH_BINDIR:-/usr/bin}/berth-shell
E2E_MODE=''
E2E_A=bte$$a
E2E_B=bte$$b
E2E_ADM=bte$$adm
E2E_GROUP=bte$$g
E2E_IMAGE='' # the image E2E_A's container runs
E2E_DERIVED_IMAGE=''
E2E_TMUX=''
E2E_ENTRY=${BERTH_TEST_ENTRY:-exec}

e2e_require() {
	require_root
	require_cmd useradd userdel groupadd groupdel getent setsid tmux scp sftp rsync cmp stat \
		head sha256sum docker
	[ -x "$E2E_SHELL" ] || skip "berth-shell is not installed at $E2E_SHELL (make install)"
	[ -u "$E2E_SHELL" ] && [ "$(stat -c %u "$E2E_SHELL")" = 0 ] ||
		skip "$E2E_SHELL is not setuid root (make install without --disable-setuid-install)"
	require_test_image
	_e2e_entry_available
}

# The entry mode asked for must be one the installed berth accepts: join mode
# is refused at config load until it lands (the join tests skip until then).
_e2e_entry_available() {
	local ctl=${BERTH_SBINDIR:-/usr/sbin}/berthctl conf=$TEST_TMPDIR/entry-probe.conf out
	case $E2E_ENTRY in exec | join) ;; *) fail "BERTH_TEST_ENTRY=$E2E_ENTRY: exec or join" ;; esac
	[ "$E2E_ENTRY" != exec ] || return 0
	printf 'image = "%s";\nentry = "%s";\n' "$BERTH_TEST_IMAGE" "$E2E_ENTRY" >"$conf"
	out=$("$ctl" -c "$conf" check --no-audit 2>&1) || true
	# a config error names file:line and the key
	case $out in
	*"$conf:"[0-9]*": entry:"*)
		skip "the installed berth refuses entry = \"$E2E_ENTRY\" ($(grep -m1 -F "$conf:" <<<"$out"))"
		;;
	esac
}

e2e_container() { printf 'berth-%s\n' "$1"; }

e2e_cleanup() {
	local u
	[ -z "$E2E_TMUX" ] || tmux -S "$E2E_TMUX" kill-server 2>/dev/null
	for u in "$E2E_A" "$E2E_B" "$E2E_ADM"; do
		docker rm -f "$(e2e_container "$u")" >/dev/null 2>&1
		remove_test_user "$u"
	done
	getent group "$E2E_GROUP" >/dev/null && groupdel "$E2E_GROUP" >/dev/null 2>&1
	[ -z "$E2E_DERIVED_IMAGE" ] || docker image rm -f "$E2E_DERIVED_IMAGE" >/dev/null 2>&1
	return 0
}

# A copy of the test image in which imguser/imggroup have uid/gid $1/$2.
_e2e_derive_image() {
	local uid=$1 gid=$2 c=bte$$-imgcopy dir=$TEST_TMPDIR/imgcopy
	E2E_DERIVED_IMAGE=berth-e2e-sameuid:$$
	mkdir -p "$dir"
	docker create --name "$c" "$BERTH_TEST_IMAGE" /bin/true >/dev/null || fail "docker create $c"
	docker cp "$c:/etc/passwd" "$dir/passwd" && docker cp "$c:/etc/group" "$dir/group" ||
		fail "cannot copy /etc/passwd out of $BERTH_TEST_IMAGE"
	sed -i "s/^imguser:x:1000:1000:/imguser:x:$uid:$gid:/" "$dir/passwd"
	sed -i "s/^imggroup:x:1000:/imggroup:x:$gid:/" "$dir/group"
	docker cp "$dir/passwd" "$c:/etc/passwd" && docker cp "$dir/group" "$c:/etc/group" ||
		fail "cannot write /etc/passwd into $c"
	docker commit "$c" "$E2E_DERIVED_IMAGE" >/dev/null || fail "docker commit $c"
	docker rm -f "$c" >/dev/null
}

# Failures after someone else's `make install` replaced berth.conf mid-run
# are no berth bug: say so next to them.
_e2e_conf_unchanged() {
	[ "$(sha256sum <"$BERTH_CONFIG_PATH")" = "$E2E_CONF_SUM" ] ||
		diag "WARNING: $BERTH_CONFIG_PATH was replaced while this test ran (make install?): failures above may come from that"
}

# e2e_write_config HOST_SHELL [LINES]: the e2e tests' berth.conf: the test
# image, never pulled, entry $E2E_ENTRY, root and E2E_ADM excluded (they get
# HOST_SHELL), then LINES.
e2e_write_config() {
	berth_write_config <<EOF
# written by tests/e2e/ssh_lib.sh ($TEST_NAME)
image = "$BERTH_TEST_IMAGE";
pull = "never";
entry = "$E2E_ENTRY";
shell = { fallback = "/bin/sh"; host = "$1"; };
policy = { exclude_users = [ "root", "$E2E_ADM" ]; };
${2:-}
EOF
}

# e2e_setup shell|forcecommand
e2e_setup() {
	local shell uid_opt=() a_uid a_gid users_conf=''
	E2E_MODE=$1
	e2e_require
	berth_test_lock
	on_exit e2e_cleanup

	case $E2E_MODE in
	shell) shell=$E2E_SHELL ;;
	# Not bash: sshd runs the forced command through the login shell, and
	# Debian's bash reads ~/.bashrc for `bash -c` over ssh (docs/security.md).
	forcecommand) shell=${E2E_FC_SHELL:-/bin/sh} ;;
	*) fail "e2e_setup: unknown mode $E2E_MODE" ;;
	esac
	groupadd "$E2E_GROUP" || fail "groupadd $E2E_GROUP"
	if ! getent passwd 1000 >/dev/null && ! getent group 1000 >/dev/null; then
		uid_opt=(-u 1000 -g 1000)
		groupadd -g 1000 "$E2E_A" || fail "groupadd $E2E_A"
	else
		uid_opt=(-U)
	fi
	useradd -m "${uid_opt[@]}" -G "$E2E_GROUP" -s "$shell" "$E2E_A" || fail "useradd $E2E_A"
	useradd -m -U -G "$E2E_GROUP" -s "$shell" "$E2E_B" || fail "useradd $E2E_B"
	useradd -m -U -G "$E2E_GROUP" -s "$shell" "$E2E_ADM" || fail "useradd $E2E_ADM"
	# useradd leaves the password locked ("!"), and sshd refuses locked accounts
	# even for key logins when UsePAM is off; "*" = no password, not locked.
	usermod -p '*' "$E2E_A" && usermod -p '*' "$E2E_B" && usermod -p '*' "$E2E_ADM" ||
		fail "cannot unlock the test users"
	a_uid=$(id -u "$E2E_A")
	a_gid=$(id -g "$E2E_A")

	E2E_IMAGE=$BERTH_TEST_IMAGE
	if [ "$a_uid" != 1000 ]; then
		diag "uid 1000 is taken on this host: $E2E_A gets uid $a_uid and an image copy whose imguser has it"
		_e2e_derive_image "$a_uid" "$a_gid"
		E2E_IMAGE=$E2E_DERIVED_IMAGE
		users_conf="users = ( { user = \"$E2E_A\"; image = \"$E2E_IMAGE\"; } );"
	fi

	e2e_write_config /bin/bash "$users_conf
${E2E_ENGINE_CONF:-}"

	E2E_CONF_SUM=$(sha256sum <"$BERTH_CONFIG_PATH")
	on_exit _e2e_conf_unchanged

	if [ "$E2E_MODE" = shell ]; then
		start_sshd "$(pick_port 2400)" ${E2E_SSHD_LINES[@]+"${E2E_SSHD_LINES[@]}"}
	else
		start_sshd "$(pick_port 2600)" "Match Group $E2E_GROUP" "ForceCommand $E2E_SHELL"
	fi
	berth_ns_syslog # berth's own lines, shown when the test fails
	diag "mode=$E2E_MODE entry=$E2E_ENTRY sshd on 127.0.0.1:$SSHD_PORT users $E2E_A($a_uid) $E2E_B $E2E_ADM"
	# The fixture itself (sshd, key, accounts) must work before any check
	# means anything: the excluded admin's login involves no container.
	e2e_ssh "$E2E_ADM" true </dev/null 2>"$TEST_TMPDIR/preflight.err" ||
		fail "the test sshd does not let $E2E_ADM in: $(cat "$TEST_TMPDIR/preflight.err")"
	E2E_TMUX=$TEST_TMPDIR/tmux.sock
}

# e2e_guide_sshd PORT [--head LINE]... [LINE...]: the forwarding tests' fixture
# (--head LINEs go before the Match block, the others first in it: sshd takes
# the first value it reads). E2E_A (login shell
# berth-shell) and E2E_B (/bin/sh, ForceCommand from the block) in E2E_GROUP,
# E2E_ADM outside it (the caller's berth.conf excludes it); pam_berth in sshd's
# session stack; sshd with the guide's Match block, read from
# etc/sshd_config.example itself (in E2E_MATCH), so the tests follow the guide.
e2e_guide_sshd() {
	local module=${BERTH_PAMDIR:-/lib/x86_64-linux-gnu/security}/pam_berth.so u port=$1 head=() first=()
	shift
	while [ $# -gt 0 ]; do
		if [ "$1" = --head ]; then head+=("$2"); shift 2; else first+=("$1"); shift; fi
	done
	[ -f "$module" ] || skip "$module not installed (make install)"
	berth_test_lock
	on_exit e2e_cleanup
	groupadd "$E2E_GROUP" || fail "groupadd $E2E_GROUP"
	useradd -m -U -G "$E2E_GROUP" -s "$E2E_SHELL" "$E2E_A" || fail "useradd $E2E_A"
	useradd -m -U -G "$E2E_GROUP" -s /bin/sh "$E2E_B" || fail "useradd $E2E_B"
	useradd -m -U -s /bin/sh "$E2E_ADM" || fail "useradd $E2E_ADM"
	for u in "$E2E_A" "$E2E_B" "$E2E_ADM"; do usermod -p '*' "$u" || fail "usermod $u"; done
	mapfile -t E2E_MATCH < <(sed -n '/^Match Group berthed/,$p' "$top_srcdir/etc/sshd_config.example" |
		sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' -e "s|^Match Group berthed|Match Group $E2E_GROUP|" \
			-e "s|/usr/bin/berth-shell|$E2E_SHELL|")
	[ "${#E2E_MATCH[@]}" -gt 3 ] || fail "no 'Match Group berthed' block in etc/sshd_config.example"
	E2E_MATCH=("${E2E_MATCH[0]}" "${first[@]}" "${E2E_MATCH[@]:1}")
	pam_sshd_stack "$TEST_TMPDIR/pam.sshd" "$module"
	chmod 0644 "$TEST_TMPDIR/pam.sshd"
	start_sshd --pam --bind "$TEST_TMPDIR/pam.sshd" /etc/pam.d/sshd "$port" "${head[@]}" "${E2E_MATCH[@]}"
	diag "sshd on 127.0.0.1:$SSHD_PORT with pam_berth and the guide's block: $(printf '%s; ' "${E2E_MATCH[@]}")"
}

# Every client command is bounded: a session that hangs is a failed check,
# never a stalled test suite.
E2E_TIMEOUT=${E2E_TIMEOUT:-30}
e2e_timeout() { timeout -k 5 "$E2E_TIMEOUT" "$@"; }

e2e_ssh() {
	local u=$1
	shift
	e2e_timeout ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" "$u@127.0.0.1" "$@"
}

# e2e_status USER CMD: ssh's exit status for CMD (its output dropped; what
# it printed to stderr, when it failed, as a diagnostic).
e2e_status() {
	local rc=0
	e2e_ssh "$1" "$2" </dev/null >/dev/null 2>"$TEST_TMPDIR/status.err" || rc=$?
	[ "$rc" = 0 ] || [ ! -s "$TEST_TMPDIR/status.err" ] ||
		diag "ssh $1 '$2' exited $rc: $(tr '\n' ' ' <"$TEST_TMPDIR/status.err")"
	echo "$rc"
}

# ---------------------------------------------------------------- identity

e2e_check_identity() {
	local u=$E2E_A uid gid out img_uid host_init
	uid=$(id -u "$u")
	gid=$(id -g "$u")
	out=$(e2e_ssh "$u" 'whoami; id -un; id -u; id -g; echo "$HOME"; pwd; hostname' </dev/null 2>&1) || true
	assert_eq "$u
$u
$uid
$gid
/home/$u
/home/$u
$u-box" "$out" "whoami, id -un, id -u, id -g, HOME, cwd and hostname are the user's, in the container"
	out=$(e2e_ssh "$u" id </dev/null 2>&1) || true
	assert_contains "$out" "uid=$uid($u) gid=$gid($u)" "id names the user and the primary group"
	assert_contains "$out" "($E2E_GROUP)" "id lists the supplementary group from the host"

	# The collision the checks above must survive really is there: the image
	# names uid $uid imguser; inside the container that uid is the user alone.
	img_uid=$(docker run --rm --network none --entrypoint /bin/busybox "$E2E_IMAGE" \
		awk -F: '$1 == "imguser" { print $3 }' /etc/passwd 2>&1) || true
	assert_eq "$uid" "$img_uid" "the image has its own user imguser with the same uid $uid"
	out=$(e2e_ssh "$u" "awk -F: '\$3 == $uid { print \$1 }' /etc/passwd" </dev/null 2>&1) || true
	assert_eq "$u" "$out" "in the container, uid $uid is the user's and nobody else's"

	host_init=$(cat /proc/1/comm)
	out=$(e2e_ssh "$u" 'cat /proc/1/comm' </dev/null 2>&1) || true
	check "the command runs in the container (its pid 1 is not the host's $host_init)" \
		test -n "$out" -a "$out" != "$host_init"
	check "the container is berth-$u, running" \
		test "$(docker inspect -f '{{.State.Running}}' "$(e2e_container "$u")" 2>/dev/null)" = true
	out=$(docker inspect -f '{{.Image}}' "$(e2e_container "$u")" 2>/dev/null) || true
	assert_eq "$(docker image inspect -f '{{.Id}}' "$E2E_IMAGE")" "$out" "berth-$u runs the configured image"
}

# ---------------------------------------------------------------- exit codes

e2e_check_exit_codes() {
	local u=$E2E_A
	assert_eq 0 "$(e2e_status "$u" true)" "ssh host true exits 0"
	assert_eq 42 "$(e2e_status "$u" 'exit 42')" "ssh host 'exit 42' exits 42"
	assert_eq 127 "$(e2e_status "$u" bte-no-such-command)" "a missing command exits 127"
	assert_contains "$(cat "$TEST_TMPDIR/status.err")" "not found" "... and says so on stderr"
	assert_eq 126 "$(e2e_status "$u" /etc/passwd)" "a command that is not executable exits 126"
	assert_eq 137 "$(e2e_status "$u" 'kill -KILL $$')" "a command killed by SIGKILL exits 137"
	assert_eq 130 "$(e2e_status "$u" 'kill -INT $$')" "a command killed by SIGINT exits 130"
	assert_eq 143 "$(e2e_status "$u" 'kill -TERM $$')" "a command killed by SIGTERM exits 143"
}

# ---------------------------------------------------------------- stdio

e2e_check_stdio() {
	local u=$E2E_A d=$TEST_TMPDIR/stdio out
	mkdir -p "$d"
	e2e_ssh "$u" 'echo out; echo err >&2; echo out2; echo err2 >&2' </dev/null >"$d/out.txt" 2>"$d/err.txt" || true
	assert_eq "out
out2" "$(cat "$d/out.txt")" "stdout carries only stdout"
	assert_eq "err
err2" "$(cat "$d/err.txt")" "stderr carries only stderr"

	out=$(printf 'line1\nline2\n' | e2e_ssh "$u" 'cat; echo "after-eof"' 2>&1) || true
	assert_eq "line1
line2
after-eof" "$out" "stdin reaches the command, and its EOF too (cat returns)"
	out=$(printf 'abc' | e2e_ssh "$u" 'wc -c' 2>&1) || true
	assert_eq 3 "$(echo $out)" "stdin without a trailing newline arrives intact"

	# Binary-safe and not line-buffered either way: 8 MiB of random bytes.
	head -c 8M /dev/urandom >"$d/blob"
	check "8 MiB of random bytes round-trip through ssh host cat" _e2e_roundtrip "$u" "$d/blob"
	e2e_ssh "$u" 'cat > blob.in' <"$d/blob" || true
	check "... and written to ~/blob.in in the container, land in the host home byte-exact" \
		cmp -s "$d/blob" "/home/$u/blob.in"
	assert_eq "$u" "$(stat -c %U "/home/$u/blob.in" 2>&1)" "... owned by the user on the host"
	check "a binary stream the container produces arrives intact" _e2e_fetch_cmp "$u" blob.in "$d/blob"
}

_e2e_roundtrip() { e2e_ssh "$1" cat <"$2" | cmp -s - "$2"; }
_e2e_fetch_cmp() { e2e_ssh "$1" "cat $2" </dev/null | cmp -s - "$3"; }

# ---------------------------------------------------------------- file transfer

_e2e_owned_copy() { # DESC USER HOSTFILE REFERENCE
	check "$1: content" cmp -s "$4" "$3"
	assert_eq "$2" "$(stat -c %U "$3" 2>&1)" "$1: owned by $2 on the host"
}

e2e_check_transfers() {
	local u=$E2E_A h=/home/$E2E_A d=$TEST_TMPDIR/xfer dest="$E2E_A@127.0.0.1" scp_opts sum
	mkdir -p "$d/tree/sub" "$d/back"
	head -c 3M /dev/urandom >"$d/up.bin"
	scp_opts=(-q "${SSH_OPTS[@]}" -P "$SSHD_PORT")

	# Made in the container, to be fetched by every tool below.
	e2e_ssh "$u" 'head -c 2097152 /dev/urandom > made-inside.bin && sha256sum made-inside.bin' \
		</dev/null >"$d/inside.sum" 2>&1 || true
	sum=$(sha256sum "$h/made-inside.bin" 2>/dev/null | cut -d' ' -f1)
	check "a file written in the container appears in the host home, same bytes" \
		test -n "$sum" -a "$sum" = "$(cut -d' ' -f1 "$d/inside.sum")"
	assert_eq "$u" "$(stat -c %U "$h/made-inside.bin" 2>&1)" "... owned by the user on the host"

	# scp over SFTP (OpenSSH 9 default, -s) and over the legacy protocol (-O, runs scp -t/-f).
	e2e_timeout scp -s "${scp_opts[@]}" "$d/up.bin" "$dest:up-sftp.bin" </dev/null 2>"$d/scp.err" || diag "$(cat "$d/scp.err")"
	_e2e_owned_copy "scp (SFTP protocol) upload" "$u" "$h/up-sftp.bin" "$d/up.bin"
	e2e_timeout scp -s "${scp_opts[@]}" "$dest:made-inside.bin" "$d/down-sftp.bin" </dev/null 2>"$d/scp.err" || diag "$(cat "$d/scp.err")"
	check "scp (SFTP protocol) download" cmp -s "$h/made-inside.bin" "$d/down-sftp.bin"
	e2e_timeout scp -O "${scp_opts[@]}" "$d/up.bin" "$dest:up-legacy.bin" </dev/null 2>"$d/scp.err" || diag "$(cat "$d/scp.err")"
	_e2e_owned_copy "scp (legacy protocol) upload" "$u" "$h/up-legacy.bin" "$d/up.bin"
	e2e_timeout scp -O "${scp_opts[@]}" "$dest:made-inside.bin" "$d/down-legacy.bin" </dev/null 2>"$d/scp.err" || diag "$(cat "$d/scp.err")"
	check "scp (legacy protocol) download" cmp -s "$h/made-inside.bin" "$d/down-legacy.bin"

	# sftp in batch mode: the sftp-server subsystem, run inside the container.
	cat >"$d/batch" <<EOF
put $d/up.bin sftp-up.bin
get made-inside.bin $d/sftp-down.bin
mkdir sftp-dir
EOF
	e2e_timeout sftp -b "$d/batch" -q "${SSH_OPTS[@]}" -P "$SSHD_PORT" "$dest" </dev/null >"$d/sftp.out" 2>&1 ||
		diag "$(cat "$d/sftp.out")"
	_e2e_owned_copy "sftp put" "$u" "$h/sftp-up.bin" "$d/up.bin"
	check "sftp get" cmp -s "$h/made-inside.bin" "$d/sftp-down.bin"
	assert_eq "$u" "$(stat -c %U "$h/sftp-dir" 2>&1)" "sftp mkdir: a directory owned by the user"

	# rsync both ways (rsync --server runs in the container).
	head -c 100000 /dev/urandom >"$d/tree/a.bin"
	echo "hello from the host" >"$d/tree/sub/b.txt"
	ln -s sub/b.txt "$d/tree/link"
	e2e_timeout rsync -a -e "$SSH_RSH" "$d/tree/" "$dest:rs/" </dev/null >"$d/rsync.out" 2>&1 ||
		diag "$(cat "$d/rsync.out")"
	check "rsync upload: the tree arrives in the host home" diff -r "$d/tree" "$h/rs"
	assert_eq "$u $u" "$(stat -c %U "$h/rs/a.bin" "$h/rs/sub/b.txt" 2>&1 | tr '\n' ' ' | sed 's/ $//')" \
		"rsync upload: files owned by the user"
	check "rsync upload: the symlink is a symlink" test -L "$h/rs/link"
	e2e_ssh "$u" 'echo "made inside" > rs/sub/c.txt' </dev/null || true
	e2e_timeout rsync -a -e "$SSH_RSH" "$dest:rs/" "$d/back/" </dev/null >"$d/rsync.out" 2>&1 ||
		diag "$(cat "$d/rsync.out")"
	check "rsync download: the tree comes back, with the file made in the container" \
		diff -r "$h/rs" "$d/back"
	assert_eq "made inside" "$(cat "$d/back/sub/c.txt" 2>&1)" "rsync download: content of the container's file"
}

# ---------------------------------------------------------------- terminal

_e2e_tmux() { TERM=xterm tmux -S "$E2E_TMUX" "$@"; }

# _e2e_pane_has SESSION REGEX: a line of the pane's screen or history matches.
_e2e_pane_has() {
	_e2e_tmux capture-pane -p -J -S -300 -t "$1" 2>/dev/null | grep -qE "$2"
}

_e2e_pane_dump() {
	diag "---- pane $1:"
	_e2e_tmux capture-pane -p -J -S -300 -t "$1" 2>/dev/null | sed 's/^/#   /' >&2 || true
}

# _e2e_tty_session SESSION DIR WIDTH HEIGHT COMMAND: the shell line COMMAND in
# a detached tmux pane of that size; DIR/before and DIR/after get the pane's
# own stty settings around it, DIR/rc its exit status.
_e2e_tty_session() {
	cat >"$2/session.sh" <<EOF
stty -g >'$2/before'
$5
echo \$? >'$2/rc.tmp' && mv '$2/rc.tmp' '$2/rc'
stty -g >'$2/after'
sleep 60
EOF
	_e2e_tmux new-session -d -s "$1" -x "$3" -y "$4" "bash '$2/session.sh'" || fail "tmux new-session"
}

# _e2e_tty_wait_end SESSION DIR DESC: status 0 once the session's command
# has ended (DIR/rc, then DIR/after); else the pane's text, not_ok DESC, 1.
_e2e_tty_wait_end() {
	if wait_until 20 test -s "$2/rc"; then
		wait_until 5 test -s "$2/after" || true
		return 0
	fi
	_e2e_pane_dump "$1"
	not_ok "$3"
	return 1
}

# _e2e_tty_exit SESSION DIR KEYS STATUS WHAT: type KEYS (and Enter) to end
# the session, then check it ended with STATUS and the pane's terminal
# settings are back; the pane goes.
_e2e_tty_exit() {
	_e2e_tmux send-keys -t "$1" "$3" Enter
	if _e2e_tty_wait_end "$1" "$2" "$3 ends $5"; then
		assert_eq "$4" "$(cat "$2/rc")" "$3 ends $5, ssh exits $4"
		assert_eq "$(cat "$2/before")" "$(cat "$2/after" 2>/dev/null)" \
			"the client's terminal settings are restored after $5"
	fi
	_e2e_tmux kill-session -t "$1" 2>/dev/null || true
}

# _e2e_pane_wait SESSION ERE DESC: ok DESC once ERE shows in the pane (30 s);
# else the pane's text, not_ok DESC and status 1.
_e2e_pane_wait() {
	if ! wait_until 30 _e2e_pane_has "$1" "$2"; then
		_e2e_pane_dump "$1"
		not_ok "$3"
		return 1
	fi
	ok "$3"
}

e2e_check_tty() {
	local u=$E2E_A d=$TEST_TMPDIR/tty s=bte-interactive
	mkdir -p "$d"
	# The pane's own terminal settings before and after the session: ssh puts
	# it in raw mode and must get it back whatever happened on the far side.
	_e2e_tty_session "$s" "$d" 100 30 "ssh ${SSH_OPTS[*]} -tt -p $SSHD_PORT $u@127.0.0.1"
	_e2e_tmux set-option -t "$s" remain-on-exit on >/dev/null 2>&1 || true

	# Wait for a prompt (the first output from the container's shell).
	_e2e_tmux send-keys -t "$s" 'echo "TTY:$(tty)"' Enter
	_e2e_pane_wait "$s" '^TTY:/dev/pts/[0-9]+' "an interactive ssh session gets a terminal in the container" || return 0
	_e2e_tmux send-keys -t "$s" 'echo "WHO:$(whoami)@$(hostname)"' Enter
	check "... as the user, in the container" wait_until 10 _e2e_pane_has "$s" "^WHO:$u@$u-box"
	_e2e_tmux send-keys -t "$s" 'echo "SZ:$(stty size)"' Enter
	check "stty size inside is the client's window: 30 100" wait_until 10 _e2e_pane_has "$s" '^SZ:30 100 *$'

	_e2e_tmux resize-window -t "$s" -x 120 -y 40
	sleep 0.5
	_e2e_tmux send-keys -t "$s" 'echo "SZ:$(stty size)"' Enter
	check "after a resize, stty size inside follows: 40 120" wait_until 10 _e2e_pane_has "$s" '^SZ:40 120 *$'

	# ^C on the terminal reaches the foreground command, not the session.
	_e2e_tmux send-keys -t "$s" 'sleep 100' Enter
	sleep 1
	_e2e_tmux send-keys -t "$s" C-c
	_e2e_tmux send-keys -t "$s" 'echo "RC:$?"' Enter
	check "^C interrupts the foreground command (status 130), the session lives on" \
		wait_until 10 _e2e_pane_has "$s" '^RC:130 *$'

	_e2e_tty_exit "$s" "$d" exit 0 "the interactive session"
}

# ---------------------------------------------------------------- processes

_e2e_top_has() { docker top "$1" 2>/dev/null | grep -q -- "$2"; }

e2e_check_processes() {
	local s=bte-hangup out pid
	# A session of A with a long command, on a terminal (ssh -tt), as a real
	# user would leave one running.
	_e2e_tmux new-session -d -s "$s" -x 80 -y 24 \
		"exec ssh ${SSH_OPTS[*]} -tt -p $SSHD_PORT $E2E_A@127.0.0.1 'sleep 301'" || fail "tmux new-session"
	if ! wait_until 30 _e2e_top_has "$(e2e_container "$E2E_A")" 'sleep 301'; then
		_e2e_pane_dump "$s"
		not_ok "a command of $E2E_A runs in berth-$E2E_A"
		return 0
	fi
	ok "a command of $E2E_A runs in berth-$E2E_A"
	out=$(e2e_ssh "$E2E_A" ps </dev/null 2>&1) || true
	assert_contains "$out" "sleep 301" "$E2E_A's ps shows it"
	out=$(e2e_ssh "$E2E_B" 'ps; echo END' </dev/null 2>&1) || true
	assert_contains "$out" "END" "$E2E_B can run ps"
	case $out in
	*"sleep 301"*) not_ok "$E2E_B's ps does not show $E2E_A's process"; diag "$out" ;;
	*) ok "$E2E_B's ps does not show $E2E_A's process" ;;
	esac
	# By uid: busybox ps cuts user names to 8 characters.
	out=$(e2e_ssh "$E2E_B" 'for p in /proc/[0-9]*; do stat -c %u "$p" 2>/dev/null; done | sort -u' </dev/null 2>&1) || true
	assert_eq "$(id -u "$E2E_B")" "$(echo $out)" "$E2E_B sees only processes of its own uid"

	# Hanging up (the client dies, sshd closes the terminal) ends the command.
	pid=$(_e2e_tmux display-message -p -t "$s" '#{pane_pid}' 2>/dev/null) || pid=
	if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then
		check "when the client goes away, the command in the container is killed" \
			wait_until 20 bash -c "! docker top '$(e2e_container "$E2E_A")' 2>/dev/null | grep -q 'sleep 301'"
	else
		not_ok "when the client goes away, the command in the container is killed (no client pid)"
	fi
	_e2e_tmux kill-session -t "$s" 2>/dev/null || true
}

# Concurrent sessions of one user share one container.
e2e_check_concurrent() {
	local u=$E2E_B i d=$TEST_TMPDIR/conc pids=() rcs=0 n
	mkdir -p "$d"
	for i in 1 2 3 4 5 6; do
		e2e_ssh "$u" 'hostname' </dev/null >"$d/$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || rcs=$((rcs + 1)); done
	assert_eq 0 "$rcs" "6 concurrent sessions of $u all succeed"
	assert_eq "$u-box" "$(cat "$d"/*.out | sort -u | tr '\n' ' ' | sed 's/ $//')" "... all in $u's container"
	n=$(docker ps -a --filter "label=berth.user=$u" --format '{{.Names}}' | wc -l)
	assert_eq 1 "$n" "... one container for $u"
}

# ---------------------------------------------------------------- excluded admin

e2e_check_excluded() {
	local u=$E2E_ADM out
	out=$(e2e_ssh "$u" 'cat /proc/1/comm; hostname; id -un' </dev/null 2>&1) || true
	assert_eq "$(cat /proc/1/comm)
$(hostname)
$u" "$out" "the excluded admin lands on the host (host pid 1, host hostname)"
	assert_eq 7 "$(e2e_status "$u" 'exit 7')" "the excluded admin's exit status passes through"
	check "no container was made for the excluded admin" \
		bash -c "! docker inspect '$(e2e_container "$u")' >/dev/null 2>&1"
}

e2e_check_all() {
	e2e_check_identity
	e2e_check_exit_codes
	e2e_check_stdio
	e2e_check_transfers
	e2e_check_tty
	e2e_check_processes
	e2e_check_concurrent
	e2e_check_excluded
}
