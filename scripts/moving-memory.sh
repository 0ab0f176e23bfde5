#!/usr/bin/env bash
# Memory that moves, on this machine's kernel: tests/stress/moving_memory.cpp
# with swap (zram when none is on) and KSM switched on for the run and put
# back afterwards (scripts/lib/moving-memory.sh), on each backend and through
# the range tracker. Then the same program with the library's KSM defence
# off, to show what this kernel does without it (a measurement, not a
# check: a kernel that keeps the uffd-wp bit on merge reports 0 there).
#
#   scripts/moving-memory.sh BUILD_DIR [--seconds S] [--rounds N]
# Exit 0 when every run passed: 0 writes lost, 0 pages changed, 0 clean
# pages reported, every event whose preconditions are here seen in the
# kernel's counters. Needs root (swap, KSM, compaction).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/lib/fail-loudly.sh"
source "$here/scripts/lib/moving-memory.sh"
build=${1:?usage: scripts/moving-memory.sh BUILD_DIR [--seconds S] [--rounds N]}
shift
program=$build/tests/stress/stress-moving-memory
[ -x "$program" ] || die "$program is not built (ninja -C $build)"
[ "$(id -u)" -eq 0 ] || die "not root: swap and KSM cannot be set up, so memory cannot be made to move"

trap moving_memory_restore EXIT
moving_memory_on || die "could not set up swap and KSM"
echo "moving-memory: $(moving_memory_describe)"

failed=0
run() { # run LABEL ENV... -- ARGS...
    local label=$1 env=() status
    shift
    while [ "$1" != -- ]; do env+=("$1"); shift; done
    shift
    echo "--- $label"
    env "${env[@]}" timeout 300 "$program" "$@"
    status=$?
    [ "$status" -eq 0 ] || { echo "moving-memory: $label FAILED (status $status)"; failed=$((failed + 1)); }
}
run "kernel backend, VirtualAlloc'd memory" WRITEWATCH_BACKEND=kernel -- "$@"
run "fault backend, VirtualAlloc'd memory" WRITEWATCH_BACKEND=fault -- "$@"
run "range tracker, memory the program maps (huge pages and MADV_MERGEABLE before registration)" \
    WRITEWATCH_BACKEND=kernel -- --front tracker "$@"

echo "--- kernel backend without the library's KSM defence (WRITEWATCH_KSM_DEFENCE=off): this kernel alone"
WRITEWATCH_BACKEND=kernel WRITEWATCH_KSM_DEFENCE=off timeout 300 "$program" --seconds 1 --rounds 8 2>/dev/null |
    grep -E 'exact rounds|ksm ' || true
echo "    (clean pages reported there are the kernel's: KSM rebuilt their PTEs without the uffd-wp bit)"

moving_memory_restore
trap - EXIT
echo "moving-memory: restored: $(moving_memory_describe)"
echo "moving-memory: $((3 - failed)) of 3 runs passed"
[ "$failed" -eq 0 ]
