#!/usr/bin/env bash
# `make test`: every tier of tests, each as a step that passes or fails; the last line
# says "N passed, N failed" and the exit status is non-zero if anything failed.
#   1. unit tests (cmocka) under ASan+UBSan        5. man pages render without warnings
#   2. simulation scenarios with thresholds (ASan)  6. fuzz smoke runs (libFuzzer, fixed runs)
#   3. purity of src/ntp and src/core               7. interop with real peers in netns (root)
#   4. shipped configs pass --check-config         8. the real tsyncd on a fake clock (root)
#   9. tsyncd under clknetsim, only where CLKNETSIM_PATH names a build of it (root)
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
ASAN=${ASAN:-build-asan}
FUZZ=${FUZZ:-build-fuzz}
FUZZ_RUNS=${FUZZ_RUNS:-20000}
passed=0
failed=0
failures=()

step() { # step NAME CMD... : runs CMD, records the result
    local name=$1
    shift
    echo "=== $name"
    if "$@"; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        failed=$((failed + 1))
        failures+=("$name")
    fi
}

setup() { # setup DIR ARGS... : configure once, reconfigure never (ninja does the rest)
    local dir=$1
    shift
    [[ -f $dir/build.ninja ]] || meson setup "$dir" "$@" >/dev/null
}

unit_tests() {
    setup "$ASAN" -Db_sanitize=address,undefined -Dbuildtype=debug &&
        ninja -C "$ASAN" &&
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            meson test -C "$ASAN" --print-errorlogs
}

plain_build() {
    setup "$BUILD" -Dtests=false && ninja -C "$BUILD"
}

check_configs() {
    local tsyncd=$BUILD/src/daemon/tsyncd f bad rc
    for f in conf/tsyncd.conf conf/examples/*.conf; do
        "$tsyncd" --check-config -f "$f" || { echo "config $f rejected"; return 1; }
    done
    # A broken file must be rejected with a file:line message.
    bad=$(mktemp)
    printf 'allow 198.18.0.0/15\nport seventy\n' > "$bad"
    "$tsyncd" --check-config -f "$bad" 2> "$bad.err"
    rc=$?
    grep -q "$bad:2:" "$bad.err" || { echo "no file:line in: $(cat "$bad.err")"; rc=0; }
    rm -f "$bad" "$bad.err"
    [[ $rc -eq 1 ]]
}

man_pages() {
    local f out ok=0
    for f in doc/*.[1-8]; do
        out=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
        [[ -z $out ]] || { echo "$f: $out"; ok=1; }
    done
    return $ok
}

fuzz_smoke() {
    if [[ ! -f $FUZZ/build.ninja ]]; then
        CC=clang meson setup "$FUZZ" -Dfuzz=true -Dtests=false >/dev/null || return 1
    fi
    ninja -C "$FUZZ" || return 1
    local t name work rc=0
    for t in "$FUZZ"/tests/fuzz/fuzz_*; do
        [[ -x $t && -f $t ]] || continue
        name=$(basename "$t")
        work=$(mktemp -d)
        # The repo corpus is read-only input; new inputs land in the scratch dir.
        if ! "$t" -runs="$FUZZ_RUNS" -seed=1 -max_len=2048 "$work" "tests/fuzz/corpus/$name" \
            > "$work.log" 2>&1; then
            echo "fuzz $name failed:"; tail -30 "$work.log"; rc=1
        else
            echo "fuzz $name: $(grep -E '^Done' "$work.log" || tail -1 "$work.log")"
        fi
        rm -rf "$work" "$work.log"
    done
    return $rc
}

interop() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "interop tests need root (network namespaces)"
        return 1
    fi
    tests/interop/run.sh "$BUILD"
}

# tsyncd with clock control on a virtual clock (LD_PRELOAD shim), peers in netns.
fakeclock() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "fake-clock end-to-end tests need root (network namespaces)"
        return 1
    fi
    tests/fakeclock/run.sh "$BUILD"
}

step unit unit_tests
step sim tests/sim/run.sh "$ASAN"
step build plain_build
step purity tools/check-purity.sh "$BUILD"
step configs check_configs
step man-pages man_pages
step fuzz fuzz_smoke
step interop interop
step fakeclock fakeclock
# clknetsim is not in Debian: this tier runs where CLKNETSIM_PATH names a build of it.
if [[ -n ${CLKNETSIM_PATH:-} ]]; then
    step clknetsim tests/clknetsim/run.sh "$BUILD"
else
    echo "=== clknetsim: skipped (CLKNETSIM_PATH not set; tests/clknetsim/README.md)"
fi

echo
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
