#!/bin/bash
# tests/e2e/test_forwarding_join.sh - tests/e2e/test_forwarding_container.sh
# with entry = "join": -L -D -W -R, the forwarded agent and X11 land in the
# user's container the same way when berth-shell joins it (the network move
# is pam_berth's, the agent relay and DISPLAY reach the joined process
# through the same environment as exec mode's).
BERTH_TEST_ENTRY=join exec bash "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/test_forwarding_container.sh" "$@"
