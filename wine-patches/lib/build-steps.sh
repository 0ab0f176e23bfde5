# Sourced by build-wine.sh: the steps every Wine recipe shares. Needs REPO,
# HERE, WORK, JOBS from the caller, and die (scripts/lib/fail-loudly.sh).

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

# logged_with_progress LOGFILE COMMAND...: logged, and once a minute a line
# with how many objects the build has compiled so far (for the long makes).
logged_with_progress() ( # a subshell: its trap stops the ticker, on failure too
    local logfile=$1
    ( while sleep 60; do
          log "  ... $(grep -c -- ' -c -o ' "$logfile" 2>/dev/null || echo 0) objects compiled so far"
      done ) &
    trap "kill $! 2>/dev/null" EXIT
    logged "$@"
)

# in_build_root COMMAND...: a command of the build, run where the recipe
# builds: on the host, or in its Debian root (ROOT_DIR) with the cache and
# this checkout at their own paths.
in_build_root() {
    if [ -n "${ROOT_DIR:-}" ]; then
        root_run "$ROOT_DIR" --bind "$WORK" --bind "$REPO" --cd "$PWD" -- "$@"
    else
        "$@"
    fi
}

# patch_source SRC PATCH DIRECTION: one patch of a series, -p1 and no fuzz;
# DIRECTION -N puts it on (refusing one that is on already), -R takes it off.
patch_source() {
    patch -d "$1" -p1 "$3" -s --batch --fuzz=0 --no-backup-if-mismatch <"$2"
}

# apply_series SRC PATCHES...: each put on (patch_source) in file-name order.
apply_series() {
    local src=$1 p
    shift
    stage "apply the series ($# patches)"
    for p in "$@"; do
        log "  ${p##*/}"
        patch_source "$src" "$p" -N >>"$BUILD/logs/series.log" 2>&1 || {
            cat "$BUILD/logs/series.log" >&2
            die "patch ${p##*/} does not apply to $WINE_LABEL"
        }
    done
    stage_done
}

# trim_sock_test SRC: ws2_32's sock test takes minutes; its write-watch
# checks alone take a second. This adds to the test program (not to Wine)
# one branch in START_TEST(sock), before its first test: with
# WINETEST_WRITE_WATCH_ONLY=1 in the environment only Init(),
# test_write_watch() and Exit() run. Without the variable the program runs
# every test as before.
trim_sock_test() {
    local file=$1/dlls/ws2_32/tests/sock.c
    grep -q 'WINETEST_WRITE_WATCH_ONLY' "$file" && return 0
    awk '
        /^START_TEST\( *sock *\)/ { in_test = 1 }
        in_test && /^ *test_WithoutWSAStartup\(\);/ {
            print "    if (getenv( \"WINETEST_WRITE_WATCH_ONLY\" ))"
            print "    {"
            print "        Init();"
            print "        test_write_watch();"
            print "        Exit();"
            print "        return;"
            print "    }"
            in_test = 0
        }
        { print }' "$file" >"$file.ww" && mv "$file.ww" "$file"
    grep -q 'WINETEST_WRITE_WATCH_ONLY' "$file" || die "could not add the write-watch-only branch to $file"
}

# trim_kernel32_tests SRC: kernel32_test.exe built from virtual.c alone,
# the one test of it the suites run (`kernel32_test.exe virtual`); its
# other 35 sources were most of the test programs' build time.
trim_kernel32_tests() {
    local file=$1/dlls/kernel32/tests/Makefile.in
    grep -qx 'SOURCES = virtual.c' "$file" && return 0
    awk '
        /^SOURCES *=/ { print "SOURCES = virtual.c"; more = /\\$/; next }
        more { more = /\\$/; next }
        { print }' "$file" >"$file.ww" && mv "$file.ww" "$file"
    grep -qx 'SOURCES = virtual.c' "$file" || die "could not reduce the sources of $file to virtual.c"
}

