#!/bin/bash
# tests/engine/test_join.sh - join mode is exactly as confined as docker exec
# (../shared/JOIN.md "Tests that prove equality"): in one container, a
# `docker exec -u uid:gid` reference and a process joined through the
# installed berth-shell with entry = "join" print the same fields
# (namespaces, status Uid Gid Groups Cap* NoNewPrivs Seccomp* Speculation*
# Umask SigBlk SigIgn Cpus_allowed_list, attr/current, cgroup, limits,
# oom_score_adj, mountinfo, env names, stat /, fds, the seccomp BPF bytes
# read from the host); the test names every field that differs.  Limits
# bite the same (pids, memory).  Hostile containers refuse with one plain
# line and a syslog line, or cannot reach the host: a cgroup frozen behind
# the engine's back, a FIFO /etc/passwd (must not hang), WORKDIR
# /proc/self/fd/N.  BERTH_TEST_SOCKET=... runs it against another engine
# (tests/engine/test_podman.sh runs it against Podman's service).
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/log_ns.sh"
berth_log_ns "$0" "$@"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

require_root
require_cmd setpriv useradd userdel python3 pgrep timeout
require_test_image
shell=${BERTH_BINDIR:-/usr/bin}/berth-shell
[ -u "$shell" ] || skip "$shell not installed setuid root (make install)"
sock=${BERTH_TEST_SOCKET:-/var/run/docker.sock}
dk() { docker -H "unix://$sock" "$@"; }
image=${BERTH_TEST_JOIN_IMAGE:-$BERTH_TEST_IMAGE}

SYSLOG=$TEST_TMPDIR/syslog
: >"$SYSLOG"
have_syslog=false
if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then
	syslog_listen /dev/log "$SYSLOG"
	have_syslog=true
elif [ -n "${BERTH_LOG_NS:-}" ]; then
	syslog_listen "$TEST_TMPDIR/log.sock" "$SYSLOG"
	mount --bind "$TEST_TMPDIR/log.sock" /dev/log && have_syslog=true
fi

u=${TEST_PREFIX}j
useradd -M -d "/home/$u" -s /bin/sh "$u" || fail "cannot create user $u"
on_exit "for c in \$(docker -H unix://$sock ps -aq --filter label=berth.user=$u); do docker -H unix://$sock rm -f \$c >/dev/null 2>&1; done; remove_test_user $u; rm -rf -- /home/$u /run/berth/sessions/berth-$u /run/berth/lock/berth-$u.lock /run/berth/etc/berth-$u /run/berth/warm/berth-$u"
uid=$(id -u "$u") gid=$(id -g "$u")

