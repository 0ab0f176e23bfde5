#!/usr/bin/env bash
# Checks the symbol versions shared libraries need from the C and C++
# runtimes (objdump -T): none may be newer than what a target system defines.
#
#   scripts/check-symbol-versions.sh [--root ROOT] [--glibc MAX] LIBRARY...
#
#   --root ROOT  the target system's files (a Debian root): for each of
#                GLIBC_, GLIBCXX_, CXXABI_ and GCC_, the newest version its
#                libc, libm, libstdc++ and libgcc_s define is the limit
#   --glibc MAX  and GLIBC_ may not go above MAX (default 2.31, Debian 11
#                and Steam Runtime 3 "sniper")
#
# Prints, per library, the newest version of each family it needs and the
# limit; exits 1 when one is above it, 2 on bad input.
set -uo pipefail
root=
glibc_max=2.31
libs=()
while [ $# -gt 0 ]; do
    case "$1" in
    --root) root=$2; shift ;;
    --glibc) glibc_max=$2; shift ;;
    -*) echo "check-symbol-versions: unknown option $1" >&2; exit 2 ;;
    *) libs+=("$1") ;;
    esac
    shift
done
[ ${#libs[@]} -gt 0 ] || { echo "check-symbol-versions: no library given" >&2; exit 2; }
command -v objdump >/dev/null || { echo "check-symbol-versions: no objdump (binutils)" >&2; exit 2; }

families="GLIBC GLIBCXX CXXABI GCC"
# versions FILE...: "FAMILY VERSION" for every version FILE names or defines.
versions() {
    objdump -T "$@" 2>/dev/null | grep -oE '\b(GLIBC|GLIBCXX|CXXABI|GCC)_[0-9]+(\.[0-9]+)*\b' |
        sed 's/_/ /' | sort -u
}
newest() { # FAMILY < "FAMILY VERSION" lines
    awk -v f="$1" '$1 == f { print $2 }' | sort -V | tail -n 1
}

declare -A limit=([GLIBC]=$glibc_max)
if [ -n "$root" ]; then
    runtime=()
    for name in libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1; do
        f=$(find "$root/lib" "$root/usr/lib" -name "$name" 2>/dev/null | head -n 1)
        [ -n "$f" ] || { echo "check-symbol-versions: no $name in $root" >&2; exit 2; }
        runtime+=("$f")
    done
    defined=$(versions "${runtime[@]}")
    for fam in $families; do
        v=$(newest "$fam" <<<"$defined")
        [ -n "$v" ] || continue
        if [ -z "${limit[$fam]:-}" ] || [ "$(printf '%s\n%s\n' "$v" "${limit[$fam]}" | sort -V | head -n 1)" = "$v" ]; then
            limit[$fam]=$v
        fi
    done
fi

status=0
for lib in "${libs[@]}"; do
    [ -f "$lib" ] || { echo "check-symbol-versions: no file $lib" >&2; exit 2; }
    needed=$(versions "$lib")
    line="${lib##*/}:"
    for fam in $families; do
        v=$(newest "$fam" <<<"$needed")
        [ -n "$v" ] || continue
        max=${limit[$fam]:-}
        if [ -z "$max" ]; then
            line="$line ${fam}_$v (no limit)"
        elif [ "$(printf '%s\n%s\n' "$v" "$max" | sort -V | tail -n 1)" = "$max" ]; then
            line="$line ${fam}_$v <= $max;"
        else
            line="$line ${fam}_$v > $max (TOO NEW:"
            line="$line $(objdump -T "$lib" | grep -E "\b${fam}_" | awk -v f="${fam}_" -v max="$max" '
                { for (i = 1; i <= NF; i++) if (index($i, f) == 1 || index($i, "(" f) == 1) { v = $i; gsub(/[()]/, "", v); sub(f, "", v); print v, $NF } }' |
                while read -r ver sym; do
                    [ "$(printf '%s\n%s\n' "$ver" "$max" | sort -V | tail -n 1)" = "$max" ] || printf '%s@%s ' "$sym" "$ver"
                done))"
            status=1
        fi
    done
    echo "$line"
done
exit $status
