#!/usr/bin/env bash
# The README's test command. Installs what it needs, builds with warnings as
# errors, then runs every stage and reports each (`--list` names them):
#   1. the meson suites: Catch2 unit tests, stress programs and the Wine-style
#      conformance test, each once per backend (kernel, fault), and the demo;
#   2. an installed copy used through pkg-config by a plain C program, and the
#      libraries' exports and ABI against the release's baseline in abi/;
#   3. reliability: a bounded libFuzzer session and an ASan+UBSan build;
#      fault injection: every kind of kernel call made to fail, on both
#      backends; memory that moves under watched regions
#      (scripts/moving-memory.sh); the native programs as a normal user,
#      then under seccomp filters refusing the kernel interfaces
#      (scripts/unprivileged.sh);
#   4. the conformance test under real Wine 8 beside the native runs; then
#      per Wine (wine-patches/run-wine-tests.sh), Wine's own write-watch tests
#      and ours, fault injection included, under the Wine with the
#      wine-patches/ series beside the same Wine without it: Debian 12's Wine
#      8.0 and Debian 13's Wine 10.0 built from Debian's source, Wine 11.0
#      (with its own userfaultfd path) from ../shared/wine; 10.0 and 11.0 in a
#      Debian 13 root (cached in $WW_WINEWORK and $WW_ROOTS); the Proton
#      build: the project built and tested in a Debian 11 root with its own
#      toolchain, its symbol versions checked, and loaded by the patched
#      Wines (scripts/test-proton-build.sh);
#   5. kernels under qemu (kernel-patches/run-vm-tests.sh): the 6.1 series
#      and stock Debian 6.1, mainline 6.12, arm64 6.12 with 4K and 16K pages,
#      the kernel-level test, the project's tests and mainline's mm
#      selftests inside each, 6.1-patched judged against 6.12 (kernel
#      builds cached in $WW_KWORK, default /var/cache/writewatch/kernel);
#   6. every relative link of every README leads to a file that exists.
# The last line reads "tests: N passed, N failed, N skipped".
#
#   bash scripts/test.sh                 every stage
#   bash scripts/test.sh --list          the stage names, one per line
#   bash scripts/test.sh --only NAME...  those stages (packages and build first)
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

# The stages in the order they run: "name|what it checks".
stage_table=(
    "meson|meson suites: Catch2 unit, stress and conformance tests once per backend, the demo, a dlopen"
    "install|meson install into a scratch root, a C program built with pkg-config"
    "abi|exported symbols and abidiff against abi/"
    "reliability|seeded libFuzzer on both targets, stress programs under ASan+UBSan"
    "fault-injection|kernel calls made to fail on purpose, both backends"
    "moving-memory|memory that moves under watched regions (scripts/moving-memory.sh)"
    "unprivileged|a normal user's process, then seccomp sandboxes refusing each kernel interface"
    "wine-8.0|Wine 8.0 + series: Wine's tests and ours beside stock Wine 8.0"
    "proton|Proton build: Debian 11 root and toolchain, symbol versions, Wine 8.0 + series loading it"
    "wine-10.0|Wine 10.0 (Debian 13) + series beside Debian 13's Wine 10.0"
    "wine-11.0|Wine 11.0 + series beside Wine 11.0's own userfaultfd path"
    "vms|kernels under qemu: 6.1 patched and stock, 6.12, arm64 4K and 16K, mainline's selftests"
    "readme-links|every relative link in the READMEs leads to a file that exists"
)
list_stages() {
    local entry
    for entry in "${stage_table[@]}"; do
        printf '%-16s %s\n' "${entry%%|*}" "${entry#*|}"
    done
}

declare -A selected=() result=()
case "${1:-}" in
    --list) list_stages; exit 0 ;;
    --only)
        shift
        [ $# -gt 0 ] || { echo "test.sh: --only needs stage names:" >&2; list_stages >&2; exit 2; }
        for name in "$@"; do
            if ! printf '%s\n' "${stage_table[@]%%|*}" | grep -qxF -- "$name"; then
                echo "test.sh: no stage named '$name'; the stages are:" >&2
                list_stages >&2
                exit 2
            fi
            selected[$name]=1
        done ;;
    "") for entry in "${stage_table[@]}"; do selected[${entry%%|*}]=1; done ;;
    *) echo "usage: test.sh [--list | --only NAME...]" >&2; exit 2 ;;
esac

source scripts/lib/fail-loudly.sh
source scripts/lib/meson-build.sh
bash scripts/install-deps.sh test || die "could not install the packages the tests need"
build=${WRITEWATCH_TEST_BUILD:-build-test}
setup_build "$build" -Dwerror=true
ninja -C "$build" || die "the build failed (ninja -C $build)"

# What later stages build and the Wine stages do not (the Debian roots of
# the proton and Wine 10/11 stages, then the VMs' kernels, selftests and
# cross builds) is made ahead in the background from here on, at the
# lowest priority, in the time the stages leave a core idle. A stage that
# needs a root still being made waits for it on the root's lock, and each
# VM waits on its kernel's lock for the kernel the background is building
# (lib/cache-lock.sh), so the first VMs boot while the last kernels build;
# whatever failed there is built again by the stage that needs it.
kwork=${WW_KWORK:-/var/cache/writewatch/kernel}
ahead=()
[ -z "${selected[proton]:-}" ] || ahead+=("scripts/build-for-proton.sh --root-only")
[ -z "${selected[wine-10.0]:-}${selected[wine-11.0]:-}" ] || ahead+=("wine-patches/build-wine.sh 10.0 --root-only")
if [ -n "${selected[vms]:-}" ]; then
    # apt-get runs in the foreground only: the stages install packages too
    WW_KWORK=$kwork bash kernel-patches/run-vm-tests.sh --packages-only
    ahead+=("kernel-patches/run-vm-tests.sh --build-only")
