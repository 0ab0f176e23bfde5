# Sourced by run-vm-tests.sh (after kernel-build.sh): mainline's mm
# selftests, the judge of the series' ABI claim. Needs WORK, log and die.
#
# selftests_build ARCH builds, static, from Debian's linux-source-6.12
# (tools/testing/selftests/mm) against that tree's own UAPI headers (`make
# headers`, so Debian 12's 6.1 linux-libc-dev plays no part), the programs
# of SELFTEST_PROGRAMS into $WORK/selftests-ARCH-KEY and sets ST_DIR to it.
# KEY hashes the source package version, the arch and this file. The same
# binaries run on every kernel of that arch, 6.1 ones included.
#
# Why these programs (run_vmtests.sh's list, narrowed to what the series
# touches: uffd-wp in the fault, zap, fork and mprotect paths, pte markers,
# UFFDIO_* ioctls, /proc/PID/pagemap):
#   pagemap_ioctl    PAGEMAP_SCAN and async uffd-wp, every memory type
#   uffd-unit-tests  every userfaultfd feature, run group by group (-f)
#   uffd-stress      missing + wp faults under load, anon/shmem/hugetlb
#   soft-dirty       pagemap's soft-dirty bit and clear_refs (x86 only:
#                    arm64 has no soft-dirty)
#   mkdirty          no pte made writable/dirty by mprotect or UFFDIO_COPY
#   cow              copy-on-write after fork, pins, THP, hugetlb (the
#                    do_wp_page path that async uffd-wp enters)
#   mremap_test      page tables moved with their entries (markers included)
#   ksm_functional_tests  KSM unmerging: test_unmerge_uffd_wp is mainline
#                    6.2's check that breaking a KSM page's sharing keeps
#                    uffd-wp (the series' patch 0010 backports the fix)
#   migration        move_pages(2) between two NUMA nodes under load:
#                    migration entries in the fault paths (x86 only: the
#                    arm64 VM has one node; RUNTIME cut from 20 to 5 s,
#                    and the one thread touching the memory may take the
#                    guest's second CPU: mainline wants three)
# And ours, in their style (kernel-patches/tests/): ksm_uffd_wp, KSM
# merging write-protected pages must keep them write-protected, and
# unmerging them too: it fails on mainline and Debian's kernels, passes
# with the KSM patches (guest/init judges it by the VM's KSM column);
# hugetlb_unshare_uffd_wp, a read-only pin's unsharing copy of a hugetlb
# page keeps uffd-wp (fails on 6.1 without patch 0011; judged as the
# mainline programs are).
# Left out: khugepaged (collapse policy; uffd-unit-tests' minor-collapse
# covers the one check the series adds, and 6.12's copy does not compile:
# KSFT_SKIP undeclared), protection_keys and mdwe_test (pkeys and exec
# protection, untouched), ksm_tests (merge throughput), the hugetlb
# programs (hugetlb faults beyond uffd-wp, untouched), gup_longterm.
SELFTEST_PACKAGE=linux-source-6.12
SELFTEST_PROGRAMS_x86_64="pagemap_ioctl uffd-unit-tests uffd-stress soft-dirty mkdirty cow mremap_test ksm_functional_tests migration ksm_uffd_wp hugetlb_unshare_uffd_wp"
SELFTEST_PROGRAMS_arm64="pagemap_ioctl uffd-unit-tests uffd-stress mkdirty cow mremap_test ksm_functional_tests ksm_uffd_wp hugetlb_unshare_uffd_wp"
SELFTEST_LIB_SCRIPT=${BASH_SOURCE[0]}
SELFTEST_OURS=$(cd "$(dirname "$SELFTEST_LIB_SCRIPT")/../tests" && pwd)

# selftests_sources PROGRAM: the .c files of one program (relative to mm/,
# or absolute for ours).
selftests_sources() {
	case "$1" in
	uffd-unit-tests|uffd-stress) echo "$1.c uffd-common.c vm_util.c thp_settings.c" ;;
	ksm_uffd_wp|hugetlb_unshare_uffd_wp) echo "$SELFTEST_OURS/$1.c vm_util.c" ;;
	*) echo "$1.c vm_util.c thp_settings.c" ;;
	esac
}

# selftests_libs PROGRAM: what it links beyond libc's parts.
selftests_libs() {
	case "$1" in
	migration) echo "-lnuma -lrt -lpthread -lm" ;;
	*) echo "-lrt -lpthread -lm" ;;
	esac
}

