#!/bin/bash
# (b) Two tiers: chronyd -x reference -> tier 1 -> tier 2, each tier a client under its own
# shim instance (tier 1 starts 300 s ahead and 10 ppm fast, tier 2 200 s behind and 15 ppm
# slow). Tier 1 serves 198.18.0.0/15. Both true errors must be below 1 ms within 60 s and
# stay there for 10 s; tier 2 must never follow tier 1 before tier 1 is synchronized (it
# would have been stepped by about +500 s). FAKECLOCK_CLIENT=chronyd: chronyd in both tiers.
source "$(dirname "$0")/lib.sh"
fk_init chain "$1"
client=${FAKECLOCK_CLIENT:-tsyncd}
extra=()
[[ $client == chronyd ]] && extra=("makestep 1 3")
fk_net 2
fk_start_reference
t0=$(fk_now)
fk_start_client "$client" tier1 "${FK_NS_C[1]}" 300 10 "$FK_SERVER_ADDR" \
    "allow 198.18.0.0/15" "${extra[@]}"
pid1=$FK_LAST_PID
fk_start_client "$client" tier2 "${FK_NS_C[2]}" -200 -15 "${FK_ADDR_C[1]}" "${extra[@]}"
pid2=$FK_LAST_PID
t1=$(fk_wait_settled tier1 "$t0" 0.001 70 10) ||
    fk_fail "tier 1 not within 1 ms for 10 s; last offset $(fk_last_offset tier1) s"
t2=$(fk_wait_settled tier2 "$t0" 0.001 70 10) ||
    fk_fail "tier 2 not within 1 ms for 10 s; last offset $(fk_last_offset tier2) s"
fk_alive "$pid1" && fk_alive "$pid2" || fk_fail "a $client exited"
fk_no_eperm tier1
fk_no_eperm tier2
for t in "$t1" "$t2"; do
    awk -v t="$t" 'BEGIN { exit !(t <= 60) }' ||
        fk_fail "tiers settled after $t1 s and $t2 s (> 60 s)"
done
# Tier 2 may be stepped only towards real time: once, by about +200 s.
bad=$(awk '$1 == "#" && $3 ~ /step$/ && ($4 > 250 || $4 < -1) { print $4 }' "$FK_DIR/tier2.csv")
[[ -z "$bad" ]] || fk_fail "tier 2 followed an unsynchronized tier 1 (stepped by $bad s)"
read -r rms2 max2 _ < <(fk_stats tier2 "$(fk_add "$t0" "$t2")" "$(fk_now)")
fk_pass "$client tiers within 1 ms after $t1 s and $t2 s; tier 2 then RMS $(fk_us "$rms2") us," \
    "max $(fk_us "$max2") us (delay: $FK_DELAY_KIND)"
