#!/bin/bash
# Runs every interop test (tests/interop/test_*.sh) against the tsyncd of BUILD_DIR with
# real peers in network namespaces (root only). One line per test: "PASS name",
# "FAIL name: reason" or "SKIP name: reason"; then exactly "N passed, N failed".
# Exits non-zero if any test failed. INTEROP_SERVER=chronyd runs the same tests with
# chronyd as the server, to check the harness itself.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -ne 1 || ! -d "$1" ]]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
passed=0
failed=0
skipped=0
for t in "$here"/test_*.sh; do
    name=$(basename "$t" .sh)
    name=${name#test_}
    log=$(mktemp "/tmp/tsync-interop-$name.XXXXXX.log")
    # A hung test is killed after 180 s; its EXIT trap still cleans up.
    timeout -k 10 180 bash "$t" "$build" >"$log" 2>&1
    rc=$?
    result=$(grep -E "^(PASS|FAIL|SKIP) " "$log" | tail -n 1)
    if [[ $rc -eq 0 && "$result" == "PASS "* ]]; then
        echo "$result"
        passed=$((passed + 1))
    elif [[ $rc -eq 77 && "$result" == "SKIP "* ]]; then
        echo "$result"
        skipped=$((skipped + 1))
    else
        if [[ "$result" != "FAIL "* ]]; then
            result="FAIL $name: exit status $rc$([[ $rc -eq 124 ]] && echo ' (timed out)')"
        fi
        echo "$result"
        sed 's/^/    /' "$log"
        failed=$((failed + 1))
    fi
    rm -f "$log"
done
if ((skipped > 0)); then
    echo "($skipped skipped)"
fi
echo "$passed passed, $failed failed"
((failed == 0))
