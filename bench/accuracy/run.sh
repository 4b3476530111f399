#!/bin/bash
# Accuracy benchmark: tsyncd against chronyd as clients of one chronyd -x reference (local
# stratum 1, real clock), side by side in the same run, each in its own network namespace
# behind the same delaying bridge and each under its own fake-clock shim (both clocks start
# 300 s ahead and 10 ppm fast). Measured from the shims' logs of the true error:
#   start-up    time from start until the clock is within 1 ms of real time for good;
#   accuracy    RMS and max |offset| over BENCH_MEASURE s after BENCH_WARMUP s;
#   jump        a 300 s jump of both clocks at once (`date -s`): time until within 1 ms
#               again for good, bounded by BENCH_STEP_WINDOW ("> N s" past it).
# Usage: bench/accuracy/run.sh BUILD_DIR (root; about 7 minutes with the defaults).
# Env: BENCH_WARMUP (60), BENCH_MEASURE (180), BENCH_STEP_WINDOW (150), FAKECLOCK_POLL,
# FAKECLOCK_DELAY_US, FAKECLOCK_JITTER_US (tests/fakeclock/lib.sh). Exit 0 when every target
# is met, 1 when one is missed, 2 on an error. See bench/README.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../tests/fakeclock/lib.sh"
WARMUP=${BENCH_WARMUP:-60}
MEASURE=${BENCH_MEASURE:-180}
STEP_WINDOW=${BENCH_STEP_WINDOW:-150}
START_LIMIT=30 # seconds a client gets to reach 1 ms after start before the run is abandoned

# An error of the harness, not a missed target.
fk_fail() {
    echo "accuracy: $*" >&2
    exit 2
}

for v in WARMUP MEASURE STEP_WINDOW; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -gt 0 && "${!v}" -le 3600 ]] ||
        fk_fail "BENCH_$v must be an integer from 1 to 3600"
done
fk_init accuracy "${1:-}"
export FAKECLOCK_LOG_PERIOD_MS=10 # 10 ms rows: start-up times to the hundredth of a second

# t_start NAME: real time at which NAME's shim started (its first event line).
t_start() {
    awk '$1 == "#" && $3 == "start-offset" { print $2; exit }' "$FK_DIR/$1.csv"
}

fk_net 2
fk_start_reference
fk_start_client chronyd chronyd "${FK_NS_C[1]}" 300 10 "$FK_SERVER_ADDR" "makestep 1 3"
pid_c=$FK_LAST_PID
fk_start_client tsyncd tsyncd "${FK_NS_C[2]}" 300 10 "$FK_SERVER_ADDR"
pid_t=$FK_LAST_PID
echo "accuracy benchmark: chronyd $(chronyd -v | awk '{ print $4; exit }') and" \
    "$("$FK_TSYNCD" --version 2>/dev/null | head -n 1) as clients of chronyd -x (local" \
    "stratum 1); each NTP packet delayed ${FK_DELAY_US} +- ${FK_JITTER_US} us ($FK_DELAY_KIND);" \
    "\"server $FK_SERVER_ADDR iburst $FK_POLL\"; clocks start 300 s ahead, 10 ppm fast"

# Start-up: both must get within 1 ms, else there is nothing to measure afterwards.
for name in chronyd tsyncd; do
    fk_wait_settled "$name" "$(t_start "$name")" 0.001 "$START_LIMIT" 1 >/dev/null ||
        fk_fail "$name not within 1 ms after ${START_LIMIT} s (offset $(fk_last_offset "$name") s)"
done
end_warm=$(fk_add "$(t_start chronyd)" "$WARMUP")
sleep_until() {
    local left
    left=$(awk -v t="$1" -v now="$(fk_now)" 'BEGIN { d = t - now; printf "%.3f", (d > 0 ? d : 0) }')
    sleep "$left"
}
echo "warm-up ${WARMUP} s, then ${MEASURE} s of measurement..."
sleep_until "$(fk_add "$end_warm" "$MEASURE")"
for name in chronyd tsyncd; do
    fk_alive "$([[ $name == chronyd ]] && echo "$pid_c" || echo "$pid_t")" ||
        fk_fail "$name exited during the run"
    fk_no_eperm "$name"
done
declare -A up rms max
for name in chronyd tsyncd; do
    s=$(t_start "$name")
    up[$name]=$(fk_settle_time "$name" "$s" 0.001)
    read -r rms[$name] max[$name] _ < <(fk_stats "$name" "$(fk_add "$s" "$WARMUP")" \
        "$(fk_add "$s" "$((WARMUP + MEASURE))")")
