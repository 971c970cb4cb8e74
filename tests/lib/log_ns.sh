# tests/lib/log_ns.sh - sourced first (before common.sh, which makes the
# test's temp dir): when a system logger, or run-all's mount point, holds
# /dev/log, the test runs itself again as root in a private mount namespace,
# where its own syslog socket is bind-mounted over /dev/log, so the tests
# running beside it never read each other's lines.  Inside, BERTH_LOG_NS=1.
#
#   . "$(dirname "$0")/../lib/log_ns.sh"; berth_log_ns "$0" "$@"
berth_log_ns() {
	if { [ -e /dev/log ] || [ -L /dev/log ]; } && [ -z "${BERTH_LOG_NS:-}" ] && [ "$(id -u)" = 0 ] &&
		command -v unshare >/dev/null; then
		exec env BERTH_LOG_NS=1 unshare -m --propagation private -- bash "$@"
	fi
}
