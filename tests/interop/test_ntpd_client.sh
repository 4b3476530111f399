#!/bin/bash
# NTPsec's ntpd as a client (unpacked from its Debian package, never installed: it
# conflicts with chrony) in a client namespace, clock discipline off ("disable ntp",
# "disable kernel", no CAP_SYS_TIME), selects the server under test: `ntpq -pn` marks
# 198.18.0.1 with "*" (system peer).
source "$(dirname "$0")/lib.sh"
il_init ntpd_client "$1"

root=$(il_ntpsec_dir) || il_skip "NTPsec unavailable: $root"
ntpd="$root/usr/sbin/ntpd"
missing=$(ldd "$ntpd" 2>&1 | awk '/not found/ { print $1 }' | tr '\n' ' ')
[[ -z "$missing" ]] || il_skip "unpacked ntpd lacks shared libraries: $missing"
if ! py=$(il_ntp_python); then
    il_need_cmd ntpdig ntpsec-ntpdig # pulls in python3-ntp
    py=$(il_ntp_python) || il_skip "no python3 with NTPsec's ntp module for ntpq"
fi
il_net 1
il_start_server

conf="$IL_DIR/ntpd-client.conf"
il_subst "$(dirname "$0")/conf/ntpd-client.conf.in" "$conf"
il_spawn ntpd-client "${IL_NS_C[1]}" "$ntpd" -n -g -c "$conf" -p "$IL_DIR/ntpd.pid"
client_pid=$IL_LAST_PID

# "*198.18.0.1  .LOCL.  1 u  3  8  377  0.05  -0.01  0.02" once it is the system peer.
peer_line() {
    il_run "${IL_NS_C[1]}" timeout 5 "$py" "$root/usr/bin/ntpq" -pn 127.0.0.1 2>&1 |
        grep -F "$IL_SERVER_ADDR"
}
selected() {
    il_alive "$client_pid" || return 1
    [[ "$(peer_line | cut -c1)" == "*" ]]
}

sleep 1
il_alive "$client_pid" || il_fail "ntpd exited: $(tail -n 3 "$IL_DIR/ntpd-client.log")"
peer_line >/dev/null || il_fail "ntpq cannot query ntpd: $(il_run "${IL_NS_C[1]}" \
    timeout 5 "$py" "$root/usr/bin/ntpq" -pn 127.0.0.1 2>&1 | tail -n 1)"
# iburst sends 6 requests 2 s apart; the peer is picked after a few samples.
il_wait_for 60 selected || il_fail "not selected within 60 s: '$(peer_line)'"
line=$(peer_line)
echo "$line" >"$IL_DIR/ntpq.log"
stratum=$(awk '{ print $3 }' <<<"$line")
[[ "$stratum" == 1 ]] || il_fail "ntpd sees stratum $stratum, expected 1"
il_alive "$IL_SERVER_PID" || il_fail "$IL_SERVER died"
il_log "$line"
il_assert_notime "$client_pid" "ntpd"
il_pass
