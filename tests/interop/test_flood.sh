#!/bin/bash
# Rate limiting under a flood: one client address sends 2000 requests in 2 s to a
# server with "ratelimit interval 3 burst 8 leak 4 kod 1". Answers must stay near
# burst + 1/16 of the rest (leak 4), KoD RATE replies must come, and a second client
# asking at the same time is still answered (limits are per client, not global).
source "$(dirname "$0")/lib.sh"
il_init flood "$1"
il_need_cmd ntpdig ntpsec-ntpdig
loadgen=${INTEROP_LOADGEN:-$IL_BUILD/bench/tsync-loadgen}
[[ -x "$loadgen" ]] || il_fail "loadgen not built at $loadgen"
il_net 2

count=2000
rate=1000
burst=8
leak=4
limit="ratelimit interval 3 burst $burst leak $leak"
if il_server_has_kod; then
    limit="$limit kod 1"
    want_kod=1
else
    want_kod=0
    il_log "$IL_SERVER has no ratelimit kod option: KoD replies not required"
fi
il_start_server "$limit"

il_spawn flood "${IL_NS_C[1]}" "$loadgen" --target "$IL_SERVER_ADDR" --port 123 \
    --flood "$count" --rate "$rate" --grace-ms 1000
flood_pid=$IL_LAST_PID
sleep 0.5
il_alive "$flood_pid" || il_fail "loadgen ended early: $(cat "$IL_DIR/flood.log")"
other=$(il_ntpdig "${IL_NS_C[2]}" 1) || il_fail "other client not answered during the flood: $other"
flood_done() {
    ! il_alive "$flood_pid"
}
il_wait_for 15 flood_done || il_fail "loadgen did not finish in 15 s"
wait "$flood_pid" || il_fail "loadgen failed: $(cat "$IL_DIR/flood.log")"

line=$(grep '^loadgen mode=flood' "$IL_DIR/flood.log")
[[ -n "$line" ]] || il_fail "no result from loadgen: $(cat "$IL_DIR/flood.log")"
il_log "$line"
field() {
    sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"
}
sent=$(field sent)
answered=$(field answered)
kod=$(field kod_rate)
kod_other=$(field kod_other)
[[ "$sent" -eq "$count" ]] || il_fail "sent $sent of $count"
# Expected answers: the burst, plus a leak of 1 in 2^leak of the limited rest, plus at
# most one token earned per 8 s; allow twice the leaked share for randomness.
max_answered=$((burst + 2 * (count - burst) / (1 << leak) + 1))
((answered >= burst / 2)) || il_fail "only $answered answers: the burst was not served"
((answered <= max_answered)) || il_fail "$answered answers to $count requests (max $max_answered)"
((kod_other == 0)) || il_fail "$kod_other KoDs with a code other than RATE"
if ((want_kod)); then
    ((kod >= 1)) || il_fail "no KoD RATE reply among $count limited requests"
    # kod 1: at most half of the limited requests get a KoD (plus randomness).
    ((kod <= count * 6 / 10)) || il_fail "$kod KoD replies: more than kod 1 allows"
fi
other=$(il_ntpdig "${IL_NS_C[2]}" 1) || il_fail "other client not answered after the flood"
il_alive "$IL_SERVER_PID" || il_fail "$IL_SERVER died under the flood"
il_pass
