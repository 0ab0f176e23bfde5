#!/bin/bash
# Run Wine's own write-watch tests and the project's conformance test under
# a stock Wine and under the same Wine with the wine-patches/ series, side by
# side, check by check:
#   kernel32   kernel32_test.exe virtual (holds test_write_watch)
#   ws2_32     ws2_32_test.exe sock      (test_write_watch: recv into watched
#              memory; its write-watch checks alone unless --full-sock)
#   winetest   winetest/writewatch.c built with mingw
#   inject-scan, inject-writeprotect
#              writewatch.c's test_injected_failure under strace, which makes
#              the kernel fail a PAGEMAP_SCAN, or every write-protect, of the
#              write-watch path (for Wines that track in the kernel)
#   ksm        winetest/moving_memory.c with KSM on (scripts/lib/moving-memory.sh)
#              and the whole Wine, wineserver included, mergeable
#              (tools/with-memory-merge): clean pages KSM merges must not be
#              reported written; any failure under the patched Wine counts
#   receive    winetest/receive_race.c: a store into a page a socket receive
#              fills at the same moment must be reported; any failure under
#              the patched Wine counts, the stock Wine's figures are reported
# Both Wines run the same test executables (built from the version's tree by
# build-wine.sh), each Wine in its own fresh WINEPREFIX.
#
# Usage: wine-patches/run-wine-tests.sh [--version V] [--stock WINE] [--patched WINE]
#                                       [--all] [--full-sock] [--no-inject] [--suites LIST]
#                                       [--stock-from DIR] [--out DIR]
#   --version V     8.0 (default), 10.0 or 11.0
#   --stock WINE    the stock Wine (default: build-wine.sh V --stock)
#   --patched WINE  the patched Wine (default: build-wine.sh V); --loader is
#                   the same option
#   --all           print every check, not only those that differ or fail
#   --full-sock     run the whole ws2_32 sock test (minutes per Wine)
#   --no-inject     leave out the two fault-injection suites
#   --suites LIST   only these suites (comma-separated names from above)
#   --stock-from DIR  the stock Wine's results of an earlier run of this
#                   script (its --out) with the same stock Wine and tests,
#                   instead of running the stock Wine again; when DIR lacks
#                   one of the suites, or its stock Wine was another, the
#                   stock Wine runs as usual
#   --out DIR       where the logs go (default: a new directory under /tmp)
#
# Exit status: 0 when every check that passes under stock passes under the
# patched Wine too (and the patched Wine fails no ksm or receive check),
# except the checks the series changes on purpose (wine-VERSION/changed-checks:
# reported as changed, not as regressions); 1 when one fails there, a
# patched run crashed or timed out, or a run could not be made; 2 on a
# setup error.
# Environment: WINE_BOOT_TIMEOUT (240), WINE_TEST_TIMEOUT (600 s per run of
# Wine's tests), WINE_OWN_TEST_TIMEOUT (60 s per run of winetest/writewatch.c,
# which takes seconds unless a Wine deadlocks in it).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$REPO/scripts/lib/fail-loudly.sh"
source "$REPO/scripts/lib/winetest-table.sh"
source "$REPO/scripts/lib/wine-run.sh"
source "$REPO/scripts/lib/moving-memory.sh"

VERSION=8.0
STOCK_WINE=
PATCHED_WINE=
ALL=0
FULL_SOCK=0
INJECT=1
ONLY=
OUT_DIR=
STOCK_FROM=
TEST_TIMEOUT=${WINE_TEST_TIMEOUT:-600}
OWN_TEST_TIMEOUT=${WINE_OWN_TEST_TIMEOUT:-60}
while [ $# -gt 0 ]; do
    case "$1" in
    --version) VERSION=$2; shift ;;
    --stock) STOCK_WINE=$2; shift ;;
    --patched|--loader) PATCHED_WINE=$2; shift ;;
    --all) ALL=1 ;;
    --full-sock) FULL_SOCK=1 ;;
    --no-inject) INJECT=0 ;;
    --suites) ONLY=$2; shift ;;
    --out) OUT_DIR=$2; shift ;;
    --stock-from) STOCK_FROM=$2; shift ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

