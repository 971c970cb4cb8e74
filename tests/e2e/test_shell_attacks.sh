#!/bin/bash
# test_shell_attacks.sh - the installed setuid berth-shell, invoked directly the
# way sshd or su would (real uid = the user, effective uid root through the
# setuid bit), by a hostile local user: identity, exit statuses, the data path,
# the TTY, and every defence listed in docs/security.md.
#
# Needs root, dockerd and `make install` (berth-shell setuid in $BERTH_BINDIR).
# Serialised with the other tests that rewrite /etc/berth/berth.conf.
set -euo pipefail
# When /dev/log exists, the test reruns itself in a private mount namespace
# where its own socket is bind-mounted over it (tests/lib/log_ns.sh; see
# "Syslog" below), so the log checks run there too.
. "$(dirname "$0")/../lib/log_ns.sh"
berth_log_ns "$0" "$@"
. "$(dirname "$0")/../lib/common.sh"

require_root
require_cmd setpriv useradd userdel groupadd groupdel cc od cmp stty
require_test_image

SHELL_BIN=${BERTH_BINDIR:-/usr/bin}/berth-shell
[ -x "$SHELL_BIN" ] || skip "$SHELL_BIN is not installed (make install)"
[ "$(stat -c '%u %a' "$SHELL_BIN")" = "0 4755" ] ||
	fail "$SHELL_BIN is not setuid root (mode $(stat -c '%a' "$SHELL_BIN"))"

cd "$TEST_TMPDIR"
MARK=$TEST_TMPDIR/mark # what attacks would create; world-writable like /tmp
mkdir -m 1777 "$MARK"

# ---------------------------------------------------------------- helpers
# shell_helper is built by `make check`; the user runs it, so it is copied
# where they can reach it.  evil.so bakes this run's MARK directory in, so
# it is compiled here.
HELPER=$TEST_TMPDIR/shell_helper
EVIL=$TEST_TMPDIR/evil.so
install_test_helper shell_helper "$HELPER"
cc -shared -fPIC -DMARK_DIR="\"$MARK\"" -o "$EVIL" "$top_srcdir/tests/e2e/evil_preload.c" ||
	fail "cannot build evil.so"
chmod 0755 "$EVIL"

# ---------------------------------------------------------------- users, config
U=${TEST_PREFIX}u # berthed
X=${TEST_PREFIX}x # excluded
G2=${TEST_PREFIX}g
berth_test_lock
groupadd "$G2"
on_exit "groupdel '$G2'"
useradd -m -s "$SHELL_BIN" -G "$G2" "$U"
on_exit "userdel -r '$U' 2>/dev/null"
useradd -m -s "$SHELL_BIN" "$X"
on_exit "userdel -r '$X' 2>/dev/null"
U_UID=$(id -u "$U")
U_GID=$(id -g "$U")
G2_GID=$(getent group "$G2" | cut -d: -f3)
X_UID=$(id -u "$X")
X_GID=$(id -g "$X")
BOX=berth-$U
# the container, and the run state berth keeps for it (lib/session.c layout)
on_exit "docker rm -f '$BOX' >/dev/null 2>&1; rm -rf /run/berth/sessions/'$BOX' /run/berth/etc/'$BOX' /run/berth/lock/'$BOX'.lock"

write_conf() { # [socket]
	berth_write_config <<EOF
engine = { socket = "${1:-/var/run/docker.sock}"; timeout_ms = 20000; };
image = "$BERTH_TEST_IMAGE";
pull = "never";
container = { on_logout = "keep"; };
policy = { exclude_users = [ "root", "$X" ]; };
EOF
}
write_conf

# Syslog: read what berth-shell logs.  With no syslog daemon here, serve
# /dev/log ourselves; with one, in the private mount namespace (top of the
# file) a socket of ours is bind-mounted over it.  Otherwise (no unshare) the
# log checks are skipped, not faked.
SYSLOG=$TEST_TMPDIR/syslog
: >"$SYSLOG"
have_syslog=false
if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then
	"$HELPER" syslog "$SYSLOG" >"$TEST_TMPDIR/syslog.out" 2>&1 &
	syslog_pid=$!
	on_exit "kill $syslog_pid; rm -f /dev/log"
	wait_until 5 grep -q listening "$TEST_TMPDIR/syslog.out" || fail "cannot serve /dev/log"
	have_syslog=true
elif [ -n "${BERTH_LOG_NS:-}" ]; then
	require_cmd mount
	syslog_listen "$TEST_TMPDIR/log.sock" "$SYSLOG"
	mount --bind "$TEST_TMPDIR/log.sock" /dev/log || fail "cannot bind our socket over /dev/log"
	have_syslog=true
