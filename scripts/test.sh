#!/usr/bin/env bash
# The README's test command: installs what the build needs, builds with
# warnings as errors, runs every test suite (each behavioural test once per
# backend) and checks that an installed copy works through pkg-config.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/install-deps.sh
build=${WRITEWATCH_TEST_BUILD:-build-test}
if [ ! -d "$build" ]; then
    meson setup "$build" -Dwerror=true
fi
ninja -C "$build"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 | tee "$build/test-summary.txt" || status=$?
bash scripts/check-install.sh "$build" || status=1
# Reliability stages (fuzzing, sanitizer build): see scripts/reliability.sh.
bash scripts/reliability.sh 2>&1 | tee "$build/reliability-summary.txt" || status=1
ok=$(awk '/^Ok:/ {print $2}' "$build/test-summary.txt")
failed=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$build/test-summary.txt")
skipped=$(awk '/^Skipped:/ {print $2}' "$build/test-summary.txt")
read -r r_ok r_failed r_skipped < <(awk '/^reliability:/ {print $2, $4, $6}' "$build/reliability-summary.txt") || true
ok=$(( ${ok:-0} + ${r_ok:-0} )); failed=$(( failed + ${r_failed:-0} )); skipped=$(( ${skipped:-0} + ${r_skipped:-0} ))
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "tests: ${ok} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