selftests_build() {
	local arch=$1 version key out src mm karch cc programs p lock
	version=$(dpkg-query -W -f='${Version}' "$SELFTEST_PACKAGE") ||
		die "selftests_build: $SELFTEST_PACKAGE is not installed"
	key=$({ echo "$SELFTEST_PACKAGE $version $arch"; cat "$SELFTEST_LIB_SCRIPT" "$SELFTEST_OURS"/ksm_uffd_wp.c "$SELFTEST_OURS"/hugetlb_unshare_uffd_wp.c; } |
		sha256sum | cut -c1-16)
	out=$WORK/selftests-$arch-$key
	ST_DIR=$out/bin
	lock_wait lock "$out.lock" "mainline's mm selftests for $arch"
	if [ -f "$out/.ww-done" ]; then
		lock_release "$lock"
		log "cached selftests for $arch: $ST_DIR" >&2
		return
	fi
	case "$arch" in
	x86_64) karch=x86; cc=gcc ;;
	arm64) karch=arm64; cc=aarch64-linux-gnu-gcc ;;
	*) die "selftests_build: unknown arch '$arch'" ;;
	esac
	programs="SELFTEST_PROGRAMS_$arch"
	src=$(kernel_unpack "$SELFTEST_PACKAGE" "")
	mm=$src/tools/testing/selftests/mm
	log "building mainline's mm selftests ($SELFTEST_PACKAGE $version) for $arch: ${!programs}" >&2
	rm -rf "$out" && mkdir -p "$out/bin" "$out/src"
	make -s -C "$src" O="$out/hdr" ARCH="$karch" headers > "$out/headers.log" 2>&1 ||
		die "selftests_build: make headers failed (log: $out/headers.log)"
	# What check_config.sh writes when it finds no liburing: the guests
	# have no io_uring either, so cow's io_uring cases skip.
	echo "// No liburing support found" > "$out/src/local_config.h"
	# 6.1 has no MFD_NOEXEC_SEAL (a 6.3 memfd flag that changes only the
	# exec permission of the memfd): pagemap_ioctl passes it to two
	# memfd_create() calls of its setup and stops there on 6.1. The copy
	# drops it (the same binary runs everywhere); exactly two lines change.
	sed -e 's/MFD_HUGETLB | MFD_NOEXEC_SEAL/MFD_HUGETLB/' -e 's/, MFD_NOEXEC_SEAL)/, 0)/' \
		"$mm/pagemap_ioctl.c" > "$out/src/pagemap_ioctl.c"
	[ "$(diff "$mm/pagemap_ioctl.c" "$out/src/pagemap_ioctl.c" | grep -c '^>')" = 2 ] ||
		die "selftests_build: pagemap_ioctl.c no longer has the two MFD_NOEXEC_SEAL calls this script edits"
	# ksm_functional_tests' fork-exec case hands execv() an argv without
	# its closing NULL: the exec fails and the child goes on with the
	# parent's remaining tests, printing them twice. The copy ends it.
	sed -e 's/{ prg_name, FORK_EXEC_CHILD_PRG_NAME }/{ prg_name, FORK_EXEC_CHILD_PRG_NAME, NULL }/' \
		"$mm/ksm_functional_tests.c" > "$out/src/ksm_functional_tests.c"
	[ "$(diff "$mm/ksm_functional_tests.c" "$out/src/ksm_functional_tests.c" | grep -c '^>')" = 1 ] ||
		die "selftests_build: ksm_functional_tests.c no longer has the argv this script ends"
	# migration moves pages for 20 s per case, six cases: 5 s keeps
	# thousands of migrations per case at a quarter of the time. It wants
	# one CPU per thread touching the memory plus one spare, and skips
	# every case below three: the x86 guests have two.
	sed -e 's/^#define RUNTIME\t\t(20)$/#define RUNTIME\t\t(5)/' \
		-e 's/self->nthreads = numa_num_task_cpus() - 1;/self->nthreads = numa_num_task_cpus();/' \
		"$mm/migration.c" > "$out/src/migration.c"
	[ "$(diff "$mm/migration.c" "$out/src/migration.c" | grep -c '^>')" = 2 ] ||
		die "selftests_build: migration.c no longer defines RUNTIME as this script expects"
	for p in ${!programs}; do
		local files=() f
		for f in $(selftests_sources "$p"); do
			# The edited copy is compiled by its bare name, as the
			# Makefile does: pagemap_ioctl opens files named after __FILE__.
			if [[ "$f" == /* ]]; then files+=("$f")
			elif [ -f "$out/src/$f" ]; then files+=("$f"); else files+=("$mm/$f"); fi
		done
		(cd "$out/src" && "$cc" -Wall -O2 -static -U_FORTIFY_SOURCE -I"$out/src" -I"$mm" \
			-isystem "$out/hdr/usr/include" -isystem "$src/tools/include/uapi" \
			-o "$out/bin/$p" "${files[@]}" $(selftests_libs "$p")) > "$out/$p.log" 2>&1 ||
			{ tail -20 "$out/$p.log" >&2; die "selftests_build: compiling $p for $arch failed (log: $out/$p.log)"; }
	done
	touch "$out/.ww-done"
	lock_release "$lock"
}
