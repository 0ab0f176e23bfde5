# Sourced by the recipes of Debian's Wines (8.0, 10.0): Debian's source
# package with Debian's patches, the series, what the repacked tarball lacks,
# Debian's configure flags, ntdll.so and the two test programs, then a copied
# tree of Debian's installed Wine in which only ntdll.so is replaced.
#
# The recipe sets DEB_VERSION, SYSTEM (where Debian's Wine is installed, as
# seen from the host: "" on the host, $ROOT_DIR in a root) and defines
# debian_generate (the protocol files, as that version's debian/rules makes
# them). Commands of the build run through in_build_root.
MULTIARCH=x86_64-linux-gnu

debian_fetch() {
    local dir=$WORK/debian-source-$DEB_VERSION
    DSC=$dir/wine_$DEB_VERSION.dsc
    [ -f "$DSC" ] && return 0
    stage "download wine $DEB_VERSION source"
    mkdir -p "$dir"
    (cd "$dir" && logged "$WORK/download-$DEB_VERSION.log" in_build_root \
        apt-get -q -o APT::Sandbox::User=root source --download-only "wine=$DEB_VERSION")
    [ -f "$DSC" ] || die "apt-get source did not leave $DSC"
    stage_done
}

debian_unpack() {
    stage "unpack (Debian's patches applied by dpkg-source)"
    rm -rf "$SRC"
    mkdir -p "$BUILD/logs"
    logged "$BUILD/logs/unpack.log" dpkg-source -x "$DSC" "$SRC"
    stage_done "$(grep -c 'applying' "$BUILD/logs/unpack.log") Debian patches"
}

