#!/bin/bash
# ntpdig (NTPsec's SNTP client) in a client namespace queries the server under test and
# accepts its answer: stratum as configured, offset within a few ms (both ends read the
# same real clock, so any larger offset is a timestamp bug).
source "$(dirname "$0")/lib.sh"
il_init ntpdig "$1"
il_need_cmd ntpdig ntpsec-ntpdig
il_net 1
il_start_server

# Up to 5 tries: the first query may race the server's first reference update.
for ((try = 0; try < 5; try++)); do
    out=$(il_ntpdig "${IL_NS_C[1]}" 2) && break
    sleep 0.5
done
echo "$out" >"$IL_DIR/ntpdig.log"
grep -q "$IL_SERVER_ADDR" <<<"$out" || il_fail "no answer: $(tail -n 1 <<<"$out")"
read -r offset stratum < <(il_ntpdig_fields "$out")
[[ -n "$offset" && -n "$stratum" ]] || il_fail "cannot parse ntpdig output: $out"
[[ "$stratum" -eq 1 ]] || il_fail "stratum $stratum, expected 1 (local stratum 1)"
awk -v o="$offset" 'BEGIN { exit !(o < 0.005 && o > -0.005) }' ||
    il_fail "offset $offset s, expected |offset| < 5 ms"
il_alive "$IL_SERVER_PID" || il_fail "$IL_SERVER died"
il_log "stratum $stratum offset $offset"
il_pass
