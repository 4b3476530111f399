#!/usr/bin/env bash
# End-to-end test of the tsync binary against a fake tsyncd (fake_tsyncd.py, canned JSON
# as doc/control.md shows it, on Unix sockets in a temp dir): every command, --json
# (bytes unchanged), -n and reverse DNS, the daemon-down message and exit code, bad and
# oversized answers, and the four exit codes of tsync check. `tsync -n sources` is also
# compared with NTPsec's own ntpq formatter when python3-ntp is present.
# Usage: tests/cli/run.sh PATH/TO/tsync
set -uo pipefail

tsync=${1:?usage: $0 PATH/TO/tsync}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[[ -x $py ]] || py=python3
dir=$(mktemp -d /tmp/tsync-cli-test.XXXXXX)
pids=()
failures=0
checks=0

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$dir"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# start SCENARIO: a fake daemon on $dir/SCENARIO.sock, ready when the socket exists.
start() {
    local sock=$dir/$1.sock i
    "$py" "$here/fake_tsyncd.py" "$sock" "$1" --lifetime 100 --max-conn 200 \
        --log "$dir/$1.log" &
    pids+=($!)
    for i in $(seq 50); do
        [[ -S $sock ]] && return 0
        sleep 0.1
    done
    echo "fake daemon for $1 did not start"
    exit 1
}

# expect NAME WANT_RC PATTERN -- ARGS...: runs tsync ARGS; the exit code must be WANT_RC
# and stdout+stderr must contain the fixed string PATTERN.
expect() {
    local name=$1 want=$2 pattern=$3 out rc
    shift 4
    checks=$((checks + 1))
    out=$(timeout 20 "$tsync" "$@" 2>&1)
    rc=$?
    if [[ $rc -ne $want ]]; then
        fail "$name: exit $rc, wanted $want; output:"$'\n'"$out"
    elif [[ $out != *"$pattern"* ]]; then
        fail "$name: output lacks '$pattern':"$'\n'"$out"
    fi
}

for s in ok warn crit unsync unsync_recent noreach never badjson huge error; do
    start "$s"
done
ok=(-s "$dir/ok.sock")

# --- the daemon is down: every command says so and exits 1; check is CRITICAL (2).
down=$dir/absent.sock
msg="tsync: cannot connect to tsyncd at $down: No such file or directory (is tsyncd running?)"
for c in status sources sourcestats tracking serverstats metrics makestep reload; do
    expect "down $c" 1 "$msg" -- -s "$down" "$c"
done
expect "down check" 2 "TSYNC CRITICAL: cannot connect to tsyncd at $down" -- -s "$down" check
expect "down metrics says tsync_up 0" 1 "tsync_up 0" -- -s "$down" metrics

# --- every command against a healthy daemon.
expect status 0 "synchronized since 2026-11-18 11:06:40 UTC (" -- "${ok[@]}" status
expect status-bound 0 ", offset -2.100 us, bound 412.000 us, 3 of 4 sources reachable" -- \
    "${ok[@]}" status
expect tracking 0 "Frequency       : 10.031 ppm fast" -- "${ok[@]}" -n tracking
expect tracking-bound 0 "Error bound     : 0.000412000 seconds" -- "${ok[@]}" tracking
expect sourcestats 0 "    dropped: duplicate 2" -- "${ok[@]}" -n sourcestats
expect serverstats 0 "KoD sent                   : 3" -- "${ok[@]}" serverstats
expect sources-legend 0 "tally: '*' system peer" -- "${ok[@]}" sources -v
expect metrics 0 'tsync_sources_reach_register{source_address="198.18.0.1",source_name="ntp1.example.net"} 255' -- \
    "${ok[@]}" metrics
expect metrics-bound 0 $'# TYPE tsync_clock_error_bound_seconds gauge\ntsync_clock_error_bound_seconds 0.000412' -- \
    "${ok[@]}" metrics
expect makestep 0 "makestep: the next correction will be a step" -- "${ok[@]}" makestep
expect reload 0 "reload: 1 sources added, 2 removed" -- "${ok[@]}" reload
expect online 0 "online: 1 sources" -- "${ok[@]}" online ntp1.example.net
expect offline-all 0 "offline: 4 sources" -- "${ok[@]}" offline
expect offline-unknown 1 "tsync: tsyncd: no source named nosuch (unknown_source)" -- \
    "${ok[@]}" offline nosuch
expect bad-arg 1 "tsync: status: unexpected argument 'extra'" -- "${ok[@]}" status extra
expect unknown-command 1 "tsync: unknown command 'frobnicate'" -- "${ok[@]}" frobnicate
expect help 0 "usage: tsync" -- -h
expect version 0 "tsync " -- --version
checks=$((checks + 1))
grep -qx "online ntp1.example.net" "$dir/ok.log" || fail "request line 'online ntp1.example.net' not sent"

# --- sources: the exact bytes, with -n; the golden file was made by NTPsec's formatter.
checks=$((checks + 1))
"$tsync" "${ok[@]}" -n sources > "$dir/sources.txt" 2>&1
diff -u "$here/sources.golden" "$dir/sources.txt" || fail "tsync -n sources differs from the golden"
checks=$((checks + 1))
"$py" "$here/ntpq_reference.py" > "$dir/ntpq.txt"
case $? in
0) diff -u "$dir/ntpq.txt" "$dir/sources.txt" || fail "tsync -n sources differs from ntpq's PeerSummary" ;;
77) echo "note: python3-ntp not installed; compared with the golden file only" ;;
*) fail "ntpq_reference.py failed" ;;
esac

