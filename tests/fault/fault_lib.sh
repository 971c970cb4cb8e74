# tests/fault/fault_lib.sh - the fault tier: what a user meets through a real
# sshd when something berth depends on breaks, shared by both deployments:
#   test_fault_shell.sh         berth-shell is the login shell, pam_berth is
#                               in sshd's PAM stack (UsePAM yes)
#   test_fault_forcecommand.sh  login shell /bin/sh, `ForceCommand berth-shell`
#
# The engine is the shared dockerd, reached through a relay of ours
# (engine_proxy.c): engine.socket points at the relay, and the test stalls it
# (SIGSTOP), kills it (under a live session, too) and starts it again; dockerd
# itself is never stopped, so other work on it goes on undisturbed.
#
# Every case checks the same four things: the user gets one plain line (the
# exact text) and is denied, or is recovered (the next login works); a syslog
# line says why; nothing ran on the host (the command would print a marker
# with the host's hostname); nothing is left behind (no berth-shell process of
# the user, no live session record, no scratch container).

if ! declare -F start_sshd >/dev/null; then
	. "$top_srcdir/tests/lib/services.sh"
fi

F_SHELL=${BERTH_BINDIR:-/usr/bin}/berth-shell
F_MODULE=${BERTH_PAMDIR:-/lib/x86_64-linux-gnu/security}/pam_berth.so
F_U=btf$$u     # berthed, home present
F_NOHOME=btf$$n # berthed, no home directory
F_ADM=btf$$adm # excluded: the fixture's own check
F_MODE=''
F_PROXY_PID=''
F_RUNDIR=/run/berth
F_TIMEOUT_MS=2000
# What a command run on the host would print: no container has this hostname.
F_HOSTMARK="HOSTMARK:$(hostname)"
F_CMD='echo "HOSTMARK:$(hostname)"'

f_box() { printf 'berth-%s\n' "$1"; }

# ---------------------------------------------------------------- the relay

f_proxy_start() {
	local out=$TEST_TMPDIR/proxy.out
	: >"$out"
	_berth_spawn "$F_PROXY" "$F_SOCK" /var/run/docker.sock >"$out" 2>&1
	F_PROXY_PID=$!
	wait_until 5 grep -q listening "$out" || fail "engine_proxy did not start: $(cat "$out")"
}
# kill the relay's whole process group: every connection through it is cut
f_proxy_kill() {
	[ -n "$F_PROXY_PID" ] || return 0
	kill -KILL -- "-$F_PROXY_PID" 2>/dev/null
	wait "$F_PROXY_PID" 2>/dev/null || true
	F_PROXY_PID=''
}
f_proxy_stop() { kill -STOP -- "-$F_PROXY_PID"; }
f_proxy_cont() { kill -CONT -- "-$F_PROXY_PID"; }

# ---------------------------------------------------------------- syslog

# With no syslog daemon, /dev/log is ours for the test; with one, a socket
# of ours is bind-mounted over /dev/log inside sshd's private namespace only.
F_SYSLOG=''
f_syslog_start() {
	local helper=$TEST_TMPDIR/shell_helper
	F_SYSLOG=$TEST_TMPDIR/syslog
	: >"$F_SYSLOG"
	if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then
		cc -O1 -o "$helper" "$top_srcdir/tests/e2e/shell_helper.c" || fail "cannot build shell_helper"
		_berth_spawn "$helper" syslog "$F_SYSLOG" >"$TEST_TMPDIR/syslog.out" 2>&1
		on_exit "kill $! 2>/dev/null; rm -f /dev/log"
		wait_until 5 grep -q listening "$TEST_TMPDIR/syslog.out" || fail "cannot serve /dev/log"
	else
		require_cmd python3
		_berth_spawn python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")' "$TEST_TMPDIR/log.sock" "$F_SYSLOG"
		on_exit "kill $! 2>/dev/null"
		wait_until 5 test -S "$TEST_TMPDIR/log.sock" || fail "cannot serve a syslog socket"
		F_SSHD_BINDS+=(--bind "$TEST_TMPDIR/log.sock" /dev/log)
	fi
}
# f_syslog_mark: later checks look only at lines logged after this
f_syslog_mark() { F_SYSLOG_FROM=$(($(wc -l <"$F_SYSLOG") + 1)); }
f_syslog_has() { tail -n "+$F_SYSLOG_FROM" "$F_SYSLOG" | grep -qE -- "$1"; }
f_check_syslog() { # DESC ERE
	if wait_until 3 f_syslog_has "$2"; then
		ok "$1"
	else
		not_ok "$1"
		diag "no syslog line matching: $2"
		tail -n "+$F_SYSLOG_FROM" "$F_SYSLOG" | sed 's/^/# syslog: /' >&2
	fi
}