# copy_from_system SRC DESTDIR: hard links where the cache shares a file
# system with SRC (an upgrade of the package replaces its files, the links
# keep the old ones), copies elsewhere.
copy_from_system() {
    cp -al "$1" "$2/" 2>/dev/null || { rm -rf "$2/${1##*/}"; cp -a "$1" "$2/"; }
}

# ---- the library -------------------------------------------------------------
# build_library: builds, in the checkout (not the cache: every checkout
# builds its own), the shared library target named "writewatch"; sets
# LIBRARY_FILE to it.
build_library() {
    local lib_build=${WW_LIB_BUILD:-$REPO/build-wine-lib}
    stage "library (meson + ninja in ${lib_build#"$REPO"/})"
    # A release build, like the main job's native one that the benchmark compares with.
    (cd "$REPO" && setup_build "$lib_build" -Dtests=false --buildtype=release) >"$WORK/library-setup.log" 2>&1 || {
        tail -n 30 "$WORK/library-setup.log" >&2; die "meson setup $lib_build failed"; }
    LIBRARY_FILE=$(shared_libraries "$lib_build" writewatch)
    [ -n "$LIBRARY_FILE" ] || die "no shared library target 'writewatch' in $lib_build"
    logged "$WORK/library-ninja.log" ninja -C "$lib_build" "${LIBRARY_FILE#"$lib_build"/}"
}

# install_library DIR: the library under its soname in DIR (the directory of
# the tree's ntdll.so, whose runpath is $ORIGIN); refreshed on every run.
# WW_LIBRARY=FILE installs FILE instead: a libwritewatch.so built elsewhere
# (scripts/build-for-proton.sh builds one in a Debian 11 root).
install_library() {
    local dir=$1 file soname
    if [ -n "${WW_LIBRARY:-}" ]; then
        file=$WW_LIBRARY
        stage "library $file (WW_LIBRARY)"
        [ -f "$file" ] || die "WW_LIBRARY: no file $file"
    else
        build_library
        file=$LIBRARY_FILE
    fi
    soname=$(soname_of "$file")
    [ -n "$soname" ] || die "$file has no soname"
    if ldd "$file" | grep -q 'not found'; then
        ldd "$file" >&2
        die "$file needs libraries that are not installed"
    fi
    # Atomic replace: a Wine still running keeps the file it mapped.
    cp "$file" "$dir/.$soname.tmp"
    mv "$dir/.$soname.tmp" "$dir/$soname"
    stage_done "$soname from $file"
    check_dlopen "$dir/$soname"
}

