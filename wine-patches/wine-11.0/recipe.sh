# The recipe of Wine 11.0 (sourced by build-wine.sh): the Wine 11.0 tree of
# ../shared/wine (wine-11.0.tar.xz; its README says what it is), built in a
# Debian 13 root, whose linux-libc-dev (6.12) has the userfaultfd and
# PAGEMAP_SCAN definitions: with Debian 12's 6.1 headers Wine's own kernel
# write-watch path would compile to empty stubs.
#
# One build serves both Wines. The stock tree is that source built out of
# tree, the modules the tests need and no more (WINE11_ROOTS), and runs
# from its build directory. The patched tree is a hard-linked copy of it in
# which only dlls/ntdll/ntdll.so and the test programs the series changes
# differ: the series applied to a copy of the source, configured the same
# way, and `make` of ntdll.so and those test programs.
WINE_LABEL="Wine 11.0 (wine-tkg 0e76ac9c5, ../shared/wine)"
ROOT_SUITE=trixie
ROOT_PACKAGES=(wine64 dpkg-dev strace build-dep:wine)
WINE11_SHA256=edbd7fd88e751221513afa83a65612e3f5486d1bc7ed9e61302bf18fd624adbb
# Where the tarball may be: $WW_WINE11_TARBALL, beside the checkout (the
# development layout), or the machine's shared directory.
WINE11_TARBALLS=("${WW_WINE11_TARBALL:-}" "$REPO/../shared/wine/wine-11.0.tar.xz" /work/shared/wine/wine-11.0.tar.xz)
# Optimised as Wine's default, but without debug information (its -g): no
# test reads it and the build is smaller; it is not faster (1222 objects in
# 631 s without -g, 640 s with it).
WINE11_CONFIGURE=(--enable-win64 --without-x --without-freetype --disable-win16 CFLAGS=-O2 CROSSCFLAGS=-O2)
# What the test programs and a prefix need at run time, found by booting a
# prefix and running the tests: the loader, the server, the NLS tables; the
# programs wineboot starts (services, the device and plug-and-play services,
# rpcss, explorer, conhost, start, rundll32, svchost); the dlls and drivers
# wine.inf installs or copies from (setupapi, shell32, mscms, atl, the HID,
# USB, Bluetooth and input drivers); the delay-loaded ones wineboot and
# explorer call (ole32, newdev, cryptbase, apisetschema, comctl32, oleaut32,
# shlwapi, version, wininet); the sockets stack (ws2_32, iphlpapi, nsi, nsiproxy.sys);
# and the two test programs. lib/import-closure.py adds what these import
# (Makefile.in IMPORTS, to the end), and the winmd files wine.inf copies are
# made too (without them its installation retries a missing file forever).
WINE11_ROOTS="
ntdll kernel32 kernelbase user32 advapi32 msvcrt ucrtbase
wineboot services winedevice rpcss plugplay conhost explorer start rundll32 svchost
setupapi shell32 mscms atl mountmgr.sys ntoskrnl.exe hal
hidclass.sys mouhid.sys winebth.sys winebus.sys winehid.sys wineusb.sys winexinput.sys
ole32 newdev cryptbase apisetschema comctl32 oleaut32 shlwapi version wininet
ws2_32 iphlpapi nsi nsiproxy.sys
dlls/kernel32/tests dlls/ws2_32/tests"

recipe_packages() {
    bash "$REPO/scripts/install-deps.sh" build patch debootstrap xz-utils || die "installing the packages failed"
}

wine11_tarball() {
    local t
    for t in "${WINE11_TARBALLS[@]}"; do
        [ -n "$t" ] && [ -f "$t" ] && { echo "$t"; return; }
    done
    die "no wine-11.0.tar.xz (looked in: ${WINE11_TARBALLS[*]}; set WW_WINE11_TARBALL)"
}

