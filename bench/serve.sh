#!/bin/bash
# Serve-throughput benchmark: tsyncd against chronyd, each as a plain stratum-1 server on
# 127.0.0.1 (no rate limit), one at a time, pinned to CPU 0 while tsync-loadgen loads it
# from CPU 1. Rounds alternate which server goes first; the table shows medians and the
# ratio is the median of the per-round ratios (each round's two runs are back to back).
# Usage: bench/serve.sh BUILD_DIR   (`make bench`; never part of `make test`)
# Env: BENCH_ROUNDS (5), BENCH_SECONDS (3), BENCH_SOURCES (16), BENCH_WINDOW (8),
#      BENCH_PORT (11123). Exit 0 when both targets are met, 1 when not, 2 on error.
# See bench/README.md for the method and how to read the table.
set -u
ROUNDS=${BENCH_ROUNDS:-5}
SECONDS_PER_RUN=${BENCH_SECONDS:-3}
SOURCES=${BENCH_SOURCES:-16}
WINDOW=${BENCH_WINDOW:-8}
PORT=${BENCH_PORT:-11123}
ADDR=127.0.0.1
TARGET_RATIO=1.3

die() {
    echo "serve.sh: $*" >&2
    exit 2
}

[[ $# -eq 1 && -d "$1" ]] || die "usage: $0 BUILD_DIR"
BUILD=$(cd "$1" && pwd)
TSYNCD="$BUILD/src/daemon/tsyncd"
LOADGEN=${BENCH_LOADGEN:-$BUILD/bench/tsync-loadgen}
[[ -x "$TSYNCD" ]] || die "no tsyncd at $TSYNCD (build first: ninja -C $BUILD)"
[[ -x "$LOADGEN" ]] || die "no loadgen at $LOADGEN"
command -v chronyd >/dev/null || die "chronyd not installed (make deps)"
for v in ROUNDS SECONDS_PER_RUN SOURCES WINDOW PORT; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -gt 0 ]] || die "$v must be a positive integer"
done
((ROUNDS <= 10 && SECONDS_PER_RUN <= 30)) || die "at most 10 rounds of 30 s"

# Servers on CPU 0, the load generator on CPU 1: they never compete for a core.
if (($(nproc) >= 2)); then
    PIN_SERVER=(taskset -c 0)
    PIN_LOAD=(taskset -c 1)
else
    echo "serve.sh: fewer than 2 CPUs, running unpinned (numbers mean less)" >&2
    PIN_SERVER=()
    PIN_LOAD=()
fi
# Neither server may ever get CAP_SYS_TIME; each also runs with clock control off (-x).
NOTIME=(setpriv --inh-caps=-sys_time --bounding-set=-sys_time)

