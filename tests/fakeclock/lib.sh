# Shared helpers for the fake-clock end-to-end tests (tests/fakeclock/test_*.sh) and the
# accuracy benchmark (bench/accuracy/run.sh): network namespaces on one bridge with an
# emulated LAN delay, a chronyd -x reference server on the real clock, NTP clients (tsyncd or
# chronyd) each under its own instance of the fake-clock shim, and readers of the shim's CSV
# logs. Every process is started without CAP_SYS_TIME and stopped by PID on exit; the real
# clock is never touched. Addresses only from 198.18.0.0/15.
# shellcheck shell=bash disable=SC2034

FK_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/netns.sh
source "$FK_HERE/../lib/netns.sh"
FK_SERVER_ADDR=$TL_SERVER_ADDR
TL_FAIL=fk_fail
TL_KEEP_VAR=FAKECLOCK_KEEP
TL_LOG_TAIL=20
# The tests' (and the benchmark's) names for the shared harness state (tests/lib/netns.sh).
declare -n FK_NAME=TL_NAME FK_BUILD=TL_BUILD FK_DIR=TL_DIR FK_DONE=TL_DONE \
    FK_LAST_PID=TL_LAST_PID FK_NS_C=TL_NS_C FK_ADDR_C=TL_ADDR_C
# Poll options of every client's server line (tests and benchmark use the same, so the two
# daemons are compared under identical conditions).
FK_POLL=${FAKECLOCK_POLL:-minpoll 0 maxpoll 2}
# One-way delay of every NTP packet between namespaces (netem's "delay 100us 10us"); see
# fk_delay.
FK_DELAY_US=${FAKECLOCK_DELAY_US:-100}
FK_JITTER_US=${FAKECLOCK_JITTER_US:-10}

# fk_init NAME BUILD_DIR: the test's name, its temp dir, the cleanup trap.
fk_init() {
    tl_init "$1" "${2:-}"
    FK_SHIM="$FK_BUILD/tests/fakeclock/libfakeclock.so"
    FK_NETDELAY="$FK_BUILD/tests/fakeclock/fakeclock-netdelay"
    FK_TSYNCD="$FK_BUILD/src/daemon/tsyncd"
    [[ -f "$FK_SHIM" ]] || fk_fail "no shim at $FK_SHIM (ninja -C $FK_BUILD)"
    command -v chronyd >/dev/null || fk_fail "chronyd not installed (make deps)"
    tl_begin "fk$$" fakeclock
}

# The tests' names for the shared helpers: same arguments, output and exit codes.
fk_log() { tl_log "$@"; }
fk_pass() { tl_pass "$@"; }
fk_fail() { tl_fail "$@"; }
fk_skip() { tl_skip "$@"; }
fk_wait_for() { tl_wait_for "$@"; }
fk_alive() { tl_alive "$@"; }

fk_now() {
    date +%s.%N
}

# fk_add A B: A + B with microseconds kept (awk's default %.6g would round real times).
fk_add() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", a + b }'
}

# fk_us S: seconds as microseconds with one decimal.
fk_us() {
    awk -v s="$1" 'BEGIN { printf "%.1f\n", s * 1e6 }'
}

# ---- network ---------------------------------------------------------------------

# fk_delay: the emulated one-way delay (FK_DELAY_US +- FK_JITTER_US) on every path through
# the bridge namespace. It must sit between the sender's transmit stamp and the receiver's
# receive stamp, as a real wire does: that is the bridge in the middle, not either end
# (egress delay would come before a kernel TX stamp, ingress delay after the RX stamp).
# netem on the bridge ports where the kernel has it, else tests/fakeclock's netdelay fed by
# an iptables NFQUEUE rule on the bridge's forward path (this kernel has neither netem nor
# nftables' queue expression).
fk_delay() {
    local p
    if ((FK_DELAY_US == 0)); then
        FK_DELAY_KIND=none
        return 0
    fi
    if tc -n "$FK_NS_B" qdisc add dev p0 root netem delay "${FK_DELAY_US}us" \
        "${FK_JITTER_US}us" 2>/dev/null; then
        for p in "${TL_PORTS[@]}"; do
            [[ $p == p0 ]] && continue
            tc -n "$FK_NS_B" qdisc add dev "$p" root netem delay "${FK_DELAY_US}us" \
                "${FK_JITTER_US}us" || fk_fail "netem on $p failed"
        done
        FK_DELAY_KIND=netem
        return 0
    fi
    [[ -x "$FK_NETDELAY" ]] || fk_fail "no netem in this kernel and no $FK_NETDELAY"
    tl_need_cmd iptables iptables
    # Bridged IPv4 goes through the FORWARD chain (br_netfilter); NTP packets are queued to
    # netdelay, or pass undelayed (bypass) if it is not running.
    ip netns exec "$FK_NS_B" sysctl -qw net.bridge.bridge-nf-call-iptables=1 ||
        fk_fail "no br_netfilter in this kernel"
    for p in --dport --sport; do
        ip netns exec "$FK_NS_B" iptables -A FORWARD -p udp "$p" 123 -j NFQUEUE \
            --queue-num 0 --queue-bypass || fk_fail "iptables NFQUEUE rule failed"
    done
    ip netns exec "$FK_NS_B" "$FK_NETDELAY" -q 0 -d "$FK_DELAY_US" -j "$FK_JITTER_US" \
        >"$FK_DIR/netdelay.log" 2>&1 &
    TL_PIDS+=($!)
    FK_DELAY_KIND=netdelay
}

