#!/bin/bash
# Malformed and oversized input: short packets, bad versions, modes that must not be
# answered (0, 2, 4, 5, 6 from off-host, 7), a 1000-byte packet and a bad extension
# field get no reply at all; the server is still alive and answering afterwards; and a
# request made longer by an extension field gets a 48-byte reply, never a larger one.
source "$(dirname "$0")/lib.sh"
il_init malformed "$1"
il_net 1
il_start_server
probe=("$(command -v python3)" "$IL_HERE/ntp_probe.py")

il_wait_for 5 il_run "${IL_NS_C[1]}" "${probe[@]}" query "$IL_SERVER_ADDR" >/dev/null ||
    il_fail "no answer to a plain request before the probes"
out=$(il_run "${IL_NS_C[1]}" timeout 60 "${probe[@]}" malformed "$IL_SERVER_ADDR")
rc=$?
echo "$out" >"$IL_DIR/malformed.log"
if [[ $rc -ne 0 ]]; then
    il_fail "answered malformed input: $(grep -v noreply <<<"$out" | tr '\n' ';')"
fi
il_alive "$IL_SERVER_PID" || il_fail "$IL_SERVER died on malformed input"
out=$(il_run "${IL_NS_C[1]}" "${probe[@]}" query "$IL_SERVER_ADDR") ||
    il_fail "no answer after the malformed probes: $out"
out=$(il_run "${IL_NS_C[1]}" "${probe[@]}" extfield "$IL_SERVER_ADDR") ||
    il_fail "request with an extension field: $out (want a 48-byte reply)"
echo "$out" >>"$IL_DIR/malformed.log"
il_alive "$IL_SERVER_PID" || il_fail "$IL_SERVER died"
il_pass
