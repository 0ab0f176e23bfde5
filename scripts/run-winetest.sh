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
    if ! x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -o "$exe" "$ROOT/winetest/writewatch.c" \
            >"$OUT_DIR/wine-build.log" 2>&1; then
        log "mingw build failed (see $OUT_DIR/wine-build.log)"
        echo "not built" >"$OUT_DIR/$run.log"; echo na >"$OUT_DIR/$run.rc"
    else
        prefix=$(mktemp -d /tmp/winetest-prefix.XXXXXX)
        export WINEPREFIX=$prefix WINEDEBUG=-all DISPLAY= WINEDLLOVERRIDES="mscoree,mshtml="
        unset WAYLAND_DISPLAY
        log "booting a fresh Wine prefix ($("$WINE" --version 2>/dev/null)); this can take a minute"
        timeout -k 10 "$WINE_BOOT_TIMEOUT" "$WINE" wineboot -i >"$OUT_DIR/wineboot.log" 2>&1 \
            || log "wineboot returned $? (continuing)"
        log "running $run"
        (cd "$OUT_DIR" && WINETEST_REPORT_SUCCESS=1 timeout -k 10 "$WINE_TIMEOUT" "$WINE" "$exe") \
            >"$OUT_DIR/$run.raw" 2>"$OUT_DIR/$run.stderr"
        echo $? >"$OUT_DIR/$run.rc"
        tr -d '\r' <"$OUT_DIR/$run.raw" >"$OUT_DIR/$run.log"
        # the harness' own self-test, as a Windows program under Wine
        if x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -o "$OUT_DIR/harness_selftest.exe" \
                "$ROOT/winetest/harness_selftest.c" >>"$OUT_DIR/wine-build.log" 2>&1; then
            (cd "$OUT_DIR" && timeout -k 10 60 "$WINE" "$OUT_DIR/harness_selftest.exe") 2>/dev/null \
                | tr -d '\r' >"$OUT_DIR/harness-selftest-wine.log"
            log "harness self-test under Wine: $(tail -n1 "$OUT_DIR/harness-selftest-wine.log")"
        fi
        # stop this prefix's wineserver (only ours: it is keyed by WINEPREFIX)
        wineserver=$(dirname "$WINE")/wineserver
        [ -x "$wineserver" ] || wineserver=$(command -v wineserver || true)
        [ -n "$wineserver" ] && timeout 30 "$wineserver" -k >/dev/null 2>&1
        timeout 30 "${wineserver:-true}" -w >/dev/null 2>&1
        rm -rf "$prefix"
        unset WINEPREFIX
    fi
fi