# ---------------------------------------------------------------- config

# f_conf: the tier's berth.conf; F_IMAGE_LINE and F_HOME_CREATE change it.
# A small engine.timeout_ms, so that a stalled engine costs seconds.
f_conf() {
	local image=${F_IMAGE_LINE:-"image = \"$BERTH_TEST_IMAGE\"; pull = \"never\";"}
	berth_write_config <<EOF
# written by tests/fault/fault_lib.sh ($TEST_NAME)
engine = { socket = "$F_SOCK"; timeout_ms = $F_TIMEOUT_MS; };
$image
entry = "exec";
home = { mount = true; create = ${F_HOME_CREATE:-true}; };
shell = { fallback = "/bin/sh"; host = "/bin/bash"; };
container = { network = "none"; on_logout = "keep"; memory = "96m"; tmpfs = [ "/tmp:size=48m" ]; };
policy = { exclude_users = [ "root", "$F_ADM" ]; };
EOF
}

# ---------------------------------------------------------------- fixture

f_cleanup() {
	local u c pids
	f_proxy_kill
	for u in "$F_U" "$F_NOHOME" "$F_ADM"; do
		c=$(f_box "$u")
		docker rm -f "$c" >/dev/null 2>&1
		docker ps -aq --filter "label=berth.scratch=$u" | xargs -r docker rm -f >/dev/null 2>&1
		rm -rf -- "$F_RUNDIR/sessions/$c" "$F_RUNDIR/etc/$c" "$F_RUNDIR/lock/$c.lock"
		if getent passwd "$u" >/dev/null; then
			# what a failed check left running as the test user (its ssh
			# sessions); userdel refuses users with processes
			pids=$(ps -o pid= -u "$u" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
			[ -z "$pids" ] || kill -9 $pids 2>/dev/null
			userdel -r -f "$u" >/dev/null 2>&1
		fi
		getent group "$u" >/dev/null && groupdel "$u" >/dev/null 2>&1
	done
	return 0
}

# f_setup shell|forcecommand
f_setup() {
	local shell port
	F_MODE=$1
	require_root
	require_cmd useradd userdel groupdel getent ps cc docker mkfifo timeout
	[ -u "$F_SHELL" ] && [ "$(stat -c %u "$F_SHELL")" = 0 ] ||
		skip "$F_SHELL is not installed setuid root (make install)"
	F_PROXY=$top_builddir/tests/fault/engine_proxy
	[ -x "$F_PROXY" ] || fail "$F_PROXY is not built (make check builds it)"
	start_dockerd
	require_test_image
	berth_test_lock
	on_exit f_cleanup

	F_SOCK=$TEST_TMPDIR/engine.sock
	f_proxy_start
	F_SSHD_BINDS=()
	f_syslog_start

	case $F_MODE in
	shell) shell=$F_SHELL ;;
	forcecommand) shell=/bin/sh ;;
	*) fail "f_setup: unknown mode $F_MODE" ;;
	esac
	useradd -m -U -s "$shell" "$F_U" || fail "useradd $F_U"
	useradd -M -U -s "$shell" "$F_NOHOME" || fail "useradd $F_NOHOME"
	useradd -m -U -s "$shell" "$F_ADM" || fail "useradd $F_ADM"
	for u in "$F_U" "$F_NOHOME" "$F_ADM"; do usermod -p '*' "$u" || fail "usermod $u"; done
	[ ! -e "/home/$F_NOHOME" ] || fail "/home/$F_NOHOME exists"
	f_conf

	port=$(pick_port 2800)
	if [ "$F_MODE" = shell ]; then
		[ -f "$F_MODULE" ] || skip "$F_MODULE is not installed (make install)"
		# pubkey auth is sshd's own; pam_berth `required`, so a failed open
		# denies the session in the module already (docs/pam.md).
		cat >"$TEST_TMPDIR/pam.sshd" <<EOF
