#!/bin/bash
# Logs, statistics and the service manager, with tsyncd (-x) the client of a chronyd -x
# server: port 123 on loopback only (no allow line), the log file gets the events,
# tracking.log a line per clock update and measurements.log a line per reply (CSV with
# headers, doc/statistics.md), SIGHUP after logrotate moved them reopens all three,
# systemd's NOTIFY_SOCKET gets READY=1 and a STATUS= line saying synchronized, and
# `tsync plot` draws the files.
source "$(dirname "$0")/lib.sh"
il_init stats "$1"
il_need_cmd chronyd chrony
tsyncd="$IL_BUILD/src/daemon/tsyncd"
tsync="$IL_BUILD/src/cli/tsync"
[[ -x "$tsyncd" && -x "$tsync" ]] || il_fail "tsyncd or tsync not built in $IL_BUILD"
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)
il_net 1
host=${IL_NS_C[1]}
mkdir -p "$IL_DIR/stats"

il_subst "$IL_HERE/conf/chronyd-server.conf.in" "$IL_DIR/chronyd.conf"
il_spawn chronyd "$IL_NS_S" chronyd -x -d -f "$IL_DIR/chronyd.conf"
conf="$IL_DIR/tsyncd.conf"
il_subst "$IL_HERE/conf/tsyncd-stats.conf.in" "$conf"
"${TL_NOTIME[@]}" "$tsyncd" --check-config -f "$conf" >"$IL_DIR/check.log" 2>&1 ||
    il_fail "tsyncd --check-config rejected the config: $(tail -n 1 "$IL_DIR/check.log")"

# A stand-in for systemd's notify socket: it appends each datagram to a file.
notify="$IL_DIR/notify.sock"
il_spawn notify "$host" "$python" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    for _ in range(10000):
        out.write(s.recv(4096).decode(errors="replace") + "\n---\n")
        out.flush()
' "$notify" "$IL_DIR/notify.log"
il_wait_for 5 test -S "$notify" || il_fail "no notify socket"
# -n: foreground, logging to the configured file (not -d, which keeps stderr).
il_spawn tsyncd "$host" env NOTIFY_SOCKET="$notify" "$tsyncd" -n -x -f "$conf"
tsyncd_pid=$IL_LAST_PID

log="$IL_DIR/tsyncd.log"
synced() { il_alive "$tsyncd_pid" && grep -q "synced: synchronized to $IL_SERVER_ADDR" "$log"; }
il_wait_for 30 synced || il_fail "not synchronized in 30 s; log: $(tail -n 5 "$log" 2>&1)"
il_assert_notime "$tsyncd_pid" tsyncd
# A client-only config (no allow): port 123 on loopback only, for local ntpq queries.
listening=$(il_run "$host" ss -Hulnp 2>/dev/null | awk '{ print $4 }' | grep ':123$' | sort | tr '\n' ' ')
[[ $listening == "127.0.0.1:123 [::1]:123 " ]] ||
    il_fail "client-only tsyncd should listen on loopback port 123 only, listens on: $listening"
tracking_lines() { [[ $(wc -l <"$IL_DIR/stats/tracking.log") -ge 6 ]]; }
il_wait_for 30 tracking_lines || il_fail "tracking.log: $(cat "$IL_DIR/stats/tracking.log" 2>&1)"
# The silent source: unreachable after 8 polls, then repeated with back-off (first
# repetition a minute later).
unreachable() { grep -q "source_unreachable: source 198.18.0.250" "$log"; }
il_wait_for 30 unreachable || il_fail "no unreachable alert; log: $(tail -n 5 "$log")"

head -n 1 "$IL_DIR/stats/tracking.log" | grep -q '^time,reference,stratum,offset,' ||
    il_fail "tracking.log header: $(head -n 1 "$IL_DIR/stats/tracking.log")"
grep -q ",$IL_SERVER_ADDR,2,.*,1,0\$" "$IL_DIR/stats/tracking.log" ||
    il_fail "no synchronized tracking line: $(tail -n 2 "$IL_DIR/stats/tracking.log")"
m="$IL_DIR/stats/measurements.log"
head -n 1 "$m" | grep -q '^time,source,address,stratum,leap,offset,delay,dispersion,result$' ||
    il_fail "measurements.log header: $(head -n 1 "$m")"
grep -q ",$IL_SERVER_ADDR,$IL_SERVER_ADDR,1,0,.*,ok\$" "$m" ||
    il_fail "no used reply in measurements.log: $(tail -n 2 "$m")"
grep -q '^[0-9-]*T[0-9:.]*Z step: stepped the clock\|clock correction of' "$log" ||
    grep -q 'Z synced: ' "$log" || il_fail "log file lines lack their stamps: $(head -n 3 "$log")"

# logrotate: move the files away, SIGHUP, new files (with headers) fill again.
mv "$log" "$log.1"
mv "$IL_DIR/stats/tracking.log" "$IL_DIR/stats/tracking.log.1"
mv "$m" "$m.1"
kill -HUP "$tsyncd_pid"
reopened() {
    [[ -s $log ]] && grep -q "SIGHUP: log and statistics files reopened" "$log" &&
        [[ $(wc -l <"$IL_DIR/stats/tracking.log" 2>/dev/null || echo 0) -ge 2 ]] &&
        [[ $(wc -l <"$m" 2>/dev/null || echo 0) -ge 2 ]]
}
il_wait_for 20 reopened || il_fail "files not reopened after SIGHUP: $(ls -l "$IL_DIR" "$IL_DIR/stats")"
head -n 1 "$IL_DIR/stats/tracking.log" | grep -q '^time,' || il_fail "no header after reopen"

# systemd: ready, then a status line naming the system peer.
grep -q '^READY=1$' "$IL_DIR/notify.log" || il_fail "no READY=1: $(cat "$IL_DIR/notify.log")"
grep -q "^STATUS=synchronized to $IL_SERVER_ADDR, offset " "$IL_DIR/notify.log" ||
    il_fail "no synchronized STATUS: $(cat "$IL_DIR/notify.log")"

# The plot of what was written (the rotated and the new files).
"$tsync" plot -o "$IL_DIR/plot.svg" "$IL_DIR/stats/tracking.log.1" "$m.1" >"$IL_DIR/plot.log" 2>&1 ||
    il_fail "tsync plot: $(cat "$IL_DIR/plot.log")"
for want in "offset (to add to the clock)" "frequency correction (ppm)" "jitter per source" \
    ">$IL_SERVER_ADDR</text>"; do
    grep -qF "$want" "$IL_DIR/plot.svg" || il_fail "plot lacks '$want'"
done
il_alive "$tsyncd_pid" || il_fail "tsyncd died"
il_log "$(wc -l <"$IL_DIR/stats/tracking.log.1") tracking and $(wc -l <"$m.1") measurement lines before the rotation"
il_pass
