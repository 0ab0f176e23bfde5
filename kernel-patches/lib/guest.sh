# Sourced by run-vm-tests.sh: what goes into a VM, per arch. Needs HERE,
# REPO, WORK, JOBS, DO_PROJECT, RUN_ID, log and die from the caller.
#
# guest_initramfs ARCH builds, once per run and arch, $WORK/ARCH/initramfs.cpio.gz
# holding busybox, guest/init, tests/pagemap_scan_test (static), unless
# --no-selftests mainline's mm selftests in /tests/mm (lib/selftests.sh)
# and, unless --no-project, the project's tests/writewatch-tests with its shared
# libraries (Debian ships fmt only as a shared library) and the dynamic
# loader. It sets G_INITRD and G_PROJECT (1 if writewatch-tests is inside).
# With --bench (DO_BENCH != 0) on x86_64 it also holds bench/sync_uffd's
# ww_syncuffd, built in the same build tree, and /tests/bench-args
# ($WW_BENCH_ARGS); G_BENCH is then 1.

# guest_arch_settings ARCH: sets G_CC (C compiler for static test programs),
# G_READELF, G_LIBDIRS (where the arch's shared libraries live, in search
# order), G_BUSYBOX (a static busybox for ARCH, fetched if need be) and
# G_CROSS (a meson cross file, empty for a native build).
guest_arch_settings() {
	case "$1" in
	x86_64)
		G_CC=gcc
		G_READELF=readelf
		G_LIBDIRS="/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu"
		G_BUSYBOX=/bin/busybox
		G_CROSS="" ;;
	arm64)
		G_CC=aarch64-linux-gnu-gcc
		G_READELF=aarch64-linux-gnu-readelf
		# libc6:arm64 and the cross toolchain's own copies: the multiarch
		# ones first, so libc and its loader come from one package.
		G_LIBDIRS="/lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/aarch64-linux-gnu/lib"
		G_BUSYBOX=$(guest_fetch_busybox arm64)
		G_CROSS=$HERE/cross/aarch64-linux-gnu.ini ;;
	*) die "guest_arch_settings: unknown arch '$1' (x86_64 or arm64)" ;;
	esac
}

# guest_fetch_busybox ARCH: prints the path of busybox-static for a foreign
# arch, downloaded with apt-get and unpacked with dpkg -x (installing it
# would replace the host's busybox-static). Cached under $WORK/ARCH.
guest_fetch_busybox() {
	local arch=$1 dir=$WORK/$1/busybox deb
	if [ ! -x "$dir/root/bin/busybox" ]; then
		rm -rf "$dir" && mkdir -p "$dir"
		(cd "$dir" && apt-get -q -o APT::Sandbox::User=root download "busybox-static:$arch" >&2) ||
			die "guest_fetch_busybox: apt-get download busybox-static:$arch failed"
		deb=$(ls "$dir"/busybox-static_*.deb) || die "guest_fetch_busybox: no .deb in $dir"
		dpkg -x "$deb" "$dir/root" || die "guest_fetch_busybox: dpkg -x $deb failed"
		[ -x "$dir/root/bin/busybox" ] || die "guest_fetch_busybox: $deb has no bin/busybox"
	fi
	echo "$dir/root/bin/busybox"
}

# guest_project_build ARCH: builds tests/writewatch-tests and the
# moving-memory stress (tests/stress/stress-moving-memory) for ARCH in the
# checkout (build-vm, build-vm-arm64): a build tree in the cache would keep
# building whichever checkout configured it first. Prints the build tree.
guest_project_build() {
	local arch=$1 pb=$REPO/build-vm setup_args=() lock
	if [ "$arch" != x86_64 ]; then
		pb=$REPO/build-vm-$arch
		setup_args=(--cross-file "$G_CROSS")
	fi
	mkdir -p "$WORK/$arch"
	lock_wait lock "$WORK/$arch/project.lock" "the project for $arch"
	log "building the project for $arch in $pb" >&2
	if [ ! -f "$pb/build.ninja" ]; then
		meson setup "$pb" "$REPO" --buildtype=debugoptimized -Dtests=true "${setup_args[@]}" \
			> "$WORK/$arch/project-meson.log" 2>&1 ||
			{ tail -30 "$WORK/$arch/project-meson.log" >&2
			  die "meson setup of the project for $arch failed (log: $WORK/$arch/project-meson.log)"; }
	fi
	ninja -C "$pb" -j"$JOBS" tests/writewatch-tests tests/stress/stress-moving-memory \
		> "$WORK/$arch/project-ninja.log" 2>&1 ||
		{ tail -30 "$WORK/$arch/project-ninja.log" >&2
		  die "the project build for $arch failed (log: $WORK/$arch/project-ninja.log)"; }
	local t
	for t in tests/writewatch-tests tests/stress/stress-moving-memory; do
		[ -x "$pb/$t" ] || die "guest_project_build: no $pb/$t after the build"
	done
	lock_release "$lock"
	echo "$pb"
}

