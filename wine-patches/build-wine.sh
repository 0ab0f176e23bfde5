#!/bin/bash
# Build Debian's Wine 8.0 (source package wine 8.0~repack-4) with the
# wine-patches/wine-8.0 series, and install it as a copied tree of Debian's
# wine64 in which only ntdll.so is replaced.
#
#   wine-patches/build-wine.sh
#
# Builds dlls/ntdll/ntdll.so (the unix side, where write watches live) and,
# with mingw, kernel32_test.exe and ws2_32_test.exe from the same patched
# tree. The library of this checkout (meson, in build-wine-lib/) goes into the
# copied tree next to ntdll.so, where the patched ntdll's
# dlopen("libwritewatch.so.0") finds it (see README.md).
#
# Progress goes to stderr; the last line on stdout is the patched loader:
#   LOADER=$(wine-patches/build-wine.sh | tail -n 1); "$LOADER" program.exe
#
# Environment:
#   WW_WINEWORK  cache directory (default /var/cache/writewatch/wine)
#   WW_JOBS      make -j value (default 2)
#
# The Wine build is cached under $WW_WINEWORK keyed by a hash of the series,
# this script (and its lib/) and the Debian version: a second run with the
# same inputs only refreshes the library in the tree.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$REPO/scripts/lib/fail-loudly.sh"
source "$REPO/scripts/lib/meson-build.sh"

DEB_VERSION=8.0~repack-4
# The protocol of Debian's wineserver 8.0: a rebuilt ntdll.so must speak it.
SERVER_PROTOCOL=758
MULTIARCH=x86_64-linux-gnu
WORK=${WW_WINEWORK:-/var/cache/writewatch/wine}
JOBS=${WW_JOBS:-2}
SERIES_DIR=$HERE/wine-8.0
LIB_BUILD=$REPO/build-wine-lib

log() { echo "[build-wine $(date -u +%H:%M:%S)] $*" >&2; }
# stage NAME: announce a stage; stage_done prints how long it took.
stage() { STAGE=$1; STAGE_T0=$SECONDS; log "$STAGE ..."; }
stage_done() { log "$STAGE: done in $((SECONDS - STAGE_T0)) s${1:+ ($1)}"; }
# logged LOGFILE COMMAND...: run quietly; on failure show the log's tail.
logged() {
    local logfile=$1
    shift
    if ! "$@" >"$logfile" 2>&1; then
        tail -n 40 "$logfile" >&2
        die "$STAGE failed: '$*' (full log: $logfile)"
    fi
}

# ---- packages ----------------------------------------------------------------
# deb-src for bookworm, so that apt-get source finds Debian's Wine.
DEB_SRC_FILE=/etc/apt/sources.list.d/writewatch-deb-src.sources
DEB_SRC_ENTRY='Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'

install_packages() {
    stage "packages"
    if [ "$(cat "$DEB_SRC_FILE" 2>/dev/null)" != "$DEB_SRC_ENTRY" ]; then
        [ "$(id -u)" = 0 ] || die "not root: cannot write $DEB_SRC_FILE"
        printf '%s\n' "$DEB_SRC_ENTRY" >"$DEB_SRC_FILE"
        log "wrote $DEB_SRC_FILE"
    fi
    # The library's build (profile "build"), then what the Wine build needs
    # beyond what a fresh Debian 12 has: flex and bison (Wine's tools),
    # autoconf (configure is stripped), libunwind-dev (Debian's ntdll.so links
    # it), mingw (the PE side and the tests), and wine64 itself (the tree).
    bash "$REPO/scripts/install-deps.sh" build \
        flex bison autoconf libunwind-dev gcc-mingw-w64-x86-64 wine64 dpkg-dev make patch ||
        die "installing the packages failed"
    local have
    have=$(dpkg-query -W -f='${Version}' wine64)
    [ "$have" = "$DEB_VERSION" ] ||
        die "installed wine64 is $have, but this script builds $DEB_VERSION: the copied tree must match the rebuilt ntdll.so"
    if ! apt-cache showsrc wine 2>/dev/null | grep -qx "Version: $DEB_VERSION"; then
        log "apt-get update (no source index for wine $DEB_VERSION yet)"
        apt-get update -qq || die "apt-get update failed"
        apt-cache showsrc wine 2>/dev/null | grep -qx "Version: $DEB_VERSION" ||
            die "apt knows no source package wine $DEB_VERSION (is $DEB_SRC_FILE used?)"
    fi
    stage_done
}

