#!/bin/bash
# Run Wine's own write-watch tests and the project's conformance test under
# stock Wine 8.0 (/usr/lib/wine/wine64) and under the patched Wine of
# build-wine.sh, side by side, check by check:
#   kernel32  kernel32_test.exe virtual (holds test_write_watch)
#   ws2_32    ws2_32_test.exe sock      (test_write_watch: recv into watched memory)
#   winetest  winetest/writewatch.c built with mingw
# Both Wines run the same test executables (built from the patched tree by
# build-wine.sh), each Wine in its own fresh WINEPREFIX.
#
# Usage: wine-patches/run-wine-tests.sh [--loader PATH] [--all] [--out DIR]
#   --loader PATH  the patched loader (default: build it, or take it from the
#                  cache, with build-wine.sh)
#   --all          print every check, not only those that differ or fail
#   --out DIR      where the logs go (default: a new directory under /tmp)
#
# Exit status: 0 when every check that passes under stock passes under the
# patched Wine too; 1 when one fails there, a patched run crashed or timed
# out, or a run could not be made; 2 on a setup error.
# Environment: WINE_BOOT_TIMEOUT (240), WINE_TEST_TIMEOUT (600 s per run).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$REPO/scripts/lib/fail-loudly.sh"
source "$REPO/scripts/lib/winetest-table.sh"
source "$REPO/scripts/lib/wine-run.sh"

STOCK=/usr/lib/wine/wine64
LOADER=
ALL=0
OUT_DIR=
TEST_TIMEOUT=${WINE_TEST_TIMEOUT:-600}
while [ $# -gt 0 ]; do
    case "$1" in
    --loader) LOADER=$2; shift ;;
    --all) ALL=1 ;;
    --out) OUT_DIR=$2; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

log() { echo "[run-wine-tests $(date -u +%H:%M:%S)] $*" >&2; }

if [ -z "$LOADER" ]; then
    LOADER=$(bash "$HERE/build-wine.sh" | tail -n 1) || die "build-wine.sh failed: no patched Wine to test"
fi
[ -x "$LOADER" ] || die "no patched loader at '$LOADER'"
[ -x "$STOCK" ] || die "no stock Wine at $STOCK (apt-get install wine64)"
command -v x86_64-w64-mingw32-gcc >/dev/null || die "no x86_64-w64-mingw32-gcc (apt-get install gcc-mingw-w64-x86-64)"
TREE=${LOADER%/usr/lib/wine/wine64}
[ "$TREE" != "$LOADER" ] || die "$LOADER is not a copied tree's usr/lib/wine/wine64 (build-wine.sh prints one)"

[ -n "$OUT_DIR" ] || OUT_DIR=$(mktemp -d /tmp/wine-tests.XXXXXX)
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

# suite NAME -> the program and arguments, and the name its checks get
SUITES=(kernel32 ws2_32 winetest)
declare -A PROGRAM=(
    [kernel32]="$TREE/tests/kernel32_test.exe virtual"
    [ws2_32]="$TREE/tests/ws2_32_test.exe sock"
    [winetest]="$OUT_DIR/winetest/writewatch.exe"
)
declare -A CHECK_NAME=([kernel32]=virtual [ws2_32]=sock [winetest]=-)
declare -A TEST_SOURCE=([kernel32]="$TREE/tests/virtual.c" [ws2_32]="$TREE/tests/sock.c")
WINES=(stock patched)
declare -A WINE=([stock]=$STOCK [patched]=$LOADER)

for suite in "${SUITES[@]}"; do mkdir -p "$OUT_DIR/$suite"; done
: >"$OUT_DIR/winetest/build.log"
wine_build_exe "$REPO/winetest/writewatch.c" "$OUT_DIR/winetest/writewatch.exe" "$OUT_DIR/winetest/build.log" ||
    { cat "$OUT_DIR/winetest/build.log" >&2; die "mingw could not build winetest/writewatch.c"; }

