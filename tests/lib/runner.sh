# The run loop shared by the namespace suites' run.sh (tests/interop, tests/fakeclock): each
# test_*.sh of a directory under a time limit, one result line per test ("PASS name...",
# "FAIL name: reason" or "SKIP name: reason", a failed test's log indented below it), then
# exactly "N passed, N failed" and a status that is non-zero if any test failed.
# shellcheck shell=bash

RUN_PASSED=0
RUN_FAILED=0
RUN_SKIPPED=0

# run_init "$@": checks the run.sh arguments (one BUILD_DIR) and sets RUN_BUILD to its
# absolute path; usage on stderr and exit 2 otherwise.
run_init() {
    if [[ $# -ne 1 || ! -d "$1" ]]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
    fi
    RUN_BUILD=$(cd "$1" && pwd)
}

# run_report NAME RC LOG: one result line for a finished test (its last PASS/FAIL/SKIP line
# if that agrees with its exit status 0/1/77), and its log after a failure.
run_report() {
    local name=$1 rc=$2 log=$3 result
    result=$(grep -E "^(PASS|FAIL|SKIP) " "$log" | tail -n 1)
    if [[ $rc -eq 0 && "$result" == "PASS "* ]]; then
        echo "$result"
        RUN_PASSED=$((RUN_PASSED + 1))
    elif [[ $rc -eq 77 && "$result" == "SKIP "* ]]; then
        echo "$result"
        RUN_SKIPPED=$((RUN_SKIPPED + 1))
    else
        if [[ "$result" != "FAIL "* ]]; then
            result="FAIL $name: exit status $rc$([[ $rc -eq 124 ]] && echo ' (timed out)')"
        fi
        echo "$result"
        sed 's/^/    /' "$log"
        RUN_FAILED=$((RUN_FAILED + 1))
    fi
}

# run_tests DIR SUITE SECONDS: runs every DIR/test_*.sh with $RUN_BUILD, its output in
# /tmp/tsync-SUITE-NAME.*.log until reported. A hung test gets TERM after SECONDS (KILL 10 s
# later); its EXIT trap still stops what it started.
run_tests() {
    local dir=$1 suite=$2 secs=$3 t name log
    for t in "$dir"/test_*.sh; do
        name=$(basename "$t" .sh)
        name=${name#test_}
        log=$(mktemp "/tmp/tsync-$suite-$name.XXXXXX.log")
        timeout -k 10 "$secs" bash "$t" "$RUN_BUILD" >"$log" 2>&1
        run_report "$name" $? "$log"
        rm -f "$log"
    done
}

# run_summary: the closing lines; its status is the run's (0 when nothing failed).
run_summary() {
    if ((RUN_SKIPPED > 0)); then
        echo "($RUN_SKIPPED skipped)"
    fi
    echo "$RUN_PASSED passed, $RUN_FAILED failed"
    ((RUN_FAILED == 0))
}