[ ${#RUNS[@]} -gt 0 ] || { log "nothing to run"; exit 2; }

# ---------------------------------------------------------------- table
# Normalise every log line into: line <TAB> file:line <TAB> test <TAB> run <TAB> kind <TAB> message
for run in "${RUNS[@]}"; do
    awk -v run="$run" '
        match($0, /^[^: ]+\.[ch]:[0-9]+: [A-Za-z0-9_]+: /) {
            head = substr($0, 1, RLENGTH - 2); rest = substr($0, RLENGTH + 1)
            split(head, h, ": "); loc = h[1]; test = h[2]
            split(loc, l, ":"); line = l[2]
            if (rest ~ /^Test succeeded$/) kind = "pass"
            else if (index(rest, "Test succeeded inside todo block: ")) kind = "FAIL"
            else if (index(rest, "Test marked todo: ")) kind = "todo"
            else if (index(rest, "Test failed: ")) kind = "FAIL"
            else if (index(rest, "Tests skipped: ")) kind = "skip"
            else next
            gsub(/\t/, " ", rest)
            print line "\t" loc "\t" test "\t" run "\t" kind "\t" rest
        }' "$OUT_DIR/$run.log"
done >"$OUT_DIR/checks.tsv"

runs_csv=$(IFS=,; echo "${RUNS[*]}")
awk -F'\t' -v runs="$runs_csv" -v outdir="$OUT_DIR" '
    BEGIN { nr = split(runs, R, ",") }
    {
        key = $2 " " $3
        if (!(key in seen)) { seen[key] = 1; order[++nk] = key; line[key] = $1 }
        n[key, $4]++; c[key, $4, $5]++
        if ($5 == "FAIL" || $5 == "todo" || $5 == "skip")
            if (!((key, $4) in msg)) msg[key, $4] = $6
    }
    function cell(key, run,    s, t) {
        t = n[key, run] + 0
        if (!t) return "-"
        if (c[key, run, "FAIL"]) s = "FAIL"
        else if (c[key, run, "todo"]) s = "todo"
        else if (c[key, run, "skip"]) s = "skip"
        else s = "pass"
        if (t > 1) s = s ":" (c[key, run, s] + 0) "/" t
        return s
    }
    END {
        for (i = 1; i <= nk; i++) {
            key = order[i]; row = line[key] "\t" key
            diff = 0
            for (j = 1; j <= nr; j++) {
                v[j] = cell(key, R[j]); row = row "\t" v[j]
                # a run that was not made at all does not count as a difference
                if (j > 1 && v[j] != v[1] && runs_ok[R[j]] != "na") diff = 1
            }
            print row "\t" diff
            if (diff) {
                for (j = 1; j <= nr; j++)
                    if ((key, R[j]) in msg) print key "\t" R[j] "\t" msg[key, R[j]] > (outdir "/diff-messages.tsv")
            }
        }
    }' "$OUT_DIR/checks.tsv" | sort -t$'\t' -k1,1n -k2,2 >"$OUT_DIR/table.tsv"

# which runs actually produced output
declare -A RC
for run in "${RUNS[@]}"; do RC[$run]=$(cat "$OUT_DIR/$run.rc" 2>/dev/null || echo na); done

printf '\n%-30s %-18s' "check (file:line)" "test"
for run in "${RUNS[@]}"; do printf ' %-14s' "$run"; done
printf '\n'
ndiff=0
while IFS=$'\t' read -r line key rest; do
    loc=${key%% *}; test=${key#* }
    IFS=$'\t' read -r -a cells <<<"$rest"
    diff=${cells[${#cells[@]}-1]}
    # ignore columns of runs that were not made
    real_diff=0; first=
    for ((i = 0; i < ${#RUNS[@]}; i++)); do
        [ "${RC[${RUNS[$i]}]}" = na ] && continue
        if [ -z "$first" ]; then first=${cells[$i]}; elif [ "${cells[$i]}" != "$first" ]; then real_diff=1; fi
    done
    mark=" "; [ $real_diff = 1 ] && { mark="*"; ndiff=$((ndiff + 1)); echo "$loc $test" >>"$OUT_DIR/diff-keys.txt"; }
    [ $DIFF_ONLY = 1 ] && [ $real_diff = 0 ] && [[ "$rest" != *FAIL* ]] && continue
    printf '%s%-29s %-18s' "$mark" "$loc" "${test#test_}"
    for ((i = 0; i < ${#RUNS[@]}; i++)); do
        if [ "${RC[${RUNS[$i]}]}" = na ]; then printf ' %-14s' "n/a"; else printf ' %-14s' "${cells[$i]}"; fi
    done
    printf '\n'
done <"$OUT_DIR/table.tsv"

printf '\nCells: pass/FAIL/todo/skip, ":k/n" when the check ran n times (k of the shown kind); "-" not reached.\n'
printf '\nSummary:\n'
status=0
for run in "${RUNS[@]}"; do
    rc=${RC[$run]}
    if [ "$rc" = na ]; then
        printf '  %-14s not run (%s)\n' "$run" "$(head -n1 "$OUT_DIR/$run.log")"
        continue
    fi
    summary=$(grep -E '^[0-9]+ tests executed \(' "$OUT_DIR/$run.log" | tail -n1)
    [ -n "$summary" ] || summary="no summary line (crashed or timed out?)"
    printf '  %-14s %s exit %s\n' "$run" "$summary" "$rc"
    [ "$rc" = 0 ] || status=1
    # the library must never print to stdout: anything not from the harness is flagged
    foreign=$(grep -Ev '^[^: ]+\.[ch]:[0-9]+: [A-Za-z0-9_]+: |^[0-9]+ tests executed \(|^[a-z_]+: platform ' \
              "$OUT_DIR/$run.log" | head -n 3)
    [ -z "$foreign" ] || printf '  %-14s unexpected stdout lines, first ones:\n%s\n' "$run" "$(sed 's/^/      /' <<<"$foreign")"
done

printf '\nDifferences: %d check(s)\n' "$ndiff"
if [ -s "$OUT_DIR/diff-keys.txt" ]; then
    while read -r loc test; do
        printf '  %s %s:\n' "$loc" "$test"
        for run in "${RUNS[@]}"; do
            [ "${RC[$run]}" = na ] && continue
            awk -F'\t' -v k="$loc $test" -v r="$run" '$1 == k && $2 == r { printf "      %-14s %s\n", r, $3 }' \
                "$OUT_DIR/diff-messages.tsv" 2>/dev/null
        done
    done <"$OUT_DIR/diff-keys.txt"
fi
printf '\nLogs: %s\n' "$OUT_DIR"
exit $status