# The patched ntdll loads the library at run time; say so loudly when a
# dlopen of it fails where that Wine runs (a library with more initial-exec
# TLS than glibc keeps spare for dlopen fails with "cannot allocate memory in
# static TLS block"). Not fatal: the patched ntdll decides what to do without
# it, and run-wine-tests.sh's tracking check shows the result.
check_dlopen() {
    local why
    if why=$(in_build_root python3 -c '
import ctypes, sys
try:
    ctypes.CDLL(sys.argv[1])
except OSError as e:
    print(e); sys.exit(1)' "$1" 2>&1); then
        log "dlopen(${1##*/}) works${ROOT_DIR:+ in the Debian $ROOT_SUITE root}"
    else
        log "WARNING: dlopen of ${1##*/} fails, so the patched ntdll's will too: $why"
    fi
}

# check_tree_version TREE MARK WHAT: TREE/wine --version must run and show
# MARK, the proof that TREE runs the ntdll.so it was built with.
check_tree_version() {
    local version
    version=$("$1/wine" --version 2>&1) || die "the $3's wine --version failed: $version"
    [[ "$version" == *"$2"* ]] || die "the $3 does not run the rebuilt ntdll.so: '$version'"
    TREE_VERSION=$version
}

# ---- the executable a caller runs like wine ------------------------------------
# write_launchers TREE LOADER WINESERVER: TREE/wine and TREE/wineserver. On
# the host (no root) they exec the loader and server by their own paths. For a Wine in a Debian root they are scripts that run the
# loader (or server) there, through a copy of scripts/lib/debian-root.sh kept
# in the tree, binding /tmp, $HOME, the current directory, $WINEPREFIX, the
# cache and this checkout at their own paths (those that exist when they
# run: a launcher may outlive the checkout that wrote it), with the WINE*, WINETEST*,
# WRITEWATCH*, DISPLAY and LD_LIBRARY_PATH variables passed on. After the
# loader returns, the script waits for the wineserver of the prefix, so that
# the server never outlives the mounts it works in. WW_LAUNCH_PREFIX, when
# set, is a command put in front of the loader inside the root (strace).
write_launchers() {
    local tree=$1 loader=$2 server=$3
    rm -f "$tree/wine" "$tree/wineserver"
    printf '%s\n%s\n' "$loader" "$server" >"$tree/.ww-launchers"
    if [ -z "${ROOT_DIR:-}" ]; then
        # Scripts, not links: Wine names the loader it starts new processes
        # with after the path it was started by (Debian's is wine64).
        printf '#!/bin/sh\nexec "%s" "$@"\n' "$loader" >"$tree/wine"
        printf '#!/bin/sh\nexec "%s" "$@"\n' "$server" >"$tree/wineserver"
        chmod 755 "$tree/wine" "$tree/wineserver"
        return
    fi
    cp "$REPO/scripts/lib/debian-root.sh" "$tree/debian-root.sh"
    local kind
    for kind in wine wineserver; do
        local target=$loader
        [ "$kind" = wine ] || target=$server
        cat >"$tree/$kind" <<EOF
#!/bin/bash
# $WINE_LABEL's $kind, in the Debian $ROOT_SUITE root $ROOT_DIR
# (made by wine-patches/build-wine.sh): runs like $kind on this host.
set -u
die() { echo "\${0##*/}: \$*" >&2; exit 125; }
source "$tree/debian-root.sh"
binds=()
for dir in /tmp "$WORK" "$REPO" "\${HOME:-}" "\$PWD" "\${WINEPREFIX:-}"; do
    [ -n "\$dir" ] && [ -d "\$dir" ] && binds+=("\$dir")
done
args=()
for dir in "\${binds[@]}"; do
    covered=0
    for other in "\${binds[@]}"; do
        [ "\$other" != "\$dir" ] && [[ "\$dir" == "\$other"/* ]] && covered=1
    done
    [ \$covered = 1 ] || args+=(--bind "\$dir")
done
while IFS= read -r name; do
    args+=(--env "\$name=\${!name}")
done < <(compgen -e | grep -E '^(WINE|WINETEST|WRITEWATCH|DISPLAY$|LD_LIBRARY_PATH$|LANG$|LC_ALL$)')
# WW_LAUNCH_PREFIX: a command put in front inside the root (strace, ...).
root_run "$ROOT_DIR" "\${args[@]}" --cd "\$PWD" -- /bin/sh -c \\
    'prefix=\$1; target=\$2; shift 2; \$prefix "\$target" "\$@"; rc=\$?; "$server" -w; exit \$rc' \\
    sh "\${WW_LAUNCH_PREFIX:-}" "$target" "\$@"
EOF
        chmod 755 "$tree/$kind"
    done
}

# rewrite_launchers TREE: TREE's launchers again, for the checkout that runs
# build-wine.sh now (a cached tree's were written by the checkout that built
# it, which may be gone).
rewrite_launchers() {
    local paths=()
    mapfile -t paths <"$1/.ww-launchers" 2>/dev/null || die "$1 has no .ww-launchers: remove the tree to rebuild it"
    [ ${#paths[@]} -eq 2 ] || die "$1/.ww-launchers does not name a loader and a server"
    write_launchers "$1" "${paths[0]}" "${paths[1]}"
}

# tree_ready TREE: TREE's launchers rewritten, its wine --version run; dies
# when it does not run.
tree_ready() {
    rewrite_launchers "$1"
    local version
    version=$("$1/wine" --version 2>&1) || die "$1/wine --version failed: $version"
    log "ready in $((SECONDS - T0)) s: $version"
}
