#!/bin/bash
# Build Debian's linux-source-6.1 with the writewatch series, boot it under
# QEMU (software emulation) with a busybox initramfs carrying the test
# binaries, and do the same with Debian's stock 6.1 kernel image.
#
#   kernel-patches/run-vm-tests.sh [--patched-only|--stock-only] [--no-project]
#
# Exit status 0 only if every test run in every VM passed.
#
# Environment:
#   WW_KWORK       work/cache directory (default: kernel-patches/work, gitignored)
#   WW_JOBS        make -j value (default 3)
#   WW_VM_TIMEOUT  seconds a VM may run (default 900)
#   WW_STOCK_PKG   stock kernel package (default: newest linux-image-6.1.0-N-amd64)
#   CONCURRENT_SECONDS  duration of the concurrent-writers check (default 2)
#   WW_DEBUG=1     also merge kconfig.debug.fragment (DEBUG_VM, lockdep,
#                  atomic-sleep checks) into the patched kernel's config
#   WW_BZIMAGE     boot this patched bzImage instead of building one (for
#                  iterating on the series in a kept build tree)
#
# Build outputs are cached under $WW_KWORK keyed by a hash of the series and
# the config fragment: a second run with the same series boots at once.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$REPO/scripts/lib/fail-loudly.sh"
WORK=${WW_KWORK:-$HERE/work}
JOBS=${WW_JOBS:-3}
VM_TIMEOUT=${WW_VM_TIMEOUT:-900}
DO_PATCHED=1
DO_STOCK=1
DO_PROJECT=1
for a in "$@"; do
	case "$a" in
	--patched-only) DO_STOCK=0 ;;
	--stock-only) DO_PATCHED=0 ;;
	--no-project) DO_PROJECT=0 ;;
	*) echo "unknown argument: $a" >&2; exit 2 ;;
	esac
done

log() { echo "[run-vm-tests $(date -u +%H:%M:%S)] $*"; }
mkdir -p "$WORK"

# ---- packages ---------------------------------------------------------------
need=()
for p in linux-source-6.1 qemu-system-x86 busybox-static bc flex bison \
	libelf-dev libssl-dev cpio gcc make xz-utils meson ninja-build g++ \
	catch2 pkg-config; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing: ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# ---- patched kernel ---------------------------------------------------------