# ---- the cache key -------------------------------------------------------------
shopt -s nullglob
SERIES=("$SERIES_DIR"/*.patch)
shopt -u nullglob
cache_key() {
    {
        echo "wine $DEB_VERSION"
        cat "$HERE/build-wine.sh" "$HERE"/lib/*
        local p
        for p in "${SERIES[@]}"; do
            echo "patch ${p##*/}"
            cat "$p"
        done
    } | sha256sum | cut -c1-16
}

# ---- source --------------------------------------------------------------------
# Debian's source package, downloaded once; dpkg-source applies Debian's patches.
fetch_source() {
    local dir=$WORK/debian-source
    DSC=$dir/wine_$DEB_VERSION.dsc
    [ -f "$DSC" ] && return 0
    stage "download wine $DEB_VERSION source"
    mkdir -p "$dir"
    logged "$WORK/download.log" sh -c "cd '$dir' && apt-get -q -o APT::Sandbox::User=root source --download-only wine=$DEB_VERSION"
    [ -f "$DSC" ] || die "apt-get source did not leave $DSC"
    stage_done
}

unpack_source() {
    stage "unpack (Debian's patches applied by dpkg-source)"
    rm -rf "$SRC"
    mkdir -p "$BUILD/logs"
    logged "$BUILD/logs/unpack.log" dpkg-source -x "$DSC" "$SRC"
    stage_done "$(grep -c 'applying' "$BUILD/logs/unpack.log") Debian patches"

    stage "apply the series (${#SERIES[@]} patches)"
    local p
    for p in "${SERIES[@]}"; do
        log "  ${p##*/}"
        patch -d "$SRC" -p1 -N -s --batch --fuzz=0 --no-backup-if-mismatch <"$p" >>"$BUILD/logs/series.log" 2>&1 || {
            cat "$BUILD/logs/series.log" >&2
            die "patch ${p##*/} does not apply to Debian's wine $DEB_VERSION"
        }
    done
    stage_done
}

# ---- files the repacked tarball lacks ------------------------------------------
prepare_source() {
    stage "prepare (generated files, stripped files, kernel32 tests, autoconf)"
    cd "$SRC"
    # The server protocol files, made the way debian/rules makes them.
    ./debian/scripts/generate server/trace.generated make_requests
    ./debian/scripts/generate server/request.generated make_requests
    logged "$BUILD/logs/make_requests.log" ./tools/make_requests
    local protocol
    protocol=$(awk '/#define SERVER_PROTOCOL_VERSION/ {print $3}' include/wine/server_protocol.h)
    [ "$protocol" = "$SERVER_PROTOCOL" ] ||
        die "server protocol is '$protocol', Debian's wineserver speaks $SERVER_PROTOCOL (does the series change the server?)"
    # autoconf ships these two; debian/rules takes them from autotools-dev.
    ln -sf /usr/share/autoconf/build-aux/config.sub tools/config.sub
    ln -sf /usr/share/autoconf/build-aux/config.guess tools/config.guess
    # As debian/rules does on amd64: the system zlib, not the bundled copy.
    rm -rf libs/zlib
    # Debian drops kernel32's tests from configure.ac; put them back.
    if ! grep -qx 'WINE_CONFIG_MAKEFILE(dlls/kernel32/tests)' configure.ac; then
        sed -i 's|^WINE_CONFIG_MAKEFILE(dlls/kernel32)$|&\nWINE_CONFIG_MAKEFILE(dlls/kernel32/tests)|' configure.ac
        grep -qx 'WINE_CONFIG_MAKEFILE(dlls/kernel32/tests)' configure.ac ||
            die "could not re-enable dlls/kernel32/tests in configure.ac"
    fi
    # configure and include/config.h.in are stripped too.
    logged "$BUILD/logs/autoconf.log" sh -c 'autoconf && autoheader'
    # makedep stops on any listed file that is missing: give it placeholders.
    # NLS tables come from the installed Wine (wrc reads locale.nls),
    # kernel32's stripped generated.c (a test Wine generates) becomes an empty
    # test, the rest stays empty (those modules are never built here).
    local dir parent file n=0
    while IFS=$'\t' read -r dir parent file; do
        [ -e "$dir/$file" ] || [ -e "$dir/$parent/$file" ] && continue
        mkdir -p "$(dirname "$dir/$file")"
        case "$dir/$file" in
        nls/*.nls) cp "/usr/share/wine/nls/$file" "$dir/$file" || die "no /usr/share/wine/nls/$file to stand in for $dir/$file" ;;
        dlls/kernel32/tests/generated.c) printf '#include "wine/test.h"\n\n/* stripped by Debian: an empty test stands in */\nSTART_TEST(generated)\n{\n}\n' >"$dir/$file" ;;
        *) : >"$dir/$file" ;;
        esac
        echo "$dir/$file" >>"$BUILD/logs/placeholders.txt"
        n=$((n + 1))
    done < <(find . -name Makefile.in -not -path './debian/*' -not -path './.pc/*' -print0 | sort -z |
             xargs -0 awk -f "$HERE/lib/listed-sources.awk" | sed 's|^\./||')
    cd - >/dev/null
    stage_done "$n placeholders, listed in logs/placeholders.txt"
}

