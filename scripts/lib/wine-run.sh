# Sourced: running Windows test programs under a Wine, shared by
# scripts/run-winetest.sh and wine-patches/run-wine-tests.sh.

# wine_build_exe SOURCE EXE LOG [LIB...]: build a Windows test program with
# mingw, linked with the libraries named (-lws2_32).
wine_build_exe() {
    x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -o "$2" "$1" "${@:4}" >>"$3" 2>&1
}

# wine_boot WINE LOG: export a fresh WINEPREFIX (never ~/.wine) and the
# environment every test run uses (no debug channels, no display, no Mono or
# Gecko installers), then run wineboot -i in it, bounded by
# $WINE_BOOT_TIMEOUT seconds (default 240). A failing wineboot is reported
# and the caller goes on: the tests then show what does not work.
wine_boot() {
    WINEPREFIX=$(mktemp -d /tmp/wine-prefix.XXXXXX)
    export WINEPREFIX WINEDEBUG=-all DISPLAY= WINEDLLOVERRIDES="mscoree,mshtml="
    unset WAYLAND_DISPLAY
    timeout -k 10 "${WINE_BOOT_TIMEOUT:-240}" "$1" wineboot -i >"$2" 2>&1 ||
        echo "wineboot under $1 returned $? (continuing; log: $2)" >&2
}

# wine_shutdown WINE: stop the wineserver of this WINEPREFIX only (it is keyed
# by the prefix), wait for it, and remove the prefix.
wine_shutdown() {
    local wineserver
    wineserver=$(dirname "$1")/wineserver
    [ -x "$wineserver" ] || wineserver=$(command -v wineserver || true)
    if [ -n "$wineserver" ]; then
        timeout 30 "$wineserver" -k >/dev/null 2>&1 || true
        timeout 30 "$wineserver" -w >/dev/null 2>&1 || true
    fi
    rm -rf "$WINEPREFIX"
    unset WINEPREFIX
}

# wine_run_test NAME DIR TIMEOUT WINE PROGRAM [ARGS...]: run a Windows test
# program in DIR with every passing check reported, bounded by TIMEOUT
# seconds. Leaves DIR/NAME.log (stdout, carriage returns removed),
# DIR/NAME.stderr and DIR/NAME.rc (exit status; 124 or 137: timed out).
wine_run_test() {
    local name=$1 dir=$2 limit=$3 rc=0
    shift 3
    (cd "$dir" && WINETEST_REPORT_SUCCESS=1 timeout -k 10 "$limit" "$@") \
        >"$dir/$name.raw" 2>"$dir/$name.stderr" || rc=$?
    echo $rc >"$dir/$name.rc"
    tr -d '\r' <"$dir/$name.raw" >"$dir/$name.log"
    rm -f "$dir/$name.raw"
}