# ---- the hook for the lead ---------------------------------------------------
# check_tracks_through_kernel WINE DIR: does the patched Wine track write
# watches through the kernel (the range tracker), not through its own
# mprotect/SIGSEGV path? Fill in KERNEL_TRACE_CHANNELS (a WINEDEBUG value)
# and KERNEL_TRACE_PATTERN (an extended regular expression that the patched
# ntdll prints on that channel only when the range tracker took a watched
# allocation). Returns 0 (yes), 1 (no: counts as a regression) or 2 (not
# checked; the reason on stdout).
check_tracks_through_kernel() {
    local wine=$1 dir=$2
    # The series' writewatch.c traces each registration with the tracker's
    # status: a watched allocation that the kernel tracks prints status 0.
    local KERNEL_TRACE_CHANNELS="+writewatch"
    local KERNEL_TRACE_PATTERN="kernel_writewatch_register register 0x[0-9a-f]+-0x[0-9a-f]+: 0$"
    if [ -z "$KERNEL_TRACE_CHANNELS" ] || [ -z "$KERNEL_TRACE_PATTERN" ]; then
        echo "not defined yet (fill in check_tracks_through_kernel in ${BASH_SOURCE[0]##*/})"
        return 2
    fi
    (cd "$dir" && WINEDEBUG=$KERNEL_TRACE_CHANNELS timeout -k 10 "$TEST_TIMEOUT" \
        "$wine" "${PROGRAM[winetest]}") >"$dir/kernel-trace.stdout" 2>"$dir/kernel-trace.stderr" || true
    if grep -Eq "$KERNEL_TRACE_PATTERN" "$dir/kernel-trace.stderr"; then
        echo "'$KERNEL_TRACE_PATTERN' seen on $KERNEL_TRACE_CHANNELS"
        return 0
    fi
    echo "'$KERNEL_TRACE_PATTERN' not seen on $KERNEL_TRACE_CHANNELS (log: $dir/kernel-trace.stderr)"
    return 1
}

# ---- the runs -----------------------------------------------------------------------
KERNEL_STATUS=2 KERNEL_NOTE=
for w in "${WINES[@]}"; do
    wine=${WINE[$w]}
    log "$w: $("$wine" --version 2>&1); booting a fresh prefix"
    t0=$SECONDS
    wine_boot "$wine" "$OUT_DIR/wineboot-$w.log"
    log "$w: wineboot took $((SECONDS - t0)) s"
    # Tells winetest/writewatch.c which Wine bugs to expect (see its
    # wine_write_watch_mode): the patched Wine's write watches are the kernel's.
    if [ "$w" = patched ]; then export WINETEST_WRITEWATCH_WINE=kernel; else unset WINETEST_WRITEWATCH_WINE; fi
    for suite in "${SUITES[@]}"; do
        t0=$SECONDS
        read -r -a program <<<"${PROGRAM[$suite]}"
        wine_run_test "$w" "$OUT_DIR/$suite" "$TEST_TIMEOUT" "$wine" "${program[@]}"
        log "$w: $suite took $((SECONDS - t0)) s, exit $(cat "$OUT_DIR/$suite/$w.rc")"
    done
    if [ "$w" = patched ]; then
        KERNEL_NOTE=$(check_tracks_through_kernel "$wine" "$OUT_DIR/winetest") && KERNEL_STATUS=0 || KERNEL_STATUS=$?
    fi
    wine_shutdown "$wine"
done

# ---- per suite: the table, how each run ended, what regressed -------------------
# run_state DIR RUN: "ok", or why the run's checks cannot all be trusted.
run_state() {
    local rc
    rc=$(cat "$1/$2.rc")
    case "$rc" in
    na) echo "not run" ;;
    124|137) echo "timed out" ;;
    *) [ -n "$(wt_summary_line "$1/$2.log")" ] && echo ok || echo "crashed (exit $rc, no summary line)" ;;
    esac
}

# function_lines SOURCE NAME: "first last" line of a C function definition.
function_lines() {
    awk -v name="$2" '
        !start && $0 ~ "^static void " name "\\(void\\)" { start = NR }
        start && /^}/ { print start, NR; exit }' "$1"
}

# kinds_between TABLE RUN_COLUMN FIRST LAST: "N pass, N FAIL, ..." over the
# checks of those source lines.
kinds_between() {
    awk -F'\t' -v col="$2" -v first="$3" -v last="$4" '
        $1 >= first && $1 <= last { k = $(col); sub(/:.*/, "", k); n[k]++; total++ }
        END {
            if (!total) { print "no checks"; exit }
            s = ""; for (k in n) s = s (s ? ", " : "") n[k] " " k; print s
        }' "$1"
}

