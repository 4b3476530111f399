# Sourced by tests/sim/run.sh and seeds.sh (from the repository root): sets the array
# names to the scenario names given as arguments, or to every sim/scenarios/*.scn.
# shellcheck shell=bash
scenario_names() {
    names=()
    if [[ $# -gt 0 ]]; then
        names=("$@")
        return
    fi
    local f
    for f in sim/scenarios/*.scn; do
        names+=("$(basename "$f" .scn)")
    done
}
