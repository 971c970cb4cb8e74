#!/bin/bash
# tests/engine/test_join_pty.sh - join mode's terminal is the container's own
# (docs/security.md "Join mode: the terminal"; moby#8755, lxd#1724).
#
# In a berth container made the real way (berth-shell as the user), a root
# helper (tests/engine/join_pty_probe.c) joins its pid, ipc, uts and mount
# namespaces and calls berth_join_pty_child: inside, `tty` names a
# /dev/pts/N that `docker exec ls /dev/pts` lists too, owned and moded as
# `docker exec -t -u uid:gid` leaves its own, with the size asked for; the
# pty goes away with the session; SIGTERM to the host side ends it (SIGHUP);
# the exit status comes back.  A control shows what the test tells apart: a
# process joined the same way but left on the host's terminal is "not a tty".
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

. "$top_srcdir/tests/lib/services.sh"

require_berth_stack setpriv useradd userdel nsenter script # sets $shell
probe=$top_builddir/tests/engine/join_pty_probe
[ -x "$probe" ] || fail "$probe is not built (make check builds it)"

u=${TEST_PREFIX}jp
useradd -M -d "/home/$u" -s /bin/sh "$u" || fail "cannot create user $u"
on_exit "for c in \$(docker ps -aq --filter label=berth.user=$u); do docker rm -f \$c >/dev/null 2>&1; done; userdel $u 2>/dev/null; rm -rf -- /home/$u /run/berth/sessions/berth-$u /run/berth/lock/berth-$u.lock /run/berth/etc/berth-$u"
uid=$(id -u "$u")
gid=$(id -g "$u")

berth_write_config <<EOF
# written by tests/engine/test_join_pty.sh
image = "$BERTH_TEST_IMAGE";
pull = "never";
container = { on_logout = "keep"; idle_timeout = 0; };
EOF
setpriv --reuid="$uid" --regid="$gid" --init-groups "$shell" -c true </dev/null ||
	fail "berth-shell could not make $u's container"
ctr=$(docker ps -q --filter "label=berth.user=$u")
[ -n "$ctr" ] || fail "no running container for $u"
pid=$(docker inspect -f '{{.State.Pid}}' "$ctr")
diag "container $ctr, init pid $pid"

d=$TEST_TMPDIR
# The line the joined process runs; READY once it has said everything.
line='echo "TTY:$(tty)"; echo "STAT:$(stat -c "%u %g %a" "$(tty)")"; echo "SZ:$(stty size)";
echo "SID:$(cut -d" " -f6 /proc/$$/stat) PID:$$"; echo "LS:$(ls /dev/pts | tr "\n" " ")"; echo READY; sleep 60'
"$probe" "$pid" "$uid" "$gid" "$line" </dev/null >"$d/out" 2>"$d/err" &
probe_pid=$!
on_exit "kill -9 $probe_pid 2>/dev/null"
_ready() { grep -q READY "$d/out"; }
if ! wait_until 20 _ready; then
	diag "out: $(cat "$d/out")"
	diag "err: $(cat "$d/err")"
	fail "the joined shell line did not run"
fi
out=$(tr -d '\r' <"$d/out")
tty=$(sed -n 's/^TTY://p' <<<"$out")
n=${tty#/dev/pts/}
check "inside, tty names a /dev/pts/N ($tty)" test -n "$n" -a "$tty" = "/dev/pts/$n"
case $n in *[!0-9]* | '') n=none ;; esac
check "the joined process's own ls /dev/pts lists $n" \
	grep -qE "^LS:(.* )?$n( |$)" <<<"$out"
check "docker exec ls /dev/pts in the container lists $n while the session runs" \
	bash -c "docker exec '$ctr' ls /dev/pts | grep -qx '$n'"
ref=$(docker exec -t -u "$uid:$gid" "$ctr" sh -c 'stat -c "%u %g %a" "$(tty)"' </dev/null | tr -d '\r')
assert_eq "$uid 5 620" "$ref" "docker exec -t -u $uid:$gid leaves its pty $uid:5 0620 (the reference)"
assert_eq "$ref" "$(sed -n 's/^STAT://p' <<<"$out")" "the joined pty's owner, group and mode are docker exec's"
assert_eq "24 80" "$(sed -n 's/^SZ://p' <<<"$out")" "stty size inside is the size asked for"
sid=$(sed -n 's/^SID:\([0-9]*\) .*/\1/p' <<<"$out")
spid=$(sed -n 's/.* PID:\([0-9]*\)$/\1/p' <<<"$out")
check "the joined shell leads its own session (sid $sid = pid $spid)" test -n "$sid" -a "$sid" = "$spid"

kill -TERM "$probe_pid"
rc=0
wait "$probe_pid" || rc=$?
assert_eq 129 "$rc" "SIGTERM to the host side ends the joined shell with SIGHUP (129)"
check "after the session the container's /dev/pts no longer lists $n" \
	wait_until 5 bash -c "! docker exec '$ctr' ls /dev/pts | grep -qx '$n'"

rc=0
"$probe" "$pid" "$uid" "$gid" 'tty >/dev/null && exit 5' </dev/null >/dev/null 2>&1 || rc=$?
assert_eq 5 "$rc" "the joined line's exit status comes back (tty succeeded, exit 5)"

# The control: the same namespaces, but the host's terminal (a pty of
# script(1)) kept as nsenter does.  In the container that pty does not exist.
out=$(script -qec "nsenter -t $pid -m -u -i -p -S $uid -G $gid sh -c 'tty; true'" /dev/null </dev/null | tr -d '\r') || true
assert_contains "$out" "not a tty" "control: joined on the host's pty, tty says 'not a tty' inside"

done_testing
