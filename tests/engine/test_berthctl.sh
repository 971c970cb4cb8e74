#!/bin/bash
# tests/engine/test_berthctl.sh - every berthctl verb against a real engine,
# on containers made the real way (berth-shell logins of test users): check
# (good, stopped engine, bad config, missing image), list and list --json,
# status, stop, rm refusing a live session and rm --force, gc with a clock the
# test controls (--now, and a session directory aged with touch -d), gc
# skipping a user whose lock holder is stopped, gc sweeping leftovers (home
# temporaries, scratch containers), the syslog line of each action, and the
# refusal of a non-root caller.
#
# gc acts on every berth container of the host, so the test config sets
# idle_timeout = 0 (never reap) globally and a timeout only for its own users:
# containers of other tests running at the same time are never touched.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

ctl=$top_builddir/berthctl
shell_bin=$top_builddir/berth-shell
[ -x "$ctl" ] || fail "$ctl not built"

# run CMD...: sets $out (stdout), $err (stderr), $rc
run() {
	local o e
	o=$TEST_TMPDIR/run.out e=$TEST_TMPDIR/run.err
	rc=0
	"$@" >"$o" 2>"$e" || rc=$?
	out=$(cat "$o") err=$(cat "$e")
}

# ---------------------------------------------------------------- no engine needed
run "$ctl" --help
assert_eq 0 "$rc" "--help exits 0"
assert_contains "$out" "Exit status: 0 ok; 1 " "--help documents the exit codes"
run "$ctl" frobnicate
assert_eq 2 "$rc" "an unknown command is a usage error (2)"
assert_contains "$err" "unknown command 'frobnicate'" "the unknown command is named"
run "$ctl" rm
assert_eq 2 "$rc" "rm without a user is a usage error (2)"
run "$ctl" stop --dry-run someone
assert_eq 2 "$rc" "an option of gc given to stop is a usage error, not a real stop"
run "$ctl" gc --now yesterday
assert_eq 2 "$rc" "gc --now takes seconds since the epoch"

require_root
require_cmd setpriv python3 useradd userdel
# The binary is not setuid: run as nobody it must refuse before doing anything.
install -m 0755 "$ctl" "$TEST_TMPDIR/berthctl"
run setpriv --reuid=65534 --regid=65534 --clear-groups "$TEST_TMPDIR/berthctl" list
assert_eq 4 "$rc" "a non-root caller is refused with exit 4"
assert_eq "berthctl: must be run as root" "$err" "the refusal is one clear line"

require_docker
require_test_image
image=$BERTH_TEST_IMAGE

# ---------------------------------------------------------------- berth-keeper
# check looks for the keeper at the compiled-in path; put the built one there
# for the duration of the test if nothing is installed.
berth_test_lock
keeper=${BERTH_KEEPER_PATH:-}
if [ -z "$keeper" ]; then
	: >"$TEST_TMPDIR/empty.conf"
	keeper=$("$ctl" -c "$TEST_TMPDIR/empty.conf" check --no-audit 2>&1 | sed -n 's/^\(berthctl: \)\{0,1\}keeper: \(\/[^:]*\):.*/\2/p')
fi
[ -n "$keeper" ] || fail "cannot tell where berthctl looks for berth-keeper"
if [ ! -e "$keeper" ]; then
	install -D -m 0755 "$top_builddir/berth-keeper" "$keeper" || fail "cannot install $keeper"
	on_exit "rm -f -- '$keeper'"
fi

# ---------------------------------------------------------------- check
# --no-audit: this is about config, keeper, engine and images; the
# deployment audit (sshd, PAM) has tests/e2e/test_check_audit.sh.
conf() { # FILE <<config
	cat >"$1"
	chmod 0644 "$1"
}
# check_conf NAME <<config: `check --no-audit` on that config ($TEST_TMPDIR/NAME.conf)
check_conf() {
	conf "$TEST_TMPDIR/$1.conf"
	run "$ctl" --config "$TEST_TMPDIR/$1.conf" check --no-audit
}