# fk_net N: the reference server's namespace at 198.18.0.1 and N client namespaces, client i
# at 198.18.0.(i+1), all cabled to one bridge in a namespace of its own that delays every
# NTP packet it forwards (fk_delay). Names: $FK_NS_S, ${FK_NS_C[i]}, ${FK_ADDR_C[i]}.
fk_net() {
    FK_NS_B="${TL_PFX}b"
    FK_NS_S="${TL_PFX}s"
    TL_PORTS=()
    tl_bridge_ns "$FK_NS_B"
    tl_cable "$FK_NS_S" "$FK_SERVER_ADDR" p0 "$FK_NS_B"
    tl_clients "$1" "$FK_NS_B"
    fk_delay
    tl_wait_links "$FK_SERVER_ADDR" "${FK_NS_C[@]}"
}

# ---- daemons ---------------------------------------------------------------------

# fk_start_reference: chronyd -x on the real clock in the server namespace, local stratum 1:
# the true time every client is measured against.
fk_start_reference() {
    cat >"$FK_DIR/reference.conf" <<EOF
user root
local stratum 1
allow 198.18.0.0/15
bindcmdaddress $FK_DIR/reference.sock
cmdport 0
pidfile $FK_DIR/reference.pid
EOF
    tl_spawn reference "$FK_NS_S" chronyd -x -d -f "$FK_DIR/reference.conf"
    FK_REF_PID=$FK_LAST_PID
    tl_wait_for 10 tl_udp_listening "$FK_NS_S" 123 || fk_fail "reference chronyd not listening"
}

# fk_client_conf KIND NAME UPSTREAM [LINE...]: the client's config file on stdout.
fk_client_conf() {
    local kind=$1 name=$2 upstream=$3 line
    shift 3
    echo "server $upstream iburst $FK_POLL"
    echo "pidfile $FK_DIR/$name.pid"
    echo "driftfile $FK_DIR/$name.drift"
    if [[ "$kind" == chronyd ]]; then
        echo "user root"
        echo "bindcmdaddress $FK_DIR/$name.sock"
        echo "cmdport 0"
    else
        echo "controlsocket $FK_DIR/$name-ctl.sock" # never the machine's /run/tsyncd
    fi
    for line in "$@"; do
        echo "$line"
    done
}

# fk_start_client KIND NAME NS OFFSET FREQ_PPM UPSTREAM [CONF_LINE...]: starts tsyncd or
# chronyd in NS with clock control on, under its own shim instance whose virtual clock starts
# OFFSET s off and runs FREQ_PPM fast; its true error goes to $FK_DIR/NAME.csv and step
# requests to $FK_DIR/NAME.ctl. Sets FK_LAST_PID.
fk_start_client() {
    local kind=$1 name=$2 ns=$3 offset=$4 freq=$5 upstream=$6 cmd
    shift 6
    fk_client_conf "$kind" "$name" "$upstream" "$@" >"$FK_DIR/$name.conf"
    case "$kind" in
    tsyncd)
        [[ -x "$FK_TSYNCD" ]] || fk_fail "tsyncd not built at $FK_TSYNCD"
        "$FK_TSYNCD" --check-config -f "$FK_DIR/$name.conf" >"$FK_DIR/$name-check.log" 2>&1 ||
            fk_fail "tsyncd rejects $name.conf: $(tail -n 1 "$FK_DIR/$name-check.log")"
        cmd=("$FK_TSYNCD" -d -f "$FK_DIR/$name.conf")
        ;;
    chronyd) cmd=(chronyd -d -f "$FK_DIR/$name.conf") ;;
    *) fk_fail "client kind must be tsyncd or chronyd, not '$kind'" ;;
    esac
    tl_spawn "$name" "$ns" env LD_PRELOAD="$FK_SHIM" FAKECLOCK_OFFSET="$offset" \
        FAKECLOCK_FREQ_PPM="$freq" FAKECLOCK_LOG="$FK_DIR/$name.csv" \
        FAKECLOCK_CONTROL="$FK_DIR/$name.ctl" "${cmd[@]}"
    fk_wait_for 5 test -s "$FK_DIR/$name.csv" || fk_fail "$name: no shim log (did it start?)"
    tl_assert_notime "$FK_LAST_PID" "$name"
}

