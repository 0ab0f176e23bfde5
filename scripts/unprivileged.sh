#!/usr/bin/env bash
# The test command's `unprivileged` stage: the project's native programs run
# the way a player's process runs them, as a normal user with no capability,
# vm.unprivileged_userfaultfd at 0 (Debian's default), from a folder that user
# owns; then under seccomp filters that refuse, one at a time, each kernel
# interface the kernel backend needs (tests/sandbox/).
#
#   scripts/unprivileged.sh BUILD_DIR
#
# As the user: sandbox-check (the automatic choice is the kernel backend,
# through UFFD_USER_MODE_ONLY, and its answers are exact), the conformance
# test, the moving-memory conformance program and every stress program on
# the kernel backend; then sandbox-check under each filter (the fault
# backend chosen, exact answers, a refused decommit changing nothing) and
# the conformance test under the three filters that leave madvise(2).
# On a kernel without the kernel backend, the first part expects the fault
# backend and says so.
#
# Creates the user `wwplayer` when it does not exist and removes it after;
# restores vm.unprivileged_userfaultfd. Exit 0 when every check passed.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/lib/fail-loudly.sh"
build=${1:?usage: unprivileged.sh BUILD_DIR}
case "$build" in /*) ;; *) build=$here/$build ;; esac
[ "$(id -u)" = 0 ] || die "unprivileged.sh runs as root: it creates the user it drops to"
log() { echo "[unprivileged] $*" >&2; }

user=wwplayer
dir=$(mktemp -d /var/tmp/ww-player.XXXXXX) || die "mktemp failed"
created_user=0
sysctl_before=$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null || echo)
cleanup() {
    [ -z "$sysctl_before" ] || echo "$sysctl_before" >/proc/sys/vm/unprivileged_userfaultfd
    [ "$created_user" = 0 ] || userdel "$user" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

if ! id "$user" >/dev/null 2>&1; then
    useradd --no-create-home --home-dir "$dir/home" --shell /bin/sh --user-group "$user" ||
        die "useradd $user failed"
    created_user=1
fi
[ -z "$sysctl_before" ] || echo 0 >/proc/sys/vm/unprivileged_userfaultfd

# The programs, their libraries beside them as in the build tree (each
# program's RUNPATH is relative to its own folder).
programs=(tests/sandbox/sandbox-check tests/sandbox/refuse-kernel-calls winetest/winetest-writewatch
          winetest/winetest-moving-memory)
for p in "$build"/tests/stress/stress-*; do
    [ -f "$p" ] && [ -x "$p" ] && programs+=("tests/stress/${p##*/}")
done
for lib in src/writewatch/libwritewatch.so dlls/kernelbase/libwritewatch-kernelbase.so; do
    for f in "$build/$lib"*; do
        [ -d "$f" ] || programs+=("${f#"$build"/}")
    done
done
(cd "$build" && cp -P --parents "${programs[@]}" "$dir/") || die "copying the programs from $build failed"
mkdir -p "$dir/home"
chown -R "$user:$user" "$dir"
chmod 755 "$dir"

# as_user ENV... -- PROGRAM ARGS: a fresh environment, the user's ids, no
# capability in any set, no new privileges.
as_user() {
    local env=(HOME="$dir/home" PATH=/usr/bin:/bin LANG=C.UTF-8)
    while [ "$1" != -- ]; do env+=("$1"); shift; done
    shift
    (cd "$dir" && setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all \
        --bounding-set=-all --no-new-privs env -i "${env[@]}" "$@")
}

passed=0 failed=0 rows=()
run_check() { # run_check LABEL ENV... -- PROGRAM ARGS
    local label=$1 out status summary
    shift
    out=$(as_user "$@" 2>&1)
    status=$?
    summary=$(printf '%s\n' "$out" | grep -E 'tests executed|sandbox-check:|passed|lost|written' | tail -n 1)
    if [ "$status" = 0 ]; then
        passed=$((passed + 1)); rows+=("| $label | pass | ${summary:-exit 0} |")
    elif [ "$status" = 77 ]; then
        passed=$((passed + 1)); rows+=("| $label | skipped by itself (77) | ${summary:-} |")
    else
        failed=$((failed + 1)); rows+=("| $label | FAIL (exit $status) | ${summary:-} |")
        printf '%s\n' "$out" | tail -n 30 >&2
    fi
}

ids=$(as_user -- sh -c 'echo "uid $(id -u), gid $(id -g), CapEff $(awk "/^CapEff/ {print \$2}" /proc/self/status)"')
log "running as $user: $ids, vm.unprivileged_userfaultfd $(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null || echo absent)"
case "$ids" in
"uid 0,"*|*"CapEff "*[1-9a-f]*) die "the programs would not run unprivileged: $ids" ;;
esac

features=$(as_user -- tests/sandbox/sandbox-check kernel 2>&1 | head -n 2)
log "what the library finds as $user: $(echo "$features" | tr '\n' ';')"
native=kernel
if ! grep -q 'kernel backend usable' <<<"$features"; then
    native=fault
    log "SKIPPED in part: this kernel gives a normal user no kernel backend; the first part checks the fault backend"
fi

run_check "sandbox-check, automatic choice $native" -- tests/sandbox/sandbox-check "$native"
run_check "conformance test (winetest/writewatch.c), $native backend" \
    WRITEWATCH_BACKEND="$native" -- winetest/winetest-writewatch
run_check "moving-memory conformance program, $native backend" \
    WRITEWATCH_BACKEND="$native" -- winetest/winetest-moving-memory
for p in "$dir"/tests/stress/stress-*; do
    name=${p##*/}
    run_check "$name, $native backend" WRITEWATCH_BACKEND="$native" -- "tests/stress/$name"
done
for mode in userfaultfd-eperm userfaultfd-enosys pagemap-scan-enotty madvise-eperm; do
    run_check "sandbox $mode: sandbox-check, fault backend chosen" \
        -- tests/sandbox/refuse-kernel-calls "$mode" tests/sandbox/sandbox-check fault
    [ "$mode" = madvise-eperm ] ||
        run_check "sandbox $mode: conformance test, backend left to the library" \
            -- tests/sandbox/refuse-kernel-calls "$mode" winetest/winetest-writewatch
done

echo "| as $user ($ids) | result | last line |"
echo "| --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo "unprivileged: $passed passed, $failed failed"
[ "$failed" = 0 ]