net=${BERTH_TEST_JOIN_NETWORK:+network = \"$BERTH_TEST_JOIN_NETWORK\";}
write_config() { # [EXTRA TOP-LEVEL SETTINGS] [CONTAINER SETTINGS]
	berth_write_config <<EOF
# written by tests/engine/test_join.sh
engine = { socket = "$sock"; };
image = "$image";
pull = "never";
entry = "join";
${1:-}
container = { on_logout = "keep"; idle_timeout = 0; memory = "64m"; pids = 64; $net ${2:-} };
EOF
}
as_user() { # CMD: through berth-shell, as a login would, with a clean environment
	${AS_TIMEOUT:+timeout "$AS_TIMEOUT"} env -i LANG=C.UTF-8 setpriv --reuid="$uid" --regid="$gid" --init-groups "$shell" -c "$*"
}
write_config

out=$(as_user 'id -u; id -g' 2>&1) || fail "the first join login fails: $out"
assert_eq "$uid $gid" "$(echo $out)" "$u logs in through berth-shell in join mode"
ctr=$(dk ps -q --no-trunc --filter "label=berth.user=$u")
[ -n "$ctr" ] || fail "no container for $u"
home=/home/$u
ishell=/bin/sh # the user's passwd shell, which the image has
# what exec mode sends (berth-shell's container_env), for the reference
ref() { # CMD: docker exec -u uid:gid with exec mode's environment and cwd
	dk exec -u "$uid:$gid" -w "$home" -e HOME="$home" -e USER="$u" -e LOGNAME="$u" \
		-e SHELL="$ishell" -e PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		-e LANG=C.UTF-8 "$ctr" /bin/sh -c "$*"
}

# ---------------------------------------------------------------- equality

# One "key value" line per field; keys unique.
probe='for n in cgroup ipc mnt net pid pid_for_children user uts time time_for_children; do
	echo "ns.$n $(readlink /proc/self/ns/$n 2>&1)"; done
grep -E "^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp|Seccomp_filters|Speculation[A-Za-z_]*|Umask|SigBlk|SigIgn|Cpus_allowed_list|Mems_allowed_list):" /proc/self/status |
	sed "s/^\([A-Za-z_]*\):[[:space:]]*/status.\1 /"
echo "attr.current $(cat /proc/self/attr/current 2>&1)"
sed "s/^\([0-9]*\):\([^:]*\):/cgroup.\1.\2 /" /proc/self/cgroup
tail -n +2 /proc/self/limits | sed "s/^\(Max [a-z ]*[a-z]\)  */limits.\1 /; s/ /_/; s/ /_/; s/ /_/"
echo "oom_score_adj $(cat /proc/self/oom_score_adj)"
sed "s/^\([0-9]*\) /mountinfo.\1 /" /proc/self/mountinfo
env | sed -n "s/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/env.\1 present/p"
echo "root $(stat -c "%d:%i" /)"
echo "cwd $(pwd)"
echo "fds $(ls /proc/self/fd | tr "\n" " ")"'

ref "$probe" >"$TEST_TMPDIR/ref" 2>&1 || fail "docker exec reference failed: $(cat "$TEST_TMPDIR/ref")"
as_user "$probe" >"$TEST_TMPDIR/join" 2>&1 || fail "joined probe failed: $(cat "$TEST_TMPDIR/join")"
sort -o "$TEST_TMPDIR/ref" "$TEST_TMPDIR/ref"
sort -o "$TEST_TMPDIR/join" "$TEST_TMPDIR/join"
# every field, named when it differs
compare_fields() { # GROUP-REGEX DESCRIPTION
	local d
	d=$(diff <(grep -E "^$1" "$TEST_TMPDIR/ref") <(grep -E "^$1" "$TEST_TMPDIR/join") || true)
	if [ -z "$d" ] && grep -qE "^$1" "$TEST_TMPDIR/ref"; then
		ok "$2 equal"
	else
		not_ok "$2 equal"
		printf '%s\n' "$d" | sed 's/^</# docker exec:/; s/^>/# join:       /' >&2
	fi
}
compare_fields 'ns\.' "namespaces"
for f in Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp Seccomp_filters \
	Speculation Umask SigBlk SigIgn Cpus_allowed_list Mems_allowed_list; do
	compare_fields "status\.$f" "status $f"
done
compare_fields 'attr\.' "attr/current"
compare_fields 'cgroup\.' "/proc/self/cgroup"
compare_fields 'limits\.' "/proc/self/limits"
compare_fields 'oom_score_adj' "oom_score_adj"
compare_fields 'mountinfo\.' "mountinfo"
compare_fields 'env\.' "environment names"
compare_fields 'root ' "stat /"
compare_fields 'cwd ' "working directory"
compare_fields 'fds ' "open fds"
# a control: the comparison sees a difference where there is one
if diff -q <(grep '^cwd ' "$TEST_TMPDIR/ref") <(echo "cwd /") >/dev/null; then
	not_ok "control: the probe's cwd differs from /"
else
	ok "control: the probe's cwd differs from /"
fi

# The seccomp filter's bytes, read from the host (PTRACE_SECCOMP_GET_FILTER
# on a stopped tracee, as root): the oldest filter of each.
filter_of() { # PID -> sha256 of its oldest filter
	python3 - "$1" <<'EOF'
import ctypes, hashlib, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
pid = int(sys.argv[1])
SEIZE, INTERRUPT, DETACH, GET = 0x4206, 0x4207, 17, 0x420c
if libc.ptrace(SEIZE, pid, None, None) < 0 or libc.ptrace(INTERRUPT, pid, None, None) < 0:
    sys.exit("ptrace: " + os.strerror(ctypes.get_errno()))
os.waitpid(pid, 0x40000000)
n = 0
while libc.ptrace(GET, pid, n, None) >= 0:
    n += 1
k = libc.ptrace(GET, pid, n - 1, None)
buf = ctypes.create_string_buffer(8 * max(k, 0))
libc.ptrace(GET, pid, n - 1, buf)
libc.ptrace(DETACH, pid, None, None)
print(n, k, hashlib.sha256(buf.raw).hexdigest())
EOF
}
ref 'exec sleep 30' &
ref_job=$!
as_user 'exec sleep 31' &
join_job=$!
on_exit "kill $ref_job $join_job 2>/dev/null"
wait_until 10 pgrep -u "$uid" -x sleep -f >/dev/null || true
sleep 0.5
ref_pid=$(pgrep -u "$uid" -f '^sleep 30$' | head -1)
join_pid=$(pgrep -u "$uid" -f '^sleep 31$' | head -1)
if [ -n "$ref_pid" ] && [ -n "$join_pid" ]; then
	# The runtime compiles the profile anew for every exec, and the order of
	# its first checks varies between compilations (same length, other bytes):
	# the joined filter must be the init's own, byte for byte, and as long as
	# the reference's.
	init_pid=$(dk inspect -f '{{.State.Pid}}' "$ctr")
	rf=$(filter_of "$ref_pid" 2>&1) jf=$(filter_of "$join_pid" 2>&1) if=$(filter_of "$init_pid" 2>&1)
	diag "seccomp filters (count, instructions, sha256): docker exec $rf; join $jf; init $if"
	assert_eq "$if" "$jf" "the joined seccomp filter is the container's own, byte for byte"
	assert_eq "${rf% *}" "${jf% *}" "the joined seccomp filter has the reference's count and length"
	case $rf in 0\ *|*ptrace*) not_ok "the reference has a seccomp filter to compare" ;; *) ok "the reference has a seccomp filter to compare" ;; esac
