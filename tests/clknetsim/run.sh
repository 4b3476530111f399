#!/bin/bash
# tsyncd, unmodified, under clknetsim (the LD_PRELOAD clock-and-network simulator of
# chrony's own tests; not packaged in Debian, so this tier runs only where
# CLKNETSIM_PATH names a clknetsim build: the directory holding clknetsim and
# clknetsim.so). Two nodes, 10000 simulated seconds each:
#   chrony-tsyncd   chronyd (local stratum 1) serves, tsyncd syncs to it
#   tsyncd-tsyncd   tsyncd (local stratum 1) serves, tsyncd syncs to it
# The client starts 0.1 s off with a 10 ppm frequency error plus wander, on a 100 us
# path with exponential jitter; clknetsim's statistics (from 2000 s on) must show the
# client within LIMIT_RMS / LIMIT_MAX of true time. Prints "PASS pair: ..." or
# "FAIL pair: ..." per pair, then "N passed, N failed"; without CLKNETSIM_PATH one
# "SKIP" line and "0 passed, 0 failed".
#
# Safety: clknetsim's 192.168.123.x network is virtual (packets go through its Unix
# socket), and every node still runs in an empty network namespace (unshare -n), as
# user nobody with every capability dropped, so a call the preload library missed can
# neither reach a network nor move this machine's clock. chronyd runs with -x
# (workplace rule: a real peer never controls a clock, even a simulated one).
# Usage: tests/clknetsim/run.sh BUILD_DIR   (root: namespaces and setpriv)
set -u
build=$(cd "${1:?usage: tests/clknetsim/run.sh BUILD_DIR}" && pwd) || exit 1
tsyncd=$build/src/daemon/tsyncd
chronyd=${CHRONYD:-/usr/sbin/chronyd}
limit_s=${CLKNETSIM_LIMIT:-10000}
LIMIT_RMS=${LIMIT_RMS:-50e-6} # measured 2026-11-23: 6.5-10.3 us
LIMIT_MAX=${LIMIT_MAX:-200e-6} # measured: 16-24 us

if [[ -z ${CLKNETSIM_PATH:-} || ! -x ${CLKNETSIM_PATH:-}/clknetsim ||
    ! -f ${CLKNETSIM_PATH:-}/clknetsim.so ]]; then
    echo "SKIP clknetsim: set CLKNETSIM_PATH to a clknetsim build (not packaged in Debian)"
    echo "0 passed, 0 failed"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "FAIL clknetsim: needs root (network namespaces, setpriv to nobody)"
    echo "0 passed, 1 failed"
    exit 1
fi
[[ -x $tsyncd ]] || { echo "FAIL clknetsim: no $tsyncd"; echo "0 passed, 1 failed"; exit 1; }

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

# as_nobody DIR CMD...: CMD in DIR as nobody, no capabilities, no new privileges
# (LD_PRELOAD is set after the switch: clknetsim fakes setuid too).
as_nobody() {
    local dir=$1
    shift
    (cd "$dir" && exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
        --inh-caps=-all --bounding-set=-all --no-new-privs "$@")
}

write_conf() { # write_conf DIR NODE ROLE DAEMON
    local dir=$1 n=$2 role=$3 daemon=$4
    {
        echo "pidfile $dir/pid.$n"
        if [[ $daemon == chronyd ]]; then
            echo "cmdport 0"
            echo "bindcmdaddress /"
        else
            echo "controlsocket none" # the simulator models no Unix sockets
        fi
        if [[ $role == server ]]; then
            echo "local stratum 1"
            echo "allow"
        else
            echo "server 192.168.123.1 iburst"
            echo "driftfile $dir/drift.$n"
        fi
    } >"$dir/conf.$n"
}

start_node() { # start_node DIR NODE DAEMON
    local dir=$1 n=$2 cmd
    if [[ $3 == chronyd ]]; then
        cmd=("$chronyd" -d -x -f "$dir/conf.$n")
    else
        cmd=("$tsyncd" -n -f "$dir/conf.$n") # -n: foreground (no fork under the simulator)
    fi
    # The namespace first (root), then the switch to nobody inside it.
    (cd "$dir" && exec unshare -n setpriv --reuid=nobody --regid=nogroup --clear-groups \
        --inh-caps=-all --bounding-set=-all --no-new-privs \
        env LD_PRELOAD="$CLKNETSIM_PATH/clknetsim.so" CLKNETSIM_NODE="$n" \
        CLKNETSIM_SOCKET="$dir/sock" "${cmd[@]}") >"$dir/log.$n" 2>&1 &
    pids+=($!)
}

# Field FIELD of node NODE's block in clknetsim's statistics.
stat_of() { # stat_of FILE NODE FIELD
    awk -v node="$2" -v field="$3" '
        /^---------------------- Node/ { n = $3 }
        index($0, field ":") == 1 && n == node { print $NF; exit }' "$1"
}

run_pair() { # run_pair SERVER CLIENT
    local pair=$1-$2 dir rc rms max
    dir=$(mktemp -d /tmp/tsync-clknetsim.XXXXXX)
    chmod 755 "$dir"
    cat >"$dir/net" <<'EOF'
node2_offset = 0.1
node2_freq = (+ 1e-5 (sum (* 1e-9 (normal))))
node2_delay1 = (+ 1e-4 (* 1e-5 (exponential)))
node1_delay2 = (+ 1e-4 (* 1e-5 (exponential)))
EOF
    write_conf "$dir" 1 server "$1"
    write_conf "$dir" 2 client "$2"
    chown -R nobody:nogroup "$dir"
    start_node "$dir" 1 "$1"
    start_node "$dir" 2 "$2"
    CLKNETSIM_RANDOM_SEED=1 as_nobody "$dir" timeout 300 "$CLKNETSIM_PATH/clknetsim" \
        -r 2000 -l "$limit_s" -s "$dir/sock" "$dir/net" 2 >"$dir/stats" 2>"$dir/log"
    rc=$?
    rms=$(stat_of "$dir/stats" 2 "RMS offset")
    max=$(stat_of "$dir/stats" 2 "Maximum absolute offset")
    if [[ $rc -eq 0 && -n $rms && -n $max ]] &&
        awk -v r="$rms" -v m="$max" -v lr="$LIMIT_RMS" -v lm="$LIMIT_MAX" \
            'BEGIN { exit !(r + 0 < lr + 0 && m + 0 < lm + 0) }'; then
        echo "PASS $pair: client RMS offset $rms s, max $max s over $limit_s simulated s"
        result=0
    else
        echo "FAIL $pair: clknetsim exit $rc, client RMS offset ${rms:-?} s, max ${max:-?} s" \
            "(limits $LIMIT_RMS, $LIMIT_MAX); logs in $dir"
        tail -n 5 "$dir/log.2" "$dir/log"
        result=1
    fi
    cleanup
    pids=()
    [[ $result -eq 0 ]] && rm -rf "$dir"
    return $result
}

passed=0
failed=0
for pair in "chronyd tsyncd" "tsyncd tsyncd"; do
    # shellcheck disable=SC2086 # two words on purpose
    if run_pair $pair; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