# ---- configure and make --------------------------------------------------------
configure_wine() {
    stage "configure"
    cd "$SRC"
    # debian/rules' flags for amd64. Changed: tests enabled; maintainer mode
    # off (it wants fontforge and rsvg to rebuild fonts and icons); X,
    # freetype and gnutls off (other modules use them: no config.h macro that
    # dlls/ntdll/unix reads depends on them).
    export DEB_BUILD_MAINT_OPTIONS="hardening=+all,-fortify,-stackprotector,-format optimize=-lto"
    export DEB_CFLAGS_MAINT_APPEND="-Wno-array-bounds -Wno-unused-function -Wno-format"
    logged "$BUILD/logs/configure.log" ./configure \
        --without-oss --without-sane --without-netapi --enable-werror \
        --libdir=/usr/lib/$MULTIARCH/wine --bindir=/usr/lib/wine \
        --mandir=/usr/share/man --includedir=/usr/include/wine --datarootdir=/usr/share/wine \
        LDFLAGS="" CFLAGS="$(dpkg-buildflags --get CFLAGS)" \
        --enable-win64 --with-mingw ZLIB_PE_LIBS=z \
        --without-x --without-freetype --without-gnutls
    cd - >/dev/null
    stage_done
}

make_wine() {
    cd "$SRC"
    stage "make dlls/ntdll/ntdll.so"
    # VENDOR goes into `wine64 --version`. The runpath lets the patched
    # ntdll's dlopen("libwritewatch.so.0") find the copy next to it
    # ($ORIGIN, escaped for make and for the shell).
    logged "$BUILD/logs/make-ntdll.log" make -j"$JOBS" dlls/ntdll/ntdll.so \
        VENDOR="$VENDOR" LDFLAGS='-Wl,-rpath,\$$ORIGIN'
    stage_done
    stage "make kernel32_test.exe ws2_32_test.exe"
    logged "$BUILD/logs/make-tests.log" make -j"$JOBS" \
        dlls/kernel32/tests/x86_64-windows/kernel32_test.exe \
        dlls/ws2_32/tests/x86_64-windows/ws2_32_test.exe
    stage_done
    cd - >/dev/null
    # The tests' sources go along: run-wine-tests.sh finds test_write_watch
    # in them, and a failing check's line can be read there.
    mkdir -p "$OUT"
    cp "$SRC/dlls/ntdll/ntdll.so" "$SRC/dlls/kernel32/tests/x86_64-windows/kernel32_test.exe" \
        "$SRC/dlls/ws2_32/tests/x86_64-windows/ws2_32_test.exe" \
        "$SRC/dlls/kernel32/tests/virtual.c" "$SRC/dlls/ws2_32/tests/sock.c" "$OUT/"
}

# ---- the copied tree -------------------------------------------------------------
# Debian's wine64 with ntdll.so replaced. Hard links where the cache shares a
# file system with /usr (a later upgrade of the package replaces its files,
# the links keep the old ones), copies elsewhere. ntdll.so and the loader are
# real files of their own: Wine finds its dlls and data relative to their
# real paths.
copy_from_system() { # SRC DESTDIR
    cp -al "$1" "$2/" 2>/dev/null || { rm -rf "$2/${1##*/}"; cp -a "$1" "$2/"; }
}

