#!/bin/bash
# The fake-clock tier of `make test`: the shim's self-test, then every end-to-end test
# (tests/fakeclock/test_*.sh) of the real tsyncd of BUILD_DIR under the shim, in network
# namespaces with a chronyd -x reference (root only). One line per test: "PASS name: ...",
# "FAIL name: reason" or "SKIP name: reason"; then exactly "N passed, N failed". Exits
# non-zero if any test failed. FAKECLOCK_CLIENT=chronyd runs the end-to-end tests with
# chronyd as the client instead, to check the harness itself.
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

# report NAME RC LOG: one result line for a finished test, its log after a failure.
report() {
    local name=$1 rc=$2 log=$3 result
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
}

# The shim by itself: every clock call, stamps and step injection against the real clock.
shim_check() {
    local dir rc
    dir=$(mktemp -d /tmp/tsync-fakeclock-shim.XXXXXX)
    setpriv --inh-caps=-sys_time --bounding-set=-sys_time env \
        LD_PRELOAD="$build/tests/fakeclock/libfakeclock.so" FAKECLOCK_OFFSET=300 \
        FAKECLOCK_FREQ_PPM=50 FAKECLOCK_CONTROL="$dir/ctl" FAKECLOCK_LOG="$dir/log.csv" \
        timeout 60 "$build/tests/fakeclock/fakeclock-shimcheck" >"$dir/out" 2>&1
    rc=$?
    if [[ $rc -eq 0 ]] && grep -q "^0 failed" "$dir/out" &&
        grep -q "injected-step 300" "$dir/log.csv"; then
        echo "PASS shim: $(grep -c '^ok' "$dir/out") checks"
    else
        echo "FAIL shim: exit status $rc"
    fi >"$dir/result"
    cat "$dir/out" >>"$dir/result"
    report shim "$rc" "$dir/result"
    rm -rf "$dir"
}

if [[ ! -f "$build/tests/fakeclock/libfakeclock.so" ]]; then
    echo "FAIL fakeclock: no shim in $build (ninja -C $build)"
    echo "0 passed, 1 failed"
    exit 1
fi
shim_check
for t in "$here"/test_*.sh; do
    name=$(basename "$t" .sh)
    name=${name#test_}
    log=$(mktemp "/tmp/tsync-fakeclock-$name.XXXXXX.log")
    # A hung test is killed after 240 s; its EXIT trap still stops what it started.
    timeout -k 10 240 bash "$t" "$build" >"$log" 2>&1
    report "$name" $? "$log"
    rm -f "$log"
done
if ((skipped > 0)); then
    echo "($skipped skipped)"
fi
echo "$passed passed, $failed failed"
((failed == 0))