# guest_add_program BINARY ROOT DIR: BINARY into ROOT/DIR, with the shared
# libraries it needs.
guest_add_program() {
	mkdir -p "$2/$3"
	cp "$1" "$2/$3/"
	guest_copy_libs "$1" "$2"
}

# guest_bench_build BUILDDIR: builds bench/sync_uffd's ww_syncuffd in the
# project's build tree (configured by guest_project_build). Prints its path.
guest_bench_build() {
	local pb=$1
	ninja -C "$pb" -j"$JOBS" bench/sync_uffd/ww_syncuffd >> "$WORK/x86_64/project-ninja.log" 2>&1 ||
		{ tail -30 "$WORK/x86_64/project-ninja.log" >&2
		  die "building ww_syncuffd failed (log: $WORK/x86_64/project-ninja.log)"; }
	[ -x "$pb/bench/sync_uffd/ww_syncuffd" ] || die "guest_bench_build: no $pb/bench/sync_uffd/ww_syncuffd"
	echo "$pb/bench/sync_uffd/ww_syncuffd"
}

# guest_find_lib NAME RUNPATH_DIRS: prints the first NAME in the binary's
# runpath, then in G_LIBDIRS.
guest_find_lib() {
	local name=$1 d
	for d in $2 $G_LIBDIRS; do
		[ -e "$d/$name" ] && { echo "$d/$name"; return; }
	done
	die "guest_find_lib: $name not found in $2 $G_LIBDIRS"
}

# guest_copy_libs BINARY ROOT: copies the shared libraries BINARY needs
# (recursively, read with readelf, so it works for a foreign arch too) into
# ROOT/lib, and its dynamic loader to the path the binary names; a static
# BINARY needs none.
guest_copy_libs() {
	local bin=$1 root=$2 interp queue=("$1") seen=" " f dir runpath lib name
	interp=$("$G_READELF" -l "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	# No interpreter: a static program, which needs nothing beside it.
	[ -n "$interp" ] || return 0
	mkdir -p "$root/lib" "$root$(dirname "$interp")"
	cp -L "$(guest_find_lib "$(basename "$interp")" "$(dirname "$interp")")" "$root$interp"
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}; queue=("${queue[@]:1}")
		dir=$(dirname "$f")
		runpath=$("$G_READELF" -d "$f" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\]/\2/p' |
			sed "s|\$ORIGIN|$dir|g" | tr ':' ' ')
		for name in $("$G_READELF" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case "$seen" in *" $name "*) continue ;; esac
			seen="$seen$name "
			[ "$name" = "$(basename "$interp")" ] && continue
			lib=$(guest_find_lib "$name" "$runpath")
			cp -L "$lib" "$root/lib/$name"
			queue+=("$lib")
		done
	done
}

# guest_initrd_with BASE DIR OUT: OUT is the initramfs BASE followed by DIR
# packed as a second archive (the kernel unpacks both, the second over the
# first): what one VM or one --run adds without rebuilding BASE.
guest_initrd_with() {
	{ cat "$1" && (cd "$2" && find . | cpio -o -H newc --quiet | gzip -1); } > "$3" ||
		die "guest_initrd_with: packing $2 after $1 failed"
}

