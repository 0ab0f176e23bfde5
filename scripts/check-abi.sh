#!/usr/bin/env bash
# The ABI check of the test command: the two shared libraries of a build
# against the ABI of the current release committed in abi/ (abidw's XML,
# from a build with debug info, public types only).
#
#   scripts/check-abi.sh BUILD_DIR            check, fail on an incompatible change
#   scripts/check-abi.sh --update BUILD_DIR   regenerate abi/*.abi from BUILD_DIR
#
# For each library, first its exports: the defined dynamic symbols must be
# exactly the API (the WW_API functions of include/writewatch/writewatch.h,
# the WINAPI functions defined in dlls/kernelbase/*.c), each at a
# WRITEWATCH_* version, so that a function missing from a version script, or
# anything leaking past one, is named. Then abidiff against the baseline;
# its exit status is a bit set: 1 error, 2 usage error, 4 some ABI change,
# 8 an incompatible change (a removed symbol). Errors and 8 fail; 4 fails
# unless every change is an added symbol (abidiff --no-added-syms then finds
# none), since additions are compatible. Changed types, parameters, enum
# values or symbol versions fail: when such a change is deliberate, regenerate
# the baseline with --update and say why in the commit (README, "ABI").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$(dirname "$0")/lib/fail-loudly.sh"

update=0
if [ "${1:-}" = --update ]; then
    update=1
    shift
fi
[ $# -eq 1 ] || die "usage: check-abi.sh [--update] BUILD_DIR"
build=$1
[ -f "$build/build.ninja" ] || die "$build is not a meson build directory"
for tool in abidw abidiff nm readelf; do
    command -v "$tool" >/dev/null || die "$tool not found (abigail-tools, binutils: scripts/install-deps.sh test)"
done
abi_dir=$here/abi
wine_include_dir=$(meson introspect --buildoptions "$build" |
    python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "wine_include_dir"))') ||
    die "could not read wine_include_dir from $build"
# abidw options shared by the baseline and the check: exported interfaces,
# types of the public headers only, no paths or line numbers (the baseline
# stays the same when code moves).
abidw_options=(--drop-private-types --exported-interfaces-only --no-corpus-path --no-comp-dir-path --no-show-locs)

# declared_api NAME: the function names the library must export, one a line.
declared_api() {
    case $1 in
    libwritewatch.so.0)
        sed -n 's/^WW_API [^(]*\b\(ww_[a-z0-9_]*\)(.*/\1/p' "$here/include/writewatch/writewatch.h" ;;
    libwritewatch-kernelbase.so.0)
        grep -ho 'WINAPI [A-Za-z0-9_]*(' "$here"/dlls/kernelbase/*.c | sed 's/WINAPI \(.*\)(/\1/' ;;
    esac | sort -u
}

# words TEXT: its lines joined by spaces, for messages.
words() { paste -sd ' ' <<<"$1"; }

# check_exports NAME FILE: the exported symbols are the declared API, versioned.
check_exports() {
    local name=$1 file=$2 symbols unversioned
    symbols=$(nm -D --defined-only "$file" | awk '$2 != "A" {print $3}')
    unversioned=$(grep -v '@@WRITEWATCH_' <<<"$symbols" || true)
    [ -z "$unversioned" ] || die "$name exports symbols without a WRITEWATCH_* version: $(words "$unversioned")"
    local exported declared missing extra
    exported=$(sed 's/@.*//' <<<"$symbols" | sort -u)
    declared=$(declared_api "$name")
    missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
    extra=$(comm -23 <(echo "$exported") <(echo "$declared"))
    [ -z "$missing" ] || die "$name does not export $(words "$missing"): add them to its version script (*.map)"
    [ -z "$extra" ] || die "$name exports $(words "$extra"), which the API does not declare"
    echo "abi: $name exports $(wc -l <<<"$exported") symbols, all at $(words "$(sed 's/.*@@//' <<<"$symbols" | sort -u)")"
}

# compare NAME FILE: abidiff of the baseline against the build. No header
# filter here: the baseline holds public types only already, and it has no
# locations, so abidiff's --headers-dir2 filter would take every type of the
# baseline for a private one and hide its changes (a grown struct passes).
compare() {
    local name=$1 file=$2 baseline=$abi_dir/$1.abi status=0
    [ -f "$baseline" ] || die "no baseline $baseline: create it with scripts/check-abi.sh --update $build"
    abidiff "$baseline" "$file" || status=$?
    [ $((status & 3)) -eq 0 ] || die "abidiff failed on $name (status $status)"
    if [ $((status & 8)) -ne 0 ]; then
        echo "abi: $name: INCOMPATIBLE change (removed symbols, status $status) against abi/$name.abi" >&2
        return 1
    fi
    if [ $((status & 4)) -ne 0 ]; then
        if ! abidiff --no-added-syms "$baseline" "$file" >/dev/null; then
            echo "abi: $name: CHANGED interfaces (see above) against abi/$name.abi; if deliberate and" \
                "compatible: scripts/check-abi.sh --update $build" >&2
            return 1
        fi
        echo "abi: $name: only added symbols (compatible); record them with scripts/check-abi.sh --update $build"
        return 0
    fi
    echo "abi: $name: no change against abi/$name.abi"
}

failed=0
mkdir -p "$abi_dir"
for lib in "src/writewatch/libwritewatch.so.0:$here/include/writewatch" \
           "dlls/kernelbase/libwritewatch-kernelbase.so.0:$wine_include_dir"; do
    file=$build/${lib%%:*}
    headers=${lib#*:}
    name=${file##*/}
    [ -f "$file" ] || die "$file not built (ninja -C $build)"
    sections=$(readelf -S "$file")
    [[ $sections == *.debug_info* ]] ||
        die "$file has no debug info: abidw needs it (meson setup with buildtype debugoptimized, the default)"
    check_exports "$name" "$file"
    if [ "$update" = 1 ]; then
        abidw --headers-dir "$headers" "${abidw_options[@]}" --out-file "$abi_dir/$name.abi" "$file" ||
            die "abidw failed on $file"
        echo "abi: wrote abi/$name.abi"
    else
        compare "$name" "$file" || failed=1
    fi
done
if [ "$update" = 1 ]; then
    git -C "$here" --no-pager diff --stat -- abi/ || true
    echo "abi: baseline updated; commit abi/ with the reason for the change"
    exit 0
fi
[ "$failed" = 0 ] || die "ABI check failed: an incompatible change needs a new soname (README, \"ABI\")"
echo "abi: passed"
