#!/bin/bash
# Runs every interop test (tests/interop/test_*.sh) against the tsyncd of BUILD_DIR with
# real peers in network namespaces (root only). One line per test: "PASS name",
# "FAIL name: reason" or "SKIP name: reason"; then exactly "N passed, N failed".
# Exits non-zero if any test failed. INTEROP_SERVER=chronyd runs the same tests with
# chronyd as the server, to check the harness itself.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/runner.sh
source "$here/../lib/runner.sh"
run_init "$@"
run_tests "$here" interop 180
run_summary
