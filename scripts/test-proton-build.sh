#!/usr/bin/env bash
# The test command's Proton stage: scripts/build-for-proton.sh (the project
# built and tested in a Debian 11 root with bullseye's toolchain, the symbol
# versions checked), then the Wine 8.0 + series tree made to load that
# build's libwritewatch.so.0 (through its ntdll.so's DT_RUNPATH, as a Proton
# tree would) and the project's write-watch suite, kernel tracking check
# included, run under it on this host beside stock Wine 8.0.
#
#   scripts/test-proton-build.sh [OUT_DIR [STOCK_RESULTS]]
#
# STOCK_RESULTS: the --out of a run-wine-tests.sh 8.0 that ran the stock
# Wine 8.0 (the test command's wine-8.0 stage): its stock results are used
# instead of running the same stock Wine on the same test again.
#
# The last line printed is the library's path, for the stages after it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/lib/fail-loudly.sh"
out=${1:-$(mktemp -d /tmp/proton-tests.XXXXXX)}
stock_from=()
[ -z "${2:-}" ] || stock_from=(--stock-from "$2")
mkdir -p "$out"
dist=$(bash "$here/scripts/build-for-proton.sh" | tail -n 1) || die "build-for-proton.sh failed"
lib=$dist/lib/libwritewatch.so.0
[ -f "$lib" ] || die "no $lib"
loader=$(WW_LIBRARY=$lib bash "$here/wine-patches/build-wine.sh" 8.0 | tail -n 1) || die "build-wine.sh 8.0 with $lib failed"
installed=$(find "$(dirname "$loader")" -name libwritewatch.so.0 -path '*x86_64-unix*' | head -n 1)
cmp -s "$lib" "$installed" || die "the Wine 8.0 tree's libwritewatch.so.0 ($installed) is not the Debian 11 build"
echo "Wine 8.0 + series, with the Debian 11 build of the library ($installed):" >&2
WW_LIBRARY=$lib bash "$here/wine-patches/run-wine-tests.sh" --version 8.0 --patched "$loader" \
    --suites winetest "${stock_from[@]}" --out "$out/wine-8.0" >&2 || die "the write-watch suite under Wine 8.0 with the Debian 11 library failed"
echo "$lib"
