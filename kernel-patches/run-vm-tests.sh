#!/bin/bash
# Boots the writewatch test VMs under qemu (software emulation, no KVM), each
# with a busybox initramfs carrying the kernel-level test
# (tests/pagemap_scan_test.c) and the project's Catch2 tests:
#
#   6.1-patched     Debian's linux-source-6.1 + the linux-6.1/ series, x86_64
#   6.1-stock       Debian's own linux-image-6.1.0-N-amd64 (no WP_ASYNC, no
#                   PAGEMAP_SCAN: the fallback must be chosen)
#   6.12            Debian's linux-source-6.12 unpatched (mainline ABI), x86_64:
#                   the reference, KSM's uffd-wp defect included
#   arm64-6.12-4k   the same source + linux-6.12/ (the KSM fix), cross-built
#                   for arm64, 4 KiB pages
#   arm64-6.12-16k  ... with 16 KiB pages
# The x86_64 guests have two NUMA nodes. In each VM, after those tests, the
# moving-memory stress (tests/stress/moving_memory.cpp) runs with swap on
# zram, KSM and a memory cgroup, on each backend the kernel has and through
# the range tracker, then once more on the kernel backend without the
# library's KSM defence, and kernel-patches/tests/ksm_uffd_wp checks KSM
# against uffd-wp: both must show the KSM defect on the kernels the table
# marks "defect" and must not on the others.
#
#   kernel-patches/run-vm-tests.sh [--vm NAME]... [--no-project] [--no-selftests] [--bench | --bench-only]
#   kernel-patches/run-vm-tests.sh --vm NAME... [--env NAME=VALUE]... --run PROGRAM [ARGS...]
#       --vm NAME       run this VM (repeatable; default: all of them)
#       --patched-only  same as --vm 6.1-patched
#       --stock-only    same as --vm 6.1-stock
#       --no-project    only the kernel-level test, not the project's tests
#       --no-selftests  without mainline's mm selftests (lib/selftests.sh)
#       --bench         after a selected x86_64 VM's tests, boot it once more
#                       to run bench/sync_uffd's ww_syncuffd (synchronous
#                       uffd-wp against the fault backend); its output goes
#                       to $WW_KWORK/vm-NAME-bench.txt. Off by default: the
#                       test command never runs it.
#       --bench-only    the benchmark boot alone, no tests
#       --packages-only install what the selected VMs need, then stop
#       --build-only    build what the selected VMs boot (their kernels, the
#                       selftests, the project for each arch) into the caches,
#                       installing nothing, then stop: the test command runs
#                       it in the background while the Wine stages leave a
#                       core idle (a missing package or a failed build is
#                       left to the run that boots)
#       --run PROGRAM [ARGS...]
#                       boot each --vm with PROGRAM alone (an executable for
#                       that VM's arch, static or dynamic: the shared
#                       libraries it needs go in with it, found by its
#                       runpath and then the system's), swap on zram, KSM,
#                       THP and a memory cgroup set up as for the stress;
#                       print its output and exit status. Everything after
#                       PROGRAM is its arguments. Exit status: the
#                       program's with one VM, else 0 when it exited 0 on all.
#       --env NAME=VALUE  (before --run) set in PROGRAM's environment
#
# Every VM also runs mainline's mm selftests (lib/selftests.sh); after the
# VMs, lib/selftests_report.py judges them across the VMs: 6.1-patched must
# pass every test 6.12 passes, unless stock 6.1 skips it too.
#
# Ends with one line per VM, "vm NAME: PASS (...)" or "vm NAME: FAIL (why)",
# and the selftests' line; the exit status is 0 only if all of them passed. A built kernel's VM passes
# when every test run inside passed (the kernel-level test; the project's
# tests on the kernel backend, which must be the one they report, and on the
# fault backend), a second boot under round-robin TCG reran the kernel-level
# test, and the kernel logged no warning. The stock VM passes when the kernel
# features are refused cleanly, the project picks the fault backend and
# passes, and a forced kernel backend refuses with the skip status 77.
#
# Environment:
#   WW_KWORK       work/cache directory (default: kernel-patches/work, gitignored)
#   WW_JOBS        make/ninja -j value (default 3)
#   WW_VM_TIMEOUT  seconds one VM boot may take (default 900)
#   WW_STOCK_PKG   stock kernel package (default: newest linux-image-6.1.0-N-amd64)
#   CONCURRENT_SECONDS  duration of the concurrent-writers check (default 2)
#   WW_DEBUG=1     also merge kconfig/debug.fragment (DEBUG_VM, lockdep,
#                  atomic-sleep checks) into every built kernel's config
#   WW_BZIMAGE     boot this bzImage as 6.1-patched instead of building one
#                  (for iterating on the series in a kept build tree)
#   WW_BENCH_ARGS  arguments of ww_syncuffd in --bench boots (default --quick)
#   WW_BENCH_TIMEOUT  seconds a --bench boot may take (default 3600)
#
# Kernel builds are cached under $WW_KWORK, keyed by a hash of the source
# package's version, the config fragments and the patch series
# (lib/kernel-build.sh); the project is built in the checkout (build-vm,
# build-vm-arm64), never in the cache.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$REPO/scripts/lib/fail-loudly.sh"
WORK=${WW_KWORK:-$HERE/work}
JOBS=${WW_JOBS:-3}
VM_TIMEOUT=${WW_VM_TIMEOUT:-900}
CONCURRENT_SECONDS=${CONCURRENT_SECONDS:-2}
RUN_ID=${WW_RUN_ID:-$$-$(date +%s)}
log() { echo "[run-vm-tests $(date -u +%H:%M:%S)] $*"; }
source "$HERE/lib/cache-lock.sh"
source "$HERE/lib/kernel-build.sh"
source "$HERE/lib/selftests.sh"
source "$HERE/lib/guest.sh"
source "$HERE/lib/boot.sh"