check_conf good <<EOF
image = "$image";
pull = "never";
EOF
assert_eq 0 "$rc" "check passes on a good config with a running engine"
assert_contains "$out" "engine: /var/run/docker.sock: ok (API 1." "check reports the negotiated API version"
assert_contains "$out" "image: $image: present" "check finds the image"
assert_contains "$out" "keeper: $keeper: ok" "check finds the keeper"
assert_eq "" "$err" "check prints no problem"

# A socket file nobody listens on: what a stopped dockerd leaves behind.
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TEST_TMPDIR/dead.sock"
check_conf dead <<EOF
engine = { socket = "$TEST_TMPDIR/dead.sock"; timeout_ms = 2000; };
image = "$image";
EOF
assert_eq 1 "$rc" "check against a stopped engine exits 1"
assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "a stopped engine is reported in one line"
assert_contains "$err" "berthctl: engine: the container service is not reachable (" "the line says the engine is not reachable"
assert_contains "$err" "$TEST_TMPDIR/dead.sock" "the line names the socket"

check_conf typo <<EOF
image = "$image";
container = {
  memroy = "2g";
};
EOF
assert_eq 1 "$rc" "check rejects a config with an unknown key"
assert_contains "$err" "berthctl: config: $TEST_TMPDIR/typo.conf:3: container.memroy" "the unknown key is reported with file:line"
assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "the config error is one line"

check_conf enum <<EOF
image = "$image";
pull = "sometimes";
EOF
assert_eq 1 "$rc" "check rejects a bad pull value"
assert_contains "$err" "enum.conf:2: pull" "the bad value is reported with file:line and key"

check_conf never <<EOF
image = "berth-absent-$TEST_PREFIX:none";
pull = "never";
EOF
assert_eq 1 "$rc" "check fails for a missing image under pull = never"
assert_contains "$err" "not present and pull = never" "the missing image is explained"

check_conf missing <<EOF
image = "berth-absent-$TEST_PREFIX:none";
pull = "missing";
groups = ( { group = "root"; image = "$image"; } );
EOF
assert_eq 0 "$rc" "a missing image under pull = missing is not a problem"
assert_contains "$out" "will be pulled at first login (pull = missing)" "check says the image will be pulled"
assert_contains "$out" "image: $image (group root): present" "check also checks the images of overrides"

# ---------------------------------------------------------------- test users
ua=${TEST_PREFIX}a # stopped by hand, then reaped by gc --now
ub=${TEST_PREFIX}b # on_logout = remove at gc time: removed by gc --now
uc=${TEST_PREFIX}c # holds a live session
ud=${TEST_PREFIX}d # session directory aged with touch -d; later deleted from NSS
users=("$ua" "$ub" "$uc" "$ud")
for u in "${users[@]}"; do
	useradd -M -d "/home/$u" -s /bin/sh "$u" || fail "cannot create user $u"
	on_exit "docker rm -f berth-$u >/dev/null 2>&1; userdel $u 2>/dev/null; rm -rf -- /home/$u /run/berth/sessions/berth-$u /run/berth/lock/berth-$u.lock /run/berth/etc/berth-$u"
done

write_config() { # on_logout of $ub
	berth_write_config <<EOF
image = "$image";
pull = "never";
container = { idle_timeout = 0; on_logout = "keep"; };
users = (
  { user = "$ua"; idle_timeout = 3600; },
  { user = "$ub"; idle_timeout = 3600; on_logout = "$1"; },
  { user = "$uc"; idle_timeout = 3600; },
  { user = "$ud"; idle_timeout = 3600; }
);
EOF
}
write_config keep

# berth-shell is setuid root when installed; a private copy is made so here.
install -m 4755 -o root -g root "$shell_bin" "$TEST_TMPDIR/berth-shell"
if findmnt -no OPTIONS -T "$TEST_TMPDIR" | grep -qw nosuid; then
	fail "$TEST_TMPDIR is on a nosuid mount: set TMPDIR to a directory that honours setuid"
fi
as_user() { # USER CMD... (through berth-shell, as a login would)
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups \
		"$TEST_TMPDIR/berth-shell" -c "$*"
}