else
	not_ok "the seccomp filter's BPF bytes are equal (no sleepers: ref=$ref_pid join=$join_pid)"
fi
kill "$ref_pid" "$join_pid" 2>/dev/null || true
wait "$ref_job" "$join_job" 2>/dev/null || true

# ---------------------------------------------------------------- limits bite

# pids = 64: a burst of 100 sleepers stops at the limit, as it does for
# exec; counted from the host (inside, at the limit, nothing more can fork)
no_sleepers() { ! pgrep -u "$uid" -x sleep >/dev/null; }
count_bomb() { # ref|as_user
	"$1" 'i=0; while [ $i -lt 100 ]; do sleep 4 & i=$((i + 1)); done 2>/dev/null; wait' >/dev/null 2>&1 &
	local job=$!
	sleep 2
	pgrep -c -u "$uid" -x sleep || true
	wait "$job" || true
	wait_until 10 no_sleepers || true
}
n_ref=$(count_bomb ref)
n_join=$(count_bomb as_user)
diag "sleepers started under the pids limit: docker exec $n_ref, join $n_join"
if [ "${n_join:-100}" -lt 64 ] && [ "${n_join:-0}" -gt 30 ] && [ "${n_ref:-100}" -lt 64 ]; then
	ok "the pids limit bites the joined session as it bites docker exec"
else
	not_ok "the pids limit bites the joined session as it bites docker exec (ref=$n_ref join=$n_join)"
fi
# memory = 64m: 200 MB in one buffer is killed in both
hog='dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null; echo "status $?"'
m_ref=$(ref "$hog" 2>&1 | tail -1)
m_join=$(as_user "$hog" 2>&1 | tail -1)
assert_eq "$m_ref" "$m_join" "the memory limit bites the joined session as it bites docker exec"
assert_eq "status 137" "$m_join" "the joined allocation beyond the memory limit is killed"

# ---------------------------------------------------------------- exit status, streams

rc=0
as_user 'exit 7' || rc=$?
assert_eq 7 "$rc" "the joined command's exit status comes back"
rc=0
as_user 'kill -TERM $$' || rc=$?
assert_eq 143 "$rc" "a joined command killed by a signal exits 128+n"
assert_eq "in:abc err" "$(printf abc | as_user 'printf "in:"; cat; echo " err" >&2' 2>&1 | tr -d '\n')" \
	"stdin, stdout and stderr pass straight through"
