#!/bin/bash
# (a) Start-up: a client whose clock starts 300 s ahead and runs 10 ppm fast syncs to a
# chronyd -x reference (local stratum 1) over the delayed LAN; its true error (virtual minus
# real time, from the shim's log) must be below 1 ms within 30 s and stay there for 10 s.
# FAKECLOCK_CLIENT=chronyd runs chronyd (makestep 1 3) as the client, to check the harness.
source "$(dirname "$0")/lib.sh"
fk_init start "$1"
client=${FAKECLOCK_CLIENT:-tsyncd}
extra=()
[[ $client == chronyd ]] && extra=("makestep 1 3")
fk_net 1
fk_start_reference
t0=$(fk_now)
fk_start_client "$client" client "${FK_NS_C[1]}" 300 10 "$FK_SERVER_ADDR" "${extra[@]}"
pid=$FK_LAST_PID
if ! t=$(fk_wait_settled client "$t0" 0.001 45 10); then
    fk_alive "$pid" || fk_fail "$client exited: $(tail -n 1 "$FK_DIR/client.log")"
    fk_fail "$client not within 1 ms for 10 s after 45 s; last offset $(fk_last_offset client) s"
fi
fk_alive "$pid" || fk_fail "$client exited"
fk_no_eperm client
awk -v t="$t" 'BEGIN { exit !(t <= 30) }' ||
    fk_fail "$client took ${t} s to be within 1 ms (> 30 s)"
read -r rms max n < <(fk_stats client "$(fk_add "$t0" "$t")" "$(fk_now)")
fk_pass "$client within 1 ms after ${t} s, then RMS $(fk_us "$rms") us, max $(fk_us "$max") us" \
    "over $n rows (delay: $FK_DELAY_KIND)"