SERIES=$(ls "$HERE"/linux-6.1/*.patch | sort)
FRAGMENTS="$HERE/kconfig.fragment"
[ "${WW_DEBUG:-0}" = 1 ] && FRAGMENTS="$FRAGMENTS $HERE/kconfig.debug.fragment"
KEY=$(cat $SERIES $FRAGMENTS | sha256sum | cut -c1-16)
SRC=$WORK/linux-src-$KEY
BUILD=$WORK/linux-build-$KEY
BZIMAGE=$BUILD/arch/x86/boot/bzImage

build_kernel() {
	local t0=$SECONDS
	if [ ! -f "$SRC/.ww-patched" ]; then
		log "unpacking /usr/src/linux-source-6.1.tar.xz"
		rm -rf "$SRC" "$SRC.tmp"
		mkdir -p "$SRC.tmp"
		tar -xf /usr/src/linux-source-6.1.tar.xz -C "$SRC.tmp" --strip-components=1
		for p in $SERIES; do
			log "applying $(basename "$p")"
			patch -d "$SRC.tmp" -p1 -s --no-backup-if-mismatch < "$p"
		done
		touch "$SRC.tmp/.ww-patched"
		mv "$SRC.tmp" "$SRC"
	fi
	log "kernel version: $(make -s -C "$SRC" kernelversion)"
	mkdir -p "$BUILD"
	if [ ! -f "$BUILD/.config" ]; then
		make -s -C "$SRC" O="$BUILD" tinyconfig >/dev/null
		"$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" \
			$FRAGMENTS >/dev/null
		make -s -C "$SRC" O="$BUILD" olddefconfig >/dev/null
		for c in USERFAULTFD PTE_MARKER_UFFD_WP HAVE_ARCH_USERFAULTFD_WP \
			TRANSPARENT_HUGEPAGE SHMEM PROC_PAGE_MONITOR BLK_DEV_INITRD; do
			grep -q "^CONFIG_$c=y" "$BUILD/.config" || {
				echo "config lacks CONFIG_$c" >&2; exit 1; }
		done
	fi
	log "building bzImage (make -j$JOBS), log: $BUILD/make.log"
	if ! make -C "$SRC" O="$BUILD" -j"$JOBS" bzImage > "$BUILD/make.log" 2>&1; then
		tail -40 "$BUILD/make.log"
		die "the kernel build failed (log: $BUILD/make.log)"
	fi
	log "kernel built in $((SECONDS - t0)) s"
}

if [ "$DO_PATCHED" = 1 ]; then
	if [ -n "${WW_BZIMAGE:-}" ]; then
		BZIMAGE=$WW_BZIMAGE
		log "using prebuilt $BZIMAGE"
	elif [ -f "$BZIMAGE" ] && [ -f "$BUILD/.ww-done" ]; then
		log "cached kernel $BZIMAGE (series $KEY)"
	else
		build_kernel
		touch "$BUILD/.ww-done"
	fi
fi

# ---- stock kernel -----------------------------------------------------------
STOCK_DIR=$WORK/stock
if [ "$DO_STOCK" = 1 ]; then
	mkdir -p "$STOCK_DIR"
	PKG=${WW_STOCK_PKG:-}
	# A package downloaded by an earlier run, else the newest one apt knows.
	if [ -z "$PKG" ]; then
		PKG=$(find "$STOCK_DIR" -maxdepth 1 -name 'linux-image-6.1.0-*-amd64_*.deb' -printf '%f\n' |
			sed 's|_.*||' | sort -V | tail -n 1)
	fi
	if [ -z "$PKG" ]; then
		stock_pattern='^linux-image-6.1.0-[0-9]+-amd64$'
		[ -n "$(apt-cache search --names-only "$stock_pattern" 2>/dev/null)" ] ||
			apt-get update -qq || die "apt-get update failed"
		PKG=$(apt-cache search --names-only "$stock_pattern" | awk '{print $1}' | sort -V | tail -n 1)
		[ -n "$PKG" ] || die "apt knows no package matching $stock_pattern"
	fi
	if [ -z "$(find "$STOCK_DIR" -maxdepth 1 -name "${PKG}_*.deb")" ]; then
		log "downloading $PKG"
		(cd "$STOCK_DIR" && apt-get -q -o APT::Sandbox::User=root download "$PKG") || die "apt-get download $PKG failed"
	fi
	if [ ! -d "$STOCK_DIR/root-$PKG" ]; then
		dpkg -x "$(ls "$STOCK_DIR/$PKG"_*.deb | head -1)" "$STOCK_DIR/root-$PKG"
	fi
	STOCK_VMLINUZ=$(ls "$STOCK_DIR/root-$PKG"/boot/vmlinuz-* | head -1)
	log "stock kernel: $STOCK_VMLINUZ"
fi

# ---- test binaries ----------------------------------------------------------
TESTS=$WORK/tests-bin
rm -rf "$TESTS"
mkdir -p "$TESTS"
gcc -O2 -Wall -static -pthread -I"$HERE/../src/writewatch" -o "$TESTS/pagemap_scan_test" "$HERE/tests/pagemap_scan_test.c"

PROJECT_TESTS=""
# Debian ships fmt only as a shared library, so the project's test binary
# cannot be linked fully static: it goes into the initramfs together with
# the shared libraries ldd names and the dynamic loader.
if [ "$DO_PROJECT" = 1 ] && [ -f "$REPO/meson.build" ] && [ -f "$REPO/tests/meson.build" ]; then
	# In the checkout, not the cache: a cached build tree would keep building
	# whichever checkout configured it first.
	PB=$REPO/build-vm
	log "building the project in $PB"
	if [ ! -f "$PB/build.ninja" ]; then
		meson setup "$PB" "$REPO" --buildtype=debugoptimized -Dtests=true \
			> "$WORK/project-meson.log" 2>&1 || { tail -30 "$WORK/project-meson.log"; die "meson setup of the project failed"; }
	fi
	if ninja -C "$PB" -j"$JOBS" > "$WORK/project-ninja.log" 2>&1; then
		if [ -x "$PB/tests/writewatch-tests" ]; then
			cp "$PB/tests/writewatch-tests" "$TESTS/"
			PROJECT_TESTS=writewatch-tests
		else
			log "no tests/writewatch-tests in the project build: project tests skipped"
		fi
	else
		tail -30 "$WORK/project-ninja.log"
		die "the project build failed (log: $WORK/project-ninja.log)"
	fi
fi

# ---- initramfs --------------------------------------------------------------
INITRD=$WORK/initramfs.cpio.gz
ROOT=$WORK/initramfs-root
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,proc,sys,dev,tmp,tests}
cp /bin/busybox "$ROOT/bin/busybox"
cp "$TESTS"/* "$ROOT/tests/"
if [ -n "$PROJECT_TESTS" ]; then
	mkdir -p "$ROOT/lib"
	# ldd the binary where it was built: its rpath is relative to it.
	for lib in $(ldd "$PB/tests/writewatch-tests" | grep -o '/[^ ]*'); do
		case "$lib" in
		*/ld-linux*) mkdir -p "$ROOT$(dirname "$lib")"; cp -L "$lib" "$ROOT$lib" ;;
		*) cp -L "$lib" "$ROOT/lib/" ;;
		esac
	done
