#!/usr/bin/env bash
# Installs the Debian packages tsync needs, only those missing. Usage: deps.sh build|test
#   build: what `make run` needs to compile tsyncd
#   test:  plus the unit-test framework, clang/libFuzzer and the real peers for interop
# Not root: prints the apt-get command instead of running it.
set -euo pipefail

build_pkgs=(meson ninja-build gcc libc6-dev pkg-config)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev chrony ntpsec-ntpdig iproute2 util-linux
           procps python3 groff-base iptables monitoring-plugins-basic prometheus curl)

case "${1:-build}" in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages; as root run:" >&2
    echo "  apt-get update && $cmd" >&2
    exit 1
fi

# Installing chrony must never start its service: a running chronyd would discipline
# this machine's real clock; nor prometheus's (the metrics test starts its own in a
# namespace). A policy-rc.d that denies every start is in place for the duration of the
# install unless the machine already has one.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    own_policy=1
fi
cleanup() { [[ $own_policy -eq 1 ]] && rm -f "$policy"; return 0; }
trap cleanup EXIT

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd
# Debian enables chrony.service and prometheus.service on install; on a systemd machine
# keep them disabled so they never run beside the tests (which start their own).
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now chrony.service >/dev/null 2>&1 || true
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