log() { echo "[run-wine-tests $(date -u +%H:%M:%S)] $*" >&2; }

if [ -z "$STOCK_WINE" ]; then
    STOCK_WINE=$(bash "$HERE/build-wine.sh" "$VERSION" --stock | tail -n 1) || die "build-wine.sh $VERSION --stock failed"
fi
if [ -z "$PATCHED_WINE" ]; then
    PATCHED_WINE=$(bash "$HERE/build-wine.sh" "$VERSION" | tail -n 1) || die "build-wine.sh $VERSION failed: no patched Wine to test"
fi
for w in "$STOCK_WINE" "$PATCHED_WINE"; do [ -x "$w" ] || die "no Wine at '$w'"; done
command -v x86_64-w64-mingw32-gcc >/dev/null || die "no x86_64-w64-mingw32-gcc (apt-get install gcc-mingw-w64-x86-64)"
TESTS=$(dirname "$PATCHED_WINE")/tests
[ -f "$TESTS/kernel32_test.exe" ] || die "no $TESTS/kernel32_test.exe (build-wine.sh puts the tests beside the Wine it prints)"

[ -n "$OUT_DIR" ] || OUT_DIR=$(mktemp -d /tmp/wine-tests.XXXXXX)
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

# Where each Wine keeps write watches: the patched ones in the kernel
# (libwritewatch), Wine 11's stock one too (its own userfaultfd path), the
# older stock ones by protecting pages. writewatch.c's expectations follow
# (WINETEST_WRITEWATCH_WINE), and only Wines that track in the kernel make
# the system calls the fault-injection suites fail.
WINES=(stock patched)
declare -A WINE=([stock]=$STOCK_WINE [patched]=$PATCHED_WINE)
declare -A IN_KERNEL=([stock]=0 [patched]=1)
case "$VERSION" in 8.*|9.*|10.[0-6]*) ;; *) IN_KERNEL[stock]=1 ;; esac

