#!/bin/bash
# The /metrics endpoint of tsyncd (-x, synchronized to a chronyd -x server) scraped every
# second by a real Prometheus in the same namespace: up, synchronized and a per-source
# series seen through Prometheus's API; the same series as `tsync metrics`; 405, 404,
# 431 and 400 for what is not a scrape, and garbage never stops tsyncd.
source "$(dirname "$0")/lib.sh"
il_init metrics "$1"
il_need_cmd chronyd chrony
il_need_cmd prometheus prometheus
il_need_cmd curl curl
tsyncd="$IL_BUILD/src/daemon/tsyncd"
tsync="$IL_BUILD/src/cli/tsync"
[[ -x "$tsyncd" && -x "$tsync" ]] || il_fail "tsyncd or tsync not built in $IL_BUILD"
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)
probe() { il_run "$host" timeout 20 "$python" "$IL_HERE/metrics_probe.py" "$@"; }
il_net 1
host=${IL_NS_C[1]}
port=9123
prom_port=9090

il_subst "$IL_HERE/conf/chronyd-server.conf.in" "$IL_DIR/chronyd.conf"
il_spawn chronyd "$IL_NS_S" chronyd -x -d -f "$IL_DIR/chronyd.conf"
conf="$IL_DIR/tsyncd.conf"
il_subst "$IL_HERE/conf/tsyncd-metrics.conf.in" "$conf"
sed -i "s|@PORT@|$port|" "$conf"
"${TL_NOTIME[@]}" "$tsyncd" --check-config -f "$conf" >"$IL_DIR/check.log" 2>&1 ||
    il_fail "tsyncd --check-config rejected the config: $(tail -n 1 "$IL_DIR/check.log")"
il_spawn tsyncd "$host" "$tsyncd" -d -x -f "$conf"
tsyncd_pid=$IL_LAST_PID
listening() {
    il_alive "$tsyncd_pid" && ip netns exec "$host" ss -Htln "sport = :$port" | grep -q .
}
il_wait_for 10 listening || il_fail "no endpoint on port $port: $(tail -n 5 "$IL_DIR/tsyncd.log")"
il_assert_notime "$tsyncd_pid" tsyncd

cat >"$IL_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tsync
    static_configs:
      - targets: ['127.0.0.1:$port']
YML
il_spawn prometheus "$host" prometheus --config.file="$IL_DIR/prometheus.yml" \
    --storage.tsdb.path="$IL_DIR/tsdb" --web.listen-address="127.0.0.1:$prom_port" \
    --storage.tsdb.retention.time=1h
prom_pid=$IL_LAST_PID
api="http://127.0.0.1:$prom_port"
value_is() { # value_is PROMQL VALUE: the query has one series with that value
    local out
    out=$(probe query "$api" "$1" 2>/dev/null) && [[ $(wc -l <<<"$out") -eq 1 ]] &&
        [[ ${out##* } == "$2" ]]
}
il_wait_for 40 value_is 'up{job="tsync"}' 1 ||
    il_fail "Prometheus does not see the target up: $(tail -n 5 "$IL_DIR/prometheus.log")"
il_wait_for 60 value_is 'tsync_synchronized{job="tsync"}' 1 ||
    il_fail "tsync_synchronized never 1 in Prometheus; tsyncd: $(tail -n 3 "$IL_DIR/tsyncd.log")"
sel="source_address=\"$IL_SERVER_ADDR\""
src=$(probe query "$api" "tsync_sources_reachable{job=\"tsync\",$sel}")
[[ "$src" == *"source_address=\"$IL_SERVER_ADDR\""*"source_name=\"$IL_SERVER_ADDR\""*"} 1" ]] ||
    il_fail "no reachable per-source series for $IL_SERVER_ADDR: '$src'"
off=$(probe query "$api" "tsync_sources_last_sample_offset_seconds{$sel}")
[[ -n "$off" ]] || il_fail "no per-source offset series"
il_log "Prometheus: up 1, synchronized 1, $src"

# The endpoint and `tsync metrics` list the same series (names and label sets) for the
# same daemon; a source may change state between the two reads, so three tries.
same_series() {
    il_run "$host" curl -sS --max-time 5 "http://127.0.0.1:$port/metrics" \
        >"$IL_DIR/http.txt" &&
        "$tsync" -s "$IL_DIR/tsyncd-metrics.sock" metrics >"$IL_DIR/cli.txt" &&
        probe series "$IL_DIR/http.txt" >"$IL_DIR/http.series" &&
        probe series "$IL_DIR/cli.txt" >"$IL_DIR/cli.series" &&
        cmp -s "$IL_DIR/http.series" "$IL_DIR/cli.series"
}
il_wait_for 3 same_series ||
    il_fail "endpoint and tsync metrics differ: $(diff "$IL_DIR/"{http,cli}.series | head -5)"
grep -q "^# HELP" "$IL_DIR/http.txt" || il_fail "no HELP lines in the endpoint's text"
diff <(grep '^#' "$IL_DIR/http.txt") <(grep '^#' "$IL_DIR/cli.txt") >/dev/null ||
    il_fail "HELP/TYPE lines differ between the endpoint and tsync metrics"
il_log "$(wc -l <"$IL_DIR/http.series") series, the same from /metrics and tsync metrics"

# What is not a scrape gets its status; garbage never stops tsyncd.
expect_status() { # CASE STATUS
    local got
    got=$(probe raw 127.0.0.1 "$port" "$1") || il_fail "$1: probe failed: $got"
    [[ "$got" == "HTTP/1.1 $2 "* ]] || il_fail "$1: expected $2, got '$got'"
}
expect_status post 405
expect_status delete 405
expect_status other_path 404
expect_status big_header 431
expect_status garbage 400
expect_status no_host 400
expect_status half 400
for _ in 1 2 3 4 5; do
    probe raw 127.0.0.1 "$port" garbage >/dev/null || true
done
il_alive "$tsyncd_pid" || il_fail "tsyncd died on bad requests"
expect_status get 200
head -c 2048 /dev/urandom >"$IL_DIR/random.bin"
il_run "$host" timeout 10 "$python" -c '
import socket, sys
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
    try:
        s.sendall(open(sys.argv[2], "rb").read())
        s.recv(4096)
    except OSError:
        pass
    s.close()
' "$port" "$IL_DIR/random.bin" || true
il_alive "$tsyncd_pid" || il_fail "tsyncd died on random bytes"
expect_status get 200

# Prometheus kept scraping through all of it.
il_wait_for 5 value_is 'up{job="tsync"}' 1 || il_fail "target down after the bad requests"
il_alive "$prom_pid" || il_fail "Prometheus exited: $(tail -n 3 "$IL_DIR/prometheus.log")"
kill "$tsyncd_pid"
counters="metrics endpoint 127.0.0.1:$port: .* scrapes served, .* bad requests"
il_wait_for 10 grep -q "$counters" "$IL_DIR/tsyncd.log" ||
    il_fail "no endpoint counters at exit: $(tail -n 3 "$IL_DIR/tsyncd.log")"
il_log "$(grep -o "metrics endpoint 127.0.0.1:$port: .*" "$IL_DIR/tsyncd.log")"
il_pass
