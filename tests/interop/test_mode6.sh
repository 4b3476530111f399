#!/bin/bash
# NTP mode 6 against tsyncd with the real clients: tsyncd (-x) in a client namespace is
# synchronized to a chronyd -x server; NTPsec's ntpq (-p, -pn, -c rv, -c "rv 0 list",
# -c as) and the monitoring plugins check_ntp_peer and check_ntp_time run on that host
# against 127.0.0.1 and must parse the answers (tally "*", columns, OK states). From a
# second namespace, not admitted by the default cmdallow (127.0.0.0/8, ::1), mode 6
# queries get no answer at all while NTP time still does; mode 7 is never answered.
source "$(dirname "$0")/lib.sh"
il_init mode6 "$1"
il_need_cmd chronyd chrony
plugins=/usr/lib/nagios/plugins
[[ -x $plugins/check_ntp_peer ]] || il_need_cmd "$plugins/check_ntp_peer" monitoring-plugins-basic
root=$(il_ntpsec_dir) || il_skip "NTPsec unavailable: $root"
if ! py=$(il_ntp_python); then
    il_need_cmd ntpdig ntpsec-ntpdig # pulls in python3-ntp
    py=$(il_ntp_python) || il_skip "no python3 with NTPsec's ntp module for ntpq"
fi
tsyncd="$IL_BUILD/src/daemon/tsyncd"
[[ -x "$tsyncd" ]] || il_fail "tsyncd not built at $tsyncd"
il_net 2
host=${IL_NS_C[1]}
other=${IL_NS_C[2]}

il_subst "$IL_HERE/conf/chronyd-server.conf.in" "$IL_DIR/chronyd.conf"
il_spawn chronyd "$IL_NS_S" chronyd -x -d -f "$IL_DIR/chronyd.conf"
chronyd_pid=$IL_LAST_PID
conf="$IL_DIR/tsyncd.conf"
il_subst "$IL_HERE/conf/tsyncd-m6.conf.in" "$conf"
"${TL_NOTIME[@]}" "$tsyncd" --check-config -f "$conf" >"$IL_DIR/check.log" 2>&1 ||
    il_fail "tsyncd --check-config rejected the config: $(tail -n 1 "$IL_DIR/check.log")"
il_spawn tsyncd "$host" "$tsyncd" -d -x -f "$conf"
tsyncd_pid=$IL_LAST_PID
tl_wait_for 10 tl_udp_listening "$host" 123 || il_fail "tsyncd does not listen on port 123"
il_assert_notime "$tsyncd_pid" tsyncd

ntpq() { # ntpq ARGS...: NTPsec's ntpq on the tsyncd host, bounded in time
    il_run "$host" timeout 20 "$py" "$root/usr/bin/ntpq" "$@" 2>&1
}
peer_line() {
    ntpq -pn 127.0.0.1 | grep -F "$IL_SERVER_ADDR"
}
selected() {
    il_alive "$tsyncd_pid" || return 1
    [[ "$(peer_line | cut -c1)" == "*" ]]
}
il_wait_for 60 selected || il_fail "no system peer in ntpq -pn within 60 s: $(ntpq -pn 127.0.0.1)"

# ntpq -pn: the header and rule of NTPsec, then "*198.18.0.1 127.127.1.1 1 u when poll
# reach ..." (chronyd's "local stratum 1" refid is 127.127.1.1, shown dotted).
out=$(ntpq -pn 127.0.0.1)
echo "$out" >"$IL_DIR/ntpq-pn.log"
header='     remote           refid      st t when poll reach   delay   offset   jitter'
[[ "$(head -n 1 <<<"$out")" == "$header" ]] || il_fail "ntpq -pn header: $(head -n 1 <<<"$out")"
sed -n 2p <<<"$out" | grep -q '^=\{79\}$' || il_fail "ntpq -pn rule: $(sed -n 2p <<<"$out")"
read -r tally_remote refid st t when poll reach delay offset jitter <<<"$(peer_line)"
[[ "$tally_remote" == "*$IL_SERVER_ADDR" && "$refid" == 127.127.1.1 ]] ||
    il_fail "ntpq -pn row: $(peer_line)"
[[ "$st" == 1 && "$t" == u ]] || il_fail "ntpq -pn stratum/type: $(peer_line)"
[[ "$poll" == 2 && "$reach" =~ ^[0-7]+$ && "$reach" != 0 ]] || il_fail "poll/reach: $(peer_line)"
# "-" within the second after a reply (ntpq prints no 0), else seconds since it.
[[ "$when" == - || ("$when" =~ ^[0-9]+$ && "$when" -le 10) ]] || il_fail "when: $(peer_line)"
for v in "$delay" "$offset" "$jitter"; do
    [[ "$v" =~ ^-?[0-9]+\.[0-9]+$ ]] || il_fail "delay/offset/jitter not numbers: $(peer_line)"
done

