#!/usr/bin/env bash
# The reliability stages of the test command (issue 6), after the main build's
# suites (which include the stress programs of tests/stress on both backends):
#   1. a bounded, seeded libFuzzer session (scripts/fuzz.sh);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build of tests/ (gcc,
#      meson b_sanitize) running the stress programs on both backends, and
#      the Catch2 suite too when WRITEWATCH_SANITIZE=full.
# Prints "reliability: N passed, N failed, N skipped" as its last line.
#   WRITEWATCH_FUZZ_SECONDS   fuzzing time per target (default 20, 0 skips)
#   WRITEWATCH_SANITIZE       stress (default) | full | off
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/lib/fail-loudly.sh
source scripts/lib/meson-build.sh
passed=0 failed=0 skipped=0
count() { if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

fuzz_seconds=${WRITEWATCH_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ]; then
    bash scripts/fuzz.sh "$fuzz_seconds"
    count $?
else
    skipped=$((skipped + 1))
fi

mode=${WRITEWATCH_SANITIZE:-stress}
if [ "$mode" != off ]; then
    build=${WRITEWATCH_ASAN_BUILD:-build-asan}
    setup_build "$build" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
    # The fault backend owns SIGSEGV: the sanitizers must not take it.
    export ASAN_OPTIONS=handle_segv=0:allow_user_segv_handler=1:detect_leaks=0
    export TSAN_OPTIONS="handle_segv=0 halt_on_error=1"
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    if [ "$mode" = full ]; then
        ninja -C "$build" && meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 \
            --suite unit --suite stress
    else
        targets=$(cd "$build" && ninja -t targets all | awk -F: '/^tests\/stress\/stress-[a-z-]*:/ {print $1}')
        # shellcheck disable=SC2086
        ninja -C "$build" $targets && meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 1 \
            --suite stress
    fi
    count $?
    echo "sanitizers ($mode): see $build/meson-logs/testlog.txt"
else
    skipped=$((skipped + 1))
fi
echo "reliability: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