# fk_no_eperm NAME: fails if the daemon's log shows a clock call that reached the kernel
# (it would have failed with EPERM, CAP_SYS_TIME being gone).
fk_no_eperm() {
    if grep -qiE "operation not permitted|EPERM" "$FK_DIR/$1.log"; then
        fk_fail "$1: a clock call escaped the shim: $(grep -iE -m1 'not permitted|EPERM' \
            "$FK_DIR/$1.log")"
    fi
}

# ---- reading the shim's logs -----------------------------------------------------

# fk_inject NAME SECONDS: steps NAME's virtual clock (like `date -s`) and waits until the
# shim has applied it; prints the real time of the step.
fk_inject() {
    local name=$1 delta=$2 n0
    n0=$(fk_injected "$name")
    "$FK_HERE/fakeclock-step" "$FK_DIR/$name.ctl" "$delta" >/dev/null ||
        fk_fail "fakeclock-step failed"
    fk_wait_for 5 fk_injected_more "$name" "$n0" || fk_fail "$name: step not applied in 5 s"
    awk '$1 == "#" && $3 == "injected-step" { t = $2 } END { print t }' "$FK_DIR/$name.csv"
}

fk_injected() {
    awk -F, '$1 !~ /^[#r]/ { n = $9 } END { print n + 0 }' "$FK_DIR/$1.csv"
}

fk_injected_more() {
    (($(fk_injected "$1") > $2))
}

# fk_last_offset NAME: the newest true error (virtual - real, s) in NAME's log.
fk_last_offset() {
    awk -F, '$1 !~ /^[#r]/ { o = $2 } END { print o }' "$FK_DIR/$1.csv"
}

# fk_settle_time NAME SINCE LIMIT: seconds from real time SINCE until |offset| fell below
# LIMIT (s) and stayed there in every later row; empty while that has not happened.
fk_settle_time() {
    awk -F, -v since="$2" -v limit="$3" '
        $1 ~ /^[#r]/ || $1 < since { next }
        { a = $2 < 0 ? -$2 : $2; if (a >= limit) t = ""; else if (t == "") t = $1 }
        END { if (t != "") printf "%.2f\n", t - since }' "$FK_DIR/$1.csv"
}

# fk_stats NAME FROM TO: "RMS MAX N" of the true error over real times [FROM, TO], in s.
fk_stats() {
    awk -F, -v from="$2" -v to="$3" '
        $1 ~ /^[#r]/ || $1 < from || $1 > to { next }
        { s += $2 * $2; a = $2 < 0 ? -$2 : $2; if (a > m) m = a; n++ }
        END { if (n == 0) print "nan nan 0"; else printf "%.9f %.9f %d\n", sqrt(s / n), m, n }' \
        "$FK_DIR/$1.csv"
}

# fk_wait_settled NAME SINCE LIMIT SECONDS HOLD: waits at most SECONDS (from now) until the
# offset has been below LIMIT for HOLD seconds; prints the settle time (from SINCE).
fk_wait_settled() {
    local name=$1 since=$2 limit=$3 secs=$4 hold=$5 i t last
    for ((i = 0; i < secs * 2; i++)); do
        t=$(fk_settle_time "$name" "$since" "$limit")
        last=$(awk -F, '$1 !~ /^[#r]/ { t = $1 } END { print t }' "$FK_DIR/$name.csv")
        if [[ -n "$t" ]] && awk -v s="$since" -v t="$t" -v l="$last" -v h="$hold" \
            'BEGIN { exit !(l - (s + t) >= h) }'; then
            echo "$t"
            return 0
        fi
        sleep 0.5
    done
    return 1
}
