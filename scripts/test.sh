#!/usr/bin/env bash
# The README's test command. Installs what it needs, builds with warnings as
# errors, then runs every stage and reports each:
#   1. the meson suites: Catch2 unit tests, stress programs and the Wine-style
#      conformance test, each once per backend (kernel, fault), and the demo;
#   2. an installed copy used through pkg-config by a plain C program, and the
#      libraries' exports and ABI against the release's baseline in abi/;
#   3. the conformance test under real Wine 8 beside the native runs; then
#      per Wine (wine-patches/run-wine-tests.sh), Wine's own write-watch tests
#      and ours, fault injection included, under the Wine with the
#      wine-patches/ series beside the same Wine without it: Debian 12's Wine
#      8.0 and Debian 13's Wine 10.0 built from Debian's source, Wine 11.0
#      (with its own userfaultfd path) from ../shared/wine; 10.0 and 11.0 in a
#      Debian 13 root (cached in $WW_WINEWORK and $WW_ROOTS); the Proton
#      build: the project built and tested in a Debian 11 root with its own
#      toolchain, its symbol versions checked, and loaded by the patched
#      Wines (scripts/test-proton-build.sh);
#   4. reliability: a bounded libFuzzer session and an ASan+UBSan build;
#      fault injection: every kind of kernel call made to fail, on both backends;
#   5. kernels under qemu (kernel-patches/run-vm-tests.sh): the 6.1 series
#      and stock Debian 6.1, mainline 6.12, arm64 6.12 with 4K and 16K pages,
#      the kernel-level test, the project's tests and mainline's mm
#      selftests inside each, 6.1-patched judged against 6.12 (kernel
#      builds cached in $WW_KWORK, default /var/cache/writewatch/kernel).
# The last line reads "tests: N passed, N failed, N skipped".
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/lib/fail-loudly.sh
source scripts/lib/meson-build.sh
bash scripts/install-deps.sh test || die "could not install the packages the tests need"
build=${WRITEWATCH_TEST_BUILD:-build-test}
setup_build "$build" -Dwerror=true
ninja -C "$build" || die "the build failed (ninja -C $build)"

passed=0 failed=0 skipped=0
report=()
stage() { # stage NAME COMMAND...: one pass or fail
    local name=$1 started=$SECONDS
    shift
    echo "=== stage: $name" >&2
    if "$@"; then
        passed=$((passed + 1)); report+=("PASS $name ($((SECONDS - started)) s)")
    else
        failed=$((failed + 1)); report+=("FAIL $name ($((SECONDS - started)) s)")
    fi
}

# 1. meson suites, counted test by test
started=$SECONDS
meson test -C "$build" --print-errorlogs --num-processes 2 | tee "$build/test-summary.txt"
meson_status=${PIPESTATUS[0]}
m_ok=$(awk '/^Ok:/ {print $2}' "$build/test-summary.txt")
m_failed=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$build/test-summary.txt")
m_skipped=$(awk '/^Skipped:/ {print $2}' "$build/test-summary.txt")
[ "$meson_status" -eq 0 ] || [ "$m_failed" -gt 0 ] || m_failed=1
passed=$((passed + ${m_ok:-0})); failed=$((failed + m_failed)); skipped=$((skipped + ${m_skipped:-0}))
report+=("meson suites: ${m_ok:-0} passed, $m_failed failed, ${m_skipped:-0} skipped ($((SECONDS - started)) s)")

# 2-5
stage "install through pkg-config" bash scripts/check-install.sh "$build"
stage "ABI against abi/ (abidiff)" bash scripts/check-abi.sh "$build"
stage "conformance under Wine 8 beside native" \
    bash scripts/run-winetest.sh --build "$build" --diff-only --out "$build/winetest-report"
stage "Wine 8.0 + writewatch series: Wine's tests and ours beside stock Wine" \
    bash wine-patches/run-wine-tests.sh --version 8.0 --out "$build/wine-tests-8.0"
stage "Proton build: Debian 11 root, bullseye's toolchain, symbol versions, Wine 8.0 + series loading it" \
    bash scripts/test-proton-build.sh "$build/proton-tests"
# Wine 10 and 11 are what Proton 10 and 11 are built on: their patched
# trees load the Debian 11 build of the library, as a Proton tree would
# (the host's build when that stage failed).
proton_library=${WW_PROTON_BUILD:-$here/build-proton}/dist/lib/libwritewatch.so.0
case "${report[-1]}" in PASS*) ;; *) proton_library= ;; esac
stage "Wine 10.0 (Debian 13) + writewatch series beside Debian 13's Wine 10.0" \
    env WW_LIBRARY="$proton_library" bash wine-patches/run-wine-tests.sh --version 10.0 --out "$build/wine-tests-10.0"
stage "Wine 11.0 + writewatch series beside Wine 11.0's own userfaultfd path" \
    env WW_LIBRARY="$proton_library" bash wine-patches/run-wine-tests.sh --version 11.0 --out "$build/wine-tests-11.0"
started=$SECONDS
bash scripts/reliability.sh 2>&1 | tee "$build/reliability-summary.txt"
r_status=${PIPESTATUS[0]}
read -r r_ok r_failed r_skipped < <(awk '/^reliability:/ {print $2, $4, $6}' "$build/reliability-summary.txt")
[ "$r_status" -eq 0 ] || [ "${r_failed:-1}" -gt 0 ] || r_failed=1
passed=$((passed + ${r_ok:-0})); failed=$((failed + ${r_failed:-1})); skipped=$((skipped + ${r_skipped:-0}))
report+=("reliability: ${r_ok:-0} passed, ${r_failed:-1} failed, ${r_skipped:-0} skipped ($((SECONDS - started)) s)")
stage "kernel calls failing on purpose (fault injection)" bash scripts/fault-injection.sh
stage "kernels under qemu: 6.1 patched and stock, 6.12, arm64 6.12 4K and 16K pages, with mainline's selftests" \
    env WW_KWORK="${WW_KWORK:-/var/cache/writewatch/kernel}" bash kernel-patches/run-vm-tests.sh

echo "=== summary" >&2
printf '  %s\n' "${report[@]}"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