status=0
regressions=0 fixed=0 incomplete=0
summary=()
for suite in "${SUITES[@]}"; do
    dir=$OUT_DIR/$suite
    printf '\n======== %s: %s\n' "$suite" "${PROGRAM[$suite]##*/}"
    for w in "${WINES[@]}"; do wt_normalise "$w" "$dir/$w.log" "${CHECK_NAME[$suite]}"; done >"$dir/checks.tsv"
    wt_table "$dir" $((1 - ALL)) "${WINES[@]}"
    wt_differences "$dir" "${WINES[@]}"

    for w in "${WINES[@]}"; do
        state=$(run_state "$dir" "$w")
        line=$(wt_summary_line "$dir/$w.log")
        summary+=("$(printf '%-9s %-8s %s (exit %s)' "$suite" "$w" "${line:-$state}" "$(cat "$dir/$w.rc")")")
        if [ "$state" != ok ]; then
            summary+=("$(printf '%-9s %-8s   %s' "" "" "the run $state")")
            # a stock run that did not finish leaves nothing to compare with
            if [ "$w" = patched ] || [ "$state" = "not run" ]; then incomplete=$((incomplete + 1)); fi
        fi
    done
    if [ -n "${TEST_SOURCE[$suite]:-}" ] && range=$(function_lines "${TEST_SOURCE[$suite]}" test_write_watch) && [ -n "$range" ]; then
        read -r first last <<<"$range"
        summary+=("$(printf '%-9s   test_write_watch (%s:%s-%s): stock %s; patched %s' "" \
            "${TEST_SOURCE[$suite]##*/}" "$first" "$last" \
            "$(kinds_between "$dir/table.tsv" 3 "$first" "$last")" \
            "$(kinds_between "$dir/table.tsv" 4 "$first" "$last")")")
    fi

    # A check regressed when it passes under stock and fails or is todo under
    # the patched Wine. A todo_wine check that succeeds under the patched Wine
    # (Wine counts that as a failure) fixed a Wine bug.
    awk -F'\t' -v suite="$suite" -v msgs="$dir/messages.tsv" '
        BEGIN { while ((getline l < msgs) > 0) { split(l, f, "\t"); if (f[2] == "patched") m[f[1]] = f[3] } }
        {
            s = $3; p = $4; sub(/:.*/, "", s); sub(/:.*/, "", p)
            if (s == "pass" && (p == "FAIL" || p == "todo")) print "regressed\t" suite " " $2 "\t" m[$2]
            else if (s == "todo" && p == "FAIL" && index(m[$2], "Test succeeded inside todo block")) print "fixed\t" suite " " $2
        }' "$dir/table.tsv" >"$dir/verdicts.tsv"
    regressions=$((regressions + $(grep -c '^regressed' "$dir/verdicts.tsv" || true)))
    fixed=$((fixed + $(grep -c '^fixed' "$dir/verdicts.tsv" || true)))
done

printf '\n======== summary\n'
printf '  %s\n' "${summary[@]}"
case $KERNEL_STATUS in
0) printf '  tracks through the kernel: yes, %s\n' "$KERNEL_NOTE" ;;
1) printf '  tracks through the kernel: NO, %s\n' "$KERNEL_NOTE"; regressions=$((regressions + 1)) ;;
*) printf '  tracks through the kernel: not checked, %s\n' "$KERNEL_NOTE" ;;
esac
if [ "$regressions" -gt 0 ]; then
    printf '\nPass under stock, fail under the patched Wine:\n'
    cat "$OUT_DIR"/*/verdicts.tsv | awk -F'\t' '$1 == "regressed" { printf "  %s: %s\n", $2, $3 }'
fi
if [ "$fixed" -gt 0 ]; then
    printf '\ntodo_wine checks that succeed under the patched Wine:\n'
    cat "$OUT_DIR"/*/verdicts.tsv | awk -F'\t' '$1 == "fixed" { printf "  %s\n", $2 }'
fi
printf '\nLogs: %s\n' "$OUT_DIR"
echo "wine-tests: $regressions regressed, $incomplete incomplete run(s), $fixed todo_wine fixed"
[ "$regressions" = 0 ] && [ "$incomplete" = 0 ] || status=1
exit $status
