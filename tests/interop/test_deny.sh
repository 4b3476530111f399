#!/bin/bash
# Access control: with "allow 198.18.0.0/15" and "deny 198.18.0.3" the server answers
# 198.18.0.2 but never 198.18.0.3, whose ntpdig query must time out (no KoD, nothing).
source "$(dirname "$0")/lib.sh"
il_init deny "$1"
il_need_cmd ntpdig ntpsec-ntpdig
il_net 2
il_start_server "deny ${IL_ADDR_C[2]}"

for ((try = 0; try < 5; try++)); do
    ok=$(il_ntpdig "${IL_NS_C[1]}" 2) && break
    sleep 0.5
done
grep -q "$IL_SERVER_ADDR" <<<"$ok" || il_fail "allowed ${IL_ADDR_C[1]} got no answer: $ok"

# Three tries from the denied address, each with a 2 s timeout: none may be answered.
for ((try = 0; try < 3; try++)); do
    denied=$(il_ntpdig "${IL_NS_C[2]}" 2)
    rc=$?
    echo "$denied" >>"$IL_DIR/denied.log"
    [[ $rc -ne 0 ]] || il_fail "denied ${IL_ADDR_C[2]} was answered: $denied"
    grep -qi "kiss\|kod\|$IL_SERVER_ADDR" <<<"$denied" &&
        il_fail "denied ${IL_ADDR_C[2]} got a reply: $denied"
done
# ntpdig keeps quiet about replies it rejects (a KoD, say); the raw probe sees any reply.
out=$(il_run "${IL_NS_C[2]}" "$(command -v python3)" "$IL_HERE/ntp_probe.py" query \
    "$IL_SERVER_ADDR") && il_fail "denied ${IL_ADDR_C[2]} got a reply to a raw request: $out"
# And the allowed client is still answered afterwards.
ok=$(il_ntpdig "${IL_NS_C[1]}" 2) || il_fail "allowed client not answered after: $ok"
il_alive "$IL_SERVER_PID" || il_fail "$IL_SERVER died"
il_pass