# suite NAME -> the program and arguments, and the name its checks get
# winetest last: a Wine that deadlocks in it (stock Wine 11) is killed at
# its time limit, which can leave the prefix unusable for what follows.
SUITES=(kernel32 ws2_32)
[ "$INJECT" = 0 ] || SUITES+=(inject-scan inject-writeprotect)
SUITES+=(ksm receive winetest)
if [ -n "$ONLY" ]; then
    for suite in ${ONLY//,/ }; do
        [[ " ${SUITES[*]} " == *" $suite "* ]] || die "--suites: no suite '$suite' (${SUITES[*]})"
    done
    IFS=, read -r -a SUITES <<<"$ONLY"
fi
declare -A PROGRAM=(
    [kernel32]="$TESTS/kernel32_test.exe virtual"
    [ws2_32]="$TESTS/ws2_32_test.exe sock"
    [winetest]="$OUT_DIR/winetest/writewatch.exe"
    [inject-scan]="$OUT_DIR/winetest/writewatch.exe"
    [inject-writeprotect]="$OUT_DIR/winetest/writewatch.exe"
    [ksm]="$OUT_DIR/ksm/moving_memory.exe"
    [receive]="$OUT_DIR/receive/receive_race.exe"
)
declare -A CHECK_NAME=([kernel32]=virtual [ws2_32]=sock [winetest]=- [inject-scan]=- [inject-writeprotect]=- [ksm]=- [receive]=-)
declare -A TEST_SOURCE=([kernel32]="$TESTS/virtual.c" [ws2_32]="$TESTS/sock.c")

# suite_exe SUITE NAME [LIB...]: winetest/NAME.c built with mingw as
# OUT_DIR/SUITE/NAME.exe (log: OUT_DIR/SUITE/build.log); dies when it fails.
suite_exe() {
    local log=$OUT_DIR/$1/build.log
    : >"$log"
    wine_build_exe "$REPO/winetest/$2.c" "$OUT_DIR/$1/$2.exe" "$log" "${@:3}" ||
        { cat "$log" >&2; die "mingw could not build winetest/$2.c"; }
}

# winetest/ always: the kernel-tracking check runs writewatch.exe
for suite in "${SUITES[@]}" winetest; do mkdir -p "$OUT_DIR/$suite"; done
suite_exe winetest writewatch
if [[ " ${SUITES[*]} " == *" ksm "* ]]; then
    suite_exe ksm moving_memory
    gcc -O2 -Wall -Wextra -o "$OUT_DIR/ksm/with-memory-merge" "$REPO/tools/with-memory-merge.c" >>"$OUT_DIR/ksm/build.log" 2>&1 ||
        { cat "$OUT_DIR/ksm/build.log" >&2; die "gcc could not build tools/with-memory-merge.c"; }
    # KSM's settings come back however the script ends.
    trap moving_memory_restore EXIT
fi
[[ " ${SUITES[*]} " != *" receive "* ]] || suite_exe receive receive_race -lws2_32
[ "$FULL_SOCK" = 1 ] || export WINETEST_WRITE_WATCH_ONLY=1

# ---- does the patched Wine track through libwritewatch? --------------------
# check_tracks_through_kernel WINE DIR: the series traces each registration
# of a watched view with the tracker's status (+writewatch): status 0 means
# the kernel tracks it. A missing line counts as a regression: the patched
# Wine would be answering from its own write watches.
check_tracks_through_kernel() {
    local wine=$1 dir=$2 channels="+writewatch"
    local pattern="writewatch:[a-z_]+ register 0x[0-9a-f]+-0x[0-9a-f]+: 0$"
    (cd "$dir" && WINEDEBUG=$channels timeout -k 10 "$OWN_TEST_TIMEOUT" \
        "$wine" "${PROGRAM[winetest]}") >"$dir/kernel-trace.stdout" 2>"$dir/kernel-trace.stderr" || true
    if grep -Eq "$pattern" "$dir/kernel-trace.stderr"; then
        echo "'$pattern' seen on $channels"
        return 0
    fi
    echo "'$pattern' not seen on $channels (log: $dir/kernel-trace.stderr)"
    return 1
}

# ---- the fault-injection suites -------------------------------------------------
# strace_wine WINE STRACE_ARGS... -- PROGRAM ARGS...: the program under WINE,
# traced, bounded by OWN_TEST_TIMEOUT: strace runs where the Wine runs (the
# launcher of a Wine in a Debian root takes WW_LAUNCH_PREFIX), following
# every thread and child.
strace_wine() {
    local wine=$1 args=()
    shift
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    shift
    if ! grep -qs 'root_run' "$wine"; then # a Wine on this host
        command -v strace >/dev/null || die "no strace (apt-get install strace)"
        timeout -k 10 "$OWN_TEST_TIMEOUT" strace -f -qq "${args[@]}" "$wine" "$@"
    else
        WW_LAUNCH_PREFIX="strace -f -qq ${args[*]}" timeout -k 10 "$OWN_TEST_TIMEOUT" "$wine" "$@"
    fi
}

# inject_target CALIBRATION_LOG MODE: "FD COUNT" of the system call to fail:
# the first ioctl of the marker's thread after it wrote "writewatch-inject:
# MODE" (to whichever descriptor Wine's stdout is) that is the call MODE
# names: its descriptor, and how many ioctls that thread had made on that
# descriptor up to it (strace's when= counts per thread).
# request_pattern MODE: how strace shows an ioctl whose request is the one
# MODE names, by name or as _IOC(...) (anchored at the request argument:
# UFFDIO_REGISTER's result lists _UFFDIO_WRITEPROTECT among its ioctls).
request_pattern() {
    case "$1" in
    scan) echo 'ioctl\\([0-9]+, (PAGEMAP_SCAN|_IOC\\([^)]*0x66, 0x10)' ;;
    writeprotect) echo 'ioctl\\([0-9]+, (UFFDIO_WRITEPROTECT|_IOC\\([^)]*0xaa, 0x6)' ;;
    esac
}
inject_target() {
    awk -v mode="$2" -v request="$(request_pattern "$2")" '
        { tid = $1 }
        $0 ~ ("write\\([0-9]+, \"writewatch-inject: " mode) { marked[tid] = 1; next }
        match($0, /ioctl\([0-9]+, /) {
            if ($0 ~ /resumed>/) next
            fd = substr($0, RSTART + 6, RLENGTH - 8)
            n[tid, fd]++
            if (marked[tid] && $0 ~ request) { print fd, n[tid, fd]; exit }
        }' "$1"
}

# run_injected SUITE RUN: calibrate, then fail the call (scan: that one call;
# writeprotect: every write-protect from it on) and run the checks. Leaves
# RUN.log / RUN.rc like wine_run_test, "na" when it cannot apply.
run_injected() {
    local suite=$1 run=$2 dir=$OUT_DIR/$1 mode=${1#inject-} wine=${WINE[$2]} target when
    if [ "${IN_KERNEL[$run]}" = 0 ]; then
        echo "not applicable: this Wine keeps write watches by protecting pages (no PAGEMAP_SCAN, no userfaultfd)" >"$dir/$run.log"
        echo na >"$dir/$run.rc"
        return
    fi
    # Only the fd filter keeps an injection to the write-watch descriptor;
    # strace has it from 6.7 (Debian 13's root has 6.13, Debian 12 6.1).
    if ! grep -qs 'root_run' "$wine" && ! strace -qq -e trace-fds=0 -o /dev/null true 2>/dev/null; then
        echo "not applicable here: this host's strace ($(strace -V | head -n 1)) has no -e trace-fds (6.7+)" >"$dir/$run.log"
        echo na >"$dir/$run.rc"
        return
    fi
    (cd "$dir" && WINETEST_WRITEWATCH_INJECT="$mode:calibrate" \
        strace_wine "$wine" -s 64 -e trace=ioctl,write -o "$dir/$run.calibration.strace" -- "${PROGRAM[$suite]}") \
        >"$dir/$run.calibration.out" 2>&1 || true
    target=$(inject_target "$dir/$run.calibration.strace" "$mode" 2>/dev/null || true)
    if [ -z "$target" ]; then
        echo "not made: the calibration run showed no $mode call after its marker (log: $dir/$run.calibration.strace)" >"$dir/$run.log"
        echo na >"$dir/$run.rc"
        return
    fi
    read -r fd when <<<"$target"
    [ "$mode" = scan ] || when="$when+"
    echo "$mode: fd $fd, call $when of the thread on it, error EIO" >"$dir/$run.target"
    local rc=0
    (cd "$dir" && WINETEST_WRITEWATCH_INJECT=$mode WINETEST_REPORT_SUCCESS=1 \
        strace_wine "$wine" -e trace=ioctl -e trace-fds="$fd" -e inject=ioctl:error=EIO:when="$when" \
        -o "$dir/$run.strace" -- "${PROGRAM[$suite]}") >"$dir/$run.raw" 2>"$dir/$run.stderr" || rc=$?
    tr -d '\r' <"$dir/$run.raw" >"$dir/$run.log"
    rm -f "$dir/$run.raw"
    echo $rc >"$dir/$run.rc"
    # A call strace interrupts to show another thread's is split in two
    # lines ("<unfinished ...>", then "<... ioctl resumed>" with the result):
    # the request is on the first, INJECTED on the second.
    if ! awk -v request="$(request_pattern "$mode")" '
            { tid = $1; line = $0 }
            /<unfinished \.\.\.>$/ { start[tid] = $0; next }
            /resumed>/ { line = start[tid] " " $0 }
            line ~ /\(INJECTED\)/ && line ~ request { found = 1; exit }
            END { exit !found }' "$dir/$run.strace"; then
        echo "not made: strace injected nothing into the $mode call (log: $dir/$run.strace)" >"$dir/$run.log"
        echo na >"$dir/$run.rc"
    fi
}

# ---- the ksm suite ----------------------------------------------------------------
# wine_stop_server WINE: stop this prefix's wineserver and wait for it, keeping
# the prefix.
wine_stop_server() {
    local wineserver
    wineserver=$(dirname "$1")/wineserver
    [ -x "$wineserver" ] || wineserver=$(command -v wineserver || true)
    [ -n "$wineserver" ] || return 0
    timeout 30 "$wineserver" -k >/dev/null 2>&1 || true
    timeout 30 "$wineserver" -w >/dev/null 2>&1 || true
}

# run_ksm RUN: moving_memory.exe with KSM on and the whole Wine mergeable:
# the prefix's wineserver is stopped, so that the one the program starts
# (and the prefix's services) inherit the launcher's PR_SET_MEMORY_MERGE;
# stopped again after, and KSM put back, so the suites that follow run as
# before. Leaves RUN.log / RUN.rc like wine_run_test, "na" when KSM cannot
# be had here.
run_ksm() {
    local run=$1 dir=$OUT_DIR/ksm wine=${WINE[$1]} why
    if ! why=$("$dir/with-memory-merge" true 2>&1); then
        echo "not applicable here: $why" >"$dir/$run.log"
        echo na >"$dir/$run.rc"
        return
    fi
    if ! moving_memory_on 2>"$dir/$run.moving-memory"; then
        echo "not applicable here: KSM cannot be switched on ($(tr '\n' ' ' <"$dir/$run.moving-memory"))" >"$dir/$run.log"
        echo na >"$dir/$run.rc"
        moving_memory_restore
        return
    fi
    moving_memory_describe >>"$dir/$run.moving-memory"
    wine_stop_server "$wine"
    WINETEST_MOVING_MEMORY_KSM=require \
        wine_run_test "$run" "$dir" "$OWN_TEST_TIMEOUT" "$dir/with-memory-merge" "$wine" "${PROGRAM[ksm]}"
    wine_stop_server "$wine"
    moving_memory_restore 2>>"$dir/$run.moving-memory"
}

# ---- the runs -----------------------------------------------------------------------
# stock_results_reusable: whether --stock-from has a stock run of every
# suite, made by the Wine that is the stock one now.
stock_results_reusable() {
    local suite
    [ -n "$STOCK_FROM" ] || return 1
    [ "$(cat "$STOCK_FROM/stock-version" 2>/dev/null)" = "$("$STOCK_WINE" --version 2>&1)" ] ||
        { log "stock: $STOCK_FROM is not from this stock Wine: running it"; return 1; }
    for suite in "${SUITES[@]}"; do
        [ -f "$STOCK_FROM/$suite/stock.log" ] && [ -f "$STOCK_FROM/$suite/stock.rc" ] ||
            { log "stock: $STOCK_FROM has no $suite run: running the stock Wine"; return 1; }
    done
}
# Written once the stock runs are all there, for a later --stock-from.
rm -f "$OUT_DIR/stock-version"
KERNEL_STATUS=2 KERNEL_NOTE=
for w in "${WINES[@]}"; do
    wine=${WINE[$w]}
    if [ "$w" = stock ] && stock_results_reusable; then
        for suite in "${SUITES[@]}"; do
            cp "$STOCK_FROM/$suite/stock.log" "$STOCK_FROM/$suite/stock.rc" "$OUT_DIR/$suite/"
            [ ! -f "$STOCK_FROM/$suite/stock.target" ] || cp "$STOCK_FROM/$suite/stock.target" "$OUT_DIR/$suite/"
        done
        cp "$STOCK_FROM/stock-version" "$OUT_DIR/stock-version"
        log "stock: $(cat "$OUT_DIR/stock-version"); its results of ${SUITES[*]} taken from $STOCK_FROM"
        continue
    fi
    log "$w: $("$wine" --version 2>&1); booting a fresh prefix"
    t0=$SECONDS
    wine_boot "$wine" "$OUT_DIR/wineboot-$w.log"
    log "$w: wineboot took $((SECONDS - t0)) s"
    # Tells winetest/writewatch.c which Wine bugs to expect (see its
    # wine_write_watch_mode).
    if [ "${IN_KERNEL[$w]}" = 1 ]; then export WINETEST_WRITEWATCH_WINE=kernel; else unset WINETEST_WRITEWATCH_WINE; fi
    for suite in "${SUITES[@]}"; do
        t0=$SECONDS
        case "$suite" in
        inject-*) run_injected "$suite" "$w" ;;
        ksm) run_ksm "$w" ;;
        *)
            read -r -a program <<<"${PROGRAM[$suite]}"
            limit=$TEST_TIMEOUT
            [ "$suite" != winetest ] || limit=$OWN_TEST_TIMEOUT
            wine_run_test "$w" "$OUT_DIR/$suite" "$limit" "$wine" "${program[@]}" ;;
        esac
        log "$w: $suite took $((SECONDS - t0)) s, exit $(cat "$OUT_DIR/$suite/$w.rc")"
    done
    [ "$w" != stock ] || "$STOCK_WINE" --version >"$OUT_DIR/stock-version" 2>&1 || true
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
    na) echo "not run: $(head -n 1 "$1/$2.log")" ;;
    124|137) echo "timed out" ;;
    *) [ -n "$(wt_summary_line "$1/$2.log")" ] && echo ok || echo "crashed (exit $rc, no summary line)" ;;
    esac
}

