# Shared helpers for the interop tests: network namespaces joined by a bridge, real
# peers (chronyd, NTPsec ntpd, ntpdig) started with CAP_SYS_TIME dropped, bounded waits
# and a trap that stops every started process and deletes every namespace.
# Sourced by tests/interop/test_*.sh; never changes the host clock or leaves the
# namespaces (addresses only from 198.18.0.0/15, the benchmarking range of RFC 2544).
# shellcheck shell=bash disable=SC2034

IL_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
source "$IL_HERE/../lib/netns.sh"
IL_SERVER_ADDR=$TL_SERVER_ADDR
TL_FAIL=il_fail
TL_KEEP_VAR=INTEROP_KEEP
TL_LOG_TAIL=25
# The tests' names for the shared harness state (tests/lib/netns.sh).
declare -n IL_NAME=TL_NAME IL_BUILD=TL_BUILD IL_DIR=TL_DIR IL_LAST_PID=TL_LAST_PID \
    IL_NS_C=TL_NS_C IL_ADDR_C=TL_ADDR_C

# il_init NAME BUILD_DIR: the test's name, its temp dir and the cleanup trap.
il_init() {
    IL_SERVER=${INTEROP_SERVER:-tsyncd}
    tl_init "$1" "${2:-}"
    tl_begin "tsi$$" interop
}

# The tests' names for the shared helpers: same arguments, output and exit codes.
il_log() { tl_log "$@"; }
il_pass() { tl_pass ""; }
il_fail() { tl_fail "$@"; }
il_skip() { tl_skip "$@"; }
il_wait_for() { tl_wait_for "$@"; }
il_need_cmd() { tl_need_cmd "$@"; }
il_spawn() { tl_spawn "$@"; }
il_alive() { tl_alive "$@"; }
il_assert_notime() { tl_assert_notime "$@"; }

# ---- packages --------------------------------------------------------------------

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
    IL_NS_S="${TL_PFX}s"
    tl_bridge_ns "$IL_NS_S" "$IL_SERVER_ADDR"
    tl_clients "$1" "$IL_NS_S"
    tl_wait_links "$IL_SERVER_ADDR" "${IL_NS_C[@]}"
}

# il_run NS CMD...: runs a short client command in NS without CAP_SYS_TIME.
il_run() {
    local ns=$1
    shift
    ip netns exec "$ns" "${TL_NOTIME[@]}" "$@"
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
        "${TL_NOTIME[@]}" "$IL_TSYNCD" --check-config -f "$conf" >"$IL_DIR/check.log" 2>&1 ||
            il_fail "tsyncd --check-config rejected the config: $(tail -n 1 "$IL_DIR/check.log")"
        il_spawn server "$IL_NS_S" "$IL_TSYNCD" -d -x -f "$conf"
    else
        il_spawn server "$IL_NS_S" chronyd -x -d -f "$conf"
    fi
    IL_SERVER_PID=$IL_LAST_PID
    if ! tl_wait_for 10 tl_udp_listening "$IL_NS_S" 123; then
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
