#!/bin/bash
# (c) A 300 s step while running (`date -s`, injected through the shim's control file) is
# corrected: after the client settled within 1 ms of real time, its clock jumps 300 s ahead;
# it must be back within 1 ms, for 10 s, at most 120 s after the jump. tsyncd runs with its
# default step policy; FAKECLOCK_CLIENT=chronyd runs chronyd with "makestep 1 -1" (with the
# distribution's "makestep 1 3" chronyd slews the 300 s away for about an hour instead).
source "$(dirname "$0")/lib.sh"
fk_init step "$1"
client=${FAKECLOCK_CLIENT:-tsyncd}
extra=()
[[ $client == chronyd ]] && extra=("makestep 1 -1")
fk_net 1
fk_start_reference
t0=$(fk_now)
fk_start_client "$client" client "${FK_NS_C[1]}" 0.5 10 "$FK_SERVER_ADDR" "${extra[@]}"
pid=$FK_LAST_PID
fk_wait_settled client "$t0" 0.001 60 10 >/dev/null ||
    fk_fail "$client not settled before the jump; last offset $(fk_last_offset client) s"
tj=$(fk_inject client 300)
if ! t=$(fk_wait_settled client "$tj" 0.001 135 10); then
    fk_alive "$pid" || fk_fail "$client exited after the jump"
    fk_fail "300 s jump not corrected within 120 s; offset now $(fk_last_offset client) s"
fi
fk_alive "$pid" || fk_fail "$client exited"
fk_no_eperm client
awk -v t="$t" 'BEGIN { exit !(t <= 120) }' || fk_fail "300 s jump corrected after $t s (> 120 s)"
fk_pass "$client corrected a 300 s jump in $t s (delay: $FK_DELAY_KIND)"