# What the repacked tarball lacks: the server protocol (debian_generate),
# configure, kernel32's tests, and every file a Makefile.in lists.
debian_prepare() {
    stage "prepare (generated files, stripped files, kernel32 tests, autoconf)"
    cd "$SRC"
    debian_generate
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
    trim_sock_test "$SRC"
    trim_kernel32_tests "$SRC"
    # configure and include/config.h.in are stripped too.
    logged "$BUILD/logs/autoconf.log" in_build_root sh -c 'autoconf && autoheader'
    # makedep stops on any listed file that is missing: give it placeholders.
    # NLS tables come from the installed Wine (wrc reads locale.nls), the
    # rest stays empty (those modules are never built here).
    local dir parent file n=0
    while IFS=$'\t' read -r dir parent file; do
        [ -e "$dir/$file" ] || [ -e "$dir/$parent/$file" ] && continue
        mkdir -p "$(dirname "$dir/$file")"
        case "$dir/$file" in
        nls/*.nls) cp "$SYSTEM/usr/share/wine/nls/$file" "$dir/$file" ||
                       die "no $SYSTEM/usr/share/wine/nls/$file to stand in for $dir/$file" ;;
        *) : >"$dir/$file" ;;
        esac
        echo "$dir/$file" >>"$BUILD/logs/placeholders.txt"
        n=$((n + 1))
    done < <(find . -name Makefile.in -not -path './debian/*' -not -path './.pc/*' -print0 | sort -z |
             xargs -0 awk -f "$HERE/lib/listed-sources.awk" | sed 's|^\./||')
    cd - >/dev/null
    stage_done "$n placeholders, listed in logs/placeholders.txt"
}

debian_configure() {
    stage "configure"
    cd "$SRC"
    # debian/rules' flags for amd64. Changed: tests enabled; maintainer mode
    # off (it wants fontforge and rsvg to rebuild fonts and icons); X,
    # freetype and gnutls off (other modules use them: no config.h macro that
    # dlls/ntdll/unix reads depends on them).
    logged "$BUILD/logs/configure.log" in_build_root env \
        DEB_BUILD_MAINT_OPTIONS="hardening=+all,-fortify,-stackprotector,-format optimize=-lto" \
        DEB_CFLAGS_MAINT_APPEND="-Wno-array-bounds -Wno-unused-function -Wno-format" \
        sh -c './configure "$@" CFLAGS="$(dpkg-buildflags --get CFLAGS)"' configure \
        --without-oss --without-sane --without-netapi --enable-werror \
        --libdir=/usr/lib/$MULTIARCH/wine --bindir=/usr/lib/wine \
        --mandir=/usr/share/man --includedir=/usr/include/wine --datarootdir=/usr/share/wine \
        LDFLAGS="" --enable-win64 --with-mingw ZLIB_PE_LIBS=z \
        --without-x --without-freetype --without-gnutls
    cd - >/dev/null
    stage_done
}

debian_make() {
    cd "$SRC"
    stage "make dlls/ntdll/ntdll.so"
    # VENDOR goes into `wine --version`. The runpath lets the patched
    # ntdll's dlopen("libwritewatch.so.0") find the copy next to it
    # ($ORIGIN, escaped for make and for the shell).
    logged "$BUILD/logs/make-ntdll.log" in_build_root make -j"$JOBS" dlls/ntdll/ntdll.so \
        VENDOR="$VENDOR" LDFLAGS='-Wl,-rpath,\$$ORIGIN'
    stage_done
    stage "make kernel32_test.exe ws2_32_test.exe"
    logged "$BUILD/logs/make-tests.log" in_build_root make -j"$JOBS" \
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

# Debian's wine64 with ntdll.so replaced. ntdll.so and the loader are real
# files of their own: Wine finds its dlls and data relative to their real
# paths.
debian_tree() {
    stage "install the copied tree"
    local tmp=$TREE.tmp unix=usr/lib/$MULTIARCH/wine/x86_64-unix
    rm -rf "$tmp"
    mkdir -p "$tmp/usr/lib/wine" "$tmp/usr/lib/$MULTIARCH" "$tmp/usr/share" "$tmp/tests"
    copy_from_system "$SYSTEM/usr/lib/$MULTIARCH/wine" "$tmp/usr/lib/$MULTIARCH"
    copy_from_system "$SYSTEM/usr/share/wine" "$tmp/usr/share"
    cp "$SYSTEM/usr/lib/wine/wine64" "$tmp/usr/lib/wine/wine64"
    copy_from_system "$SYSTEM/usr/lib/wine/wineserver64" "$tmp/usr/lib/wine"
    # ntdll.so execs bin_dir/wineserver: this tree's own server, persistence 0
    # as Debian's wrapper sets it.
    printf '#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/wineserver64" -p0 "$@"\n' >"$tmp/usr/lib/wine/wineserver"
    chmod 755 "$tmp/usr/lib/wine/wineserver"
    rm -f "$tmp/$unix/ntdll.so"
    cp "$OUT/ntdll.so" "$tmp/$unix/ntdll.so"
    cp "$OUT/kernel32_test.exe" "$OUT/ws2_32_test.exe" "$OUT/virtual.c" "$OUT/sock.c" "$tmp/tests/"
    rm -rf "$TREE"
    mv "$tmp" "$TREE"
    write_launchers "$TREE" "$TREE/usr/lib/wine/wine64" "$TREE/usr/lib/wine/wineserver"
    check_tree_version "$TREE" "$VENDOR" "copied tree"
    touch "$TREE/.ww-done"
    stage_done "$TREE_VERSION"
}

# Stock is Debian's own Wine, as installed on the host or in the root.
debian_stock_tree() {
    TREE=$WORK/wine-$DEB_VERSION-debian${ROOT_SUITE:+-$ROOT_SUITE}
    mkdir -p "$TREE"
    # In a root the launchers run the root's own /usr/lib/wine.
    write_launchers "$TREE" /usr/lib/wine/wine64 /usr/lib/wine/wineserver
}

debian_build() {
    BUILD=$WORK/build-$KEY
    SRC=$BUILD/src
    OUT=$BUILD/out
    TREE=$WORK/wine-$KEY
    VENDOR="Debian $DEB_VERSION, writewatch series $KEY"
    if [ -f "$OUT/.ww-done" ]; then
        log "cached build $OUT: nothing to build"
    else
        debian_fetch
        debian_unpack
        apply_series "$SRC" "${SERIES[@]}"
        debian_prepare
        debian_configure
        debian_make
        touch "$OUT/.ww-done"
    fi
    if [ -f "$TREE/.ww-done" ]; then
        log "cached tree $TREE"
    else
        debian_tree
    fi
    LIBRARY_DIR=$TREE/usr/lib/$MULTIARCH/wine/x86_64-unix
}
