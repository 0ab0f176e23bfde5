# Sourced by build-wine.sh for --each-patch: whether every patch of the
# series builds on top of the ones before it, the way a reviewer applies
# them. Works on a scratch copy of a finished build ($BUILD/src, configured
# in place or out of tree in $BUILD/build), never on the cached build.

# The make targets a patch series needs: ntdll.so, and the test program of
# every tests directory a patch touches (the Wine 11 recipe builds these too).
series_targets() {
    local dir
    echo dlls/ntdll/ntdll.so
    for dir in $(sed -n 's|^+++ b/\(dlls/[^/]*/tests\)/.*|\1|p' "${SERIES[@]}" | sort -u); do
        local module=${dir#dlls/}
        echo "$dir/x86_64-windows/${module%/tests}_test.exe"
    done
}

# check_each_patch SRC OBJDIR LOGS TARGET...: the series taken off SRC, the
# source built without it, then the patches put back one at a time with
# `make TARGET...` in OBJDIR after each (make rebuilds what a patch
# changed). One line per step; fails after the last step if any failed.
check_each_patch() {
    local src=$1 objdir=$2 logs=$3 i step failed=0 t0 logfile
    shift 3
    for ((i = ${#SERIES[@]} - 1; i >= 0; i--)); do
        patch_source "$src" "${SERIES[$i]}" -R ||
            die "${SERIES[$i]##*/} does not come off the patched source"
    done
    for ((i = 0; i <= ${#SERIES[@]}; i++)); do
        step="(no patch)"
        if [ "$i" -gt 0 ]; then
            step=${SERIES[$((i - 1))]##*/}
            patch_source "$src" "${SERIES[$((i - 1))]}" -N ||
                die "$step does not apply on top of the patches before it"
        fi
        logfile=$logs/step-$i.log
        t0=$SECONDS
        if (cd "$objdir" && in_build_root make -j"$JOBS" "$@") >"$logfile" 2>&1; then
            printf '  %-66s builds (%d s, %d files compiled)\n' "$step" $((SECONDS - t0)) \
                "$(grep -c -- ' -c -o ' "$logfile")"
        else
            printf '  %-66s FAILS to build (log: %s)\n' "$step" "$logfile"
            tail -n 20 "$logfile" >&2
            failed=1
        fi
    done
    return "$failed"
}

# each_patch: the check on a copy of $BUILD (the recipe's finished build).
# An out-of-tree build is configured again in the copy with the options and
# answers it had (config.status --config, config.cache).
each_patch() {
    local scratch=$WORK/each-patch-$VERSION targets objdir
    [ -f "$BUILD/src/configure" ] || die "--each-patch: no built source in $BUILD/src"
    rm -rf "$scratch"
    mkdir -p "$scratch/logs"
    cp -a "$BUILD/src" "$scratch/src"
    objdir=$scratch/src
    if [ -f "$BUILD/build/config.status" ]; then
        local options
        objdir=$scratch/build
        mkdir -p "$objdir"
        cp "$BUILD/build/config.cache" "$objdir/"
        options=$(cd "$BUILD/build" && in_build_root ./config.status --config)
        (STAGE="configure the copy out of tree" && cd "$objdir" && logged "$scratch/logs/configure.log" in_build_root \
            sh -c "exec \"\$0\" $options" "$scratch/src/configure")
    fi
    mapfile -t targets < <(series_targets)
    log "targets: ${targets[*]}"
    check_each_patch "$scratch/src" "$objdir" "$scratch/logs" "${targets[@]}"
}
