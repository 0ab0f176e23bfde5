#!/bin/bash
# Run the write-watch conformance test (winetest/writewatch.c) three ways and
# compare them check by check:
#   native-kernel  built against dlls/kernelbase, WRITEWATCH_BACKEND=kernel
#   native-fault   the same binary, WRITEWATCH_BACKEND=fault
#   wine8          built with mingw (x86_64-w64-mingw32-gcc), run under Wine
#
# Usage: scripts/run-winetest.sh [--no-install] [--no-native] [--no-wine]
#                                [--diff-only] [--build DIR] [--out DIR]
#
# Installs what it needs with apt-get when run as root on Debian (wine64,
# gcc-mingw-w64-x86-64, and the native build's tools) unless --no-install.
# Prints a table: one row per check (file:line and test name), one column per
# run (--diff-only: only rows that differ, marked '*', or that failed),
# then the rows where the runs differ with the messages. Logs stay in the
# output directory (default: a new temporary directory, printed at the end).
# Exit status: 0 if every run that could be made had no failures, 1 otherwise,
# 2 on a setup error.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib/winetest-table.sh"
source "$ROOT/scripts/lib/wine-run.sh"
BUILD_DIR=$ROOT/build-winetest
OUT_DIR=
DO_INSTALL=1
DO_NATIVE=1
DO_WINE=1
DIFF_ONLY=0
NATIVE_TIMEOUT=${NATIVE_TIMEOUT:-180}
WINE_BOOT_TIMEOUT=${WINE_BOOT_TIMEOUT:-240}
WINE_TIMEOUT=${WINE_TIMEOUT:-180}

while [ $# -gt 0 ]; do
    case "$1" in
        --no-install) DO_INSTALL=0 ;;
        --no-native) DO_NATIVE=0 ;;
        --no-wine) DO_WINE=0 ;;
        --diff-only) DIFF_ONLY=1 ;;
        --build) BUILD_DIR=$2; shift ;;
        --out) OUT_DIR=$2; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

[ -n "$OUT_DIR" ] || OUT_DIR=$(mktemp -d /tmp/winetest.XXXXXX)
mkdir -p "$OUT_DIR" || exit 2
OUT_DIR=$(cd "$OUT_DIR" && pwd)

log() { echo "run-winetest: $*" >&2; }

# ---------------------------------------------------------------- packages
find_wine() {
    local w
    for w in /usr/lib/wine/wine64 "$(command -v wine64 2>/dev/null)" "$(command -v wine 2>/dev/null)"; do
        [ -n "$w" ] && [ -x "$w" ] && { echo "$w"; return 0; }
    done
    return 1
}
if [ $DO_INSTALL = 1 ]; then
    bash "$ROOT/scripts/install-deps.sh" main || { log "installing the packages failed"; exit 2; }
fi
if [ $DO_WINE = 1 ]; then
    find_wine >/dev/null || { log "no Wine found (install wine64 or drop --no-install)"; exit 2; }
    command -v x86_64-w64-mingw32-gcc >/dev/null || { log "no x86_64-w64-mingw32-gcc"; exit 2; }
fi

RUNS=()

# ---------------------------------------------------------------- native
if [ $DO_NATIVE = 1 ]; then
    native_bin=$BUILD_DIR/winetest/winetest-writewatch
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        meson setup "$BUILD_DIR" "$ROOT" -Dtests=false >"$OUT_DIR/native-build.log" 2>&1 \
            || log "meson setup failed (see $OUT_DIR/native-build.log)"
    fi
    if [ -f "$BUILD_DIR/build.ninja" ] &&
       ninja -C "$BUILD_DIR" -t targets all 2>/dev/null | grep -q '^winetest/winetest-writewatch:'; then
        ninja -C "$BUILD_DIR" winetest/winetest-writewatch >>"$OUT_DIR/native-build.log" 2>&1 \
            || log "native build failed (see $OUT_DIR/native-build.log)"
    else
        log "native conformance test not available (no Win32 layer in this tree?)"
    fi
    for backend in kernel fault; do
        run=native-$backend
        RUNS+=("$run")
        if [ -x "$native_bin" ]; then
            log "running $run"
            WRITEWATCH_BACKEND=$backend WINETEST_REPORT_SUCCESS=1 \
                timeout -k 10 "$NATIVE_TIMEOUT" "$native_bin" >"$OUT_DIR/$run.log" 2>&1
            echo $? >"$OUT_DIR/$run.rc"
        else
            echo "not built" >"$OUT_DIR/$run.log"
            echo na >"$OUT_DIR/$run.rc"
        fi
    done
