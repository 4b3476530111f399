#!/bin/bash
# chronyd as a client (clock control off with -x) in a client namespace polls the
# server under test every second and selects it: `chronyc -n sources` shows "^*" for
# 198.18.0.1 and its reach register keeps filling.
source "$(dirname "$0")/lib.sh"
il_init chronyd_client "$1"
il_need_cmd chronyd chrony
il_net 1
il_start_server

conf="$IL_DIR/chronyd-client.conf"
sock="$IL_DIR/chronyd-client.sock"
il_subst "$(dirname "$0")/conf/chronyd-client.conf.in" "$conf"
il_spawn chronyd-client "${IL_NS_C[1]}" chronyd -x -d -f "$conf"
client_pid=$IL_LAST_PID

# The source line for the server: "^* 198.18.0.1  1  0  377  0  -12us[...] +/- ..."
source_line() {
    il_run "${IL_NS_C[1]}" timeout 5 chronyc -n -h "$sock" sources 2>/dev/null |
        awk -v s="$IL_SERVER_ADDR" '$2 == s'
}
selected() {
    il_alive "$client_pid" || return 1
    [[ "$(source_line | cut -c1-2)" == "^*" ]]
}
reach_of() {
    awk '{ print $5 }' <<<"$1"
}

il_wait_for 30 selected || il_fail "not selected within 30 s: '$(source_line)'"
first=$(source_line)
# reach is an octal shift register of the last 8 polls; with a 1 s poll it must grow.
sleep 3
second=$(source_line)
echo "$first" >"$IL_DIR/sources.log"
echo "$second" >>"$IL_DIR/sources.log"
[[ -n "$second" ]] || il_fail "server vanished from chronyc sources"
r1=$((8#$(reach_of "$first")))
r2=$((8#$(reach_of "$second")))
[[ "${second:0:2}" == "^*" ]] || il_fail "lost selection: '$second'"
((r2 > r1 || r2 == 255)) ||
    il_fail "reach did not grow: $(reach_of "$first") -> $(reach_of "$second")"
stratum=$(awk '{ print $3 }' <<<"$second")
[[ "$stratum" == 1 ]] || il_fail "chronyd sees stratum $stratum, expected 1"
il_alive "$IL_SERVER_PID" || il_fail "$IL_SERVER died"
il_log "$second"
il_assert_notime "$client_pid" "chronyd client"
il_pass