install_tree() {
    stage "install the copied tree"
    local tmp=$TREE.tmp unix=usr/lib/$MULTIARCH/wine/x86_64-unix
    rm -rf "$tmp"
    mkdir -p "$tmp/usr/lib/wine" "$tmp/usr/lib/$MULTIARCH" "$tmp/usr/share" "$tmp/tests"
    copy_from_system /usr/lib/$MULTIARCH/wine "$tmp/usr/lib/$MULTIARCH"
    copy_from_system /usr/share/wine "$tmp/usr/share"
    cp /usr/lib/wine/wine64 "$tmp/usr/lib/wine/wine64"
    copy_from_system /usr/lib/wine/wineserver64 "$tmp/usr/lib/wine"
    # ntdll.so execs bin_dir/wineserver: this tree's own server, persistence 0
    # as Debian's wrapper sets it.
    printf '#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/wineserver64" -p0 "$@"\n' >"$tmp/usr/lib/wine/wineserver"
    chmod 755 "$tmp/usr/lib/wine/wineserver"
    rm -f "$tmp/$unix/ntdll.so"
    cp "$OUT/ntdll.so" "$tmp/$unix/ntdll.so"
    cp "$OUT/kernel32_test.exe" "$OUT/ws2_32_test.exe" "$OUT/virtual.c" "$OUT/sock.c" "$tmp/tests/"
    local version
    version=$("$tmp/usr/lib/wine/wine64" --version 2>&1) || die "the copied tree's wine64 --version failed: $version"
    [[ "$version" == *"$VENDOR"* ]] || die "the copied tree does not run the rebuilt ntdll.so: '$version'"
    rm -rf "$TREE"
    mv "$tmp" "$TREE"
    touch "$TREE/.ww-done"
    stage_done "$version"
}

# ---- the library -------------------------------------------------------------------
# Built in the checkout (not the cache: every checkout builds its own), the
# shared library target named "writewatch", installed into the tree under
# its soname, next to ntdll.so. Refreshed on every run.
install_library() {
    stage "library (meson + ninja in ${LIB_BUILD#"$REPO"/})"
    # A release build, like the main job's native one that the benchmark compares with.
    (cd "$REPO" && setup_build "$LIB_BUILD" -Dtests=false --buildtype=release) >"$WORK/library-setup.log" 2>&1 || {
        tail -n 30 "$WORK/library-setup.log" >&2; die "meson setup $LIB_BUILD failed"; }
    local file soname unix=$TREE/usr/lib/$MULTIARCH/wine/x86_64-unix
    file=$(meson introspect --targets "$LIB_BUILD" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["name"] == "writewatch" and t["type"] == "shared library":
        print(t["filename"][0])')
    [ -n "$file" ] || die "no shared library target 'writewatch' in $LIB_BUILD"
    logged "$WORK/library-ninja.log" ninja -C "$LIB_BUILD" "${file#"$LIB_BUILD"/}"
    soname=$(readelf -d "$file" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
    [ -n "$soname" ] || die "$file has no soname"
    if ldd "$file" | grep -q 'not found'; then
        ldd "$file" >&2
        die "$file needs libraries that are not installed"
    fi
    # Atomic replace: a Wine still running keeps the file it mapped.
    cp "$file" "$unix/.$soname.tmp"
    mv "$unix/.$soname.tmp" "$unix/$soname"
    stage_done "$soname from $file"
    check_dlopen "$unix/$soname"
}

# The patched ntdll loads the library at run time; say so loudly when a
# dlopen of it fails (a library with more initial-exec TLS than glibc keeps
# spare for dlopen fails with "cannot allocate memory in static TLS block").
# Not fatal: the patched ntdll decides what to do without it, and
# run-wine-tests.sh's kernel check shows the result.
check_dlopen() {
    local why
    if why=$(python3 -c '
import ctypes, sys
try:
    ctypes.CDLL(sys.argv[1])
except OSError as e:
    print(e); sys.exit(1)' "$1"); then
        log "dlopen(${1##*/}) works"
    else
        log "WARNING: dlopen of ${1##*/} fails here, so the patched ntdll's will too: $why"
    fi
}

# ---- main ------------------------------------------------------------------------------
T0=$SECONDS
install_packages
mkdir -p "$WORK"
exec 9>"$WORK/.lock"
flock -n 9 || { log "waiting for another build-wine.sh using $WORK"; flock 9; }
KEY=$(cache_key)
BUILD=$WORK/build-$KEY
SRC=$BUILD/src
OUT=$BUILD/out
TREE=$WORK/wine-$KEY
VENDOR="Debian $DEB_VERSION, writewatch series $KEY"
log "series: ${#SERIES[@]} patch(es) in ${SERIES_DIR#"$REPO"/}, cache key $KEY, cache $WORK"

if [ -f "$OUT/.ww-done" ]; then
    log "cached build $OUT: nothing to build"
else
    fetch_source
    unpack_source
    prepare_source
    configure_wine
    make_wine
    touch "$OUT/.ww-done"
fi
if [ -f "$TREE/.ww-done" ]; then
    log "cached tree $TREE"
else
    install_tree
fi
install_library
log "ready in $((SECONDS - T0)) s: $("$TREE/usr/lib/wine/wine64" --version)"
echo "$TREE/usr/lib/wine/wine64"
