# Harness shared by the namespace test suites (tests/interop, tests/fakeclock): start-up
# checks, a temp dir, processes started without CAP_SYS_TIME and tracked by PID, network
# namespaces cabled to a bridge (addresses only from 198.18.0.0/15, RFC 2544's benchmarking
# range), the EXIT trap that stops and deletes all of it, and the PASS/FAIL/SKIP lines read
# by tests/lib/runner.sh. Sourced by each suite's lib.sh, which adds its own helpers.
# shellcheck shell=bash disable=SC2034

TL_SERVER_ADDR=198.18.0.1
TL_PIDS=()
TL_NETNS=()
TL_PORTS=()
TL_DIR=""
TL_DONE=0
# Set by the suite's lib.sh before tl_init: the function every failure here goes through (a
# caller such as bench/accuracy/run.sh may redefine the suite's one), the variable that keeps
# the temp dir, and how much of each log a failed test shows.
TL_FAIL=tl_fail
TL_KEEP_VAR=TL_KEEP
TL_LOG_TAIL=25

# Every process that could touch the clock runs without CAP_SYS_TIME, even in its
# inheritable or bounding set, so nothing it execs can get it back either.
TL_NOTIME=(setpriv --inh-caps=-sys_time --bounding-set=-sys_time)

# tl_init NAME BUILD_DIR: the test's name and its checked build dir (root needed too).
tl_init() {
    TL_NAME=$1
    TL_BUILD=${2:-}
    if [[ -z "$TL_BUILD" || ! -d "$TL_BUILD" ]]; then
        "$TL_FAIL" "usage: $0 BUILD_DIR (got '${TL_BUILD}')"
    fi
    TL_BUILD=$(cd "$TL_BUILD" && pwd)
    if [[ $(id -u) -ne 0 ]]; then
        "$TL_FAIL" "must run as root (network namespaces)"
    fi
}