rc=0
out=$(as_user 'no-such-command-here' 2>&1) || rc=$?
assert_eq 127 "$rc" "a command the shell cannot find exits 127"

# ---------------------------------------------------------------- refusals

refused() { # DESCRIPTION CMD-OUTPUT RC
	local d=$1 text=$2 rc=$3
	if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$text" | wc -l)" -eq 1 ] &&
		[[ $text == "berth: "*"cannot be entered with its own confinement"* ]]; then
		ok "$d: refused with one plain line"
	else
		not_ok "$d: refused with one plain line (rc=$rc)"
		diag "got: $text"
	fi
}

# A cgroup frozen behind the engine's back (docker pause is undone by the
# login's ensure; a freeze between inspect and join is not).
freezer=$(awk -F: '$2 == "freezer" { print $3 }' "/proc/$(dk inspect -f '{{.State.Pid}}' "$ctr")/cgroup")
if [ -n "$freezer" ] && [ -w "/sys/fs/cgroup/freezer$freezer/freezer.state" ]; then
	echo FROZEN >"/sys/fs/cgroup/freezer$freezer/freezer.state"
	rc=0
	out=$(AS_TIMEOUT=20 as_user true 2>&1) || rc=$?
	echo THAWED >"/sys/fs/cgroup/freezer$freezer/freezer.state"
	refused "a frozen container" "$out" "$rc"
	check_syslog "the frozen container's refusal is logged" "action=entry user=$u .*outcome=failed .*error=join: .*(paused|frozen)"
else
	frz=/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' "/proc/$(dk inspect -f '{{.State.Pid}}' "$ctr")/cgroup")
	echo 1 >"$frz/cgroup.freeze"
	rc=0
	out=$(AS_TIMEOUT=20 as_user true 2>&1) || rc=$?
	echo 0 >"$frz/cgroup.freeze"
	refused "a frozen container" "$out" "$rc"
fi
assert_eq "ok" "$(as_user 'echo ok' 2>&1)" "after the thaw the join works again"

# A FIFO at /etc/passwd: join mode reads nothing of the container's files
# as root, so the login neither hangs nor reads it.
# (through /proc/PID/root: docker exec itself reads the container's passwd,
# and hangs on the FIFO)
croot=/proc/$(dk inspect -f '{{.State.Pid}}' "$ctr")/root
cp "$croot/etc/passwd" "$TEST_TMPDIR/passwd.real" && rm -f "$croot/etc/passwd" &&
	mkfifo "$croot/etc/passwd" || fail "cannot make a FIFO /etc/passwd"
rc=0
out=$(AS_TIMEOUT=20 as_user 'echo in' 2>&1) || rc=$?
assert_eq "0 in" "$rc $out" "a FIFO /etc/passwd does not hang the join"
rm -f "$croot/etc/passwd" && cp "$TEST_TMPDIR/passwd.real" "$croot/etc/passwd"

# ---------------------------------------------------------------- warm path

# pam_berth opens the session (a PAM driver through pam_start_confdir, the
# ancestor of the shell, as sshd's monitor is) and records the container's
# state; berth-shell then joins with no engine request: the config it reads
# names an engine socket that does not exist.
pam_module=${BERTH_PAMDIR:-/lib/x86_64-linux-gnu/security}/pam_berth.so
mkdir -p "$TEST_TMPDIR/pam.d"
echo "session required $pam_module" >"$TEST_TMPDIR/pam.d/berth-join-test"
cp "$BERTH_CONFIG_PATH" "$TEST_TMPDIR/conf.engine"
sed 's|^engine = .*|engine = { socket = "/run/berth-no-such-engine.sock"; };|' "$TEST_TMPDIR/conf.engine" >"$TEST_TMPDIR/conf.noengine"
export uid gid shell sock ctr TEST_TMPDIR BERTH_CONFIG_PATH
in_session() { # HOOK: run HOOK (bash) inside a session pam_berth opened for $u
	timeout 60 python3 "$top_srcdir/tests/lib/pam_session.py" "$u" "$TEST_TMPDIR/pam.d" "$1" 2>&1
}
join_hook='cp "$TEST_TMPDIR/conf.$1" "$BERTH_CONFIG_PATH"
env -i setpriv --reuid=$uid --regid=$gid --init-groups "$shell" -c "readlink /proc/self/ns/mnt"
rc=$?; cp "$TEST_TMPDIR/conf.engine" "$BERTH_CONFIG_PATH"; exit $rc'
rc=0
out=$(in_session "set -- noengine; $join_hook") || rc=$?
want_mnt=$(dk exec -u "$uid:$gid" "$ctr" readlink /proc/self/ns/mnt 2>&1)
assert_eq "0 open 0 $want_mnt" "$rc $(echo $out)" \
	"inside a session pam_berth opened, join mode enters with no engine at all"