fi

# ---------------------------------------------------------------- wine
if [ $DO_WINE = 1 ]; then
    run=wine8
    RUNS+=("$run")
    WINE=$(find_wine)
    exe=$OUT_DIR/writewatch.exe
    : >"$OUT_DIR/wine-build.log"
    if ! wine_build_exe "$ROOT/winetest/writewatch.c" "$exe" "$OUT_DIR/wine-build.log"; then
        log "mingw build failed (see $OUT_DIR/wine-build.log)"
        echo "not built" >"$OUT_DIR/$run.log"; echo na >"$OUT_DIR/$run.rc"
    else
        log "booting a fresh Wine prefix ($("$WINE" --version 2>/dev/null)); this can take a minute"
        wine_boot "$WINE" "$OUT_DIR/wineboot.log"
        log "running $run"
        wine_run_test "$run" "$OUT_DIR" "$WINE_TIMEOUT" "$WINE" "$exe"
        # the harness' own self-test, as a Windows program under Wine
        if wine_build_exe "$ROOT/winetest/harness_selftest.c" "$OUT_DIR/harness_selftest.exe" "$OUT_DIR/wine-build.log"; then
            (cd "$OUT_DIR" && timeout -k 10 60 "$WINE" "$OUT_DIR/harness_selftest.exe") 2>/dev/null \
                | tr -d '\r' >"$OUT_DIR/harness-selftest-wine.log"
            log "harness self-test under Wine: $(tail -n1 "$OUT_DIR/harness-selftest-wine.log")"
        fi
        wine_shutdown "$WINE"
    fi
fi

[ ${#RUNS[@]} -gt 0 ] || { log "nothing to run"; exit 2; }

# ---------------------------------------------------------------- table
for run in "${RUNS[@]}"; do wt_normalise "$run" "$OUT_DIR/$run.log"; done >"$OUT_DIR/checks.tsv"
wt_table "$OUT_DIR" "$DIFF_ONLY" "${RUNS[@]}"

# which runs actually produced output
declare -A RC
for run in "${RUNS[@]}"; do RC[$run]=$(cat "$OUT_DIR/$run.rc" 2>/dev/null || echo na); done

printf '\nSummary:\n'
status=0
for run in "${RUNS[@]}"; do
    rc=${RC[$run]}
    if [ "$rc" = na ]; then
        printf '  %-14s not run (%s)\n' "$run" "$(head -n1 "$OUT_DIR/$run.log")"
        continue
    fi
    summary=$(wt_summary_line "$OUT_DIR/$run.log")
    [ -n "$summary" ] || summary="no summary line (crashed or timed out?)"
    printf '  %-14s %s exit %s\n' "$run" "$summary" "$rc"
    [ "$rc" = 0 ] || status=1
    # the library must never print to stdout: anything not from the harness is flagged
    foreign=$(grep -Ev '^[^: ]+\.[ch]:[0-9]+: [A-Za-z0-9_]+: |^[0-9]+ tests executed \(|^[a-z_]+: platform ' \
              "$OUT_DIR/$run.log" | head -n 3)
    [ -z "$foreign" ] || printf '  %-14s unexpected stdout lines, first ones:\n%s\n' "$run" "$(sed 's/^/      /' <<<"$foreign")"
done

wt_differences "$OUT_DIR" "${RUNS[@]}"
printf '\nLogs: %s\n' "$OUT_DIR"
exit $status
