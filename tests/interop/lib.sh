# Shared helpers for the interop tests: network namespaces joined by a bridge, real
# peers (chronyd, NTPsec ntpd, ntpdig) started with CAP_SYS_TIME dropped, bounded waits
# and a trap that stops every started process and deletes every namespace.
# Sourced by tests/interop/test_*.sh; never changes the host clock or leaves the
# namespaces (addresses only from 198.18.0.0/15, the benchmarking range of RFC 2544).
# shellcheck shell=bash disable=SC2034

IL_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IL_SERVER_ADDR=198.18.0.1
IL_PIDS=()
IL_NETNS=()
IL_DIR=""
IL_DONE=0

# Every process that could touch the clock runs without CAP_SYS_TIME, even in
# its inheritable or bounding set, so nothing it execs can get it back either.
IL_NOTIME=(setpriv --inh-caps=-sys_time --bounding-set=-sys_time)

# il_init NAME BUILD_DIR: the test's name, its temp dir and the cleanup trap.
il_init() {
    IL_NAME=$1
    IL_BUILD=${2:-}
    IL_SERVER=${INTEROP_SERVER:-tsyncd}
    if [[ -z "$IL_BUILD" || ! -d "$IL_BUILD" ]]; then
        il_fail "usage: $0 BUILD_DIR (got '${IL_BUILD}')"
    fi
    IL_BUILD=$(cd "$IL_BUILD" && pwd)
    if [[ $(id -u) -ne 0 ]]; then
        il_fail "must run as root (network namespaces)"
    fi
    IL_PFX="tsi$$"
    IL_DIR=$(mktemp -d "/tmp/tsync-interop-${IL_NAME}.XXXXXX")
    trap il_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

il_log() {
    echo "[$IL_NAME] $*" >&2
}

# Kills every process we started (TERM, then KILL after a bounded wait), deletes our
# namespaces and the temp dir. Runs on every exit path through the EXIT trap.
il_cleanup() {
    local pid i ns
    for pid in "${IL_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${IL_PIDS[@]}"; do
        for ((i = 0; i < 30; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    IL_PIDS=()
    for ns in "${IL_NETNS[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    IL_NETNS=()
    if [[ -n "$IL_DIR" && -d "$IL_DIR" ]]; then
        if [[ $IL_DONE -ne 1 || -n "${INTEROP_KEEP:-}" ]]; then
            il_dump_logs
        fi
        if [[ -z "${INTEROP_KEEP:-}" ]]; then
            rm -rf "$IL_DIR"
        else
            echo "[$IL_NAME] kept $IL_DIR" >&2
        fi
    fi
}

# Prints the tail of every log we wrote, so a failure in CI can be understood.
il_dump_logs() {
    local f
    for f in "$IL_DIR"/*.log; do
        [[ -s "$f" ]] || continue
        echo "----- $(basename "$f") (last 25 lines) -----" >&2
        tail -n 25 "$f" >&2
    done
}

# Result lines: exactly one per test, read by run.sh (exit 0 pass, 1 fail, 77 skip).
il_pass() {
    IL_DONE=1
    echo "PASS ${IL_NAME}"
    exit 0
}

il_fail() {
    echo "FAIL ${IL_NAME:-$(basename "$0" .sh)}: $*"
    exit 1
}

il_skip() {
    IL_DONE=1
    echo "SKIP ${IL_NAME}: $*"
    exit 77
}

# il_wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds; 1 on timeout.
il_wait_for() {
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

# ---- packages --------------------------------------------------------------------

# il_need_cmd CMD PKG: installs PKG with apt-get when CMD is missing (fresh CI machine).
# chrony's maintainer scripts would start a system chronyd that disciplines the clock,
# so it is installed only where policy-rc.d forbids starting services.
il_need_cmd() {
    local cmd=$1 pkg=$2
    if command -v "$cmd" >/dev/null 2>&1; then
        return 0
    fi
    if [[ "$pkg" == chrony ]]; then
        if [[ ! -x /usr/sbin/policy-rc.d ]] || /usr/sbin/policy-rc.d chrony start; then
            il_fail "$cmd missing and installing $pkg could start a clock-setting service"
        fi
    fi
    il_log "installing $pkg for $cmd"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "$pkg" >"$IL_DIR/apt-$pkg.log" 2>&1; then
        apt-get update >>"$IL_DIR/apt-$pkg.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "$pkg" >>"$IL_DIR/apt-$pkg.log" 2>&1 || il_fail "cannot install $pkg"
    fi
    command -v "$cmd" >/dev/null 2>&1 || il_fail "$pkg installed but $cmd still missing"
}

# The python that has NTPsec's "ntp" module (python3-ntp installs it for Debian's
# /usr/bin/python3; a pyenv python3 earlier in PATH does not see it).
il_ntp_python() {
    local py
    for py in /usr/bin/python3 python3; do
        if "$py" -c 'import ntp.packet' >/dev/null 2>&1; then
            echo "$py"
            return 0
        fi
    done
    return 1
}

# il_ntpsec_dir: prints the root of an unpacked NTPsec package, fetching it with
# apt-get download + dpkg -x if it is not cached yet. ntpsec conflicts with chrony,
# so it is never installed, only unpacked. Returns 1 (with a reason on stdout) when
# that cannot be done.
il_ntpsec_dir() {
    local cache=${TSYNC_PEERS_DIR:-/var/cache/tsync-peers}
    local root="$cache/ntpsec" tmp deb debs
    if [[ -x "$root/usr/sbin/ntpd" && -f "$root/usr/bin/ntpq" ]]; then
        echo "$root"
        return 0
    fi
    mkdir -p "$cache" || { echo "cannot create $cache"; return 1; }
    tmp=$(mktemp -d "$cache/dl.XXXXXX") || { echo "mktemp in $cache failed"; return 1; }
    if ! (cd "$tmp" && apt-get -o APT::Sandbox::User=root download ntpsec \
        >"$tmp/apt.log" 2>&1); then
        apt-get update >>"$tmp/apt.log" 2>&1
        if ! (cd "$tmp" && apt-get -o APT::Sandbox::User=root download ntpsec \
            >>"$tmp/apt.log" 2>&1); then
            echo "apt-get download ntpsec failed: $(tail -n 1 "$tmp/apt.log")"
            rm -rf "$tmp"
            return 1
        fi
    fi
    debs=("$tmp"/ntpsec_*.deb)
    deb=${debs[0]}
    if [[ ! -f "$deb" ]] || ! dpkg -x "$deb" "$tmp/root"; then
        echo "dpkg -x of the ntpsec package failed"
        rm -rf "$tmp"
        return 1
    fi
    rm -rf "$root"
    mv "$tmp/root" "$root" && cp "$deb" "$cache/" && rm -rf "$tmp"
    echo "$root"
}

# ---- network ---------------------------------------------------------------------

# il_net NCLIENTS: a server namespace holding bridge br0 with 198.18.0.1/15, and
# NCLIENTS client namespaces, client i on 198.18.0.(i+1)/15 through a veth pair whose
# server end is a port of br0. Names: $IL_NS_S, ${IL_NS_C[i]}, address ${IL_ADDR_C[i]}.
il_net() {
    local n=$1 i ns
    IL_NS_S="${IL_PFX}s"
    ip netns add "$IL_NS_S" || il_fail "ip netns add $IL_NS_S failed"
    IL_NETNS+=("$IL_NS_S")
    ip -n "$IL_NS_S" link set lo up
    ip -n "$IL_NS_S" link add br0 type bridge
    ip -n "$IL_NS_S" addr add "$IL_SERVER_ADDR/15" dev br0
    ip -n "$IL_NS_S" link set br0 up
    IL_NS_C=()
    IL_ADDR_C=()
    for ((i = 1; i <= n; i++)); do
        ns="${IL_PFX}c$i"
        ip netns add "$ns" || il_fail "ip netns add $ns failed"
        IL_NETNS+=("$ns")
        ip -n "$ns" link set lo up
        ip link add name eth0 netns "$ns" type veth peer name "p$i" netns "$IL_NS_S" ||
            il_fail "veth for $ns failed"
        ip -n "$IL_NS_S" link set "p$i" master br0
        ip -n "$IL_NS_S" link set "p$i" up
        ip -n "$ns" addr add "198.18.0.$((i + 1))/15" dev eth0
        ip -n "$ns" link set eth0 up
        IL_NS_C[i]=$ns
        IL_ADDR_C[i]="198.18.0.$((i + 1))"
    done
    for ((i = 1; i <= n; i++)); do
        il_wait_for 5 ip netns exec "${IL_NS_C[i]}" ping -c 1 -W 1 -q "$IL_SERVER_ADDR" \
            >/dev/null 2>&1 || il_fail "no link from ${IL_NS_C[i]} to $IL_SERVER_ADDR"
    done
}

# il_spawn LOG NS CMD...: starts CMD in namespace NS without CAP_SYS_TIME, output to
# $IL_DIR/LOG.log; sets IL_LAST_PID (ip netns exec and setpriv exec, so this is the PID
# of CMD itself) and records it for the cleanup trap.
il_spawn() {
    local log=$1 ns=$2
    shift 2
    ip netns exec "$ns" "${IL_NOTIME[@]}" "$@" >"$IL_DIR/$log.log" 2>&1 &
    IL_LAST_PID=$!
    IL_PIDS+=("$IL_LAST_PID")
}

# il_run NS CMD...: runs a short client command in NS without CAP_SYS_TIME.
il_run() {
    local ns=$1
    shift
    ip netns exec "$ns" "${IL_NOTIME[@]}" "$@"
}

il_alive() {
    kill -0 "$1" 2>/dev/null
}

# il_assert_notime PID NAME: fails the test unless CAP_SYS_TIME (bit 25) is out of the
# process's bounding set, i.e. setpriv really took it away.
il_assert_notime() {
    local bnd
    bnd=$(awk '$1 == "CapBnd:" { print $2 }' "/proc/$1/status" 2>/dev/null)
    [[ -n "$bnd" ]] || il_fail "$2 (pid $1) is not running"
    if (((16#$bnd >> 25) & 1)); then
        il_fail "$2 (pid $1) still has CAP_SYS_TIME in its bounding set"
    fi
}

# il_udp_listening NS PORT: true when a UDP socket is bound to PORT in NS.
il_udp_listening() {
    ip netns exec "$1" ss -Hlun "sport = :$2" 2>/dev/null | grep -q .
}

# il_subst TEMPLATE OUT: copies a config template, replacing @DIR@ and @SERVER@.
il_subst() {
    sed -e "s|@DIR@|$IL_DIR|g" -e "s|@SERVER@|$IL_SERVER_ADDR|g" "$1" >"$2"
}

# ---- the server under test -------------------------------------------------------

# il_start_server [EXTRA_LINE...]: starts the NTP server under test in $IL_NS_S on port
# 123 serving as local stratum 1 to 198.18.0.0/15, with EXTRA_LINEs appended to its
# config, and waits until it listens. INTEROP_SERVER=chronyd swaps in chronyd in the
# same role (used to debug this harness itself). Sets IL_SERVER_PID.
il_start_server() {
    local conf="$IL_DIR/server.conf" line
    case "$IL_SERVER" in
    tsyncd)
        IL_TSYNCD="$IL_BUILD/src/daemon/tsyncd"
        [[ -x "$IL_TSYNCD" ]] || il_fail "tsyncd not built at $IL_TSYNCD"
        il_subst "$IL_HERE/conf/tsyncd-server.conf.in" "$conf"
        ;;
    chronyd)
        il_need_cmd chronyd chrony
        il_subst "$IL_HERE/conf/chronyd-server.conf.in" "$conf"
        ;;
    *) il_fail "INTEROP_SERVER must be tsyncd or chronyd, not '$IL_SERVER'" ;;
    esac
    for line in "$@"; do
        echo "$line" >>"$conf"
    done
    if [[ "$IL_SERVER" == tsyncd ]]; then
        "${IL_NOTIME[@]}" "$IL_TSYNCD" --check-config -f "$conf" >"$IL_DIR/check.log" 2>&1 ||
            il_fail "tsyncd --check-config rejected the config: $(tail -n 1 "$IL_DIR/check.log")"
        il_spawn server "$IL_NS_S" "$IL_TSYNCD" -d -x -f "$conf"
    else
        il_spawn server "$IL_NS_S" chronyd -x -d -f "$conf"
    fi
    IL_SERVER_PID=$IL_LAST_PID
    if ! il_wait_for 10 il_udp_listening "$IL_NS_S" 123; then
        il_alive "$IL_SERVER_PID" || il_fail "$IL_SERVER exited at start-up"
        il_fail "$IL_SERVER does not listen on port 123 after 10 s"
    fi
    il_alive "$IL_SERVER_PID" || il_fail "$IL_SERVER exited at start-up"
    il_assert_notime "$IL_SERVER_PID" "$IL_SERVER"
}

# True when the server under test supports chrony's "kod" ratelimit option (chrony
# gained it in 4.6; tsyncd has it).
il_server_has_kod() {
    if [[ "$IL_SERVER" == tsyncd ]]; then
        return 0
    fi
    local v
    v=$(chronyd -v | sed -n 's/.*version \([0-9]*\.[0-9]*\).*/\1/p')
    awk -v v="$v" 'BEGIN { split(v, a, "."); exit !(a[1] > 4 || (a[1] == 4 && a[2] >= 6)) }'
}

# ---- ntpdig ----------------------------------------------------------------------

# il_ntpdig NS [TIMEOUT]: one SNTP query from NS to the server; ntpdig's output line on
# stdout, non-zero when it got no answer.
il_ntpdig() {
    local ns=$1 t=${2:-2} py out
    py=$(il_ntp_python) || { echo "no python with the ntp module"; return 2; }
    out=$(il_run "$ns" timeout $((t + 5)) "$py" /usr/bin/ntpdig -t "$t" "$IL_SERVER_ADDR" 2>&1)
    local rc=$?
    echo "$out"
    [[ $rc -eq 0 ]] && echo "$out" | grep -q "$IL_SERVER_ADDR"
}

# il_ntpdig_fields LINE: prints "OFFSET STRATUM" parsed from an ntpdig result line such
# as "2025-01-01 00:00:00.000001 (+0000) +0.000012 +/- 0.000160 198.18.0.1 s1 no-leap".
il_ntpdig_fields() {
    awk -v srv="$IL_SERVER_ADDR" '{
        for (i = 1; i <= NF; i++) {
            if ($i == srv && i >= 4 && $(i + 1) ~ /^s[0-9]+$/) {
                print $(i - 3), substr($(i + 1), 2); exit 0
            }
        }
        }' <<<"$1"
}