rec=/run/berth/warm/$(dk inspect -f '{{.Name}}' "$ctr" | tr -d /)
assert_eq "0 600 regular file" "$(stat -c '%u %a %F' "$rec" 2>&1)" "the warm state is a private file of root's"
assert_eq "0 700" "$(stat -c '%u %a' /run/berth/warm 2>&1)" "in a directory only root can enter"
# The record carries the init's oldest seccomp filter (so the warm join
# traces nothing): the same instructions the host reads from the init.
cat >"$TEST_TMPDIR/rec_filter.py" <<'EOF'
import hashlib, json, struct, sys
rec, what = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
with open(rec) as f:
    r = json.load(f)
if what is None:  # "len sha256" of the recorded filter, as filter_of prints them
    b = r["seccomp"]["bpf"]
    raw = b"".join(struct.pack("=HBBI", int(b[i:i + 4], 16), int(b[i + 4:i + 6], 16),
                               int(b[i + 6:i + 8], 16), int(b[i + 8:i + 16], 16))
                   for i in range(0, len(b), 16))
    print(r["seccomp"]["len"], hashlib.sha256(raw).hexdigest())
    sys.exit(0)
if what == "none":
    r.pop("seccomp")
else:
    r["seccomp"] = json.loads(what)
with open(rec, "w") as f:  # in place: still root's, 0600, one link
    json.dump(r, f)
EOF
init_filter=$(filter_of "$(dk inspect -f '{{.State.Pid}}' "$ctr")" 2>&1)
assert_eq "${init_filter#* }" "$(python3 "$TEST_TMPDIR/rec_filter.py" "$rec" 2>&1)" \
	"the warm state records the init's oldest seccomp filter, byte for byte"
# A warm join (no engine) keeps the container's filter byte for byte, with
# the recorded filter and with a record that has none (the join reads it).
warm_filter() { # EDIT DESCRIPTION: rec_filter.py's EDIT ("" for none) before the join
	local job pid jf rc=0
	in_session "${1:+python3 $TEST_TMPDIR/rec_filter.py $rec '$1';}
cp \"\$TEST_TMPDIR/conf.noengine\" \"\$BERTH_CONFIG_PATH\"
env -i setpriv --reuid=\$uid --regid=\$gid --init-groups \"\$shell\" -c 'exec sleep 32'
rc=\$?; cp \"\$TEST_TMPDIR/conf.engine\" \"\$BERTH_CONFIG_PATH\"; exit \$rc" >"$TEST_TMPDIR/warm_sleep" 2>&1 &
	job=$!
	wait_until 10 pgrep -u "$uid" -f '^sleep 32$' >/dev/null || true
	pid=$(pgrep -u "$uid" -f '^sleep 32$' | head -1)
	jf=$([ -n "$pid" ] && filter_of "$pid" 2>&1)
	[ -z "$pid" ] || kill "$pid"
	wait "$job" || rc=$?
	if [ -n "$pid" ] && [ "$jf" = "$init_filter" ]; then
		ok "$2"
	else
		not_ok "$2 (sleeper '$pid', rc=$rc: join '$jf', init '$init_filter')"
		sed 's/^/# /' "$TEST_TMPDIR/warm_sleep" >&2
	fi
}
warm_filter "" "a warm join gets the container's seccomp filter from the record, byte for byte"
warm_filter none "a warm join from a record without a filter reads the init's, byte for byte"
# Root's hand on the record: a filter the join must refuse (user
# notification) is refused as the init's own would be; a malformed one
# makes the record unusable (no engine: one plain line; with the engine:
# the engine path).
notify='{"len": 1, "flags": 0, "bpf": "000600007fc00000"}'
rc=0
out=$(in_session "python3 $TEST_TMPDIR/rec_filter.py $rec '$notify'; set -- noengine; $join_hook") || rc=$?
nl=$'\n'
refused "a recorded filter with user notification" "${out#open 0$nl}" "$rc"
check_syslog "the recorded filter's refusal is logged" \
	"action=entry user=$u .*outcome=failed .*error=join: .*user notification"