# --- without -n, addresses are looked up: 127.0.0.1 has a name on every Debian system.
if name=$(getent hosts 127.0.0.1 | awk '{print $2; exit}') && [[ -n $name ]]; then
    expect reverse-dns 0 "+${name:0:15}" -- "${ok[@]}" sources
    expect numeric 0 "+127.0.0.1       198.18.0.9" -- "${ok[@]}" -n sources
fi

# --- --json prints the daemon's answer unchanged, byte for byte.
for c in status sources sourcestats tracking serverstats; do
    checks=$((checks + 1))
    "$tsync" "${ok[@]}" --json "$c" > "$dir/json.out" || fail "--json $c: exit $?"
    (cd "$here" && "$py" -c "import sys, fake_tsyncd; sys.stdout.buffer.write(fake_tsyncd.answer('ok', '$c'))") \
        > "$dir/json.want"
    cmp -s "$dir/json.out" "$dir/json.want" || fail "--json $c changed the answer"
done
expect json-check 2 '"offset":-2.5' -- -s "$dir/crit.sock" --json check

# --- a broken daemon: unreadable, oversized and error answers.
expect badjson 1 "tsync: unreadable answer from tsyncd at $dir/badjson.sock: " -- \
    -s "$dir/badjson.sock" status
expect huge 1 "answer longer than 1 MiB" -- -s "$dir/huge.sock" sources
expect error 1 "tsync: tsyncd: empty request (bad_request)" -- -s "$dir/error.sock" tracking

# --- tsync check: OK, WARNING, CRITICAL, UNKNOWN.
expect check-ok 0 "TSYNC OK: synchronized, offset -2.100 us, bound 412.000 us|offset=" -- \
    "${ok[@]}" check
expect check-warn 1 "TSYNC WARNING: offset 300.000 ms beyond 0.1 s|" -- -s "$dir/warn.sock" check
expect check-warn-custom 0 "TSYNC OK" -- -s "$dir/warn.sock" check --warn 0.5 --crit=2
expect check-crit 2 "TSYNC CRITICAL: offset -2.500 s beyond 1 s|" -- -s "$dir/crit.sock" check
expect check-unsync 2 "TSYNC CRITICAL: not synchronized for 1h 6m" -- -s "$dir/unsync.sock" check
expect check-unsync-grace 1 "(within --max-unsync)" -- -s "$dir/unsync_recent.sock" check \
    --max-unsync 600
expect check-never 2 "TSYNC CRITICAL: not synchronized (never since start)" -- \
    -s "$dir/never.sock" check
expect check-noreach 2 "TSYNC CRITICAL: no reachable source (is UDP 123 blocked?)" -- \
    -s "$dir/noreach.sock" check
expect check-unknown 3 "TSYNC UNKNOWN: unreadable answer" -- -s "$dir/badjson.sock" check
expect check-bad-value 3 "TSYNC UNKNOWN: bad value for --warn: 'x'" -- "${ok[@]}" check --warn x
expect check-no-value 3 "TSYNC UNKNOWN: bad value for --crit: ''" -- "${ok[@]}" check --crit
expect check-bad-option 3 "TSYNC UNKNOWN: unknown option '--wart'" -- "${ok[@]}" check --wart 1
expect check-warn-above-crit 3 "TSYNC UNKNOWN: --warn 3 is above --crit 1" -- "${ok[@]}" \
    check --warn 3

# --- tsync plot: statistics files (doc/statistics.md) in a directory, read without a daemon.
stats=$dir/stats
mkdir -p "$stats"
{
    echo "time,reference,stratum,offset,frequency_ppm,skew_ppm,root_delay,root_dispersion,bound,synchronized,leap"
    for i in $(seq 0 59); do
        printf '2026-11-23T10:%02d:00.000000Z,198.18.0.1,2,%s,-10.0%02d,0.01,0.0002,0.0003,0.0004,1,0\n' \
            "$i" "$([[ $((i % 2)) -eq 0 ]] && echo 0.000002 || echo -0.000003)" "$i"
    done
} > "$stats/tracking.log"
{
    echo "time,source,address,stratum,leap,offset,delay,dispersion,result"
    for i in $(seq 0 59); do
        printf '2026-11-23T10:%02d:30.000000Z,ntp1,198.18.0.1,1,0,0.0000%02d,0.0002,0.00001,ok\n' "$i" "$i"
    done
} > "$stats/measurements.log"
expect plot-dir 0 "" -- plot -d "$stats" -o "$dir/plot.svg"
checks=$((checks + 1))
for want in "tsync: clock statistics" "offset (to add to the clock)" "frequency correction (ppm)" \
    "jitter per source" "maximum error (bound)" ">ntp1</text>" "time since 2026-11-23 10:00:00 UTC"; do
    grep -qF "$want" "$dir/plot.svg" || fail "plot-dir: the figure lacks '$want'"
done
expect plot-stdout 0 "</svg>" -- plot "$stats/tracking.log"
expect plot-since 1 "fewer than two points" -- plot --since 1s "$stats/tracking.log"
expect plot-bad-since 2 "expected a duration" -- plot --since yesterday "$stats/tracking.log"
expect plot-no-stats 1 "no statistics in $dir/none" -- plot -d "$dir/none"
printf 'a,b\n1,2\n' > "$dir/other.csv"
expect plot-not-ours 1 "unexpected header" -- plot "$dir/other.csv"

echo "cli e2e: $checks checks, $failures failed"
[[ $failures -eq 0 ]]
