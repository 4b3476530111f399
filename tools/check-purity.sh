#!/usr/bin/env bash
# Purity check for the sans-IO layers src/ntp and src/core (DESIGN.md, STYLE.md rule 1):
#   (a) every #include is an allow-listed C header or a project header of the same or a
#       lower layer ("ntp/..." in src/ntp; "ntp/..." or "core/..." in src/core);
#   (b) the static libraries reference no undefined symbol beyond a small libc/libm
#       allow-list, compiler/sanitizer helpers, and symbols of the same or a lower layer;
#   (c) they hold no writable static data (nm types d/D/b/B, common or small data);
#       .data.rel.ro (const tables of pointers, read-only after relocation) is allowed.
# Usage: tools/check-purity.sh [BUILD_DIR]  (default: build). Run it on the plain build:
# sanitizer and fuzz builds add their own data, so (c) refuses instrumented libraries.
# Exit status: 0 pure, 1 violations found, 2 could not check (missing or instrumented).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
allowed_headers=(stdint.h stddef.h stdbool.h string.h math.h)
allowed_symbols=(memcpy memmove memset memcmp strlen strcmp strncmp strchr sqrt fabs floor ceil
                 round lround llround fmod exp log log2 ldexp frexp pow trunc modf nan isnan
                 __stack_chk_fail)
# Sanitizer runtimes, coverage counters and libgcc/compiler-rt arithmetic helpers.
sanitizer_re='__asan_|__ubsan_|__sanitizer_|__tsan|__msan_|__sancov|__start___sancov'
sanitizer_re+='|__stop___sancov'
libgcc_re='__(u?(div|mod|mul)[dt]i3|mulo[dt]i4|(popcount|clz|ctz)[dst]i2)$'
helper_re="^($sanitizer_re|__llvm_|__gcov_|_GLOBAL_OFFSET_TABLE_\$|$libgcc_re)"
instrumented_re="^($sanitizer_re|__llvm_prf|__gcov_)"

violations=0
nfiles=0
nsymbols=0
report() { # report MESSAGE: one violation
    echo "purity: $*"
    violations=$((violations + 1))
}

# (a) includes. $1 = layer directory, $2 = regex of project headers it may include.
check_includes() {
    local dir=$1 project_re=$2 f rel lineno text target ok h
    for f in "$root/src/$dir"/*.[ch]; do
        [[ -e $f ]] || continue
        nfiles=$((nfiles + 1))
        rel=${f#"$root"/}
        while IFS=: read -r lineno text; do
            ok=0
            if [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]*)\" ]]; then
                h=${BASH_REMATCH[1]}
                target="\"$h\""
                [[ $h =~ $project_re && $h != *..* ]] && ok=1
            elif [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]*)\> ]]; then
                target="<${BASH_REMATCH[1]}>"
                for h in "${allowed_headers[@]}"; do
                    [[ $target == "<$h>" ]] && ok=1
                done
            else
                report "$rel:$lineno: '$text' is not a plain <header> or \"header\" include"
                continue
            fi
            [[ $ok -eq 1 ]] || report "$rel:$lineno: #include $target is not allowed in src/$dir"
        done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' "$f")
    done
}

# Lists "member<TAB>name<TAB>type" for every symbol of an archive (thin or not).
list_symbols() {
    nm -A -P "$1" | awk '{
        m = $1; sub(/:$/, "", m); sub(/^.*\[/, "", m); sub(/\]$/, "", m)
        n = split(m, parts, "/"); print parts[n] "\t" $2 "\t" $3 }'
}

# Lists "member<TAB>name<TAB>section" for data objects, to tell .data.rel.ro from .data.
list_sections() {
    objdump -t "$1" | awk '
        / file format / { m = $1; sub(/:$/, "", m); n = split(m, p, "/"); m = p[n]; next }
        /^[0-9a-f]+ / && length($0) > 26 {
            rest = substr($0, index($0, " ") + 9); split(rest, a, "\t")
            name = a[2]; sub(/^[^ ]* /, "", name); print m "\t" name "\t" a[1] }'
}

# Is the named section writable at run time? .data.rel.ro is made read-only after
# relocation (RELRO), so const tables of pointers may live there.
is_writable_section() {
    [[ $1 != .data.rel.ro* ]]
}

# (b) and (c) for one library. $1 = lib name, $2 = file, $3 = its own definitions,
# $4 = definitions of the layer below ("" for none), $5 = of the layer above.
check_library() {
    local name=$1 lib=$2 own=$3 lower=$4 upper=$5 member sym type section
    while IFS=$'\t' read -r member sym type; do
        nsymbols=$((nsymbols + 1))
        case $type in
        U | w | v)
            if [[ " ${allowed_symbols[*]} " == *" $sym "* || $sym =~ $helper_re ]]; then
                continue
            fi
            grep -qxF -- "$sym" "$own" && continue
            [[ -n $lower ]] && grep -qxF -- "$sym" "$lower" && continue
            if [[ -n $upper ]] && grep -qxF -- "$sym" "$upper"; then
                report "$name($member): uses '$sym' from the layer above it"
            else
                report "$name($member): undefined symbol '$sym' is not on the allow-list"
            fi
            ;;
        d | D | V | u)
            section=$(awk -F'\t' -v m="$member" -v s="$sym" \
                '$1 == m && $2 == s { print $3; exit }' "$tmp/$name.sections")
            is_writable_section "$section" || continue
            report "$name($member): writable static data '$sym' (nm type $type, ${section:-?})"
            ;;
        b | B | C | G | g | S | s)
            report "$name($member): writable static data '$sym' (nm type $type)"
            ;;
        esac
    done < <(list_symbols "$lib")
}

ntp_lib=$build/src/ntp/libtsync_ntp.a
core_lib=$build/src/core/libtsync_core.a
for lib in "$ntp_lib" "$core_lib"; do
    if [[ ! -f $lib ]]; then
        echo "purity: $lib not found; build first (ninja -C $build)" >&2
        exit 2
    fi
done
instrumented=0
for lib in "$ntp_lib" "$core_lib"; do
    if nm -P "$lib" 2>/dev/null | awk '{ print $1 }' | grep -qE "$instrumented_re"; then
        instrumented=1
    fi
done
if [[ $instrumented -eq 1 ]]; then
    echo "purity: $build looks instrumented (sanitizer or fuzz build); run on the plain build" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
list_symbols "$ntp_lib" | awk -F'\t' '$3 !~ /^[Uwv]$/ { print $2 }' | sort -u > "$tmp/ntp.defs"
list_symbols "$core_lib" | awk -F'\t' '$3 !~ /^[Uwv]$/ { print $2 }' | sort -u > "$tmp/core.defs"
list_sections "$ntp_lib" > "$tmp/libtsync_ntp.a.sections"
list_sections "$core_lib" > "$tmp/libtsync_core.a.sections"

check_includes ntp '^ntp/[A-Za-z0-9_.-]+\.h$'
check_includes core '^(ntp|core)/[A-Za-z0-9_.-]+\.h$'
check_library libtsync_ntp.a "$ntp_lib" "$tmp/ntp.defs" "" "$tmp/core.defs"
check_library libtsync_core.a "$core_lib" "$tmp/core.defs" "$tmp/ntp.defs" ""

if [[ $violations -gt 0 ]]; then
    echo "purity: FAILED, $violations violation(s)"
    exit 1
fi
echo "purity: ok ($nfiles files, $nsymbols symbols checked)"
