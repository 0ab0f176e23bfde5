#!/usr/bin/env bash
# The fault-injection stage of the test command: a build with
# -Dfault_injection=true (WRITEWATCH_FAIL makes chosen kernel calls fail, see
# src/writewatch/fault_injection.h) runs tests/stress/injected_failures.cpp once
# per rule and backend, then prints what each run injected and found:
#   injected-failures [BACKEND] (RULE): ... operations, ... failed, ... losses ...
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/lib/fail-loudly.sh
source scripts/lib/meson-build.sh
build=${WRITEWATCH_INJECTION_BUILD:-build-inject}
setup_build "$build" -Dfault_injection=true -Dwerror=true >/dev/null
ninja -C "$build" tests/stress/stress-injected-failures >/dev/null || die "building the fault-injection test failed"
status=0
meson test -C "$build" --no-rebuild --print-errorlogs --suite injection --num-processes 2 >"$build/injection.log" 2>&1 ||
    status=$?
grep -h '^injected-failures \[' "$build/meson-logs/testlog.txt" || true
grep -E '^(Ok|Fail|Timeout):' "$build/injection.log" || true
[ "$status" -eq 0 ] || die "some fault-injection runs failed (see $build/meson-logs/testlog.txt)"