# The unpacked source, pristine but for the test programs' trims
# (trim_sock_test, trim_kernel32_tests); once per tarball and trims.
wine11_source() {
    WINE11_SRC=$WORK/wine-11.0-src-$({ echo "$WINE11_SHA256"; declare -f trim_sock_test trim_kernel32_tests; } |
        sha256sum | cut -c1-16)
    [ -f "$WINE11_SRC/.ww-done" ] && return
    local tarball
    tarball=$(wine11_tarball)
    stage "unpack $tarball"
    echo "$WINE11_SHA256  $tarball" | sha256sum -c --quiet - ||
        die "$tarball is not the tarball this recipe knows (sha256 $WINE11_SHA256)"
    rm -rf "$WINE11_SRC" "$WINE11_SRC.tmp"
    mkdir -p "$WINE11_SRC.tmp"
    tar -xf "$tarball" -C "$WINE11_SRC.tmp" --strip-components=1 || die "could not unpack $tarball"
    trim_sock_test "$WINE11_SRC.tmp"
    trim_kernel32_tests "$WINE11_SRC.tmp"
    touch "$WINE11_SRC.tmp/.ww-done"
    mv "$WINE11_SRC.tmp" "$WINE11_SRC"
    stage_done
}

# The stock tree: the modules built out of tree; its key covers what
# builds it, not the series.
wine11_stock() {
    local key
    key=$({ echo "wine 11.0 stock $WINE11_SHA256 ${WINE11_CONFIGURE[*]} $WINE11_ROOTS"
            cat "$RECIPE" "$HERE"/lib/build-steps.sh "$HERE"/lib/import-closure.py "$REPO/scripts/lib/debian-root.sh"; } |
          sha256sum | cut -c1-16)
    STOCK_TREE=$WORK/wine-11.0-stock-$key
    [ -f "$STOCK_TREE/.ww-done" ] && { log "cached stock Wine 11 $STOCK_TREE"; return; }
    wine11_source
    local build=$STOCK_TREE.tmp/build targets=() m
    rm -rf "$STOCK_TREE.tmp"
    mkdir -p "$build" "$STOCK_TREE.tmp/logs" "$STOCK_TREE.tmp/tests"
    stage "configure Wine 11 (out of tree, in the $ROOT_SUITE root)"
    # Its answers are kept (config.cache) for the patched source's configure.
    (cd "$build" && logged "$STOCK_TREE.tmp/logs/configure.log" in_build_root \
        "$WINE11_SRC/configure" --cache-file=config.cache "${WINE11_CONFIGURE[@]}")
    grep -q '^#define HAVE_LINUX_USERFAULTFD_H 1' "$build/include/config.h" ||
        die "configure found no linux/userfaultfd.h: Wine's own kernel write watches would be stubs"
    stage_done
    for m in loader server nls $(python3 "$HERE/lib/import-closure.py" "$WINE11_SRC" $WINE11_ROOTS); do
        targets+=("$m/all")
    done
    targets+=($(grep -o 'include/[a-z0-9.]*\.winmd' "$build/Makefile" | sort -u))
    stage "make the ${#targets[@]} modules and files the tests need (make -j$JOBS; log: $STOCK_TREE/logs/make.log)"
    (cd "$build" && logged_with_progress "$STOCK_TREE.tmp/logs/make.log" in_build_root make -j"$JOBS" wine "${targets[@]}")
    stage_done "$(grep -c -- ' -c -o ' "$STOCK_TREE.tmp/logs/make.log") objects"
    cp "$build/dlls/kernel32/tests/x86_64-windows/kernel32_test.exe" "$build/dlls/ws2_32/tests/x86_64-windows/ws2_32_test.exe" \
        "$WINE11_SRC/dlls/kernel32/tests/virtual.c" "$WINE11_SRC/dlls/ws2_32/tests/sock.c" "$STOCK_TREE.tmp/tests/"
    rm -rf "$STOCK_TREE"
    mv "$STOCK_TREE.tmp" "$STOCK_TREE"
    # The launchers name the tree's final paths.
    write_launchers "$STOCK_TREE" "$STOCK_TREE/build/wine" "$STOCK_TREE/build/server/wineserver"
    touch "$STOCK_TREE/.ww-done"
}