# berth fault tier PAM service for sshd (tests/fault/fault_lib.sh)
auth       required   pam_deny.so
account    required   pam_permit.so
session    required   pam_unix.so
session    required   $F_MODULE
EOF
		start_sshd --pam --bind "$TEST_TMPDIR/pam.sshd" /etc/pam.d/sshd "${F_SSHD_BINDS[@]}" "$port"
	else
		start_sshd "${F_SSHD_BINDS[@]}" "$port" "Match User $F_U,$F_NOHOME,$F_ADM" "ForceCommand $F_SHELL"
	fi
	diag "mode=$F_MODE sshd on 127.0.0.1:$SSHD_PORT, engine relay $F_SOCK"
	out=$(f_ssh "$F_ADM" 'echo adm-ok' 2>&1) || true
	[ "$out" = adm-ok ] || fail "the test sshd does not let the excluded $F_ADM in: $out"
	f_expect_works "fixture: $F_U logs in, in the container"
}

f_ssh() { # USER [command]: bounded, so a hang is a failed check, not a stalled tier
	local u=$1
	shift
	timeout -k 5 30 ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" "$u@127.0.0.1" "$@" </dev/null
}

# ---------------------------------------------------------------- the checks

# Nothing of the user's left on the host: no berth-shell, no live record.
_f_live_records() { # USER -> count of records whose owner is alive
	local d n=0 rec
	d=$F_RUNDIR/sessions/$(f_box "$1")
	for rec in "$d"/*; do
		[ -e "$rec" ] || continue
		rec=${rec##*/}
		kill -0 "${rec%%-*}" 2>/dev/null && n=$((n + 1))
	done
	echo "$n"
}
_f_shells() { ps -o pid= -u "$1" 2>/dev/null | while read -r p; do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = berth-shell ] && echo "$p"; done | wc -l; }
# F_KEEP: berth-shells and records that belong to a live session kept on purpose
_f_clean() {
	[ "$(_f_shells "$1")" = "${F_KEEP:-0}" ] && [ "$(_f_live_records "$1")" = "${F_KEEP:-0}" ] &&
		[ -z "$(docker ps -aq --filter "label=berth.scratch=$1")" ]
}
f_check_clean() { # DESC USER
	if wait_until 10 _f_clean "$2"; then
		ok "$1: nothing left behind (no berth-shell, no live session record, no scratch container)"
	else
		not_ok "$1: nothing left behind"
		diag "berth-shells of $2: $(_f_shells "$2"), live records: $(_f_live_records "$2")," \
			"scratch: $(docker ps -aq --filter "label=berth.scratch=$2" | tr '\n' ' ')"
	fi
}

# f_expect_denied DESC USER LINE SYSLOG-ERE [MAX-SECONDS]: a login is refused
# with exactly LINE, nothing runs anywhere, syslog says why, nothing is left.
f_expect_denied() {
	local desc=$1 u=$2 line=$3 re=$4 max=${5:-10} rc=0 out t0
	f_syslog_mark
	t0=$SECONDS
	out=$(f_ssh "$u" "$F_CMD" 2>&1) || rc=$?
	check "$desc: the login is refused (ssh status $rc)" test "$rc" -ne 0
	check "$desc: refused within ${max}s ($((SECONDS - t0))s)" test $((SECONDS - t0)) -le "$max"
	assert_eq "$line" "$out" "$desc: the user sees one plain line"
	case $out in
	*HOSTMARK*) not_ok "$desc: nothing ran (not on the host, not in a container)" ;;
	*) ok "$desc: nothing ran (not on the host, not in a container)" ;;
	esac
	f_check_syslog "$desc: syslog says why" "$re"
	f_check_clean "$desc" "$u"
}

# f_expect_works DESC [USER]: a login runs in the user's container.
f_expect_works() {
	local desc=$1 u=${2:-$F_U} out
	out=$(f_ssh "$u" "$F_CMD" 2>&1) || true
	assert_eq "HOSTMARK:$u-box" "$out" "$desc"
	f_check_clean "$desc" "$u"
}