# ntpq -p (names): the same row, tally first.
out=$(ntpq -p 127.0.0.1)
echo "$out" >"$IL_DIR/ntpq-p.log"
[[ "$(sed -n 3p <<<"$out" | cut -c1)" == "*" ]] || il_fail "ntpq -p: $out"

# ntpq -c rv: system status and variables (ntpq prints leap as two bits).
out=$(ntpq -c rv 127.0.0.1)
echo "$out" >"$IL_DIR/ntpq-rv.log"
grep -q '^associd=0 status=06' <<<"$out" || il_fail "ntpq rv status: $out"
grep -q 'sync_ntp' <<<"$out" || il_fail "ntpq rv: no sync_ntp: $out"
for want in 'version="tsyncd ' 'leap=00' 'stratum=2' "refid=$IL_SERVER_ADDR" 'peer=' \
    'offset=' 'sys_jitter=' 'rootdisp=' 'rootdelay=' 'reftime=' 'frequency='; do
    grep -qF "$want" <<<"$out" || il_fail "ntpq rv lacks '$want': $out"
done
out=$(ntpq -c "rv 0 offset,sys_jitter,rootdisp,rootdelay" 127.0.0.1)
echo "$out" >>"$IL_DIR/ntpq-rv.log"
[[ $(grep -o '[a-z_]*=' <<<"$out" | tr -d '\n') == "offset=sys_jitter=rootdisp=rootdelay=" ]] ||
    il_fail "ntpq rv with a list: $out"

# ntpq -c as: "  1     1  961a   yes   yes  none  sys.peer ..." (status 96xx: configured,
# reachable, system peer).
out=$(ntpq -c as 127.0.0.1)
echo "$out" >"$IL_DIR/ntpq-as.log"
awk '$1 == 1 && $3 ~ /^96/ && $4 == "yes" && $5 == "yes" && $7 == "sys.peer"' <<<"$out" |
    grep -q . || il_fail "ntpq -c as: $out"

# The monitoring plugins: mode 6 (check_ntp_peer, version 2 requests) and mode 3.
out=$(il_run "$host" timeout 20 "$plugins/check_ntp_peer" -H 127.0.0.1 -w 1 -c 2 -j 100 -k 200 \
    -W 4 -C 6 2>&1)
rc=$?
echo "$out" >"$IL_DIR/check_ntp_peer.log"
[[ $rc -eq 0 && "$out" == "NTP OK: Offset "* && "$out" == *"stratum=1"* ]] ||
    il_fail "check_ntp_peer (exit $rc): $out"
out=$(il_run "$host" timeout 20 "$plugins/check_ntp_time" -H 127.0.0.1 2>&1)
rc=$?
echo "$out" >"$IL_DIR/check_ntp_time.log"
[[ $rc -eq 0 && "$out" == "NTP OK: Offset "* ]] || il_fail "check_ntp_time (exit $rc): $out"

# Not admitted: the other namespace gets time (mode 3) but no mode 6 answer, not even an
# error; mode 7 is answered to nobody; an unknown opcode gets the error code 3.
probe=("$(command -v python3)" "$IL_HERE/m6_probe.py")
addr=${IL_ADDR_C[1]}
ok=$(il_run "$other" "$(command -v python3)" "$IL_HERE/ntp_probe.py" query "$addr") ||
    il_fail "the other namespace gets no time from $addr: $ok"
for ((try = 0; try < 3; try++)); do
    out=$(il_run "$other" "${probe[@]}" readstat "$addr") &&
        il_fail "mode 6 from ${IL_ADDR_C[2]} (not in cmdallow) was answered: $out"
done
out=$(il_run "$other" timeout 30 "$py" "$root/usr/bin/ntpq" -pn "$addr" 2>&1)
grep -qF "$IL_SERVER_ADDR" <<<"$out" && il_fail "ntpq from ${IL_ADDR_C[2]} got peers: $out"
out=$(il_run "$host" "${probe[@]}" readstat 127.0.0.1) || il_fail "raw READSTAT: $out"
out=$(il_run "$host" "${probe[@]}" mode7 127.0.0.1) || il_fail "mode 7 was answered: $out"
out=$(il_run "$host" "${probe[@]}" badop 127.0.0.1) || il_fail "unknown opcode: $out"

# The counters in the exit log: answers, the denied queries, the mode 7 drop.
il_alive "$chronyd_pid" || il_fail "chronyd died"
kill -TERM "$tsyncd_pid"
for ((i = 0; i < 50; i++)); do
    il_alive "$tsyncd_pid" || break
    sleep 0.1
done
il_alive "$tsyncd_pid" && il_fail "tsyncd did not stop on SIGTERM"
line=$(grep -o 'mode 6 queries: .*' "$IL_DIR/tsyncd.log")
il_log "$line"
grep -Eq 'answered=[1-9][0-9]* error_sent=[1-9][0-9]* denied=[1-9][0-9]* .*mode7_dropped=1$' \
    <<<"$line" || il_fail "mode 6 counters: '$line'"
il_pass
