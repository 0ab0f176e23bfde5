# Sourced by run-vm-tests.sh: builds a kernel from a Debian linux-source-X.Y
# package, cached under $WORK. Needs WORK, JOBS, log and die from the caller.
#
# Two cache levels, so that kernels built from one source share its tree:
#   $WORK/linux-src-KEY     the unpacked source with the patch series applied,
#                           KEY = hash of the package name and version and the
#                           patches;
#   $WORK/linux-ARCH-KEY    an out-of-tree build (O=), KEY = hash of the
#                           package version, the arch, the config fragments
#                           (names and contents, in merge order) and the
#                           patches.
# A build directory counts only once it holds .ww-done; an interrupted build
# resumes with make's own incremental rebuild.

# kernel_arch_settings ARCH: sets K_MAKE_ARGS (make variables) and K_IMAGE
# (the image target and its path in the build tree) for a supported arch.
kernel_arch_settings() {
	case "$1" in
	x86_64)
		K_MAKE_ARGS=(ARCH=x86)
		K_TARGET=bzImage
		K_IMAGE=arch/x86/boot/bzImage ;;
	arm64)
		K_MAKE_ARGS=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
		K_TARGET=Image
		K_IMAGE=arch/arm64/boot/Image ;;
	*) die "kernel_arch_settings: unknown arch '$1' (x86_64 or arm64)" ;;
	esac
}

# kernel_cache_key PACKAGE ARCH FRAGMENTS PATCHES: prints the build key.
# FRAGMENTS and PATCHES are space-separated file lists (PATCHES may be empty).
kernel_cache_key() {
	local pkg=$1 arch=$2 fragments=$3 patches=$4 version f
	version=$(dpkg-query -W -f='${Version}' "$pkg") ||
		die "kernel_cache_key: package $pkg is not installed"
	{
		echo "package $pkg $version arch $arch"
		for f in $fragments; do echo "fragment $(basename "$f")"; cat "$f"; done
		for f in $patches; do echo "patch $(basename "$f")"; cat "$f"; done
	} | sha256sum | cut -c1-16
}

# kernel_unpack PACKAGE PATCHES: prints the unpacked, patched source tree,
# unpacking it first unless cached.
kernel_unpack() {
	local pkg=$1 patches=$2 version key src tarball p lock
	version=$(dpkg-query -W -f='${Version}' "$pkg") ||
		die "kernel_unpack: package $pkg is not installed"
	key=$({ echo "source $pkg $version"; for p in $patches; do cat "$p"; done; } |
		sha256sum | cut -c1-16)
	src=$WORK/linux-src-$key
	lock_wait lock "$src.lock" "the source $pkg $version"
	if [ ! -f "$src/.ww-patched" ]; then
		tarball=/usr/src/$pkg.tar.xz
		[ -f "$tarball" ] || die "kernel_unpack: $tarball missing (package $pkg $version)"
		log "unpacking $tarball into $src" >&2
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xf "$tarball" -C "$src.tmp" --strip-components=1 ||
			die "kernel_unpack: could not unpack $tarball"
		for p in $patches; do
			log "applying $(basename "$p")" >&2
			patch -d "$src.tmp" -p1 -s --no-backup-if-mismatch < "$p" ||
				die "kernel_unpack: $p does not apply to $pkg $version"
		done
		touch "$src.tmp/.ww-patched"
		mv "$src.tmp" "$src"
	fi
	lock_release "$lock"
	echo "$src"
}

# kernel_configure SRC BUILD FRAGMENTS: tinyconfig + the fragments, then a
# check that every line of every fragment is in the final .config (a symbol
# that a dependency turned off would otherwise go unnoticed).
kernel_configure() {
	local src=$1 build=$2 fragments=$3 f line missing=()
	make -s -C "$src" O="$build" "${K_MAKE_ARGS[@]}" tinyconfig > "$build/config.log" 2>&1 ||
		die "kernel_configure: make tinyconfig failed in $build (log: $build/config.log)"
	# shellcheck disable=SC2086
	"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" $fragments \
		>> "$build/config.log" 2>&1 ||
		die "kernel_configure: merge_config.sh failed in $build (log: $build/config.log)"
	make -s -C "$src" O="$build" "${K_MAKE_ARGS[@]}" olddefconfig >> "$build/config.log" 2>&1 ||
		die "kernel_configure: make olddefconfig failed in $build (log: $build/config.log)"
	for f in $fragments; do
		while IFS= read -r line; do
			case "$line" in
			CONFIG_*|"# CONFIG_"*" is not set")
				grep -qxF "$line" "$build/.config" || missing+=("$line (from $(basename "$f"))") ;;
			esac
		done < "$f"
	done
	[ ${#missing[@]} -eq 0 ] ||
		die "kernel_configure: $build/.config lacks: ${missing[*]}"
	touch "$build/.ww-configured"
}

# kernel_build VAR PACKAGE ARCH FRAGMENTS PATCHES: builds (or finds cached)
# the kernel and stores the image path in the variable named VAR (which must
# not be one of this function's locals); K_BUILT says "cached" or "built in N s".
kernel_build() {
	local var=$1 pkg=$2 arch=$3 fragments=$4 patches=$5 key src build lock t0=$SECONDS
	kernel_arch_settings "$arch"
	key=$(kernel_cache_key "$pkg" "$arch" "$fragments" "$patches")
	build=$WORK/linux-$arch-$key
	lock_wait lock "$build.lock" "the kernel $pkg for $arch (key $key)"
	if [ -f "$build/.ww-done" ] && [ -f "$build/$K_IMAGE" ]; then
		lock_release "$lock"
		log "cached kernel $build/$K_IMAGE ($pkg, $arch, key $key)"
		K_BUILT=cached
		printf -v "$var" '%s' "$build/$K_IMAGE"
		return
	fi
	src=$(kernel_unpack "$pkg" "$patches")
	log "kernel $(make -s -C "$src" kernelversion) for $arch, key $key"
	mkdir -p "$build"
	[ -f "$build/.ww-configured" ] || kernel_configure "$src" "$build" "$fragments"
	log "building $K_TARGET (make -j$JOBS), log: $build/make.log"
	if ! make -C "$src" O="$build" "${K_MAKE_ARGS[@]}" -j"$JOBS" "$K_TARGET" > "$build/make.log" 2>&1; then
		tail -40 "$build/make.log"
		die "kernel_build: building $pkg for $arch failed (log: $build/make.log)"
	fi
	touch "$build/.ww-done"
	lock_release "$lock"
	K_BUILT="built in $((SECONDS - t0)) s"
	log "kernel $K_BUILT: $build/$K_IMAGE"
	printf -v "$var" '%s' "$build/$K_IMAGE"
}