# guest_stock_zram_modules KERNEL_ROOT KVER DIR: a distribution kernel's zram
# comes as modules: zram.ko, what modules.dep says it needs, and the lzo
# compressors zram asks the crypto API for, copied (decompressed) into
# DIR/lib/modules/ww-zram with the order to load them in (guest/init).
guest_stock_zram_modules() {
	local mods=$1/lib/modules/$2 out=$3/lib/modules/ww-zram want=() m d dep order=()
	# A kernel package leaves modules.dep to depmod at installation.
	[ -f "$mods/modules.dep" ] || depmod -b "$1" "$2" ||
		die "guest_stock_zram_modules: no $mods/modules.dep and depmod -b $1 $2 failed"
	mkdir -p "$out"
	for m in lzo lzo-rle zram; do
		# Not a module (built in, or absent): nothing to load.
		dep=$(grep -E "/$m\.ko(\.[a-z]+)?:" "$mods/modules.dep" | head -n 1) || continue
		[ -n "$dep" ] || continue
		# "module: deps..." lists what it needs; they load first.
		for d in $(echo "${dep#*:}" | tr ' ' '\n' | tac) "${dep%%:*}"; do
			case " ${want[*]} " in *" $d "*) ;; *) want+=("$d") ;; esac
		done
	done
	[ ${#want[@]} -gt 0 ] || { log "the stock kernel has zram built in or not at all" >&2; return 0; }
	for m in "${want[@]}"; do
		local name=${m##*/}
		case "$name" in
		*.ko.xz) xz -dc "$mods/$m" > "$out/${name%.xz}"; name=${name%.xz} ;;
		*.ko.zst) zstd -qdc "$mods/$m" > "$out/${name%.zst}"; name=${name%.zst} ;;
		*.ko) cp "$mods/$m" "$out/$name" ;;
		esac || die "guest_stock_zram_modules: cannot copy $m"
		order+=("$name")
	done
	printf '%s\n' "${order[@]}" > "$out/order"
}

# guest_build_parts ARCH: builds (or finds cached) what goes into ARCH's
# initramfs besides the always-built parts: mainline's selftests unless
# DO_SELFTESTS=0, the project unless DO_PROJECT=0. Sets G_SELFTESTS (their
# directory) and G_PROJECT_BUILD (the build tree), empty when left out.
guest_build_parts() {
	G_SELFTESTS=""
	G_PROJECT_BUILD=""
	if [ "${DO_SELFTESTS:-1}" = 1 ]; then
		selftests_build "$1"
		G_SELFTESTS=$ST_DIR
	fi
	if [ "$DO_PROJECT" = 1 ]; then
		G_PROJECT_BUILD=$(guest_project_build "$1")
	fi
}

guest_initramfs() {
	local arch=$1 dir=$WORK/$1 root
	G_INITRD=$dir/initramfs.cpio.gz
	# Once per run (the VMs run in subshells, so the mark is a file).
	if [ -f "$dir/built-in-run-$RUN_ID" ]; then
		read -r G_PROJECT G_BENCH < "$dir/built-in-run-$RUN_ID"
		return
	fi
	guest_arch_settings "$arch"
	mkdir -p "$dir"
	root=$dir/initramfs-root
	rm -rf "$root"
	mkdir -p "$root"/{bin,proc,sys,dev,tmp,tests}
	cp "$G_BUSYBOX" "$root/bin/busybox"
	cp "$HERE/guest/init" "$root/init"
	chmod +x "$root/init"
	"$G_CC" -O2 -Wall -static -pthread -I"$REPO/src/writewatch" -o "$root/tests/pagemap_scan_test" \
		"$HERE/tests/pagemap_scan_test.c" ||
		die "guest_initramfs: compiling tests/pagemap_scan_test.c for $arch ($G_CC) failed"
	guest_build_parts "$arch"
	if [ -n "$G_SELFTESTS" ]; then
		mkdir -p "$root/tests/mm"
		cp "$G_SELFTESTS"/* "$root/tests/mm/"
	fi
	G_PROJECT=0
	if [ -n "$G_PROJECT_BUILD" ]; then
		guest_add_program "$G_PROJECT_BUILD/tests/writewatch-tests" "$root" tests
		guest_add_program "$G_PROJECT_BUILD/tests/stress/stress-moving-memory" "$root" tests
		G_PROJECT=1
	fi
	G_BENCH=0
	if [ "${DO_BENCH:-0}" != 0 ] && [ "$G_PROJECT" = 1 ] && [ "$arch" = x86_64 ]; then
		guest_add_program "$(guest_bench_build "$G_PROJECT_BUILD")" "$root" tests
		echo "${WW_BENCH_ARGS:---quick}" > "$root/tests/bench-args"
		G_BENCH=1
	fi
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$G_INITRD" ||
		die "guest_initramfs: packing $G_INITRD failed"
	rm -f "$dir"/built-in-run-*
	echo "$G_PROJECT $G_BENCH" > "$dir/built-in-run-$RUN_ID"
	log "initramfs for $arch: $G_INITRD ($(du -h "$G_INITRD" | cut -f1), project tests: $([ "$G_PROJECT" = 1 ] && echo yes || echo no)$([ "$G_BENCH" = 1 ] && echo ", ww_syncuffd")"
}
