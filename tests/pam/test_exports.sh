#!/bin/bash
# tests/pam/test_exports.sh - the dynamic symbol table of pam_berth.so defines
# exactly pam_sm_open_session and pam_sm_close_session (the version script
# hides the core, libcurl's users and everything else), and the module is
# linked with -z nodelete and -z now.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/common.sh"

so=$top_builddir/.libs/pam_berth.so
[ -f "$so" ] || fail "$so not built"
require_cmd nm readelf

defined=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWiu]$/ { print $3 }' | sed 's/@.*//' | sort | tr '\n' ' ')
assert_eq "pam_sm_close_session pam_sm_open_session " "$defined" "only the two session hooks are exported"

flags=$(readelf -d "$so" | awk '/FLAGS_1/ { $1 = $2 = ""; print }')
assert_contains "$flags" NODELETE "linked -z nodelete"
assert_contains "$flags" NOW "linked -z now"
if readelf -d "$so" | grep -q TEXTREL; then not_ok "no text relocations"; else ok "no text relocations"; fi
done_testing
