#!/bin/bash
# tests/e2e/test_hangup.sh - a client that goes away ends its session at once,
# in exec and in join mode, through a real sshd (berth-shell the login shell).
#
# Per mode, eight sessions at once: without and with a terminal (ssh -T,
# ssh -tt), a command that prints every second and one that prints nothing
# (sleep), the client killed with SIGKILL and with SIGTERM.  Then a client
# that vanishes without a word (SIGSTOP: no FIN ever comes; this sshd has
# ClientAliveInterval 1, ClientAliveCountMax 2, the admin's setting, so it
# notices after about 3 s).  For each: no process of the session is left in
# the container (every process whose environment carries the session's
# marker, read through docker exec as the container's user, the sessions'
# uid), the engine's exec is not running (exec mode), and berth-shell is
# gone from the host.  Bounded waits only; the measured times are diag
# lines (docs/security.md, "A client that goes away").
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"
. "$top_srcdir/tests/lib/services.sh"
. "$top_srcdir/tests/e2e/ssh_lib.sh"
require_cmd curl mkfifo

E2E_SSHD_LINES=("ClientAliveInterval 1" "ClientAliveCountMax 2")
e2e_setup shell
HU_CTR=$(e2e_container "$E2E_A")
HU_DIR=$TEST_TMPDIR/hangup
mkdir -p "$HU_DIR"
# The clients' stdin: a FIFO the test holds open, so no EOF ever comes.
mkfifo "$HU_DIR/in"
# shellcheck disable=SC2034 # held, never read
exec {HU_HOLD}<>"$HU_DIR/in"
declare -A HU_CLIENT HU_SHELL HU_EXEC HU_T0 HU_GONE
HU_CASES=()

# The engine's view of one exec: its inspect JSON (curl, as docker has no
# `docker exec inspect`).
_hu_exec_json() { curl -sf --unix-socket /var/run/docker.sock "http://engine/exec/$1/json"; }
_hu_exec_running() { _hu_exec_json "$1" | grep -q '"Running":true'; }

# Every session marker found in a process environment in the container.
_hu_ctr_markers() {
	docker exec "$HU_CTR" sh -c 'for f in /proc/[0-9]*/environ; do
		tr "\0" "\n" <"$f" 2>/dev/null | grep "^HU_SESSION="; done' 2>/dev/null |
		sed 's/^HU_SESSION=//' | sort -u || true
}

# berth-shells (not zombies) whose command line carries the marker.
_hu_shells() {
	local p
	for p in $(pgrep -x berth-shell); do
		grep -qF "HU_SESSION=$1;" "/proc/$p/cmdline" 2>/dev/null || continue
		case $(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) in Z | '') continue ;; esac
		echo "$p"
	done
}

# A process on this host (the container's are among them) whose
# environment carries the marker: the session's command runs.
_hu_running() { grep -qszx "HU_SESSION=$1" /proc/[0-9]*/environ; }

# _hu_start NAME SSH-TTY-FLAG COMMAND: a client running COMMAND, marked NAME.
_hu_start() {
	local name=$1 flag=$2 cmd="export HU_SESSION=$1; $3"
	ssh "${SSH_OPTS[@]}" "$flag" -p "$SSHD_PORT" "$E2E_A@127.0.0.1" "$cmd" \
		<"$HU_DIR/in" >"$HU_DIR/$name.out" 2>&1 &
	HU_CLIENT[$name]=$!
	disown "$!" # killed on purpose: no "Killed" line from bash
	on_exit "kill -KILL ${HU_CLIENT[$name]} 2>/dev/null"
	HU_CASES+=("$name")
}

# What a session is made of, once it runs: its berth-shell and (exec mode)
# the engine's exec whose command carries the marker.
_hu_session_up() {
	local name=$1 id
	grep -qx "$name" "$HU_DIR/markers" || return 1
	HU_SHELL[$name]=$(_hu_shells "$name" | tr '\n' ' ')
	[ -n "${HU_SHELL[$name]}" ] || return 1
	[ "$E2E_ENTRY" = exec ] || return 0
	for id in $(docker inspect -f '{{range .ExecIDs}}{{println .}}{{end}}' "$HU_CTR" 2>/dev/null); do
		if _hu_exec_json "$id" | grep -qF "HU_SESSION=$name;"; then
			HU_EXEC[$name]=$id
			return 0
		fi
	done
	return 1
}
_hu_all_up() {
	local name
	_hu_ctr_markers >"$HU_DIR/markers"
	for name in "${HU_CASES[@]}"; do _hu_session_up "$name" || return 1; done
}

# _hu_left NAME: what of the session is still there (empty: nothing).
_hu_left() {
	local name=$1 p left=''
	! grep -qx "$name" "$HU_DIR/markers" || left="$left container"
	[ -z "${HU_EXEC[$name]:-}" ] || ! _hu_exec_running "${HU_EXEC[$name]}" || left="$left exec"
	for p in ${HU_SHELL[$name]}; do
		case $(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) in Z | '') ;; *) left="$left berth-shell" && break ;; esac
	done
	echo "$left"
}