# A record that is not used: no engine, one plain line; with the engine,
# the engine path (into the init there is now).
warm_gives_way() { # PREP WHAT: PREP (shell, ends in ;) run inside the session first
	local rc=0 out
	out=$(in_session "$1 set -- noengine; $join_hook") || rc=$?
	case $rc:$(echo $out) in
	0:*) not_ok "$2 is not used (rc=0: $out)" ;;
	*"open 0 berth: "*) ok "$2 is not used: one plain line without the engine" ;;
	*) not_ok "$2 is not used (rc=$rc: $out)" ;;
	esac
	rc=0
	out=$(in_session "$1 set -- engine; $join_hook") || rc=$?
	want_mnt=$(dk exec -u "$uid:$gid" "$ctr" readlink /proc/self/ns/mnt 2>&1)
	assert_eq "0 open 0 $want_mnt" "$rc $(echo $out)" "with the engine, $2 gives way to the engine path"
}
bad='{"len": 2, "flags": 0, "bpf": "000600007fff0000"}'
warm_gives_way "python3 $TEST_TMPDIR/rec_filter.py $rec '$bad';" "a record with a malformed filter"
# The container restarts inside the session: the record no longer matches
# /proc (another init, another start time).  Without an engine the login
# fails with one line instead of joining whatever has that pid now; with
# the engine it takes the engine path into the new init.
restart='docker -H "unix://$sock" restart -t 0 "$ctr" >/dev/null; '
warm_gives_way "$restart" "a stale warm state"
# A record anybody but root could have written is refused, not used.
in_session "chmod 0644 '$rec'; set -- noengine; $join_hook" >"$TEST_TMPDIR/forged" 2>&1 && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && grep -q "^berth: " "$TEST_TMPDIR/forged"; then
	ok "a warm state that is not root's private file is refused"
else
	not_ok "a warm state that is not root's private file is refused (rc=$rc)"
	sed 's/^/# /' "$TEST_TMPDIR/forged" >&2
fi

# WORKDIR /proc/self/fd/N (CVE-2024-21626): no home mount, so the
# container's own working directory applies; it must not reach a host dir.
wd_image=berth-test-join-wd:$$
printf 'FROM %s\nWORKDIR /proc/self/fd/3\n' "$image" | dk build -q -t "$wd_image" - >/dev/null 2>&1 ||
	fail "cannot build an image with WORKDIR /proc/self/fd/3"
on_exit "docker -H unix://$sock rmi -f $wd_image >/dev/null 2>&1"
dk rm -f "$ctr" >/dev/null
write_config "home = { mount = false; create = false; };" "image = \"$wd_image\";"
for fd in 3 4 5; do
	dk rm -f "$(dk ps -aq --filter "label=berth.user=$u")" >/dev/null 2>&1 || true
	printf 'FROM %s\nWORKDIR /proc/self/fd/%s\n' "$image" "$fd" | dk build -q -t "$wd_image" - >/dev/null 2>&1
	rc=0
	out=$(AS_TIMEOUT=20 as_user 'pwd; ls / | head -3' 2>&1) || rc=$?
	case $out in
	*/proc/self/fd*|*/run/*|*/work/*|*/tmp/*|*/sys/fs/cgroup*)
		not_ok "WORKDIR /proc/self/fd/$fd does not reach a host directory"
		diag "rc=$rc out=$out" ;;
	*) ok "WORKDIR /proc/self/fd/$fd does not reach a host directory (rc=$rc)" ;;
	esac
done