# tl_begin PREFIX SUITE: namespace names start with PREFIX; the temp dir is
# /tmp/tsync-SUITE-NAME.* (mode 0700, as chronyd wants for its command socket); from here on
# the cleanup trap runs on every exit path.
tl_begin() {
    TL_PFX=$1
    TL_DIR=$(mktemp -d "/tmp/tsync-$2-${TL_NAME}.XXXXXX")
    trap tl_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

tl_log() {
    echo "[$TL_NAME] $*" >&2
}

# Kills every process we started (TERM, then KILL after a bounded wait), deletes our
# namespaces and the temp dir (kept when the suite's KEEP variable is set).
tl_cleanup() {
    local pid ns keep=${!TL_KEEP_VAR:-}
    for pid in "${TL_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${TL_PIDS[@]}"; do
        tl_stop "$pid"
    done
    TL_PIDS=()
    for ns in "${TL_NETNS[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    TL_NETNS=()
    if [[ -n "$TL_DIR" && -d "$TL_DIR" ]]; then
        if [[ $TL_DONE -ne 1 || -n "$keep" ]]; then
            tl_dump_logs
        fi
        if [[ -z "$keep" ]]; then
            rm -rf "$TL_DIR"
        else
            echo "[$TL_NAME] kept $TL_DIR" >&2
        fi
    fi
}

# tl_stop PID: TERM, then KILL if it is still there after 3 s; reaps it.
tl_stop() {
    local i
    kill -TERM "$1" 2>/dev/null
    for ((i = 0; i < 30; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# Prints the tail of every log we wrote, so a failure in CI can be understood.
tl_dump_logs() {
    local f
    for f in "$TL_DIR"/*.log; do
        [[ -s "$f" ]] || continue
        echo "----- $(basename "$f") (last $TL_LOG_TAIL lines) -----" >&2
        tail -n "$TL_LOG_TAIL" "$f" >&2
    done
}

# Result lines: exactly one per test, read by runner.sh (exit 0 pass, 1 fail, 77 skip).
tl_pass() {
    TL_DONE=1
    echo "PASS ${TL_NAME}${1:+: $*}"
    exit 0
}

tl_fail() {
    echo "FAIL ${TL_NAME:-$(basename "$0" .sh)}: $*"
    exit 1
}

tl_skip() {
    TL_DONE=1
    echo "SKIP ${TL_NAME}: $*"
    exit 77
}

# tl_wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds; 1 on timeout.
tl_wait_for() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 5; i++)); do
        if "$@"; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# tl_need_cmd CMD PKG: installs PKG with apt-get when CMD is missing (fresh CI machine).
# chrony's maintainer scripts would start a system chronyd that disciplines the clock
# (prometheus's a server left running), so they are installed only where policy-rc.d
# forbids starting services.
tl_need_cmd() {
    local cmd=$1 pkg=$2
    if command -v "$cmd" >/dev/null 2>&1; then
        return 0
    fi
    if [[ "$pkg" == chrony || "$pkg" == prometheus ]]; then
        if [[ ! -x /usr/sbin/policy-rc.d ]] || /usr/sbin/policy-rc.d "$pkg" start; then
            "$TL_FAIL" "$cmd missing and installing $pkg could start its service"
        fi
    fi
    tl_log "installing $pkg for $cmd"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "$pkg" >"$TL_DIR/apt-$pkg.log" 2>&1; then
        apt-get update >>"$TL_DIR/apt-$pkg.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "$pkg" >>"$TL_DIR/apt-$pkg.log" 2>&1 || "$TL_FAIL" "cannot install $pkg"
    fi
    command -v "$cmd" >/dev/null 2>&1 || "$TL_FAIL" "$pkg installed but $cmd still missing"
}

# ---- network ---------------------------------------------------------------------

# tl_bridge_ns NS [ADDR]: a namespace holding bridge br0 (with ADDR/15 on it if given).
tl_bridge_ns() {
    local ns=$1 addr=${2:-}
    ip netns add "$ns" || "$TL_FAIL" "ip netns add $ns failed"
    TL_NETNS+=("$ns")
    ip -n "$ns" link set lo up
    ip -n "$ns" link add br0 type bridge
    if [[ -n "$addr" ]]; then
        ip -n "$ns" addr add "$addr/15" dev br0
    fi
    ip -n "$ns" link set br0 up
}

# tl_cable NS ADDR PORT BRIDGE_NS: a namespace NS with eth0 at ADDR/15, the other end of its
# veth pair being port PORT of BRIDGE_NS's br0 (appended to TL_PORTS).
tl_cable() {
    local ns=$1 addr=$2 port=$3 bridge=$4
    ip netns add "$ns" || "$TL_FAIL" "ip netns add $ns failed"
    TL_NETNS+=("$ns")
    ip -n "$ns" link set lo up
    ip link add name eth0 netns "$ns" type veth peer name "$port" netns "$bridge" ||
        "$TL_FAIL" "veth for $ns failed"
    ip -n "$bridge" link set "$port" master br0
    ip -n "$bridge" link set "$port" up
    ip -n "$ns" addr add "$addr/15" dev eth0
    ip -n "$ns" link set eth0 up
    TL_PORTS+=("$port")
}

# tl_clients N BRIDGE_NS: client namespaces TL_NS_C[1..N], client i at
# TL_ADDR_C[i] = 198.18.0.(i+1), cabled to port p<i> of BRIDGE_NS's br0.
tl_clients() {
    local n=$1 bridge=$2 i
    TL_NS_C=()
    TL_ADDR_C=()
    for ((i = 1; i <= n; i++)); do
        TL_NS_C[i]="${TL_PFX}c$i"
        TL_ADDR_C[i]="198.18.0.$((i + 1))"
        tl_cable "${TL_NS_C[i]}" "${TL_ADDR_C[i]}" "p$i" "$bridge"
    done
}

# tl_wait_links ADDR NS...: fails unless ADDR answers a ping from every NS within 5 s each.
tl_wait_links() {
    local addr=$1 ns
    shift
    for ns in "$@"; do
        tl_wait_for 5 ip netns exec "$ns" ping -c 1 -W 1 -q "$addr" >/dev/null 2>&1 ||
            "$TL_FAIL" "no link from $ns to $addr"
    done
}

# tl_udp_listening NS PORT: true when a UDP socket is bound to PORT in NS.
tl_udp_listening() {
    ip netns exec "$1" ss -Hlun "sport = :$2" 2>/dev/null | grep -q .
}

# ---- processes -------------------------------------------------------------------

# tl_spawn LOG NS CMD...: starts CMD in namespace NS without CAP_SYS_TIME, output to
# $TL_DIR/LOG.log; sets TL_LAST_PID (ip netns exec, setpriv and env all exec, so this is
# the PID of CMD itself) and records it for the cleanup trap.
tl_spawn() {
    local log=$1 ns=$2
    shift 2
    ip netns exec "$ns" "${TL_NOTIME[@]}" "$@" >"$TL_DIR/$log.log" 2>&1 &
    TL_LAST_PID=$!
    TL_PIDS+=("$TL_LAST_PID")
}

tl_alive() {
    kill -0 "$1" 2>/dev/null
}

# tl_assert_notime PID NAME: fails the test unless CAP_SYS_TIME (bit 25) is out of the
# process's bounding set, i.e. setpriv really took it away.
tl_assert_notime() {
    local bnd
    bnd=$(awk '$1 == "CapBnd:" { print $2 }' "/proc/$1/status" 2>/dev/null)
    [[ -n "$bnd" ]] || "$TL_FAIL" "$2 (pid $1) is not running"
    if (((16#$bnd >> 25) & 1)); then
        "$TL_FAIL" "$2 (pid $1) still has CAP_SYS_TIME in its bounding set"
    fi
}