for u in "$ua" "$ub" "$ud"; do
	run as_user "$u" id -un
	assert_eq "0:$u" "$rc:$out" "$u logs in through berth-shell and is $u in the container"
done
# A live session: berth-shell records itself while the command runs.
as_user "$uc" 'echo started; sleep 60' >"$TEST_TMPDIR/live.out" 2>&1 &
live_pid=$!
on_exit "kill $live_pid 2>/dev/null"
live_sessions() { [ "$("$ctl" list --json | python3 -c '
import json, sys
print(sum(r["sessions"] for r in json.load(sys.stdin) if r["user"] == sys.argv[1]))' "$uc")" = "$1" ]; }
wait_until 30 live_sessions 1 || fail "the live session of $uc never showed up: $(cat "$TEST_TMPDIR/live.out")"

# A removed container leaves nothing of its user under RUNDIR: no /etc
# files, no session records, no lock file (issue 9: they piled up).
no_rundir_state() { # USER
	local p
	for p in "/run/berth/etc/berth-$1" "/run/berth/sessions/berth-$1" "/run/berth/lock/berth-$1.lock"; do
		if [ -e "$p" ] || [ -L "$p" ]; then
			echo "left behind: $p" >&2
			return 1
		fi
	done
}

# ---------------------------------------------------------------- list
run "$ctl" list
assert_eq 0 "$rc" "list exits 0"
assert_contains "$(head -n1 <<<"$out")" "USER" "list prints a header"
for col in USER CONTAINER STATE SESSIONS IMAGE CREATED IDLE-SINCE; do
	assert_contains "$(head -n1 <<<"$out")" "$col" "list has the column $col"
done
row_a=$(awk -v u="$ua" '$1 == u' <<<"$out")
assert_contains "$row_a" "berth-$ua" "list shows $ua's container"
assert_eq "running 0 $image" "$(awk '{ print $3, $4, $5 }' <<<"$row_a")" "list shows state, sessions and image of $ua"
row_c=$(awk -v u="$uc" '$1 == u' <<<"$out")
assert_eq "running 1" "$(awk '{ print $3, $4 }' <<<"$row_c")" "list counts $uc's live session"
assert_eq "-" "$(awk '{ print $NF }' <<<"$row_c")" "a container with a live session is not idle"

run "$ctl" list --json
assert_eq 0 "$rc" "list --json exits 0"
json=$out
jq_py() { python3 -c "import json, sys; rows = {r['user']: r for r in json.loads(sys.argv[1])}; $1" "$json"; }
assert_eq "berth-$ua running 0 $image" \
	"$(jq_py "r = rows['$ua']; print(r['container'], r['state'], r['sessions'], r['image'])")" \
	"list --json has container, state, sessions, image"
assert_eq "1 None" "$(jq_py "r = rows['$uc']; print(r['sessions'], r['idle_since'])")" \
	"list --json: a live session and no idle time"
check "list --json: created and idle_since are ISO 8601 UTC times" jq_py "
import re, datetime
r = rows['$ua']
iso = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
assert iso.match(r['created']) and iso.match(r['idle_since']), r
age = datetime.datetime.utcnow() - datetime.datetime.strptime(r['idle_since'], '%Y-%m-%dT%H:%M:%SZ')
assert abs(age.total_seconds()) < 300, age"
assert_eq "$(docker inspect -f '{{.Id}}' "berth-$ua")" "$(jq_py "print(rows['$ua']['id'])")" \
	"list --json has the engine's container id"

# ---------------------------------------------------------------- status
run "$ctl" status "$uc"
assert_eq 0 "$rc" "status exits 0"
assert_contains "$out" "policy:       berthed" "status shows the policy decision"
assert_contains "$out" "entry:        exec (entry = \"exec\" in berth.conf (the default))" "status shows the entry mode the user gets and why"
assert_contains "$out" "idle_timeout: 3600s" "status shows the effective (per-user) idle_timeout"
assert_contains "$out" "container:    berth-$uc" "status names the container"
assert_contains "$out" "spec:         current" "status: the container matches the config"
assert_contains "$out" "sessions:     1" "status counts the live session"
run "$ctl" status --json "$uc"
assert_eq "berthed 3600 current 1" "$(python3 -c '
import json, sys
s = json.loads(sys.argv[1]); c = s["containers"][0]
print(s["policy"], s["settings"]["idle_timeout"], c["spec_state"], c["sessions"])' "$out")" \
	"status --json: policy, settings, spec state, sessions"
run "$ctl" status root
assert_eq 0 "$rc" "status of root exits 0"
assert_contains "$out" "policy:       excluded" "root is shown as excluded"
run "$ctl" status "${TEST_PREFIX}nosuchuser"
assert_eq 3 "$rc" "status of an unknown user without a container exits 3"

# ---------------------------------------------------------------- syslog capture
# Action lines go to syslog (authpriv, ident berthctl).  A private listener
# gets them: on /dev/log itself when the host has no syslog daemon, else
# bind-mounted over /dev/log in a private mount namespace.
log=$TEST_TMPDIR/syslog
sock=$TEST_TMPDIR/log.sock
: >"$log"
logsock_at() {
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")' "$1" "$log" &
	on_exit "kill $! 2>/dev/null; rm -f -- '$1'"
	wait_until 10 test -S "$1" || fail "syslog listener did not start"
}
if [ -e /dev/log ] || [ -L /dev/log ]; then
	logsock_at "$sock"
	ctl_logged() {
		unshare -m --propagation private -- /bin/sh -c 'mount --bind "$0" /dev/log && exec "$@"' \
			"$sock" "$ctl" "$@"
	}
else
	logsock_at /dev/log
	ctl_logged() { "$ctl" "$@"; }
fi
log_has() { grep -F -- "$1" "$log" | grep -q "^<85>.*berthctl\[[0-9]*\]: "; }

# ---------------------------------------------------------------- stop
run ctl_logged stop "$ua"
assert_eq 0 "$rc" "stop exits 0"
assert_contains "$out" "stopped berth-$ua" "stop says what it stopped"
assert_eq exited "$(docker inspect -f '{{.State.Status}}' "berth-$ua")" "stop leaves the container exited"
check "stop is logged to authpriv with user, container and outcome" \
	log_has "action=stop user=$ua container=berth-$ua trigger=admin sessions=0 force=no outcome=ok"
run "$ctl" stop "$ua"
assert_eq 0 "$rc" "stopping a stopped container is not an error"
assert_contains "$out" "already stopped" "stop says the container was already stopped"
run as_user "$ua" true
assert_eq 0 "$rc" "the next login starts the stopped container again"
assert_eq running "$(docker inspect -f '{{.State.Status}}' "berth-$ua")" "the container runs again after the login"

# ---------------------------------------------------------------- rm refuses a live session
run "$ctl" rm "$uc"
assert_eq 1 "$rc" "rm refuses while a session is live (exit 1)"
assert_contains "$err" "1 live session in berth-$uc" "the refusal says why"
assert_eq running "$(docker inspect -f '{{.State.Status}}' "berth-$uc")" "the refused rm left the container running"
run "$ctl" stop "$uc"
assert_eq 1 "$rc" "stop refuses too while a session is live"
check "the live session is still running" kill -0 "$live_pid"

# ---------------------------------------------------------------- gc
now=$(date +%s)
run "$ctl" gc --dry-run --now $((now + 7200))
assert_eq 0 "$rc" "gc --dry-run exits 0"
mine=$(grep -E "berth-(${ua}|${ub}|${uc}|${ud}) " <<<"$out" | sort || true)
assert_eq "would stop berth-$ua
would stop berth-$ub
would stop berth-$ud" "$(awk '{ print $1, $2, $3 }' <<<"$mine")" "gc --dry-run lists the idle containers, not the one in use"
for u in "$ua" "$ub" "$ud"; do
	assert_eq running "$(docker inspect -f '{{.State.Status}}' "berth-$u")" "gc --dry-run left berth-$u running"
done

run "$ctl" gc --now $((now + 1800))
assert_eq 0 "$rc" "gc exits 0"
assert_eq "" "$(grep -E "berth-(${ua}|${ub}|${uc}|${ud}) " <<<"$out" || true)" "gc does nothing before idle_timeout has passed"

# The session directory's mtime is when the last session ended.
touch -d '2 hours ago' "/run/berth/sessions/berth-$ud"
run ctl_logged gc
assert_eq 0 "$rc" "gc (real clock) exits 0"
assert_eq "stopped berth-$ud" "$(grep -E "berth-(${ua}|${ub}|${uc}|${ud}) " <<<"$out" | awk '{ print $1, $2 }')" \
	"gc reaps the container idle for 2 hours and only it"
assert_eq exited "$(docker inspect -f '{{.State.Status}}' "berth-$ud")" "gc stopped berth-$ud (on_logout keep -> stop)"
check "gc's stop is logged" log_has "action=stop user=$ud container=berth-$ud trigger=gc idle="

# A user stops their own berth-shell while it holds their lock (it runs
# with their real uid, so SIGSTOP is theirs to send).  gc must not wait out
# the lock: it skips that user at once, says so, logs it, and goes on.
python3 -c 'import fcntl, os, signal, sys
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); os.kill(os.getpid(), signal.SIGSTOP)' \
	"/run/berth/lock/berth-$ua.lock" &
holder=$!
on_exit "kill -KILL $holder 2>/dev/null"
wait_until 10 sh -c "grep -q '^State:[[:space:]]*T' /proc/$holder/status" ||
	fail "the lock holder did not stop"
t0=$(date +%s%N)
run ctl_logged gc --now $((now + 7200))
dt_ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq 0 "$rc" "gc with a stopped lock holder exits 0 (a skip is not a failure)"
check "gc does not wait for a stopped lock holder (took ${dt_ms} ms)" test "$dt_ms" -lt 4000
assert_contains "$out" "skip berth-$ua (user $ua): user busy, skipped: the lock of berth-$ua is held by pid $holder, which is stopped" \
	"gc says it skipped the busy user and why"
assert_eq running "$(docker inspect -f '{{.State.Status}}' "berth-$ua")" "the skipped container was left alone"
assert_contains "$out" "stopped berth-$ub" "gc went on with the other users"
check "the skip is logged" \
	log_has "action=stop user=$ua container=berth-$ua trigger=gc idle="
check "... as outcome=skipped with the reason" \
	sh -c "grep -F 'container=berth-$ua trigger=gc' '$log' | grep -q 'outcome=skipped reason=\"the lock of berth-$ua is held by pid $holder, which is stopped'"
kill -KILL "$holder"
wait "$holder" 2>/dev/null || true

write_config remove
run ctl_logged gc --now $((now + 7200))
assert_eq 0 "$rc" "gc --now exits 0"
assert_eq "removed berth-$ub
stopped berth-$ua" "$(grep -E "berth-(${ua}|${ub}|${uc}|${ud}) " <<<"$out" | awk '{ print $1, $2 }' | sort)" \
	"gc --now: stops the keep container, removes the remove one, skips the busy and the stopped"
assert_eq exited "$(docker inspect -f '{{.State.Status}}' "berth-$ua")" "berth-$ua is stopped"
check "berth-$ub is removed" sh -c "! docker inspect berth-$ub >/dev/null 2>&1"
assert_eq running "$(docker inspect -f '{{.State.Status}}' "berth-$uc")" "gc never touches a container with a live session"
check "gc's remove is logged" log_has "action=rm user=$ub container=berth-$ub trigger=gc"
check "gc's remove left no RUNDIR state of $ub" no_rundir_state "$ub"
check "... while the stopped one keeps its session directory" test -d "/run/berth/sessions/berth-$ua"

# ---------------------------------------------------------------- gc sweeps leftovers
# A first login killed while it copied skel leaves its root-only temporary
# next to the home; a login killed between creating and removing a scratch
# container (image facts) leaves that.  gc removes the dead ones only.
tag=$(printf '%08x%08x' "$$" "$RANDOM")
stale=/home/.berth-newhome.${tag:0:15}a fresh=/home/.berth-newhome.${tag:0:15}b
on_exit "rm -rf -- '$stale' '$fresh'"
install -d -m 0700 "$stale/.config" "$fresh"
echo skel >"$stale/.config/x"
ln -s /etc/passwd "$stale/passwd-link"
touch -d '1 hour ago' "$stale"
starttime() { python3 -c 'import sys; s = open("/proc/%s/stat" % sys.argv[1]).read(); print(s[s.rindex(")") + 2:].split()[19])' "$1"; }
sleep 300 &
maker=$!
on_exit "kill $maker 2>/dev/null"
scratch_live=$(docker create --label "berth.scratch=$ua" \
	--label "berth.scratch.owner=$(hostname):$maker-$(starttime "$maker")" "$image" /bin/sh)
scratch_other=$(docker create --label "berth.scratch=$ua" \
	--label "berth.scratch.owner=another-host.example:1-1" "$image" /bin/sh)
on_exit "docker rm -f $scratch_live $scratch_other >/dev/null 2>&1"
run ctl_logged gc
assert_eq 0 "$rc" "gc with leftovers around exits 0"
check "gc removed the stale home temporary" test ! -e "$stale"
check "... without following the link in it" test -s /etc/passwd
check "gc kept the fresh home temporary (a first login in progress)" test -d "$fresh"
assert_contains "$out" "removed 1 leftover home temporary in /home" "gc says what it swept"
check "the sweep is logged" log_has "action=sweep leftover=home-temp home=/home/"
check "gc kept the scratch container whose maker is alive" sh -c "docker inspect $scratch_live >/dev/null"
check "gc kept another host's young scratch container" sh -c "docker inspect $scratch_other >/dev/null"
kill "$maker"
wait "$maker" 2>/dev/null || true
run ctl_logged gc
assert_eq 0 "$rc" "gc exits 0"
check "once its maker is gone, gc removed the scratch container" \
	sh -c "! docker inspect $scratch_live >/dev/null 2>&1"
assert_contains "$out" "removed 1 leftover scratch container" "gc says so"
check "the scratch sweep is logged" log_has "action=sweep leftover=scratch container=${scratch_live:0:12} user=$ua why=maker-gone"
check "another host's young scratch container is still kept" sh -c "docker inspect $scratch_other >/dev/null"

# ---------------------------------------------------------------- rm --force
run ctl_logged rm --force "$uc"
assert_eq 0 "$rc" "rm --force removes a container with a live session"
check "berth-$uc is gone" sh -c "! docker inspect berth-$uc >/dev/null 2>&1"
check "rm --force is logged with the sessions it ended" \
	log_has "action=rm user=$uc container=berth-$uc trigger=admin sessions=1 force=yes outcome=ok"
check "the session ended with its container" wait_until 20 sh -c "! kill -0 $live_pid 2>/dev/null"
check "rm --force left no RUNDIR state of $uc" no_rundir_state "$uc"

run "$ctl" rm "$ua"
assert_eq 0 "$rc" "rm of an idle stopped container exits 0"
check "rm left no RUNDIR state of $ua" no_rundir_state "$ua"
run "$ctl" rm "$ua"
assert_eq 3 "$rc" "rm of a user without a container exits 3"

# ---------------------------------------------------------------- an account deleted from NSS
userdel "$ud"
run "$ctl" status "$ud"
assert_eq 0 "$rc" "status of a deleted user with a container exits 0"
assert_contains "$out" "not found in NSS" "status says the account is gone"
assert_contains "$out" "container:    berth-$ud" "status still finds the container by its label"
run "$ctl" rm "$ud"
assert_eq 0 "$rc" "rm finds the container of a deleted account by its label"
check "berth-$ud is gone" sh -c "! docker inspect berth-$ud >/dev/null 2>&1"
check "rm of a deleted account left no RUNDIR state of $ud" no_rundir_state "$ud"

diag "$(cat "$log")"
done_testing