done

# The jump: both clocks at once, so both see the same network meanwhile.
echo "300 s jump of both clocks, watched for up to ${STEP_WINDOW} s..."
"$FK_HERE/fakeclock-step" "$FK_DIR/chronyd.ctl" 300 >/dev/null &&
    "$FK_HERE/fakeclock-step" "$FK_DIR/tsyncd.ctl" 300 >/dev/null || fk_fail "fakeclock-step failed"
fk_wait_for 5 fk_injected_more chronyd 0 && fk_wait_for 5 fk_injected_more tsyncd 0 ||
    fk_fail "the jump was not applied"
declare -A jump
jump_time() {
    awk '$1 == "#" && $3 == "injected-step" { t = $2 } END { print t }' "$FK_DIR/$1.csv"
}
for name in tsyncd chronyd; do
    tj=$(jump_time "$name")
    # Settled = within 1 ms for 10 s; chronyd's hour-long slew runs into the window's end.
    if t=$(fk_wait_settled "$name" "$tj" 0.001 \
        "$(awk -v e="$(fk_add "$tj" "$STEP_WINDOW")" -v n="$(fk_now)" \
            'BEGIN { d = e - n + 10; print (d > 1 ? int(d) : 1) }')" 10) &&
        awk -v t="$t" -v w="$STEP_WINDOW" 'BEGIN { exit !(t <= w) }'; then
        jump[$name]=$t
    else
        jump[$name]="> $STEP_WINDOW"
    fi
done
fk_alive "$pid_c" && fk_alive "$pid_t" || fk_fail "a client exited after the jump"

ratio() { # ratio A B: A / B, or "-" when B is 0
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f\n", a / b }'
}
num() { # the number in "> 150" or "12.3"
    tr -d '> ' <<<"$1"
}
echo
row() { # row LABEL TSYNCD CHRONYD RATIO
    printf '%-34s %12s %12s %14s\n' "$@"
}
# not_worse A B: PASS when tsyncd's A is at most chronyd's B.
not_worse() {
    awk -v t="$1" -v c="$2" 'BEGIN { print ((t <= c) ? "PASS" : "MISS") }'
}
row "" tsyncd chronyd "tsyncd/chronyd"
row "start-up to within 1 ms (s)" "${up[tsyncd]}" "${up[chronyd]}" \
    "$(ratio "${up[tsyncd]}" "${up[chronyd]}")"
row "RMS offset after warm-up (us)" "$(fk_us "${rms[tsyncd]}")" "$(fk_us "${rms[chronyd]}")" \
    "$(ratio "${rms[tsyncd]}" "${rms[chronyd]}")"
row "max |offset| after warm-up (us)" "$(fk_us "${max[tsyncd]}")" "$(fk_us "${max[chronyd]}")" \
    "$(ratio "${max[tsyncd]}" "${max[chronyd]}")"
jr=$(ratio "$(num "${jump[tsyncd]}")" "$(num "${jump[chronyd]}")")
[[ "${jump[chronyd]}" == ">"* && "$jr" != "-" ]] && jr="< $jr"
row "300 s jump corrected (s)" "${jump[tsyncd]}" "${jump[chronyd]}" "$jr"

# Verdict. A jump chronyd did not correct in the window counts as the window's length, so
# the speed-up shown is a lower bound; one tsyncd did not correct is a miss.
v_rms=$(not_worse "${rms[tsyncd]}" "${rms[chronyd]}")
v_up=$(not_worse "${up[tsyncd]}" "${up[chronyd]}")
if [[ "${jump[tsyncd]}" == ">"* ]]; then
    v_jump=MISS
    speed="tsyncd did not correct it"
else
    speed=$(awk -v t="${jump[tsyncd]}" -v c="$(num "${jump[chronyd]}")" \
        'BEGIN { printf "%.0f", c / (t > 0.01 ? t : 0.01) }')
    v_jump=$( ((speed >= 10)) && echo PASS || echo MISS)
    speed="$([[ "${jump[chronyd]}" == ">"* ]] && echo ">= ")${speed}x faster"
fi
echo "verdict: RMS $v_rms (tsyncd <= chronyd); start-up $v_up (tsyncd <= chronyd);" \
    "jump $v_jump ($speed, target >= 10x)"
# shellcheck disable=SC2034 # read by lib.sh: logs are dumped only for an unfinished run
FK_DONE=1
[[ $v_rms == PASS && $v_up == PASS && $v_jump == PASS ]]