# Wait (bounded: BOUND s) until nothing of the given sessions is left;
# HU_GONE[NAME:PART] gets the seconds after its client went at which PART
# (container, exec, berth-shell) was first seen gone.
_hu_wait_gone() {
	local name part left pending now deadline=$((SECONDS + $1))
	shift
	pending=("$@")
	while [ "${#pending[@]}" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ]; do
		_hu_ctr_markers >"$HU_DIR/markers"
		now=$EPOCHREALTIME
		local still=()
		for name in "${pending[@]}"; do
			left=$(_hu_left "$name")
			for part in container exec berth-shell; do
				[ -z "${HU_GONE[$name:$part]:-}" ] || continue
				case " $left " in *" $part "*) continue ;; esac
				HU_GONE[$name:$part]=$(awk -v a="${HU_T0[$name]}" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
			done
			[ -z "$left" ] || still+=("$name")
		done
		pending=(${still[@]+"${still[@]}"})
		sleep 0.2
	done
	_hu_ctr_markers >"$HU_DIR/markers"
}

_hu_report() { # NAME DESC
	local left exec_t=-
	left=$(_hu_left "$1")
	[ -z "${HU_EXEC[$1]:-}" ] || exec_t="${HU_GONE[$1:exec]:-?} s"
	if [ -z "$left" ]; then
		ok "$2: nothing of the session is left (container, exec, berth-shell)"
	else
		not_ok "$2: nothing of the session is left (still there:$left)"
		diag "$1 client output: $(tr '\n' ' ' <"$HU_DIR/$1.out" | tail -c 300)"
		# shellcheck disable=SC2086
		diag "$1 berth-shell: $(ps -o pid=,ppid=,stat=,wchan:24=,args= -p "${HU_SHELL[$1]// /,}0" --ppid "${HU_SHELL[$1]// /,}0" 2>&1 | tr '\n' ';')"
	fi
	diag "$1: after the client went, gone from the container ${HU_GONE[$1:container]:-?} s, exec $exec_t, berth-shell ${HU_GONE[$1:berth-shell]:-?} s"
}

# The cases: how the client goes, its ssh terminal flag, what the command does.
HU_TABLE=("KILL T prints" "KILL T silent" "KILL tt prints" "KILL tt silent"
	"TERM T prints" "TERM T silent" "TERM tt prints" "TERM tt silent" "STOP T prints")
PRINTS='while :; do date; sleep 1; done'
declare -A HU_SIG HU_DESC

_hu_describe() { # MODE SIG TTYFLAG WHAT
	local t=tty how
	[ "$3" = tt ] || t="no tty"
	case $2 in
	STOP) how="client stopped (no FIN; sshd's ClientAlive gives up)" ;;
	*) how="client SIG${2}ed" ;;
	esac
	printf '%s, %s, %s, %s' "$1" "$t" "$4" "$how"
}

hangup_mode() {
	local m=$1 row sig tty what name cmd i=0
	HU_CASES=()
	for row in "${HU_TABLE[@]}"; do
		read -r sig tty what <<<"$row"
		i=$((i + 1))
		name=$m$i
		case $what in prints) cmd=$PRINTS ;; *) cmd="sleep 6$i$i" ;; esac
		_hu_start "$name" "-$tty" "$cmd"
		# One at a time into the container: what is under test is the end
		# of a session, not nine joins racing each other.
		wait_until 20 _hu_running "$name" || true
		HU_SIG[$name]=$sig
		HU_DESC[$name]=$(_hu_describe "$m" "$sig" "$tty" "$what")
	done
	if ! wait_until 40 _hu_all_up; then
		not_ok "$m: ${#HU_CASES[@]} sessions run in $HU_CTR (markers: $(tr '\n' ' ' <"$HU_DIR/markers"))"
		return 0
	fi
	ok "$m: ${#HU_CASES[@]} sessions run in $HU_CTR, each with its berth-shell${HU_EXEC[${m}1]:+ and its exec}"
	wait_until 10 grep -q . "$HU_DIR/${m}1.out" "$HU_DIR/${m}3.out" || true
	for name in "${HU_CASES[@]}"; do
		HU_T0[$name]=$EPOCHREALTIME
		kill -"${HU_SIG[$name]}" "${HU_CLIENT[$name]}"
	done
	_hu_wait_gone 20 "${HU_CASES[@]}"
	for name in "${HU_CASES[@]}"; do
		_hu_report "$name" "${HU_DESC[$name]}"
		kill -KILL "${HU_CLIENT[$name]}" 2>/dev/null || true
	done
}

# HU_MODES: the modes to try (by hand: HU_MODES=join).
case " ${HU_MODES:-exec join} " in *" exec "*) hangup_mode exec ;; esac

# Join mode: the same berth.conf with entry = "join" (read at each login).
E2E_ENTRY="join"
_e2e_entry_available
sed "s/^entry = .*/entry = \"join\";/" "$BERTH_CONFIG_PATH" >"$HU_DIR/join.conf"
berth_write_config <"$HU_DIR/join.conf"
E2E_CONF_SUM=$(sha256sum <"$BERTH_CONFIG_PATH")
case " ${HU_MODES:-exec join} " in *" join "*) hangup_mode join ;; esac

diag "test_hangup: ${SECONDS} s of wall time"
done_testing
