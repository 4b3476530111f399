#!/bin/bash
# The fake-clock tier of `make test`: the shim's self-test, then every end-to-end test
# (tests/fakeclock/test_*.sh) of the real tsyncd of BUILD_DIR under the shim, in network
# namespaces with a chronyd -x reference (root only). One line per test: "PASS name: ...",
# "FAIL name: reason" or "SKIP name: reason"; then exactly "N passed, N failed". Exits
# non-zero if any test failed. FAKECLOCK_CLIENT=chronyd runs the end-to-end tests with
# chronyd as the client instead, to check the harness itself.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/runner.sh
source "$here/../lib/runner.sh"
run_init "$@"
build=$RUN_BUILD

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
    run_report shim "$rc" "$dir/result"
    rm -rf "$dir"
}

if [[ ! -f "$build/tests/fakeclock/libfakeclock.so" ]]; then
    echo "FAIL fakeclock: no shim in $build (ninja -C $build)"
    echo "0 passed, 1 failed"
    exit 1
fi
shim_check
run_tests "$here" fakeclock 240
run_summary
