#!/usr/bin/env bash
# Builds writewatch the way a Proton tree needs it: in a Debian 11
# (bullseye) root, the base of Steam Runtime 3 "sniper" where Proton is built
# and its Wine runs, with bullseye's own gcc 10, libstdc++, glibc 2.31, fmt
# 7 and Catch2 2.13. Then:
#   - the meson suites, inside the root;
#   - the symbol versions both shared libraries need (objdump -T): no
#     GLIBC_ above 2.31 and nothing newer than the root's own libc and
#     libstdc++ define (scripts/check-symbol-versions.sh);
#   - the libraries and their headers copied to DIST, which is the last line
#     printed, ready for a Proton tree (README, "Proton builds").
#
#   scripts/build-for-proton.sh [--no-tests | --root-only]
#
# --root-only makes (or finds) the root and stops, installing nothing on
# this host (the test command makes it ahead of the stage that needs it).
#
# Environment: WW_ROOTS (where roots are cached, default
# /var/cache/writewatch/roots), WW_PROTON_BUILD (the build directory,
# default build-proton in this checkout; DIST is its dist/).
#
# Meson: bullseye has 0.56.2, the project needs >= 1.0. Debian 12's meson
# (1.0.1, an arch-all Python package that runs on bullseye's Python 3.9) is
# installed into the root; it generates ninja files only, so the compilers,
# libraries and headers stay bullseye's.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/lib/fail-loudly.sh
source scripts/lib/debian-root.sh
source scripts/lib/meson-build.sh
log() { echo "[build-for-proton $(date -u +%H:%M:%S)] $*" >&2; }
# Everything but the last line goes to stderr.
exec 3>&1 1>&2

tests=1 root_only=0
case "${1:-}" in
"") ;;
--no-tests) tests=0 ;;
--root-only) root_only=1 ;;
*) die "unknown argument '$1' (--no-tests, --root-only)" ;;
esac
build=${WW_PROTON_BUILD:-$here/build-proton}
case "$build" in /*) ;; *) build=$here/$build ;; esac

[ "$root_only" = 1 ] || bash scripts/install-deps.sh build debootstrap binutils
root_ensure bullseye proton g++ pkg-config ninja-build python3 python3-pkg-resources python3-setuptools \
    libfmt-dev catch2 libwine-dev binutils
root=$ROOT_DIR
[ "$root_only" = 0 ] || exit 0
# The checkout, and the build directory's parent when it lies outside it.
binds=(--bind "$here")
[[ "$build" == "$here"/* ]] || binds+=(--bind "$(dirname "$build")")
in_root() { root_run "$root" "${binds[@]}" --cd "$here" -- "$@"; }

# Debian 12's meson in the root, once per root.
if [ ! -f "$root/.ww-meson" ]; then
    debs=$ROOTS/debs
    mkdir -p "$debs"
    (cd "$debs" && apt-get download meson >/dev/null 2>&1) ||
        { apt-get update -qq && (cd "$debs" && apt-get download meson >/dev/null); } ||
        die "could not download Debian 12's meson package"
    deb=$(ls -t "$debs"/meson_*_all.deb | head -n 1)
    cp "$deb" "$root/tmp/"
    root_run "$root" -- dpkg -i "/tmp/${deb##*/}" >"$root.meson.log" 2>&1 ||
        { cat "$root.meson.log" >&2; die "installing ${deb##*/} into the bullseye root failed"; }
    touch "$root/.ww-meson"
fi
log "in the bullseye root: $(in_root sh -c 'echo "meson $(meson --version), $(g++ --version | head -n 1), $(ldd --version | head -n 1)"')"

# The build, with bullseye's toolchain.
if [ -f "$build/build.ninja" ]; then
    in_root meson setup --reconfigure "$build" -Dbundle_runpath=true >/dev/null ||
        die "meson setup --reconfigure $build failed (in the root)"
else
    rm -rf "$build"
    in_root meson setup "$build" --buildtype=release -Dwerror=true -Dbundle_runpath=true ||
        die "meson setup $build failed (in the root)"
fi
in_root ninja -C "$build" || die "the build failed in the bullseye root (ninja -C $build)"

libs=()
while IFS= read -r f; do libs+=("$f"); done < <(shared_libraries "$build")
[ ${#libs[@]} -eq 2 ] || die "expected two shared libraries in $build, found: ${libs[*]:-none}"

if [ $tests = 1 ]; then
    log "the meson suites in the bullseye root"
    in_root meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 ||
        die "meson test failed in the bullseye root (log: $build/meson-logs/testlog.txt)"
    bash scripts/check-symbol-versions.sh --root "$root" "${libs[@]}" ||
        die "the libraries need symbol versions bullseye does not have"
fi

# What a Proton tree takes: the libraries (soname and real file) and headers,
# as meson installs them: the build tree's runpaths replaced by the
# install's, so that libwritewatch-kernelbase finds the libwritewatch beside
# it ($ORIGIN, -Dbundle_runpath) and nothing in this build directory.
dist=$build/dist staged=$build/staged
rm -rf "$dist" "$staged"
in_root meson install -C "$build" --no-rebuild --destdir "$staged" >"$build/install.log" 2>&1 ||
    { cat "$build/install.log"; die "meson install into $staged failed (in the root)"; }
mkdir -p "$dist/lib" "$dist/include"
for f in "${libs[@]}"; do
    soname=$(soname_of "$f")
    installed=$(find "$staged" -type f -name "${f##*/}" | head -n 1)
    [ -n "$installed" ] || die "meson install left no ${f##*/} in $staged"
    cp "$installed" "$dist/lib/${f##*/}"
    [ "$soname" = "${f##*/}" ] || ln -sf "${f##*/}" "$dist/lib/$soname"
done
cp -r include/writewatch "$dist/include/"
rm -rf "$staged"
kernelbase=$dist/lib/libwritewatch-kernelbase.so.0
runpath=$(readelf -d "$kernelbase" | sed -n 's/.*Library runpath: \[\(.*\)\].*/\1/p')
[ "$runpath" = '$ORIGIN' ] || die "$kernelbase has the runpath '$runpath', not \$ORIGIN"
# Loaded in the root, where no libwritewatch is installed, with no library
# path: only the runpath can find the copy beside it.
in_root env -u LD_LIBRARY_PATH "$build/tests/dlopen-check" "$kernelbase" libwritewatch.so.0 ||
    die "$kernelbase does not load the libwritewatch.so.0 beside it"
log "ready: $(cd "$dist" && find . -type f -o -type l | sort | tr '\n' ' ')"
echo "$dist" >&3