fi
cat > "$ROOT/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
export LD_LIBRARY_PATH=/lib
mode=patched
case " $(cat /proc/cmdline) " in
*" ww.mode=stock "*) mode=stock ;;
*" ww.mode=kernelonly "*) mode=kernelonly ;;
esac
secs=2
for w in $(cat /proc/cmdline); do case "$w" in ww.secs=*) secs=${w#ww.secs=} ;; esac; done
echo "WW-KERNEL $(uname -r) mode=$mode cpus=$(grep -c ^processor /proc/cpuinfo)"
run() { # name, command...
	name=$1; shift
	echo "WW-BEGIN $name"
	"$@"
	echo "WW-RESULT $name rc=$?"
}
cd /tmp
if [ "$mode" = kernelonly ]; then
	CONCURRENT_SECONDS=$secs run pagemap_scan_test /tests/pagemap_scan_test
elif [ "$mode" = patched ]; then
	CONCURRENT_SECONDS=$secs run pagemap_scan_test /tests/pagemap_scan_test
	if [ -x /tests/writewatch-tests ]; then
		WRITEWATCH_BACKEND=kernel run writewatch-tests-kernel /tests/writewatch-tests
		WRITEWATCH_BACKEND=fault run writewatch-tests-fault /tests/writewatch-tests
	fi
else
	run pagemap_scan_test-unsupported /tests/pagemap_scan_test --expect-unsupported
	if [ -x /tests/writewatch-tests ]; then
		WRITEWATCH_BACKEND=auto run writewatch-tests-auto /tests/writewatch-tests
		# The kernel backend must refuse cleanly here (Catch2 runner: 77).
		WRITEWATCH_BACKEND=kernel /tests/writewatch-tests >/dev/null 2>/tmp/k.err
		rc=$?
		cat /tmp/k.err | head -3
		[ $rc = 77 ]; echo "WW-RESULT writewatch-tests-kernel-refused rc=$?"
	fi
fi
echo WW-DONE
reboot -f
EOF
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD"

# ---- boot -------------------------------------------------------------------
overall=0
boot() { # name kernel extra-append [qemu accel]
	local name=$1 kernel=$2 append=$3 accel=${4:-tcg} out=$WORK/vm-$1.log t0=$SECONDS
	log "booting $name ($kernel, -accel $accel), serial log: $out"
	timeout "$VM_TIMEOUT" qemu-system-x86_64 -accel "$accel" -nographic -no-reboot -smp 2 -m 2048 \
		-kernel "$kernel" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 ww.secs=${CONCURRENT_SECONDS:-2} $append" \
		< /dev/null > "$out" 2>&1 || true
	local dt=$((SECONDS - t0))
	tr -d '\r' < "$out" | grep -o 'WW-KERNEL.*' || true
	tr -d '\r' < "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^(WW-B|WW-R|WW-D|FAIL |SKIP |INFO |[0-9]+ passed|test cases|All tests|writewatch tests:|SKIP:)' || true
	if ! grep -q '^WW-DONE' <(tr -d '\r' < "$out"); then
		log "$name: VM did not finish (timeout or crash); last lines:"
		tail -30 "$out"
		overall=1
		return
	fi
	# The backend the project picked must be the one this kernel allows.
	local want=""
	case "$name" in
	patched-rr) want="" ;;
	patched) want="writewatch tests: backend kernel" ;;
	stock) want="writewatch tests: backend fault" ;;
	esac
	if [ -n "$PROJECT_TESTS" ] && ! grep -q "$want" "$out"; then
		log "$name: expected '$want' in the output"
		overall=1
	fi
	if grep -qE 'WARNING: |BUG: |Oops|Kernel panic' "$out"; then
		log "$name: the kernel logged a warning or bug:"
		grep -E -A20 'WARNING: |BUG: |Oops|Kernel panic' "$out" | head -60
		overall=1
	fi
	if grep -E '^WW-RESULT .* rc=[1-9]' <(tr -d '\r' < "$out") >/dev/null; then
		log "$name: FAILED ($dt s)"
		overall=1
	else
		log "$name: passed ($dt s)"
	fi
}

# Multi-threaded TCG runs the two vCPUs really in parallel, but on a loaded
# host the guest's writer threads can crawl there (a few hundred writes a
# second were seen while another build ran); round-robin TCG interleaves
# the vCPUs and still lets the concurrent-writer check do millions of
# writes. Run the kernel test under both.
[ "$DO_PATCHED" = 1 ] && boot patched "$BZIMAGE" ""
[ "$DO_PATCHED" = 1 ] && boot patched-rr "$BZIMAGE" "ww.mode=kernelonly" "tcg,thread=single"
[ "$DO_STOCK" = 1 ] && boot stock "$STOCK_VMLINUZ" "ww.mode=stock quiet"

if [ $overall = 0 ]; then log "ALL PASSED"; else log "SOME FAILED"; fi
exit $overall