# ---- the VMs ----------------------------------------------------------------
# name | kind | arch | kernel source package | config fragments (kconfig/) | patch series dir | command line | KSM
# The command line column reserves the hugetlb pool of the selftests' hugetlb cases
# on the kernel command line: 128 MiB of the guest's 2 GiB, 64 pages of
# 2 MiB. With 16K pages the PMD size is 32 MiB, and mainline's tests assume
# 2 MiB hugetlb pages (pagemap_ioctl maps 2 MiB of hugetlb memory): that VM
# gets 2 MiB pages too, which arm64 makes of contiguous ptes.
# ww.ksm_runs=12 (6.1-patched) repeats the kernel-alone KSM stress: the
# fake write fault that 0010 removes showed in about one run of four.
# KSM: "fixed" when the kernel keeps the uffd-wp bit as KSM merges a page
# (linux-6.1/0009, linux-6.12/0001), "defect" when it is mainline's (x86_64
# 6.12 stays unpatched: the reference that shows the bug) or Debian's.
VM_TABLE="
6.1-patched    | built | x86_64 | linux-source-6.1  | common selftests memory-events x86_64 numa-x86_64 linux-6.1 | linux-6.1  | hugepages=64 ww.ksm_runs=12 | fixed
6.1-stock      | stock | x86_64 | -                 | -                                                           | -          | hugepages=64 | defect
6.12           | built | x86_64 | linux-source-6.12 | common selftests memory-events x86_64 numa-x86_64           | -          | hugepages=64 | defect
arm64-6.12-4k  | built | arm64  | linux-source-6.12 | common selftests memory-events arm64 arm64-4k               | linux-6.12 | hugepages=64 | fixed
arm64-6.12-16k | built | arm64  | linux-source-6.12 | common selftests memory-events arm64 arm64-16k              | linux-6.12 | default_hugepagesz=2M hugepagesz=2M hugepages=64 | fixed
"
vm_field() { # NAME COLUMN(1-based): one cell of VM_TABLE
	echo "$VM_TABLE" | awk -F'|' -v n="$1" -v c="$2" '
		{ for (i = 1; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
		$1 == n { print $c; found = 1 } END { exit !found }'
}
ALL_VMS=$(echo "$VM_TABLE" | awk -F'|' 'NF > 1 { gsub(/ /, "", $1); print $1 }')

SELECTED=()
selected_arches() { local name; for name in "${SELECTED[@]}"; do vm_field "$name" 3; done | sort -u; }
DO_PROJECT=1
DO_SELFTESTS=1
DO_BENCH=0 # 1: tests and a benchmark boot; 2: the benchmark boot alone
RUN_ONE=""
ONLY_PREPARE="" # packages or build
RUN_PROGRAM=""
RUN_ARGS=()
RUN_ENV=()
while [ $# -gt 0 ]; do
	case "$1" in
	--env) [ $# -ge 2 ] && [[ "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env needs NAME=VALUE"
		[[ "$2" != *$'\n'* ]] || die "--env: a value cannot hold a newline"
		RUN_ENV+=("$2"); shift ;;
	--run) [ $# -ge 2 ] || die "--run needs a program"
		RUN_PROGRAM=$2
		[[ "$RUN_PROGRAM" == */* ]] || RUN_PROGRAM=$(command -v "$RUN_PROGRAM") ||
			die "--run: no program '$2' in PATH"
		[ -f "$RUN_PROGRAM" ] && [ -x "$RUN_PROGRAM" ] || die "--run: $RUN_PROGRAM is not an executable file"
		RUN_PROGRAM=$(readlink -f "$RUN_PROGRAM")
		shift 2
		RUN_ARGS=("$@")
		for a in "${RUN_ARGS[@]}"; do [[ "$a" != *$'\n'* ]] || die "--run: an argument cannot hold a newline"; done
		break ;;
	--run-one) RUN_ONE=$2; shift ;; # internal: one VM, in its own process
	--vm) [ $# -ge 2 ] || die "--vm needs a name (one of: $(echo $ALL_VMS))"
		vm_field "$2" 1 >/dev/null || die "unknown VM '$2' (one of: $(echo $ALL_VMS))"
		SELECTED+=("$2"); shift ;;
	--patched-only) SELECTED+=(6.1-patched) ;;
	--stock-only) SELECTED+=(6.1-stock) ;;
	--no-project) DO_PROJECT=0 ;;
	--no-selftests) DO_SELFTESTS=0 ;;
	--bench) DO_BENCH=1 ;;
	--bench-only) DO_BENCH=2 ;;
	--packages-only) ONLY_PREPARE=packages ;;
	--build-only) ONLY_PREPARE=build ;;
	*) die "unknown argument: $1 (--vm NAME, --patched-only, --stock-only, --no-project, --no-selftests, --bench, --bench-only, --packages-only, --build-only, --env NAME=VALUE, --run PROGRAM [ARGS...])" ;;
	esac
	shift
done
if [ -n "$RUN_PROGRAM" ]; then
	[ ${#SELECTED[@]} -gt 0 ] || [ -n "$RUN_ONE" ] ||
		die "--run needs the VMs to boot: --vm NAME (one of: $(echo $ALL_VMS))"
	[ "$DO_BENCH" = 0 ] || die "--run and --bench do not go together"
	# The user's program alone: no project build, no selftests.
	DO_PROJECT=0
	DO_SELFTESTS=0
elif [ ${#RUN_ENV[@]} -gt 0 ]; then
	die "--env goes with --run"
fi
[ ${#SELECTED[@]} -gt 0 ] || read -r -a SELECTED <<< "$(echo $ALL_VMS)"
if [ "$DO_PROJECT" = 1 ] && ! { [ -f "$REPO/meson.build" ] && [ -f "$REPO/tests/meson.build" ]; }; then
	log "no meson project in $REPO: project tests left out"
	DO_PROJECT=0
fi
if [ "$DO_BENCH" != 0 ] && [ "$DO_PROJECT" = 0 ]; then
	die "--bench needs the project (it links libwritewatch): drop --no-project"
fi
mkdir -p "$WORK"

# ---- packages ---------------------------------------------------------------
# Installed per arch, so that a package one arch cannot have fails that
# arch's VMs (their lines say why) and the others still run. Each arch needs
# the common tools, its qemu, the kernel source packages of its selected VMs
# and, for arm64, the cross toolchain and arm64 libraries (multiarch).
COMMON_PACKAGES=(busybox-static bc flex bison libelf-dev libssl-dev cpio gcc make xz-utils
	meson ninja-build g++ catch2 pkg-config libfmt-dev libwine-dev)
ARCH_PACKAGES_x86_64=(qemu-system-x86 libnuma-dev)
ARCH_PACKAGES_arm64=(qemu-system-arm gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libfmt-dev:arm64)

# pkg_install PACKAGES...: installs those missing; on failure returns 1 with
# the reason in PKG_WHY.
pkg_install() {
	local need=() p
	for p; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
	done
	[ ${#need[@]} -gt 0 ] || return 0
	log "installing: ${need[*]}"
	apt-get update -qq || { PKG_WHY="apt-get update failed"; return 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		{ PKG_WHY="apt-get install ${need[*]} failed"; return 1; }
}

# install_packages: for every arch among the selected VMs; sets
# PKG_PROBLEM_<arch> (empty when all is there).
install_packages() {
	local arch name pkgs p
	for arch in $(selected_arches); do
		pkgs="ARCH_PACKAGES_$arch[@]"
		pkgs=("${COMMON_PACKAGES[@]}" "${!pkgs}")
		[ "$DO_SELFTESTS" = 0 ] || pkgs+=("$SELFTEST_PACKAGE")
		for name in "${SELECTED[@]}"; do
			p=$(vm_field "$name" 4)
			[ "$(vm_field "$name" 3)" != "$arch" ] || [ "$p" = - ] || pkgs+=("$p")
		done
		printf -v "PKG_PROBLEM_$arch" '%s' ""
		if [ "$arch" = arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
			log "adding the arm64 architecture to dpkg (for libfmt-dev:arm64)"
			dpkg --add-architecture arm64 ||
				{ printf -v "PKG_PROBLEM_$arch" '%s' "dpkg --add-architecture arm64 failed"; continue; }
		fi
		pkg_install "${pkgs[@]}" || printf -v "PKG_PROBLEM_$arch" '%s' "$PKG_WHY"
	done
}

# ---- one function per kind of VM ---------------------------------------------
# Each runs in its own process (this script with --run-one NAME, so that a
# die stops that VM alone) and writes its verdict to $RESULTS/NAME: "PASS
# (...)" or "FAIL (...)"; a die leaves its reason in $RESULTS/NAME.die.
RESULTS=$WORK/results-$RUN_ID

# vm_built NAME: a kernel built from a Debian source package (lib/kernel-build.sh),
# booted twice: everything under multi-threaded TCG, then the kernel-level
# test alone under round-robin TCG. On a loaded host the guest's writer
# threads can crawl under MTTCG (a few hundred writes a second were seen
# while another build ran); round-robin TCG interleaves the vCPUs and still
# lets the concurrent-writer check do millions of writes.
# vm_kernel NAME: builds (or finds cached) the kernel of a built VM and
# stores its image path in VM_IMAGE.
vm_kernel() {
	local name=$1 arch pkg fragments="" patches="" f series
	arch=$(vm_field "$name" 3)
	pkg=$(vm_field "$name" 4)
	for f in $(vm_field "$name" 5); do fragments="$fragments $HERE/kconfig/$f.fragment"; done
	[ "${WW_DEBUG:-0}" = 1 ] && fragments="$fragments $HERE/kconfig/debug.fragment"
	series=$(vm_field "$name" 6)
	[ "$series" = - ] || patches=$(ls "$HERE/$series"/*.patch | sort)
	if [ "$name" = 6.1-patched ] && [ -n "${WW_BZIMAGE:-}" ]; then
		VM_IMAGE=$WW_BZIMAGE
		K_BUILT="prebuilt $VM_IMAGE"
		log "$name: using prebuilt $VM_IMAGE"
	else
		kernel_build VM_IMAGE "$pkg" "$arch" "$fragments" "$patches"
	fi
}

vm_built() {
	local name=$1 arch image want=""
	arch=$(vm_field "$name" 3)
	vm_kernel "$name"
	image=$VM_IMAGE
	guest_initramfs "$arch"
	if [ "$DO_BENCH" = 2 ]; then
		bench_boot "$name" "$arch" "$image" "ww.mode=bench"
		return
	fi
	[ "$G_PROJECT" = 1 ] && want=kernel
	boot_vm "$WORK/vm-$name.log" "$arch" "$image" "$G_INITRD" tcg \
		"ww.mode=full ww.ksm=$(vm_field "$name" 8) $(vm_field "$name" 7)"
	local full_s=$B_SECONDS
	boot_check "$WORK/vm-$name.log" "$want"
	local ok=$B_OK passed=$B_PASSED why=$B_WHY
	boot_vm "$WORK/vm-$name-rr.log" "$arch" "$image" "$G_INITRD" tcg,thread=single "ww.mode=kernelonly"
	boot_check "$WORK/vm-$name-rr.log" ""
	local version
	version=$(boot_clean_log "$WORK/vm-$name.log" | sed -n 's/.*WW-KERNEL \([^ ]*\).*/\1/p' | head -1)
	[ -z "$B_PASSED" ] || passed="${passed:+$passed; }round-robin TCG: $B_PASSED"
	[ "$B_OK" = 1 ] || why="${why:+$why; }round-robin TCG boot: $B_WHY"
	[ "$B_OK" = 1 ] || ok=0
	if [ "$DO_BENCH" = 1 ]; then
		bench_boot "$name" "$arch" "$image" "ww.mode=bench"
		passed="$passed; $BENCH_SAID"
		[ "$BENCH_OK" = 1 ] || { ok=0; why="${why:+$why; }$BENCH_SAID"; }
	fi
	if [ "$ok" = 1 ]; then
		echo "PASS (${version:-?}: $passed; kernel $K_BUILT, VMs ${full_s}+${B_SECONDS} s)"
	else
		echo "FAIL (${version:-?}: $why; passed: ${passed:-nothing})"
	fi > "$RESULTS/$name"
}

# bench_boot NAME ARCH KERNEL APPEND: a boot running ww_syncuffd alone (the
# initramfs has it with --bench); its output is cut out of the serial log
# into $WORK/vm-NAME-bench.txt. Sets BENCH_OK (1/0) and BENCH_SAID (a
# phrase for the verdict line); with --bench-only it writes the verdict.
bench_boot() {
	local name=$1 arch=$2 image=$3 append=$4 out=$WORK/vm-$1-bench.log txt=$WORK/vm-$1-bench.txt rc
	if [ "$G_BENCH" != 1 ]; then
		BENCH_OK=0
		BENCH_SAID="bench: not built for $arch (x86_64 only)"
	else
		VM_TIMEOUT=${WW_BENCH_TIMEOUT:-3600} boot_vm "$out" "$arch" "$image" "$G_INITRD" tcg "$append"
		boot_clean_log "$out" | sed -n '/^WW-BEGIN ww_syncuffd/,/^WW-RESULT ww_syncuffd/p' > "$txt"
		rc=$(sed -n 's/^WW-RESULT ww_syncuffd rc=\([0-9]*\).*/\1/p' "$txt")
		BENCH_OK=0
		if [ -z "$rc" ]; then
			BENCH_SAID="bench: did not finish (timeout ${WW_BENCH_TIMEOUT:-3600} s or crash; log $out)"
		elif [ "$rc" != 0 ]; then
			BENCH_SAID="bench: rc=$rc, some answers wrong ($txt)"
		elif grep -qE 'WARNING: |BUG: |Oops|Kernel panic' "$out"; then
			BENCH_SAID="bench: the kernel logged a warning, bug or panic ($out)"
		else
			BENCH_OK=1
			BENCH_SAID="bench: every answer right, ${B_SECONDS} s, output $txt"
		fi
		log "$name: $BENCH_SAID"
	fi
	if [ "$DO_BENCH" = 2 ]; then
		if [ "$BENCH_OK" = 1 ]; then echo "PASS ($BENCH_SAID)"; else echo "FAIL ($BENCH_SAID)"; fi > "$RESULTS/$name"
	fi
}

# vm_stock NAME: Debian's own 6.1 kernel image, which lacks WP_ASYNC and
# PAGEMAP_SCAN: the kernel-level test checks that they are refused, the
# project must fall back to the fault backend.
# stock_kernel: Debian's 6.1 image, downloaded and unpacked once; sets
# STOCK_PKG, STOCK_VMLINUZ and STOCK_EXTRA (a directory for a second
# initramfs archive holding its zram modules, which Debian builds as modules).
stock_kernel() {
	local dir=$WORK/stock pkg=${WW_STOCK_PKG:-} pattern
	mkdir -p "$dir"
	# A package downloaded by an earlier run, else the newest one apt knows.
	[ -n "$pkg" ] || pkg=$(find "$dir" -maxdepth 1 -name 'linux-image-6.1.0-*-amd64_*.deb' -printf '%f\n' |
		sed 's|_.*||' | sort -V | tail -n 1)
	if [ -z "$pkg" ]; then
		pattern='^linux-image-6.1.0-[0-9]+-amd64$'
		[ -n "$(apt-cache search --names-only "$pattern" 2>/dev/null)" ] ||
			apt-get update -qq || die "apt-get update failed"
		pkg=$(apt-cache search --names-only "$pattern" | awk '{print $1}' | sort -V | tail -n 1)
		[ -n "$pkg" ] || die "apt knows no package matching $pattern"
	fi
	if [ -z "$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb")" ]; then
		log "downloading $pkg"
		(cd "$dir" && apt-get -q -o APT::Sandbox::User=root download "$pkg") ||
			die "apt-get download $pkg failed"
	fi
	if [ ! -d "$dir/root-$pkg" ]; then
		dpkg -x "$(ls "$dir/$pkg"_*.deb | head -1)" "$dir/root-$pkg.tmp" ||
			die "dpkg -x of $pkg failed"
		mv "$dir/root-$pkg.tmp" "$dir/root-$pkg"
	fi
	STOCK_PKG=$pkg
	STOCK_VMLINUZ=$(ls "$dir/root-$pkg"/boot/vmlinuz-* | head -1)
	STOCK_EXTRA=$dir/extra
	rm -rf "$STOCK_EXTRA" && mkdir -p "$STOCK_EXTRA"
	guest_stock_zram_modules "$dir/root-$pkg" "${STOCK_VMLINUZ##*/vmlinuz-}" "$STOCK_EXTRA"
}

vm_stock() {
	local name=$1 pkg vmlinuz want=""
	stock_kernel
	pkg=$STOCK_PKG vmlinuz=$STOCK_VMLINUZ
	guest_initramfs x86_64
	guest_initrd_with "$G_INITRD" "$STOCK_EXTRA" "$WORK/stock/initramfs.cpio.gz"
	G_INITRD=$WORK/stock/initramfs.cpio.gz
	if [ "$DO_BENCH" = 2 ]; then
		bench_boot "$name" x86_64 "$vmlinuz" "ww.mode=bench quiet"
		return
	fi
	[ "$G_PROJECT" = 1 ] && want=fault
	boot_vm "$WORK/vm-$name.log" x86_64 "$vmlinuz" "$G_INITRD" tcg \
		"ww.mode=stock quiet ww.ksm=$(vm_field "$name" 8) $(vm_field "$name" 7)"
	boot_check "$WORK/vm-$name.log" "$want"
	local ok=$B_OK passed=$B_PASSED why=$B_WHY seconds=$B_SECONDS
	if [ "$DO_BENCH" = 1 ]; then
		bench_boot "$name" x86_64 "$vmlinuz" "ww.mode=bench quiet"
		passed="$passed; $BENCH_SAID"
		[ "$BENCH_OK" = 1 ] || { ok=0; why="${why:+$why; }$BENCH_SAID"; }
	fi
	if [ "$ok" = 1 ]; then
		echo "PASS ($pkg: $passed; VM ${seconds} s)"
	else
		echo "FAIL ($pkg: $why; passed: ${passed:-nothing})"
	fi > "$RESULTS/$name"
}

# vm_run NAME: --run: the VM's kernel with the user's program (and the
# shared libraries it needs) in a second initramfs archive, memory set up to
# move as for the stress; its output is printed and its exit status is the
# verdict.
vm_run() {
	local name=$1 kind arch image append="" extra=$WORK/run-extra initrd=$WORK/run.cpio.gz machine want rc
	kind=$(vm_field "$name" 2)
	arch=$(vm_field "$name" 3)
	guest_arch_settings "$arch"
	machine=$("$G_READELF" -h "$RUN_PROGRAM" 2>/dev/null | sed -n 's/^ *Machine: *//p')
	case "$arch" in x86_64) want="X86-64" ;; arm64) want="AArch64" ;; esac
	[[ "$machine" == *"$want"* ]] ||
		die "$RUN_PROGRAM is not an $arch program (ELF machine: ${machine:-not an ELF file})"
	rm -rf "$extra" && mkdir -p "$extra/tests/run"
	if [ "$kind" = stock ]; then
		stock_kernel
		image=$STOCK_VMLINUZ
		append=quiet
		cp -a "$STOCK_EXTRA/." "$extra/"
	else
		vm_kernel "$name"
		image=$VM_IMAGE
	fi
	guest_initramfs "$arch"
	guest_add_program "$RUN_PROGRAM" "$extra" tests/run
	basename "$RUN_PROGRAM" > "$extra/tests/run/name"
	: > "$extra/tests/run/args"
	[ ${#RUN_ARGS[@]} -eq 0 ] || printf '%s\n' "${RUN_ARGS[@]}" > "$extra/tests/run/args"
	: > "$extra/tests/run/env"
	[ ${#RUN_ENV[@]} -eq 0 ] || printf '%s\n' "${RUN_ENV[@]}" > "$extra/tests/run/env"
	guest_initrd_with "$G_INITRD" "$extra" "$initrd"
	boot_vm "$WORK/vm-$name-run.log" "$arch" "$image" "$initrd" tcg "ww.mode=run $append $(vm_field "$name" 7)"
	echo "--- $name: $(basename "$RUN_PROGRAM") ${RUN_ARGS[*]}" >&2
	boot_clean_log "$WORK/vm-$name-run.log" | sed -n '/^WW-MM /p; /^WW-RUN-BEGIN /,/^WW-RUN-END /{/^WW-RUN-/!p}' >&2
	rc=$(boot_clean_log "$WORK/vm-$name-run.log" | sed -n 's/^WW-RUN-END .* rc=\([0-9]*\)$/\1/p' | tail -n 1)
	echo "${rc:-125}" > "$RESULTS/$name.rc"
	if [ -z "$rc" ]; then
		echo "FAIL (the program did not finish: timeout after ${VM_TIMEOUT} s or a crash; log $WORK/vm-$name-run.log)"
	elif [ "$rc" = 0 ]; then
		echo "PASS (exit status 0; log $WORK/vm-$name-run.log)"
	else
		echo "FAIL (exit status $rc; log $WORK/vm-$name-run.log)"
	fi > "$RESULTS/$name"
	rm -rf "$extra" "$initrd"
}

# ---- run them ---------------------------------------------------------------
if [ -n "$RUN_ONE" ]; then
	die() { printf '%s: %s\n' "${BASH_SOURCE[1]##*/}" "$*" >&2; echo "$*" > "$RESULTS/$RUN_ONE.die"; exit 1; }
	if [ -n "$RUN_PROGRAM" ]; then
		vm_run "$RUN_ONE"
	else
		"vm_$(vm_field "$RUN_ONE" 2)" "$RUN_ONE"
	fi
	exit 0
fi
# build_ahead: what --build-only builds, each part in a subshell of its own
# so that one that fails (it says why) leaves the others to be built.
build_ahead() {
	local arch name
	for arch in $(selected_arches); do
		( guest_arch_settings "$arch"
		  mkdir -p "$WORK/$arch"
		  guest_build_parts "$arch" ) ||
			log "build-only: the selftests or the project for $arch failed (the VMs' run will try again)"
	done
	for name in "${SELECTED[@]}"; do
		[ "$(vm_field "$name" 2)" = built ] || continue
		( vm_kernel "$name" ) || log "build-only: the kernel of $name failed (the VMs' run will try again)"
	done
}

if [ "$ONLY_PREPARE" = build ]; then
	build_ahead
	exit 0
fi
install_packages
if [ "$ONLY_PREPARE" = packages ]; then
	for arch in $(selected_arches); do
		problem="PKG_PROBLEM_$arch"
		[ -z "${!problem}" ] || log "packages for $arch: ${!problem}"
	done
	exit 0
fi
mkdir -p "$RESULTS"
t_all=$SECONDS
for name in "${SELECTED[@]}"; do
	arch=$(vm_field "$name" 3)
	log "=== vm $name ($(vm_field "$name" 2) kernel, $arch)"
	# A log left by an earlier run must not stand in for this one's.
	rm -f "$WORK/vm-$name.log" "$WORK/vm-$name-rr.log" "$WORK/vm-$name-run.log"
	problem="PKG_PROBLEM_$arch"
	if [ -n "${!problem}" ]; then
		echo "FAIL (packages for $arch: ${!problem})" > "$RESULTS/$name"
	else
		pass_on=()
		[ "$DO_PROJECT" = 1 ] || pass_on=(--no-project)
		[ "$DO_SELFTESTS" = 1 ] || pass_on+=(--no-selftests)
		[ "$DO_BENCH" = 1 ] && pass_on+=(--bench)
		[ "$DO_BENCH" = 2 ] && pass_on+=(--bench-only)
		for e in "${RUN_ENV[@]}"; do pass_on+=(--env "$e"); done
		[ -z "$RUN_PROGRAM" ] || pass_on+=(--run "$RUN_PROGRAM" "${RUN_ARGS[@]}")
		WW_RUN_ID=$RUN_ID bash "$0" --run-one "$name" "${pass_on[@]}" ||
			log "vm $name: its run stopped with status $?"
	fi
	if [ ! -s "$RESULTS/$name" ]; then
		if [ -s "$RESULTS/$name.die" ]; then
			echo "FAIL ($(cat "$RESULTS/$name.die"))" > "$RESULTS/$name"
		else
			echo "FAIL (a command of its run failed: see the error printed above)" > "$RESULTS/$name"
		fi
	fi
	log "vm $name: $(cat "$RESULTS/$name")"
done

log "all VMs done in $((SECONDS - t_all)) s"
overall=0
# Mainline's selftests, judged across the VMs (6.1-patched against 6.12,
# with stock 6.1 for the skips): lib/selftests_report.py.
selftests_verdict=""
if [ "$DO_SELFTESTS" = 1 ] && [ "$DO_BENCH" != 2 ] && [ -z "$RUN_PROGRAM" ]; then
	logs=()
	for name in "${SELECTED[@]}"; do logs+=("$name=$WORK/vm-$name.log"); done
	python3 "$HERE/lib/selftests_report.py" --out "$WORK/selftests-report.txt" "${logs[@]}" || overall=1
	selftests_verdict=$(tail -n 1 "$WORK/selftests-report.txt" 2>/dev/null || echo "selftests: FAIL (no report)")
fi
for name in "${SELECTED[@]}"; do
	echo "vm $name: $(cat "$RESULTS/$name")"
	case "$(cat "$RESULTS/$name")" in PASS*) ;; *) overall=1 ;; esac
done
[ -z "$selftests_verdict" ] || echo "$selftests_verdict (table: $WORK/selftests-report.txt)"
# --run on one VM exits with the program's own status.
if [ -n "$RUN_PROGRAM" ] && [ ${#SELECTED[@]} = 1 ] && [ -f "$RESULTS/${SELECTED[0]}.rc" ]; then
	overall=$(cat "$RESULTS/${SELECTED[0]}.rc")
fi
rm -rf "$RESULTS"
exit $overall