fi
# The start of one of berth-shell's lines as the file has it: "<PRI>" (facility
# authpriv: 86 info, 85 notice, 83 err), the timestamp, "berth[PID]: ";
# PID is group 1, for backreferences to session=\1.
at() { printf '^<%s>[A-Za-z]{3} [ 0-9]{2} [0-9:]{8} berth\\[([0-9]+)\\]: ' "$1"; }
INFO=$(at 86) NOTICE=$(at 85) ERR=$(at 83)
# the entry and exit lines of a berthed session
entry_re() { # TTY COMMAND
	printf '%saction=entry user=%s container=%s session=\\1 mode=exec tty=%s command=%s outcome=ok$' \
		"$INFO" "$U" "$BOX" "$1" "$2"
}
exit_re() { # DURATION-RE STATUS
	printf '%saction=exit user=%s container=%s session=\\1 duration=%s status=%s outcome=ok$' \
		"$INFO" "$U" "$BOX" "$1" "$2"
}

# shell_as UID GID [VAR=VALUE...] -- ARGS...: berth-shell as that user from a
# clean environment plus the given variables, as sshd would start it.
shell_as() {
	local uid=$1 gid=$2 envv=()
	shift 2
	while [ "$1" != -- ]; do
		envv+=("$1")
		shift
	done
	shift
	env -i PATH=/usr/bin:/bin LANG=C.UTF-8 ${envv[@]+"${envv[@]}"} \
		setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$SHELL_BIN" "$@"
}
# bse / bs: as $U, with / without extra variables; bsxe / bsx: the excluded user
bse() { shell_as "$U_UID" "$U_GID" "$@"; }
bs() { bse -- "$@"; }
bsxe() { shell_as "$X_UID" "$X_GID" "$@"; }
bsx() { bsxe -- "$@"; }
asu() { setpriv --reuid="$U_UID" --regid="$U_GID" --init-groups -- "$@"; }
not() { ! "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
status_of() { # CMD...: prints the exit status, never fails
	local rc=0
	"$@" || rc=$?
	echo "$rc"
}
no_marks() { [ -z "$(ls -A "$MARK")" ]; }
has_marks() { ! no_marks; }
# box_runs PATTERN: a process whose command line matches runs in the container
# (busybox ps; the image has no pgrep).
box_runs() { docker exec "$BOX" ps -o args | grep -q -- "$1"; }

# ---------------------------------------------------------------- identity
out=$(bs -c 'id -un; id -u; id -g; id -G; whoami; pwd; echo "$HOME"' || true)
mapfile -t l <<<"$out"
assert_eq "$U" "${l[0]:-}" "id -un inside is the invoking user"
assert_eq "$U_UID:$U_GID" "${l[1]:-}:${l[2]:-}" "uid:gid inside are the user's, not the image's imguser"
case " ${l[3]:-} " in
*" $G2_GID "*) ok "supplementary group $G2 is there inside" ;;
*) not_ok "supplementary group $G2 is there inside" && diag "id -G: ${l[3]:-}" ;;
esac
assert_eq "$U" "${l[4]:-}" "whoami inside"
assert_eq "/home/$U /home/$U" "${l[5]:-} ${l[6]:-}" "starts in the home directory, HOME set"
assert_eq "$U-box" "$(bs -c hostname)" "the command ran in the user's container"
check_syslog "entry line: user=, container=, session=PID, mode=exec, tty=no, the first word only" \
	"$(entry_re no id)"

# ---------------------------------------------------------------- log lines
: >"$SYSLOG"
bs -c 'sleep 2; exit 42' || true
check_syslog "exit line: duration in seconds and the command's status (outcome=ok: berth did its part)" \
	"$(exit_re '[2-5]' 42)"
check_syslog "its entry line: command=sleep, session= is berth-shell's pid, as in berth[PID]" \
	"$(entry_re no sleep)"