# receive_figures LOG: adds the "receive-race:" line of receive_race.c to the
# summary.
receive_figures() {
    local figures
    figures=$(sed -n 's/.*receive-race: //p' "$1" | tail -n 1)
    [ -z "$figures" ] || summary+=("$(printf '%-19s %-8s   %s' "" "" "$figures")")
}

# ksm_figures LOG: adds moving_memory.c's totals and whether the Wine
# process and its wineserver were mergeable to the summary.
ksm_figures() {
    local totals any server
    totals=$(sed -n 's/.*moving-memory: //p' "$1" | tail -n 1)
    [ -n "$totals" ] || return 0
    any=$(sed -n 's/.*KSM on, ksm_merge_any: \([a-z]*\).*/\1/p' "$1" | tail -n 1)
    server=$(sed -n 's/.*wineserver ksm_merge_any: \([a-z]*\).*/\1/p' "$1" | tail -n 1)
    summary+=("$(printf '%-19s %-8s   %s' "" "" "$totals")")
    summary+=("$(printf '%-19s %-8s   mergeable (ksm_merge_any): Wine process %s, wineserver %s' "" "" "${any:-?}" "${server:-?}")")
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
regressions=0 fixed=0 changed=0 incomplete=0
CHANGED_CHECKS=$HERE/wine-$VERSION/changed-checks
[ -f "$CHANGED_CHECKS" ] || CHANGED_CHECKS=
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
        summary+=("$(printf '%-19s %-8s %s (exit %s)' "$suite" "$w" "${line:-$state}" "$(cat "$dir/$w.rc")")")
        [ -f "$dir/$w.target" ] && summary+=("$(printf '%-19s %-8s   failed: %s' "" "" "$(cat "$dir/$w.target")")")
        [ "$suite" != ksm ] || ksm_figures "$dir/$w.log"
        [ "$suite" != receive ] || receive_figures "$dir/$w.log"
        if [ "$state" != ok ]; then
            summary+=("$(printf '%-19s %-8s   the run: %s' "" "" "$state")")
            # a stock run that did not finish leaves nothing to compare with;
            # a suite that does not apply to the stock Wine is no gap
            case "$w:$state" in
            *:"not run: not applicable"*) ;;
            patched:*|*:"not run: not made"*) incomplete=$((incomplete + 1)) ;;
            esac
        fi
    done
    if [ -n "${TEST_SOURCE[$suite]:-}" ] && range=$(function_lines "${TEST_SOURCE[$suite]}" test_write_watch) && [ -n "$range" ]; then
        read -r first last <<<"$range"
        summary+=("$(printf '%-19s   test_write_watch (%s:%s-%s): stock %s; patched %s' "" \
            "${TEST_SOURCE[$suite]##*/}" "$first" "$last" \
            "$(kinds_between "$dir/table.tsv" 3 "$first" "$last")" \
            "$(kinds_between "$dir/table.tsv" 4 "$first" "$last")")")
    fi

    # A check regressed when it passes under stock and fails or is todo under
    # the patched Wine, unless the series marks it todo on purpose (a line of
    # wine-VERSION/changed-checks: "file:line reason"; the check is then
    # "changed"). A todo_wine check that succeeds under the patched Wine
    # (Wine counts that as a failure) fixed a Wine bug. In the ksm and receive
    # suites every failure under the patched Wine counts (stock Wine 11 fails
    # ksm: its own userfaultfd path reports the clean pages KSM merged; the
    # stock Wines 8.0 and 10.0 lose writes in receive).
    strict=0
    [ "$suite" != ksm ] && [ "$suite" != receive ] || strict=1
    awk -F'\t' -v suite="$suite" -v strict="$strict" -v msgs="$dir/messages.tsv" -v changes="$CHANGED_CHECKS" '
        BEGIN {
            while ((getline l < msgs) > 0) { split(l, f, "\t"); if (f[2] == "patched") m[f[1]] = f[3] }
            while (changes != "" && (getline l < changes) > 0) {
                if (l ~ /^[ \t]*(#|$)/) continue
                loc = l; sub(/[ \t].*/, "", loc); why = l; sub(/^[^ \t]+[ \t]+/, "", why); changed[loc] = why
            }
        }
        {
            s = $3; p = $4; sub(/:.*/, "", s); sub(/:.*/, "", p); loc = $2; sub(/ .*/, "", loc)
            if (s == "pass" && p == "todo" && !strict && (loc in changed)) print "changed\t" suite " " $2 "\t" changed[loc]
            else if ((s == "pass" || strict) && (p == "FAIL" || p == "todo")) print "regressed\t" suite " " $2 "\t" m[$2] (s == "pass" ? "" : " (stock: " s ")")
            else if (s == "todo" && p == "FAIL" && index(m[$2], "Test succeeded inside todo block")) print "fixed\t" suite " " $2
        }' "$dir/table.tsv" >"$dir/verdicts.tsv"
    regressions=$((regressions + $(grep -c '^regressed' "$dir/verdicts.tsv" || true)))
    changed=$((changed + $(grep -c '^changed' "$dir/verdicts.tsv" || true)))
    fixed=$((fixed + $(grep -c '^fixed' "$dir/verdicts.tsv" || true)))
done

printf '\n======== summary: %s and %s\n' "$("$STOCK_WINE" --version 2>&1)" "$("$PATCHED_WINE" --version 2>&1)"
printf '  %s\n' "${summary[@]}"
case $KERNEL_STATUS in
0) printf '  tracks through libwritewatch: yes, %s\n' "$KERNEL_NOTE" ;;
1) printf '  tracks through libwritewatch: NO, %s\n' "$KERNEL_NOTE"; regressions=$((regressions + 1)) ;;
*) printf '  tracks through libwritewatch: not checked, %s\n' "$KERNEL_NOTE" ;;
esac
if [ "$regressions" -gt 0 ]; then
    printf '\nPass under stock, fail under the patched Wine:\n'
    cat "$OUT_DIR"/*/verdicts.tsv | awk -F'\t' '$1 == "regressed" { printf "  %s: %s\n", $2, $3 }'
fi
if [ "$changed" -gt 0 ]; then
    printf '\nPass under stock, todo under the patched Wine, as the series intends:\n'
    cat "$OUT_DIR"/*/verdicts.tsv | awk -F'\t' '$1 == "changed" { printf "  %s: %s\n", $2, $3 }'
fi
if [ "$fixed" -gt 0 ]; then
    printf '\ntodo_wine checks that succeed under the patched Wine:\n'
    cat "$OUT_DIR"/*/verdicts.tsv | awk -F'\t' '$1 == "fixed" { printf "  %s\n", $2 }'
fi
printf '\nLogs: %s\n' "$OUT_DIR"
echo "wine-tests $VERSION: $regressions regressed, $changed changed on purpose, $incomplete incomplete run(s), $fixed todo_wine fixed"
[ "$regressions" = 0 ] && [ "$incomplete" = 0 ] || status=1
exit $status