# A session that stays open until f_live_end closes its stdin (a fifo): its
# command is `cat`, so it ends the way a user ends one.  Output in live.out.
f_live_start() {
	local fifo=$TEST_TMPDIR/live.in
	: >"$TEST_TMPDIR/live.out"
	rm -f "$fifo" && mkfifo "$fifo"
	timeout -k 5 60 ssh "${SSH_OPTS[@]}" -p "$SSHD_PORT" "$F_U@127.0.0.1" \
		'echo live-started; cat >/dev/null; echo live-ended' <"$fifo" >"$TEST_TMPDIR/live.out" 2>&1 &
	F_LIVE=$!
	exec {F_HOLD}>"$fifo"
	wait_until 15 grep -q live-started "$TEST_TMPDIR/live.out" || {
		not_ok "a live session of $F_U starts"
		diag "$(cat "$TEST_TMPDIR/live.out")"
		f_live_end
		return 1
	}
}
f_live_end() {
	[ -z "${F_HOLD:-}" ] || exec {F_HOLD}>&-
	F_HOLD=''
	wait "$F_LIVE" 2>/dev/null || true
}
# f_live_ended DESC: the live session ended by itself, with a non-zero status.
f_live_ended() {
	local rc=0
	if ! wait_until 20 bash -c "! kill -0 $F_LIVE 2>/dev/null"; then
		not_ok "$1: the session ends"
		kill "$F_LIVE" 2>/dev/null
		return 0
	fi
	wait "$F_LIVE" || rc=$?
	f_live_end
	check "$1: the session ends with a failure status ($rc)" test "$rc" -ne 0
	F_LIVE_OUT=$(grep -v live-started "$TEST_TMPDIR/live.out" || true)
}

# ---------------------------------------------------------------- cases

F_CONTACT='please contact your administrator'
f_line() { printf 'berth: your container could not be started (%s); %s' "$1" "$F_CONTACT"; }

f_case_engine_down() {
	f_proxy_kill
	f_expect_denied "engine down" "$F_U" "$(f_line 'the container service is not reachable')" \
		"user=$F_U .*error=engine-unreachable"
	f_proxy_start
	f_expect_works "engine back: the next login works"
}

f_case_engine_stalled() {
	f_proxy_stop
	# a stalled engine costs the timeout (engine.timeout_ms) per attempt, not more
	f_expect_denied "engine stalled (SIGSTOP)" "$F_U" \
		"$(f_line 'the container service did not answer in time')" \
		"user=$F_U .*error=engine-timeout" 12
	f_proxy_cont
	f_expect_works "engine answers again: the next login works"
}

f_case_engine_killed_live() {
	f_live_start || return 0
	f_syslog_mark
	f_proxy_kill
	f_live_ended "engine gone under a live session"
	assert_eq "berth: your session in your container failed (the container service is not reachable); $F_CONTACT" "$F_LIVE_OUT" "engine gone under a live session: the user sees one plain line"
	f_check_syslog "engine gone under a live session: syslog says the session failed" \
		"action=exit user=$F_U .*outcome=failed"
	f_check_clean "engine gone under a live session" "$F_U"
	f_proxy_start
	f_expect_works "engine back after dying under a session: the next login works"
}

f_case_container_removed() {
	local c
	c=$(f_box "$F_U")
	docker rm -f "$c" >/dev/null
	f_syslog_mark
	f_expect_works "container removed between sessions: the next login recreates it"
	f_check_syslog "... and syslog says so" "action=create user=$F_U container=$c "

	docker kill "$c" >/dev/null
	f_syslog_mark
	f_expect_works "container killed between sessions: the next login starts it again"
	f_check_syslog "... and syslog says so" "action=start user=$F_U container=$c "

	f_live_start || return 0
	f_syslog_mark
	docker rm -f "$c" >/dev/null
	f_live_ended "container removed during a session"
	assert_eq "berth: your session ended: your container was stopped or removed while it ran; log in again to get a new one" \
		"$F_LIVE_OUT" "container removed during a session: the user sees one plain line"
	f_check_syslog "container removed during a session: syslog says the session failed" \
		"action=exit user=$F_U .*status=137 .*outcome=failed error=container: container $c was removed during the session"
	f_check_clean "container removed during a session" "$F_U"
	f_expect_works "container removed during a session: the next login works"
}

f_case_image() {
	F_IMAGE_LINE='image = "berth-fault-no-such-image:1"; pull = "never";' f_conf
	f_expect_denied "image missing (pull = never)" "$F_U" \
		"$(f_line 'the container image is not available')" "user=$F_U .*error=image-missing"
	# No network here: a registry on a closed loopback port fails at once.
	F_IMAGE_LINE='image = "127.0.0.1:9/berth-fault-no-such-image:1"; pull = "always";' f_conf
	f_expect_denied "pull failing (pull = always, no registry)" "$F_U" \
		"$(f_line 'the container image could not be downloaded')" "user=$F_U .*error=pull" 10
	f_conf
	f_expect_works "image back: the next login works"
}