assert_eq 2 "$(grep -c "berth\[" "$SYSLOG" 2>/dev/null || true)" "exactly two lines for one session (entry, exit)"
: >"$SYSLOG"
bs -c 'echo berth-secret-1 >/dev/null' || true
bs -c 'TOKEN=berth-secret-2 true' || true
bs -c '--password=berth-secret-3' 2>/dev/null || true
bs -c $'true\naction=entry user=root forged' || true
check_syslog "a command shows its first word" "$(entry_re no echo)"
check_syslog "an assignment as first word shows as command=-" "$(entry_re no -)"
check_no_syslog "no argument of a command reaches the log" "berth-secret|forged"
check_no_syslog "no line names a user it was not about" "user=root"
bse SSH_ORIGINAL_COMMAND='printf forced' -- >/dev/null || true
check_syslog "ForceCommand: the entry line shows SSH_ORIGINAL_COMMAND's first word" \
	"$(entry_re no printf)"

# ---------------------------------------------------------------- exit statuses
assert_eq 0 "$(status_of bs -c true)" "exit status 0"
assert_eq 42 "$(status_of bs -c 'exit 42')" "exit 42 -> 42"
assert_eq 137 "$(status_of bs -c 'kill -9 $$')" "killed by SIGKILL -> 137"
assert_eq 143 "$(status_of bs -c 'kill -TERM $$')" "killed by SIGTERM -> 143"
assert_eq 127 "$(status_of bs -c 'no-such-command-xyz' 2>/dev/null)" "missing command -> 127"

# ---------------------------------------------------------------- data path
bs -c 'echo to-out; echo to-err >&2' >"$TEST_TMPDIR/o" 2>"$TEST_TMPDIR/e" || true
assert_eq "to-out" "$(cat "$TEST_TMPDIR/o")" "stdout carries stdout only"
assert_eq "to-err" "$(cat "$TEST_TMPDIR/e")" "stderr carries stderr only"

head -c 5M /dev/urandom >"$TEST_TMPDIR/rnd"
if bs -c cat <"$TEST_TMPDIR/rnd" | cmp -s - "$TEST_TMPDIR/rnd"; then
	ok "5 MiB of random bytes round-trip through cat"
else
	not_ok "5 MiB of random bytes round-trip through cat"
fi
if bs -c 'cat >/dev/null; echo done; cat /proc/self/fd/0 | wc -c' <"$TEST_TMPDIR/rnd" >"$TEST_TMPDIR/o"; then
	assert_eq "done 0" "$(tr '\n' ' ' <"$TEST_TMPDIR/o" | sed 's/ $//; s/  */ /g')" \
		"stdin EOF reaches the command, output continues after it"
else
	not_ok "stdin EOF reaches the command, output continues after it"
fi
assert_eq "abc|end" "$(printf abc | bs -c 'cat; echo "|end"' | tr -d '\n')" "short stdin then EOF"
# 100000 bytes: more than a pipe holds, less than a pipe plus berth-shell's
# buffer, so the stream ends while the rest waits in berth-shell for a reader.
assert_eq 100000 "$(bs -c 'head -c 100000 /dev/zero' | (sleep 4; wc -c))" \
	"a reader that starts late still gets every byte after the command ended"
# The reader of our stdout goes away: the command gets SIGPIPE like on a host.
set +o pipefail
bs -c 'yes' | head -c 2 >/dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
assert_eq 141 "$rc" "stdout reader gone -> command dies of SIGPIPE (141)"
sleep 0.5
check "no yes left running in the container" \
	bash -c "! docker exec '$BOX' ps -o comm | grep -qx yes"

# A protocol whose server answers the moment it starts (the sftp subsystem):
# that first answer can reach berth-shell before the engine has recorded the
# process, and must not be mistaken for a failed start and held back.
if command -v sftp >/dev/null && docker run --rm "$BERTH_TEST_IMAGE" test -x /usr/lib/openssh/sftp-server; then
	printf '#!/bin/sh\nexec setpriv --reuid=%s --regid=%s --init-groups %s -c /usr/lib/openssh/sftp-server\n' \
		"$U_UID" "$U_GID" "$SHELL_BIN" >"$TEST_TMPDIR/sftp-server"
	chmod 0755 "$TEST_TMPDIR/sftp-server"
	head -c 1M /dev/urandom >"/home/$U/sftp.bin"
	chown "$U:" "/home/$U/sftp.bin"
	echo "get sftp.bin $TEST_TMPDIR/sftp-down.bin" >"$TEST_TMPDIR/sftp.batch"
	bad=0
	for i in $(seq 1 20); do
		rm -f "$TEST_TMPDIR/sftp-down.bin"
		timeout 20 sftp -D "$TEST_TMPDIR/sftp-server" -b "$TEST_TMPDIR/sftp.batch" >/dev/null 2>&1 &&
			cmp -s "/home/$U/sftp.bin" "$TEST_TMPDIR/sftp-down.bin" || bad=$((bad + 1))
	done
	assert_eq 0 "$bad" "sftp subsystem: 20 downloads in a row, none stalls or differs"
	check_syslog "sftp: command=/usr/lib/openssh/sftp-server" \
		"$(entry_re no /usr/lib/openssh/sftp-server)"
else
	not_ok "sftp subsystem: needs sftp on the host and sftp-server in $BERTH_TEST_IMAGE"
fi

# ---------------------------------------------------------------- invocation forms
assert_eq "forced" "$(bse SSH_ORIGINAL_COMMAND='echo forced' --)" \
	"ForceCommand through a POSIX shell: no args, SSH_ORIGINAL_COMMAND runs"
assert_eq "forced2" "$(bse SSH_ORIGINAL_COMMAND='echo forced2' -- -c "$SHELL_BIN")" \
	"ForceCommand through berth-shell itself: -c berth-shell runs SSH_ORIGINAL_COMMAND"
assert_eq "$U" "$(echo 'id -un' | bs -l 2>/dev/null | tail -n1)" "-l without a terminal: login shell reads stdin"
assert_eq "$U" "$(echo 'id -un' | env -i setpriv --reuid="$U_UID" --regid="$U_GID" --init-groups -- \
	"$HELPER" noargv "$SHELL_BIN" 2>/dev/null | tail -n1)" "argc == 0 is an interactive shell, not a crash"
assert_eq "a:b c" "$(bs -c 'echo "$0:$1"' a 'b c')" "-c CMD ARG0 ARG1 reach sh as \$0 \$1"
rc=$(status_of bs -x 2>"$TEST_TMPDIR/e")
assert_eq "2 1" "$rc $(wc -l <"$TEST_TMPDIR/e")" "unknown option: usage error (2), one line"
check_syslog "usage error: a notice entry line, outcome=failed error=usage:" \
	"${NOTICE}action=entry user=$U container=$BOX session=\\1 outcome=failed error=usage: unsupported argument '-x'\$"
assert_eq 2 "$(status_of bs -c 2>/dev/null)" "-c without a command: usage error (2)"
# Forged log lines (issue 8): an argument is the user's text; in the log it
# is escaped (\n, \xNN) and bounded, so it never starts a line of its own.
: >"$SYSLOG"
forge=$'--x\naction=entry user=root container=berth-root session=1 mode=exec tty=no command=sh outcome=ok'
assert_eq 2 "$(status_of bs "$forge" 2>/dev/null)" "an argument holding a newline and a forged line: usage error (2)"
check_syslog "its usage line keeps the newline escaped, on berth's own line" \
	"${NOTICE}action=entry user=$U container=$BOX session=\\1 outcome=failed error=usage: unsupported argument '--x\\\\naction=entry user=root container=berth-root session=1 .*outcome=ok'\$"
check_no_syslog "no forged line: every line in the log starts as syslog's own" '^[^<]|^$'
assert_eq 2 "$(status_of bs -$'\e[2J'"$(printf 'y%.0s' $(seq 3000))" 2>/dev/null)" \
	"a 3000-byte argument with a terminal escape: usage error (2)"
check_syslog "a long argument is escaped, cut and marked ..." \
	"${NOTICE}action=entry user=$U .*error=usage: unsupported argument '-\\\\x1b\\[2Jy+\\.\\.\\.\$"
check "no line of the log is longer than the bounds allow" \
	awk 'length($0) > 1500 { exit 1 }' "$SYSLOG"
check_no_syslog "no terminal escape reaches the log" $'\e'

# ---------------------------------------------------------------- environment
out=$(bse TERM=vt220 LC_TIME=C TZ=Europe/Paris SSH_CONNECTION='1.2.3.4 5 6.7.8.9 22' \
	SSH_TTY=/dev/pts/99 FOO=bar ENV=/tmp/evil BASH_ENV=/tmp/evil LD_PRELOAD=libc.so.6 \
	http_proxy=http://127.0.0.1:1 HOME=/tmp USER=root LD_LIBRARY_PATH=/x -- -c env 2>/dev/null | sort || true)
want="HOME=/home/$U
HOSTNAME=$U-box
LANG=C.UTF-8
LC_TIME=C
LOGNAME=$U
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PWD=/home/$U
SHELL=/bin/sh
SHLVL=1
SSH_CONNECTION=1.2.3.4 5 6.7.8.9 22
TERM=vt220
TZ=Europe/Paris
USER=$U"
assert_eq "$want" "$out" "the container sees exactly the whitelist (no FOO, ENV, LD_*, proxies, SSH_TTY)"

# ---------------------------------------------------------------- loader and library attacks
asu env LD_PRELOAD="$EVIL" /bin/true
check "control: evil.so does run when preloaded into a normal program" has_marks
rm -f "$MARK"/*
assert_eq "$U" "$(asu env LD_PRELOAD="$EVIL" "$SHELL_BIN" -c 'id -un')" "LD_PRELOAD set: berth-shell still works"
check "LD_PRELOAD is ignored by the setuid berth-shell (no marker)" no_marks
libdir=$TEST_TMPDIR/libs
mkdir -p "$libdir"
for lib in $(ldd "$SHELL_BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $1 }'); do
	cp "$EVIL" "$libdir/$lib"
done
cp "$SHELL_BIN" "$TEST_TMPDIR/plain-berth-shell" # a copy has no setuid bit
rc=$(status_of asu env LD_LIBRARY_PATH="$libdir" "$TEST_TMPDIR/plain-berth-shell" -c true 2>"$TEST_TMPDIR/e")
if has_marks || grep -qE 'symbol lookup error|error while loading|version .* not found' "$TEST_TMPDIR/e"; then
	ok "control: a non-setuid copy does pick up the planted libraries"
else
	not_ok "control: a non-setuid copy does pick up the planted libraries"
	diag "rc=$rc $(cat "$TEST_TMPDIR/e")"
fi
rm -f "$MARK"/*
assert_eq "$U" "$(asu env LD_LIBRARY_PATH="$libdir" "$SHELL_BIN" -c 'id -un')" "LD_LIBRARY_PATH set: berth-shell still works"
check "LD_LIBRARY_PATH is ignored by the setuid berth-shell" no_marks

printf 'policy = { exclude_users = [ "%s" ]; };\n' "$U" >"$TEST_TMPDIR/evil.conf"
assert_eq "$U-box" "$(bse http_proxy=http://127.0.0.1:1 HTTP_PROXY=http://127.0.0.1:1 \
	https_proxy=http://127.0.0.1:1 HTTPS_PROXY=http://127.0.0.1:1 ALL_PROXY=socks5://127.0.0.1:1 \
	all_proxy=socks5://127.0.0.1:1 NO_PROXY= CURL_CA_BUNDLE=/nonexistent CURL_HOME=/nonexistent \
	SSL_CERT_FILE=/nonexistent DOCKER_HOST=tcp://127.0.0.1:1 \
	BERTH_CONFIG_PATH="$TEST_TMPDIR/evil.conf" BERTH_DEBUG=1 -- -c hostname)" \
	"proxy, CURL_*, DOCKER_HOST and BERTH_CONFIG_PATH variables steer nothing"

# ---------------------------------------------------------------- hostile command strings
payload=$'a;b && c | d `touch '"$MARK"$'/bt1` $(touch '"$MARK"$'/bt2) ${HOME} "dq" \'sq\' \\ \\\\ \\n\ttab\rcr\n"}],"Privileged":true,"User":"0:0","x":["\n\\u0000 </x> {"a":1} caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3 \x01\x1b[31m\x7f end'
# The command is a quoted here-document: sh prints the payload verbatim, so
# what comes back is exactly what arrived.
cmd="cat <<'BERTH_PAYLOAD_END'
$payload
BERTH_PAYLOAD_END"
bs -c "$cmd" >"$TEST_TMPDIR/echo" || true
printf '%s\n' "$payload" >"$TEST_TMPDIR/want"
if cmp -s "$TEST_TMPDIR/want" "$TEST_TMPDIR/echo"; then
	ok "hostile -c string arrives byte-exact (quotes, \$(), JSON injection, UTF-8, control bytes)"
else
	not_ok "hostile -c string arrives byte-exact"
	diag "want: $(od -c "$TEST_TMPDIR/want" | head -20)"
	diag " got: $(od -c "$TEST_TMPDIR/echo" | head -20)"
fi
assert_eq "$payload" "$(bse SSH_ORIGINAL_COMMAND="$payload" -- -c 'printf %s "$SSH_ORIGINAL_COMMAND"')" \
	"hostile SSH_ORIGINAL_COMMAND value arrives byte-exact"
# Now run such a string: it runs, in the container, as the user, unprivileged.
inj='touch /tmp/'$TEST_PREFIX'-ran; touch '$MARK'/host; echo "}],\"Privileged\":true,\"User\":\"0:0\",\"x\":[\""; id -u; grep CapEff /proc/self/status'
out=$(bs -c "$inj" 2>/dev/null || true)
assert_contains "$out" '}],"Privileged":true,"User":"0:0","x":["' "the injection string is mere text to echo"
assert_contains "$out" "$U_UID" "the injected command still runs as the user"
assert_contains "$out" "CapEff:	0000000000000000" "the injected command has no capabilities (not privileged)"
check "the injected command ran inside the container" docker exec "$BOX" test -e "/tmp/$TEST_PREFIX-ran"
check "nothing happened on the host" no_marks
assert_eq "false $U_UID:$U_GID" "$(docker inspect -f '{{.HostConfig.Privileged}} {{.Config.User}}' "$BOX")" \
	"the container is still unprivileged and runs as uid:gid"
check_no_syslog "hostile commands leave no trace of their text in the log" 'Privileged|BERTH_PAYLOAD|CapEff|\$\('
check_syslog "a hostile command's line shows only its first word" "$(entry_re no touch)"

rc=0
bs -c $'touch /tmp/'"$TEST_PREFIX"$'-utf8; echo \xff\xfe' >"$TEST_TMPDIR/o" 2>"$TEST_TMPDIR/e" || rc=$?
assert_eq "1 1" "$rc $(wc -l <"$TEST_TMPDIR/e")" "invalid UTF-8 command: exit 1 and one line on stderr"
assert_contains "$(cat "$TEST_TMPDIR/e")" "berth: your command is not valid UTF-8" "the line says why"
check_syslog "invalid UTF-8 command: a failed entry line, no exit line" \
	"${NOTICE}action=entry user=$U container=$BOX session=\\1 outcome=failed error=usage: argument 2 of the command is not valid UTF-8\$"
check "invalid UTF-8 command: nothing ran in the container" docker exec "$BOX" test ! -e "/tmp/$TEST_PREFIX-utf8"
assert_eq "" "$(cat "$TEST_TMPDIR/o")" "invalid UTF-8 command: no output, no shell"
rc=$(status_of bse $'LC_CTYPE=\xff' -- -c true 2>"$TEST_TMPDIR/e")
assert_eq "1" "$rc" "invalid UTF-8 in a passed variable: refused"
assert_contains "$(cat "$TEST_TMPDIR/e")" "LC_CTYPE is not valid UTF-8" "the line names the variable"
check_syslog "invalid UTF-8 variable: a failed entry line naming it" \
	"${NOTICE}action=entry user=$U container=$BOX session=\\1 outcome=failed error=usage: environment variable LC_CTYPE is not valid UTF-8\$"

# ---------------------------------------------------------------- inherited descriptors and limits
exec 7</etc/shadow
out=$(bsx -c 'ls -l /proc/self/fd/ 2>/dev/null' || true)
exec 7<&-
case $out in
*shadow*) not_ok "a root-opened descriptor does not leak into the host shell" && diag "$out" ;;
*) ok "a root-opened descriptor does not leak into the host shell" ;;
esac
assert_eq "hi" "$(bs -c 'echo hi' <&- 2>&-)" "stdin and stderr closed: still works"
assert_eq "ok" "$( (ulimit -f 0; bs -c 'echo ok') )" "RLIMIT_FSIZE 0 cannot break the root phase"

# ---------------------------------------------------------------- the running berth-shell
bs -c 'sleep 61' </dev/null >/dev/null 2>&1 &
job=$!
bg=
find_bg() { bg=$(pgrep -u "$U_UID" -x berth-shell | head -n1) && [ -n "$bg" ]; }
dropped() { [ "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' /proc/$bg/status 2>/dev/null)" = "$U_UID$U_UID$U_UID$U_UID" ]; }
if wait_until 20 find_bg && wait_until 20 dropped && wait_until 20 box_runs 'sleep 61'; then
	ok "berth-shell runs as the user once the session is up"
	setpriv --reuid="$U_UID" --regid="$U_GID" --init-groups -- sleep 60 &
	ctl=$!
	sleep 0.2
	check "control: the user can list the fds of an own process" quiet asu ls /proc/$ctl/fd
	check "control: the user can ptrace an own process" quiet asu "$HELPER" ptrace $ctl
	check "the user cannot list berth-shell's fds (/proc/PID/fd)" not quiet asu ls /proc/$bg/fd
	check "the user cannot read berth-shell's environ" not quiet asu cat /proc/$bg/environ
	# /proc/PID/mem at the first mapped address (looked up as root).
	read_mem() { # PID
		local addr
		addr=$((16#$(head -n1 /proc/$1/maps | cut -d- -f1)))
		asu dd if=/proc/$1/mem of=/dev/null bs=1 count=1 iflag=skip_bytes skip=$addr
	}
	check "control: the user can read the memory of an own process" quiet read_mem $ctl
	check "the user cannot read berth-shell's memory" not quiet read_mem $bg
	check "the user cannot ptrace berth-shell" not quiet asu "$HELPER" ptrace $bg
	stolen=
	nsock=0
	for fd in $(ls /proc/$bg/fd); do
		case $(readlink /proc/$bg/fd/$fd) in socket:*) nsock=$((nsock + 1)) ;; esac
		if quiet asu "$HELPER" getfd $bg "$fd"; then stolen="$stolen $fd"; fi
	done
	assert_eq "" "$stolen" "the user cannot steal any of berth-shell's $nsock sockets/fds (pidfd_getfd)"
	check "the user cannot connect to the engine socket" not quiet asu "$HELPER" connect /var/run/docker.sock
	kill $ctl 2>/dev/null || true
	wait $ctl 2>/dev/null || true
	# A hangup ends the command in the container, not just berth-shell.
	kill -HUP $bg
	rc=0
	wait $job || rc=$?
	assert_eq 129 "$rc" "SIGHUP to berth-shell: the command is hung up (129)"
	check_syslog "SIGHUP: the exit line has status=129" \
		"${INFO}action=exit user=$U container=$BOX session=$bg duration=[0-9]+ status=129 outcome=ok\$"
	check "SIGHUP to berth-shell: no sleep left in the container" wait_until 5 not box_runs 'sleep 61'
else
	not_ok "berth-shell runs as the user once the session is up"
	kill $job 2>/dev/null || true
fi

# ---------------------------------------------------------------- TTY
pty() { # ROWS COLS -- script on stdin; runs a root shell on a new terminal
	"$HELPER" pty "$1" "$2" "$TEST_TMPDIR/pty.log" -- env -i PATH=/usr/bin:/bin TERM=xterm /bin/sh
}
before_after='stty -g >'$TEST_TMPDIR'/tty.before; setpriv --reuid='$U_UID' --regid='$U_GID' --init-groups '$SHELL_BIN'; echo "rc=$?"; stty -g >'$TEST_TMPDIR'/tty.after; exit'
out=$(pty 33 101 <<EOF
send $before_after\r
expect \$ 20
send stty size; tty >/dev/null && echo IS-A-""TTY; printf 'A%sZ\\\\n' "\$TERM"\r
expect IS-A-TTY
expect AxtermZ
resize 40 120
sleep 300
send stty size\r
expect 40 120
type \x10\x11
send \r
sleep 200
send echo still-""here\r
expect still-here
send exit 5\r
expect rc=5
wait 20
EOF
) || true
log=$(tr -d '\r' <"$TEST_TMPDIR/pty.log")
assert_contains "$log" "33 101" "TTY: the initial window size is the terminal's"
assert_contains "$out$log" "IS-A-TTY" "TTY: the command has a terminal"
assert_contains "$log" "40 120" "TTY: a resize reaches the command"
assert_contains "$log" "still-here" "TTY: typing ctrl-p ctrl-q (Docker's default detach keys) does not detach"
assert_contains "$log" "rc=5" "TTY: the exit status passes through"
check_syslog "TTY: interactive entry line: tty=yes command=interactive" "$(entry_re yes interactive)"
check_syslog "TTY: its exit line: status=5" "$(exit_re '[0-9]+' 5)"
if [ -s "$TEST_TMPDIR/tty.before" ] && cmp -s "$TEST_TMPDIR/tty.before" "$TEST_TMPDIR/tty.after"; then
	ok "TTY: the terminal settings are restored after the session"
else
	not_ok "TTY: the terminal settings are restored after the session"
fi

# SIGTERM to berth-shell in raw mode: forwarded, terminal restored.
rm -f "$TEST_TMPDIR/tty.before" "$TEST_TMPDIR/tty.after"
before_after='stty -g >'$TEST_TMPDIR'/tty.before; setpriv --reuid='$U_UID' --regid='$U_GID' --init-groups '$SHELL_BIN' -c "echo READ''Y; sleep 300"; echo "rc=$?"; stty -g >'$TEST_TMPDIR'/tty.after; exit'
(
	wait_until 20 pgrep -u "$U_UID" -x berth-shell >/dev/null &&
		wait_until 20 box_runs 'sleep 300' &&
		pkill -TERM -u "$U_UID" -x berth-shell
) &
killer=$!
pty 24 80 <<EOF >/dev/null || true
send $before_after\r
expect READY 20
expect rc=1 30
wait 20
EOF
wait $killer || true
assert_contains "$(tr -d '\r' <"$TEST_TMPDIR/pty.log")" "rc=143" "TTY: SIGTERM to berth-shell ends the command (143)"
if [ -s "$TEST_TMPDIR/tty.before" ] && cmp -s "$TEST_TMPDIR/tty.before" "$TEST_TMPDIR/tty.after"; then
	ok "TTY: SIGTERM to berth-shell: terminal restored"
else
	not_ok "TTY: SIGTERM to berth-shell: terminal restored"
fi

# Typed one key at a time, berth's detach sequence does make Docker end the
# stream (so the engine accepted it), and the command does not outlive it
# even when it ignores the hangup: Docker leaves it running and reports 126;
# berth-shell kills it (SIGHUP, then SIGKILL: 137).
pty 24 80 <<EOF >/dev/null || true
send setpriv --reuid=$U_UID --regid=$U_GID --init-groups $SHELL_BIN -c 'trap "" HUP; echo READ""Y; exec sleep 302'; echo "rc=\$?"\r
expect READY 20
sleep 300
type \x1c\x1d\x1e\x1f\x1c\x1d\x1e\x1f
expect rc=1 20
send exit\r
wait 20
EOF
assert_contains "$(tr -d '\r' <"$TEST_TMPDIR/pty.log")" "rc=137" \
	"TTY: the detach sequence typed key by key ends the session, as the engine was told"
check "TTY: after a detach, the command in the container is killed" \
	wait_until 10 not box_runs 'sleep 302'

# Hangup: the terminal disappears; the command in the container must go too.
pty 24 80 <<EOF >/dev/null || true
send exec setpriv --reuid=$U_UID --regid=$U_GID --init-groups $SHELL_BIN -c 'echo READ""Y; exec sleep 301'\r
expect READY 20
sleep 300
hangup
wait 20
EOF
check "TTY hangup: the command in the container is killed" \
	wait_until 10 not box_runs 'sleep 301'

# ---------------------------------------------------------------- excluded user
out=$(bsx -c 'echo "$0"; id -un; hostname; cat /proc/1/cgroup' || true)
mapfile -t l <<<"$out"
assert_eq "bash" "${l[0]:-}" "excluded user: -c runs the configured host shell"
assert_eq "$X" "${l[1]:-}" "excluded user: as themselves"
assert_eq "$(hostname)" "${l[2]:-}" "excluded user: on the host"
assert_eq "LOGIN" "$(echo 'shopt -q login_shell && echo LOGIN' | env -i setpriv --reuid="$X_UID" \
	--regid="$X_GID" --init-groups -- bash -c "exec -a -berth-shell $SHELL_BIN" 2>/dev/null | tail -n1)" \
	"excluded user: a login berth-shell (-berth-shell) gives a login host shell"
assert_eq "$X_UID $X_UID" "$(bsx -c 'id -u; id -ru' | tr '\n' ' ' | sed 's/ $//')" \
	"excluded user: no trace of root in the host shell"
assert_eq "[]" "$(bsxe FOO=bar LD_LIBRARY_PATH=/x -- -c 'echo "[$FOO$LD_LIBRARY_PATH]"')" \
	"excluded user: the environment is rebuilt"
check_syslog "excluded user: an entry line with mode=host, the shell and why" \
	"${INFO}action=entry user=$X container=- session=\\1 mode=host shell=/bin/bash tty=no command=echo outcome=ok excluded=\"user is listed in policy.exclude_users\"\$"
check_no_syslog "excluded user: no exit line (the host shell replaced berth-shell)" "action=exit user=$X "

# ---------------------------------------------------------------- failures
# The engine cannot start the process (the shell vanished from the image):
# Docker writes its error into the stream; the user gets berth's line instead.
if docker exec -u 0 "$BOX" mv /bin/sh /bin/sh.moved; then
	: >"$SYSLOG"
	rc=0
	bs -c 'echo RAN' >"$TEST_TMPDIR/o" 2>"$TEST_TMPDIR/e" || rc=$?
	docker exec -u 0 "$BOX" mv /bin/sh.moved /bin/sh
	assert_eq 126 "$rc" "exec start failure: exit 126"
	assert_eq "" "$(cat "$TEST_TMPDIR/o")" "exec start failure: the engine's text is not passed off as output"
	assert_eq "berth: your command could not be started in your container; please contact your administrator" \
		"$(cat "$TEST_TMPDIR/e")" "exec start failure: one plain line"
	check_syslog "exec start failure: the entry line, then an err exit line with status=126 and the engine's reason" \
		"${ERR}action=exit user=$U container=$BOX session=\\1 duration=[0-9]+ status=126 engine=/var/run/docker.sock outcome=failed error=exec: .*/bin/sh"
	check_syslog "exec start failure: it was entered" "$(entry_re no echo)"
else
	not_ok "exec start failure: cannot move /bin/sh in the container"
fi

write_conf "$TEST_TMPDIR/no-such-engine.sock"
: >"$SYSLOG"
rc=0
bs -c "touch $MARK/host-shell; echo RAN" >"$TEST_TMPDIR/o" 2>"$TEST_TMPDIR/e" || rc=$?
assert_eq 1 "$rc" "engine unreachable: exit 1"
assert_eq 1 "$(wc -l <"$TEST_TMPDIR/e")" "engine unreachable: one line on stderr"
assert_contains "$(cat "$TEST_TMPDIR/e")" \
	"berth: your container could not be started (the container service is not reachable); please contact your administrator" \
	"engine unreachable: the plain message"
assert_eq "" "$(cat "$TEST_TMPDIR/o")" "engine unreachable: no output"
check "engine unreachable: no host shell" no_marks
check_syslog "engine unreachable: an err entry line with session=, engine=, outcome=failed and the error" \
	"${ERR}action=entry user=$U container=$BOX session=\\1 engine=$TEST_TMPDIR/no-such-engine.sock outcome=failed error=engine-unreachable: "
check_no_syslog "engine unreachable: no other line (no exit, no success)" "outcome=ok|action=exit"

berth_write_config <<EOF
image = "$BERTH_TEST_IMAGE";
no_such_key = 1;
EOF
rc=$(status_of bs -c "touch $MARK/host-shell2" 2>"$TEST_TMPDIR/e")
assert_eq 1 "$rc" "config error, berthed user: exit 1"
assert_contains "$(cat "$TEST_TMPDIR/e")" "(the berth configuration is invalid)" "config error, berthed user: plain line"
check "config error, berthed user: no host shell" no_marks
out=$(echo 'echo ROOT-SHELL' | env -i PATH=/usr/bin:/bin "$SHELL_BIN" 2>"$TEST_TMPDIR/e" || true)
assert_contains "$(cat "$TEST_TMPDIR/e")" "$BERTH_CONFIG_PATH:2" "config error, root: file:line on stderr"
assert_eq "ROOT-SHELL" "$out" "config error, root: still gets a host shell to repair it"
check_syslog "config error, root: the error, then a host entry line" \
	"${INFO}action=entry user=root container=- session=\\1 mode=host shell=/bin/sh tty=no command=interactive outcome=ok excluded=\"uid 0 is never berthed\"\$"
check_syslog "config error, berthed user: a failed entry line naming file:line" \
	"${ERR}action=entry user=$U container=- session=\\1 engine=- outcome=failed error=config: $BERTH_CONFIG_PATH:2: "

done_testing