recipe_stock_tree() {
    wine11_stock
    TREE=$STOCK_TREE
}

# ntdll.so with the series: a copy of the source, patched, configured the
# same way out of tree, its version string marked with the series' key.
wine11_patched_ntdll() {
    BUILD=$WORK/build-11.0-$KEY
    [ -f "$BUILD/.ww-done" ] && { log "cached patched ntdll.so $BUILD"; return; }
    wine11_source
    rm -rf "$BUILD"
    mkdir -p "$BUILD/logs" "$BUILD/build"
    stage "copy the source for the series"
    cp -a "$WINE11_SRC" "$BUILD/src"
    stage_done
    apply_series "$BUILD/src" "${SERIES[@]}"
    stage "configure the patched source (out of tree, the stock configure's answers)"
    cp "$STOCK_TREE/build/config.cache" "$BUILD/build/config.cache" ||
        die "the stock tree $STOCK_TREE has no config.cache"
    (cd "$BUILD/build" && logged "$BUILD/logs/configure.log" in_build_root \
        "$BUILD/src/configure" --cache-file=config.cache "${WINE11_CONFIGURE[@]}")
    # `wine --version` of the patched tree shows the series' key.
    sed -i "s/const char wine_build\\[\\] = \"\\\\1/&, writewatch series $KEY/" "$BUILD/build/Makefile"
    grep -q "writewatch series $KEY" "$BUILD/build/Makefile" ||
        die "could not mark the version string in $BUILD/build/Makefile"
    stage_done
    stage "make dlls/ntdll/ntdll.so"
    (cd "$BUILD/build" && logged "$BUILD/logs/make-ntdll.log" in_build_root \
        make -j"$JOBS" dlls/ntdll/ntdll.so LDFLAGS='-Wl,-rpath,\$$ORIGIN')
    stage_done
    # The test programs whose sources the series changes, from the patched
    # source (the others are the stock tree's).
    local tests=()
    mapfile -t tests < <(series_targets | grep '_test\.exe$')
    if [ "${#tests[@]}" -gt 0 ]; then
        stage "make ${tests[*]##*/} (log: $BUILD/logs/make-tests.log)"
        (cd "$BUILD/build" && logged_with_progress "$BUILD/logs/make-tests.log" in_build_root make -j"$JOBS" "${tests[@]}")
        stage_done "$(grep -c -- ' -c -o ' "$BUILD/logs/make-tests.log") objects"
    fi
    touch "$BUILD/.ww-done"
}

recipe_build() {
    wine11_stock
    wine11_patched_ntdll
    TREE=$WORK/wine-11.0-$KEY
    LIBRARY_DIR=$TREE/build/dlls/ntdll
    if [ -f "$TREE/.ww-done" ]; then
        log "cached tree $TREE"
        return
    fi
    stage "the patched tree (hard links to the stock one, ntdll.so replaced)"
    rm -rf "$TREE"
    mkdir -p "$TREE"
    cp -al "$STOCK_TREE/build" "$STOCK_TREE/tests" "$TREE/"
    rm -f "$TREE/build/dlls/ntdll/ntdll.so"
    cp "$BUILD/build/dlls/ntdll/ntdll.so" "$TREE/build/dlls/ntdll/ntdll.so"
    # The series' test programs and the sources their lines are read from
    # (hard links to the stock tree's files are removed, not written to).
    local target
    for target in $(series_targets | grep '_test\.exe$'); do
        rm -f "$TREE/tests/${target##*/}"
        cp "$BUILD/build/$target" "$TREE/tests/"
    done
    rm -f "$TREE/tests/virtual.c" "$TREE/tests/sock.c"
    cp "$BUILD/src/dlls/kernel32/tests/virtual.c" "$BUILD/src/dlls/ws2_32/tests/sock.c" "$TREE/tests/"
    write_launchers "$TREE" "$TREE/build/wine" "$TREE/build/server/wineserver"
    check_tree_version "$TREE" "writewatch series $KEY" "patched tree"
    touch "$TREE/.ww-done"
    stage_done "$TREE_VERSION"
}
