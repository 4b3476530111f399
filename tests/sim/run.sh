#!/usr/bin/env bash
# Simulation tests: every scenario in sim/scenarios runs through tsync-sim (the real core
# on virtual clocks) and is checked against its thresholds in tests/sim/expect/NAME.txt
# (lines "max KEY VALUE" / "min KEY VALUE"; see doc/simulation.md). A scenario without
# an expectation file fails. Prints PASS/FAIL per scenario and "N passed, N failed".
# Usage: tests/sim/run.sh BUILD_DIR [SCENARIO_NAME...]
set -uo pipefail

arg=${1:?usage: tests/sim/run.sh BUILD_DIR [SCENARIO_NAME...]}
shift
# The build directory is taken relative to where we were called from.
build=$(cd "$arg" 2>/dev/null && pwd) || { echo "no build directory $arg"; exit 1; }
cd "$(dirname "$0")/../.." || exit 1
sim=$build/sim/tsync-sim
out=$build/sim-tests
if [[ ! -x $sim ]]; then
    echo "no $sim: build first (ninja -C $build)"
    exit 1
fi
mkdir -p "$out"
# In a sanitizer build a finding must fail the scenario, not scroll by.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# shellcheck source=names.sh
source tests/sim/names.sh
scenario_names "$@"

passed=0
failed=0
for name in "${names[@]}"; do
    scn=sim/scenarios/$name.scn
    expect=tests/sim/expect/$name.txt
    log=$out/$name.log
    if [[ ! -f $scn ]]; then
        echo "FAIL $name: no $scn"
        failed=$((failed + 1))
        continue
    fi
    if [[ ! -f $expect ]]; then
        echo "FAIL $name: no $expect"
        failed=$((failed + 1))
        continue
    fi
    start=$(date +%s%N)
    "$sim" --check "$expect" --csv "$out/$name.csv" --svg "$out/$name.svg" "$scn" > "$log" 2>&1
    rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    speed=$(sed -n 's/^sim\.speed=//p' "$log")
    if [[ $rc -eq 0 ]]; then
        printf 'PASS %-12s (%d.%03d s, %.0fx real time)\n' "$name" $((ms / 1000)) $((ms % 1000)) \
            "${speed:-0}"
        passed=$((passed + 1))
    else
        printf 'FAIL %-12s (exit %d; log %s)\n' "$name" "$rc" "$log"
        grep -E '^  FAIL|run stopped|tsync-sim:' "$log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