f_case_config() {
	f_conf
	printf 'container = { memory = ;\n' >>"$BERTH_CONFIG_PATH"
	f_expect_denied "broken config" "$F_U" "$(f_line 'the berth configuration is invalid')" \
		"user=$F_U .*error=config: $BERTH_CONFIG_PATH:[0-9]+"
	f_conf
	chmod 0664 "$BERTH_CONFIG_PATH"
	f_expect_denied "group-writable config" "$F_U" "$(f_line 'the berth configuration is invalid')" \
		"user=$F_U .*error=config: .*writable"
	f_conf
	f_expect_works "config repaired: the next login works"
}

f_case_home_missing() {
	local want
	want=$(f_line 'your home directory could not be prepared')
	# Without PAM, sshd itself says so before it runs the forced command;
	# with pam_berth, the session is refused before sshd gets there.
	[ "$F_MODE" != forcecommand ] ||
		want="Could not chdir to home directory /home/$F_NOHOME: No such file or directory
$want"
	F_HOME_CREATE=false f_conf
	f_expect_denied "home missing, home.create = false" "$F_NOHOME" "$want" "user=$F_NOHOME .*error=home"
	check "home missing: it was not created" test ! -e "/home/$F_NOHOME"
	f_conf
}

# f_fill CONTAINER: what the user would do in a session, done from outside so
# that the session doing it cannot itself be the login that finds it; the
# filler offers itself to the OOM killer first (oom_score_adj), so that a
# live session survives the fill.
f_fill() {
	docker exec -u "$(id -u "$F_U"):$(id -g "$F_U")" "$1" sh -c 'echo 1000 >/proc/self/oom_score_adj
		head -c 50331648 /dev/zero > /tmp/fill; head -c 67108864 /dev/zero > /dev/shm/fill' \
		>/dev/null 2>&1 || true
}

# Memory-backed files fill the container's memory: the engine's /dev/shm
# (64 MiB, not in berth.conf) and a tmpfs the config validation allows
# (48m of 96m) are together more than the limit.  From then on every
# process is OOM-killed as it starts.
f_case_out_of_memory() {
	local c out rc
	c=$(f_box "$F_U")
	f_syslog_mark
	f_fill "$c"
	rc=0
	out=$(docker exec "$c" true 2>&1) || rc=$?
	# 137: the process is OOM-killed at once; 126: runc itself could not set
	# the exec up in the full cgroup (seen under load). Either way nothing runs.
	case $rc in
	126 | 137) ok "out of memory: the container is bricked (docker exec cannot run anything: $rc)" ;;
	*) not_ok "out of memory: the container is bricked (docker exec cannot run anything)"
		diag "docker exec status $rc: $out" ;;
	esac
	rc=0
	out=$(f_ssh "$F_U" "$F_CMD" 2>&1) || rc=$?
	assert_eq "berth: your container is out of memory; it has been restarted (files in /tmp and /dev/shm are gone)
HOSTMARK:$F_U-box" "$out" "out of memory: the next login says so, restarts the container and runs"
	assert_eq 0 "$rc" "out of memory: ... with the command's own status"
	f_check_syslog "out of memory: syslog says why" \
		"user=$F_U container=$c memory=[0-9]+ limit=100663296 sessions=0 out of memory"
	f_check_syslog "out of memory: syslog records the restart" \
		"action=restart user=$F_U container=$c trigger=out-of-memory outcome=ok"
	f_check_clean "out of memory" "$F_U"
	f_expect_works "out of memory: later logins work as usual"

	# With another session live, the container is not restarted under it.
	f_live_start || return 0
	f_fill "$c"
	F_KEEP=1 f_expect_denied "out of memory, another session live" "$F_U" \
		"berth: your container is out of memory and your other sessions are using it; free memory there (delete large files in /tmp or /dev/shm) or end them, then log in again" \
		"user=$F_U container=$c .*sessions=1 out of memory"
	f_live_end
	f_check_clean "out of memory: the other session ended" "$F_U"
	out=$(f_ssh "$F_U" "$F_CMD" 2>&1) || true
	assert_eq "berth: your container is out of memory; it has been restarted (files in /tmp and /dev/shm are gone)
HOSTMARK:$F_U-box" "$out" "out of memory: once the other session ended, the next login recovers"
	f_check_clean "out of memory, after the other session" "$F_U"
}

f_run_all() {
	f_case_engine_down
	f_case_engine_stalled
	f_case_engine_killed_live
	f_case_container_removed
	f_case_image
	f_case_config
	f_case_home_missing
	f_case_out_of_memory
}
