#!/usr/bin/env bash
# Runs scenarios over many seeds and prints, per node metric named in the scenario's
# expectation file, the median and the worst value across the seeds, next to the limit.
# Thresholds in tests/sim/expect are picked from this, with a margin, so that they hold
# for any seed and not just for the one in the .scn file.
# Usage: tests/sim/seeds.sh BUILD_DIR [-n SEEDS] [SCENARIO_NAME...]
set -uo pipefail

arg=${1:?usage: tests/sim/seeds.sh BUILD_DIR [-n SEEDS] [SCENARIO_NAME...]}
shift
build=$(cd "$arg" 2>/dev/null && pwd) || { echo "no build directory $arg"; exit 1; }
nseeds=20
if [[ ${1:-} == -n ]]; then
    nseeds=${2:?-n needs a number}
    shift 2
fi
cd "$(dirname "$0")/../.." || exit 1
sim=$build/sim/tsync-sim
[[ -x $sim ]] || { echo "no $sim: build first"; exit 1; }
# shellcheck source=names.sh
source tests/sim/names.sh
scenario_names "$@"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for name in "${names[@]}"; do
    expect=tests/sim/expect/$name.txt
    [[ -f $expect ]] || { echo "$name: no $expect"; continue; }
    : > "$tmp/all"
    for ((i = 1; i <= nseeds; i++)); do
        seed=$((i * 101))
        "$sim" --kv -s "$seed" "sim/scenarios/$name.scn" 2> /dev/null |
            sed "s/^/$seed /" >> "$tmp/all"
    done
    echo "== $name ($nseeds seeds)"
    # Each expectation "max|min KEY LIMIT": KEY alone applies to every engine node.
    grep -E '^(max|min) ' "$expect" | while read -r kind key limit _; do
        awk -v kind="$kind" -v key="$key" -v limit="$limit" '
            function unit(v) {
                if (v ~ /us$/) { sub(/us$/, "", v); return v * 1e-6 }
                if (v ~ /ms$/) { sub(/ms$/, "", v); return v * 1e-3 }
                if (v ~ /ns$/) { sub(/ns$/, "", v); return v * 1e-9 }
                return v + 0
            }
            {
                split($2, kv, "=")
                k = kv[1]
                vals[k] = vals[k] " " (kv[2] == "inf" ? 1e300 : kv[2])
                node = k; sub(/\..*/, "", node)
                nodes[node] = 1
            }
            END {
                lim = unit(limit)
                # "c1.rms_offset" names a node; "rms_offset" or "event.step" means
                # that metric of every node that has it (as sim_check does).
                first = key; sub(/\..*/, "", first)
                for (k in vals) {
                    rest = k; sub(/^[^.]*\./, "", rest)
                    if (first in nodes ? k != key : (rest != key || k ~ /^sim\./)) {
                        continue
                    }
                    n = split(vals[k], a, " ")
                    # sort numerically (insertion: n is small)
                    for (i = 2; i <= n; i++) {
                        x = a[i] + 0
                        for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]
                        a[j + 1] = x
                    }
                    worst = kind == "max" ? a[n] : a[1]
                    bad = kind == "max" ? worst > lim : worst < lim
                    printf "  %-4s %-32s median %-11.4g worst %-11.4g limit %-9s %s\n",
                        kind, k, a[int((n + 1) / 2)], worst, limit, bad ? "EXCEEDED" : ""
                }
            }' "$tmp/all"
    done
done