fi
ahead_pid=
stop_ahead() { [ -z "$ahead_pid" ] || kill -- -"$ahead_pid" 2>/dev/null || true; }
if [ ${#ahead[@]} -gt 0 ]; then
    echo "=== made ahead in the background (log: $build/ahead.log): ${ahead[*]}" >&2
    # setsid, so that the whole of it can be stopped, also makes it a session
    # of its own, and with the scheduler's autogroups (on in Debian's
    # kernels) each session shares the CPUs equally whatever its tasks' nice
    # values: the session's own nice value is what makes it yield.
    WW_KWORK=$kwork setsid nice -n 19 ionice -c 2 -n 7 bash -c '
        [ ! -w /proc/self/autogroup ] || echo 19 > /proc/self/autogroup
        for c in "$@"; do bash $c || echo "ahead: $c failed"; done' \
        ahead "${ahead[@]}" </dev/null >"$build/ahead.log" 2>&1 &
    ahead_pid=$!
    trap stop_ahead EXIT
fi

passed=0 failed=0 skipped=0
report=()
stage() { # stage NAME COMMAND...: one pass or fail, when NAME is selected
    local name=$1 started=$SECONDS
    shift
    [ -n "${selected[$name]:-}" ] || return 0
    echo "=== stage: $name" >&2
    if "$@"; then
        passed=$((passed + 1)); result[$name]=PASS
    else
        failed=$((failed + 1)); result[$name]=FAIL
    fi
    report+=("${result[$name]} $name ($((SECONDS - started)) s)")
}
# counted NAME STATUS OK FAILED SKIPPED STARTED: a stage that counts its own
# tests; a non-zero STATUS with nothing counted as failed counts one failure.
counted() {
    local name=$1 status=$2 ok=${3:-0} bad=${4:-1} skip=${5:-0} started=$6
    [ "$status" -eq 0 ] || [ "$bad" -gt 0 ] || bad=1
    passed=$((passed + ok)); failed=$((failed + bad)); skipped=$((skipped + skip))
    report+=("$name: $ok passed, $bad failed, $skip skipped ($((SECONDS - started)) s)")
}

# meson suites, counted test by test
if [ -n "${selected[meson]:-}" ]; then
    echo "=== stage: meson" >&2
    started=$SECONDS
    meson test -C "$build" --print-errorlogs --num-processes 2 | tee "$build/test-summary.txt"
    meson_status=${PIPESTATUS[0]}
    counted meson "$meson_status" \
        "$(awk '/^Ok:/ {print $2}' "$build/test-summary.txt")" \
        "$(awk '/^(Fail|Timeout|Unexpected Pass):/ {n += $NF} END {print n + 0}' "$build/test-summary.txt")" \
        "$(awk '/^Skipped:/ {print $2}' "$build/test-summary.txt")" "$started"
fi

stage install bash scripts/check-install.sh "$build"
stage abi bash scripts/check-abi.sh "$build"
# The stages that count writes per second: the background yields the CPUs
# to them (its autogroup's nice 19), and the few writes they need to mean
# anything (1000 in seconds, where tens of thousands are made) leave room.
if [ -n "${selected[reliability]:-}" ]; then
    echo "=== stage: reliability" >&2
    started=$SECONDS
    bash scripts/reliability.sh 2>&1 | tee "$build/reliability-summary.txt"
    r_status=${PIPESTATUS[0]}
    read -r r_ok r_failed r_skipped < <(awk '/^reliability:/ {print $2, $4, $6}' "$build/reliability-summary.txt")
    counted reliability "$r_status" "${r_ok:-0}" "${r_failed:-1}" "${r_skipped:-0}" "$started"
fi
stage fault-injection bash scripts/fault-injection.sh
stage moving-memory bash scripts/moving-memory.sh "$build"
stage unprivileged bash scripts/unprivileged.sh "$build"

stage wine-8.0 bash wine-patches/run-wine-tests.sh --version 8.0 --out "$build/wine-tests-8.0"
# The proton stage compares with the wine-8.0 stage's stock Wine 8.0 runs
# when that stage ran them (same Wine, same test) rather than running them again.
stock8=
[ -z "${result[wine-8.0]:-}" ] || stock8=$build/wine-tests-8.0
stage proton bash scripts/test-proton-build.sh "$build/proton-tests" "$stock8"
# Wine 10 and 11 are what Proton 10 and 11 are built on: their patched
# trees load the Debian 11 build of the library, as a Proton tree would,
# when the proton stage ran and passed; otherwise (it failed, or --only left
# it out) they load the host's build.
proton_library=
if [ "${result[proton]:-}" = PASS ]; then
    proton_library=${WW_PROTON_BUILD:-$here/build-proton}/dist/lib/libwritewatch.so.0
fi
stage wine-10.0 env WW_LIBRARY="$proton_library" \
    bash wine-patches/run-wine-tests.sh --version 10.0 --out "$build/wine-tests-10.0"
stage wine-11.0 env WW_LIBRARY="$proton_library" \
    bash wine-patches/run-wine-tests.sh --version 11.0 --out "$build/wine-tests-11.0"

stage vms env WW_KWORK="$kwork" bash kernel-patches/run-vm-tests.sh
stage readme-links bash scripts/check-readme-links.sh

echo "=== summary" >&2
printf '  %s\n' "${report[@]}"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