DIR=$(mktemp -d /tmp/tsync-bench.XXXXXX) # 0700, as chronyd wants for its socket
SERVER_PID=""
cleanup() {
    stop_server
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

listening() {
    ss -Hlun "sport = :$PORT" 2>/dev/null | grep -q .
}

# Stops the running server: SIGTERM, up to 5 s, then SIGKILL.
stop_server() {
    local i
    [[ -n "$SERVER_PID" ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

write_configs() {
    cat >"$DIR/tsyncd.conf" <<EOF
port $PORT
bindaddress $ADDR
pidfile $DIR/tsyncd.pid
controlsocket none
local stratum 1
allow 127.0.0.0/8
EOF
    cat >"$DIR/chronyd.conf" <<EOF
user root
port $PORT
bindaddress $ADDR
pidfile $DIR/chronyd.pid
bindcmdaddress $DIR/chronyd.sock
cmdport 0
local stratum 1
allow 127.0.0.0/8
EOF
}

start_server() {
    local name=$1 i
    ! listening || die "port $PORT already in use"
    if [[ "$name" == tsyncd ]]; then
        "${PIN_SERVER[@]}" "${NOTIME[@]}" "$TSYNCD" -d -x -f "$DIR/tsyncd.conf" \
            >"$DIR/$name.log" 2>&1 &
    else
        "${PIN_SERVER[@]}" "${NOTIME[@]}" chronyd -x -d -f "$DIR/chronyd.conf" \
            >"$DIR/$name.log" 2>&1 &
    fi
    SERVER_PID=$!
    for ((i = 0; i < 50; i++)); do
        listening && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 5 "$DIR/$name.log" >&2
    die "$name did not start listening on $ADDR:$PORT"
}

# kv KEY LINE: the value of KEY=value in a loadgen result line.
kv() {
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

status_kb() {
    awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"
}

# CPU seconds (user + system) the server has used so far.
server_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' \
        "/proc/$SERVER_PID/stat"
}

loadgen() {
    "${PIN_LOAD[@]}" "$LOADGEN" --target "$ADDR" --port "$PORT" --timeout-ms 250 "$@"
}

# run_one NAME ROUND: one measured run; appends a row to $DIR/results.
run_one() {
    local name=$1 round=$2 line ping cpu0 cpu1 rss hwm
    start_server "$name"
    loadgen --duration 0.5 --sources "$SOURCES" --window "$WINDOW" >/dev/null ||
        die "loadgen warm-up failed"
    cpu0=$(server_cpu)
    line=$(loadgen --duration "$SECONDS_PER_RUN" --sources "$SOURCES" --window "$WINDOW") ||
        die "loadgen failed against $name"
    cpu1=$(server_cpu)
    # Unloaded latency: one request in flight at a time.
    ping=$(loadgen --duration 1 --sources 1 --window 1) || die "loadgen ping failed"
    kill -0 "$SERVER_PID" 2>/dev/null || die "$name died during the run"
    rss=$(status_kb VmRSS)
    hwm=$(status_kb VmHWM)
    stop_server
    # Columns: name round rate p50 p99 idle-p50 idle-p99 rss hwm srv-cpu% gen-cpu%
    # timeouts req-per-server-cpu-s
    awk -v n="$name" -v r="$round" -v rate="$(kv rate "$line")" -v d="$(kv duration_s "$line")" \
        -v p50="$(kv p50_us "$line")" -v p99="$(kv p99_us "$line")" \
        -v i50="$(kv p50_us "$ping")" -v i99="$(kv p99_us "$ping")" -v rss="$rss" -v hwm="$hwm" \
        -v c0="$cpu0" -v c1="$cpu1" -v gen="$(kv cpu_s "$line")" -v to="$(kv timeouts "$line")" \
        'BEGIN { srv = (c1 - c0) / d; eff = srv > 0 ? rate / srv : 0
                 printf "%s %d %.0f %s %s %s %s %s %s %.0f %.0f %s %.0f\n", n, r, rate, p50, p99,
                        i50, i99, rss, hwm, 100 * srv, 100 * gen / d, to, eff }' >>"$DIR/results"
    tail -n 1 "$DIR/results" | awk '{ printf "  round %d %-8s %8s req/s  p50 %5s us  p99 %5s us" \
        "  idle p50 %4s us  HWM %6s kB  CPU server %3s%% loadgen %3s%%  timeouts %s\n",
        $2, $1, $3, $4, $5, $6, $9, $10, $11, $12 }'
}

# median NAME COLUMN: median over rounds of a column of $DIR/results (1-based).
median() {
    awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$DIR/results" | sort -g |
        awk '{ v[NR] = $1 }
             END { if (NR == 0) { print 0 } else if (NR % 2) { print v[(NR + 1) / 2] }
                   else { print (v[NR / 2] + v[NR / 2 + 1]) / 2 } }'
}

maximum() {
    awk -v n="$1" -v c="$2" '$1 == n && $c > m { m = $c } END { print m + 0 }' "$DIR/results"
}

report() {
    echo
    printf '%-22s %14s %14s\n' "" tsyncd chronyd
    printf '%-22s %14.0f %14.0f\n' "answered req/s (med)" "$(median tsyncd 3)" \
        "$(median chronyd 3)"
    printf '%-22s %14.0f %14.0f\n' "req per server CPU-s" "$(median tsyncd 13)" \
        "$(median chronyd 13)"
    printf '%-22s %14s %14s\n' "p50 / p99 loaded us" "$(median tsyncd 4) / $(median tsyncd 5)" \
        "$(median chronyd 4) / $(median chronyd 5)"
    printf '%-22s %14s %14s\n' "p50 / p99 idle us" "$(median tsyncd 6) / $(median tsyncd 7)" \
        "$(median chronyd 6) / $(median chronyd 7)"
    printf '%-22s %14s %14s\n' "VmRSS kB (max)" "$(maximum tsyncd 8)" "$(maximum chronyd 8)"
    printf '%-22s %14s %14s\n' "VmHWM kB (max)" "$(maximum tsyncd 9)" "$(maximum chronyd 9)"
    printf '%-22s %14s %14s\n' "server CPU % (med)" "$(median tsyncd 10)" "$(median chronyd 10)"
    printf '%-22s %14s %14s\n' "loadgen CPU % (med)" "$(median tsyncd 11)" "$(median chronyd 11)"
    printf '%-22s %14s %14s\n' "timeouts (max)" "$(maximum tsyncd 12)" "$(maximum chronyd 12)"
    RATIO=$(paired_ratio 3)
    printf '%-22s %14s\n' "ratio tsyncd/chronyd" "${RATIO}x (median of per-round ratios)"
    printf '%-22s %14s\n' "CPU efficiency ratio" "$(paired_ratio 13)x (req per server CPU-s)"
}

# paired_ratio COLUMN: median over rounds of tsyncd's value / chronyd's in the same round.
paired_ratio() {
    awk -v c="$1" '{ v[$1, $2] = $c; r[$2] = 1 }
        END { for (k in r) if (v["chronyd", k] > 0) print v["tsyncd", k] / v["chronyd", k] }' \
        "$DIR/results" | sort -g |
        awk '{ v[NR] = $1 }
             END { m = NR == 0 ? 0 : (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)
                   printf "%.2f", m }'
}

# Runs in which neither the server nor the generator kept its core busy: with a full
# window in flight that only happens when something else on the machine took the CPU.
disturbed_runs() {
    awk '$10 < 85 && $11 < 85 { n++ } END { print n + 0 }' "$DIR/results"
}

verdict() {
    local thr mem t_hwm c_hwm disturbed
    t_hwm=$(maximum tsyncd 9)
    c_hwm=$(maximum chronyd 9)
    thr=$(awk -v r="$RATIO" -v g="$TARGET_RATIO" 'BEGIN { print ((r >= g) ? "PASS" : "MISS") }')
    mem=$( ((t_hwm <= c_hwm)) && echo PASS || echo MISS)
    disturbed=$(disturbed_runs)
    if ((disturbed > 0)); then
        echo "warning: $disturbed of $((2 * ROUNDS)) runs were slowed by other load on this" \
            "machine (server and loadgen both below 85% CPU): rerun when it is idle"
    fi
    echo "verdict: throughput $thr (${RATIO}x, target >= ${TARGET_RATIO}x);" \
        "memory $mem (tsyncd HWM ${t_hwm} kB, chronyd HWM ${c_hwm} kB, target <=)"
    [[ $thr == PASS && $mem == PASS ]]
}

write_configs
echo "serve benchmark: $ROUNDS rounds x ${SECONDS_PER_RUN} s per server, $SOURCES sources x" \
    "window $WINDOW to $ADDR:$PORT; $("$TSYNCD" --version 2>/dev/null | head -n 1)" \
    "vs $(chronyd -v | head -n 1 | cut -d' ' -f1-4); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2)); then
        order=(tsyncd chronyd)
    else
        order=(chronyd tsyncd)
    fi
    for name in "${order[@]}"; do
        run_one "$name" "$round"
    done
done
report
verdict
