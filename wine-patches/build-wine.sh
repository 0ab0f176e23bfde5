#!/bin/bash
# Build a Wine with the wine-patches/wine-VERSION series (or without it) and
# install it as a tree that runs like wine.
#
#   wine-patches/build-wine.sh [VERSION] [--stock | --root-only | --each-patch]
#
#   VERSION  8.0 (the default: Debian 12's Wine, built on this host), 10.0
#            (Debian 13's, built in a Debian 13 root) or 11.0 (the Wine 11.0
#            tree of ../shared/wine, built in a Debian 13 root); on a Debian 13
#            host, 10.0 and 11.0 build on the host, with no root
#   --stock  the unpatched Wine of that version: Debian's own build for 8.0
#            and 10.0, the same source built without the series for 11.0
#   --root-only  only make (or find) the Debian root the version builds in,
#            installing nothing on this host; prints nothing on stdout
#   --each-patch  after the build (or its cache), build a copy of the source
#            once without the series and again after each of its patches,
#            in order: one line per step, failure when a step does not build
#
# Each version is a recipe, wine-VERSION/recipe.sh: where the source comes
# from, which root it builds in, what to regenerate, what to build, how the
# tree is made (see README.md). The steps they share are lib/build-steps.sh.
#
# Progress goes to stderr; the last line on stdout is an executable that runs
# like wine (a Windows program and its arguments, or --version; WINEPREFIX,
# WINEDEBUG and the current directory honoured):
#   WINE=$(wine-patches/build-wine.sh 11.0 | tail -n 1); "$WINE" program.exe
# Next to it: wineserver, and tests/ (kernel32_test.exe, ws2_32_test.exe and
# their sources, built from the version's tree).
#
# Environment:
#   WW_WINEWORK  cache directory (default /var/cache/writewatch/wine)
#   WW_ROOTS     where the Debian roots are kept (default /var/cache/writewatch/roots)
#   WW_JOBS      make -j value (default 2)
#
# Builds are cached under $WW_WINEWORK keyed by a hash of the recipe, the
# series, this script and lib/: a second run with the same inputs only
# refreshes the library in the tree.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$REPO/scripts/lib/fail-loudly.sh"
source "$REPO/scripts/lib/meson-build.sh"
source "$REPO/scripts/lib/debian-root.sh"
source "$HERE/lib/build-steps.sh"
source "$HERE/lib/each-patch.sh"

VERSION=8.0
STOCK=0
ROOT_ONLY=0
EACH_PATCH=0
while [ $# -gt 0 ]; do
    case "$1" in
    --stock) STOCK=1 ;;
    --root-only) ROOT_ONLY=1 ;;
    --each-patch) EACH_PATCH=1 ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    [0-9]*) VERSION=$1 ;;
    *) die "unknown argument '$1' (VERSION: 8.0, 10.0 or 11.0; --stock, --root-only, --each-patch)" ;;
    esac
    shift
done
RECIPE=$HERE/wine-$VERSION/recipe.sh
[ -f "$RECIPE" ] || die "no recipe for Wine $VERSION ($(cd "$HERE" && ls -d wine-*/recipe.sh | sed 's|wine-||; s|/recipe.sh||' | tr '\n' ' '))"
WORK=${WW_WINEWORK:-/var/cache/writewatch/wine}
JOBS=${WW_JOBS:-2}
ROOT_DIR=
source "$RECIPE"

# host_install_packages PACKAGE...: apt-get on this host, "build-dep:SRC"
# as apt-get build-dep SRC (deb-src of the host's suite must be enabled).
host_install_packages() {
    local plain=() p
    export DEBIAN_FRONTEND=noninteractive
    for p in "$@"; do [[ "$p" == build-dep:* ]] || plain+=("$p"); done
    bash "$REPO/scripts/install-deps.sh" build "${plain[@]}" || die "installing ${plain[*]} failed"
    for p in "$@"; do
        [[ "$p" == build-dep:* ]] || continue
        apt-get build-dep -y -qq --no-install-recommends "${p#build-dep:}" >/dev/null ||
            die "apt-get build-dep ${p#build-dep:} failed (is deb-src enabled?)"
    done
}

T0=$SECONDS
# On a host of the recipe's suite the build needs no root: the root's
# packages go onto the host instead.
HOST_IS_ROOT_SUITE=0
if [ -n "${ROOT_SUITE:-}" ] && [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = "$ROOT_SUITE" ]; then
    HOST_IS_ROOT_SUITE=1
fi
if [ "$ROOT_ONLY" = 1 ]; then
    if [ -z "${ROOT_SUITE:-}" ] || [ "$HOST_IS_ROOT_SUITE" = 1 ]; then
        log "Wine $VERSION builds in no Debian root on this host"
        exit 0
    fi
    command -v debootstrap >/dev/null || die "--root-only: no debootstrap on this host"
    root_ensure "$ROOT_SUITE" wine "${ROOT_PACKAGES[@]}"
    exit 0
fi
stage "packages"
recipe_packages
stage_done
mkdir -p "$WORK"
if [ "$HOST_IS_ROOT_SUITE" = 1 ]; then
    stage "this host is Debian $ROOT_SUITE: its packages, no root"
    host_install_packages "${ROOT_PACKAGES[@]}"
    stage_done
    ROOT_SUITE=
fi
if [ -n "${ROOT_SUITE:-}" ]; then
    stage "Debian $ROOT_SUITE root"
    root_ensure "$ROOT_SUITE" wine "${ROOT_PACKAGES[@]}"
    stage_done "$ROOT_DIR"
fi
# One build of a version at a time; the versions build side by side.
exec 9>"$WORK/.lock-$VERSION"
flock -n 9 || { log "waiting for another build-wine.sh $VERSION using $WORK"; flock 9; }

shopt -s nullglob
SERIES=()
[ "$STOCK" = 1 ] || SERIES=("$HERE/wine-$VERSION"/*.patch)
shopt -u nullglob
# The key of a build: the version's recipe and series, and what runs them.
build_key() {
    {
        echo "wine $VERSION stock $STOCK"
        cat "$HERE/build-wine.sh" "$HERE"/lib/* "$RECIPE" "$REPO/scripts/lib/debian-root.sh"
        local p
        for p in "${SERIES[@]}"; do
            echo "patch ${p##*/}"
            cat "$p"
        done
    } | sha256sum | cut -c1-16
}
KEY=$(build_key)
log "$WINE_LABEL, $([ "$STOCK" = 1 ] && echo stock || echo "series of ${#SERIES[@]} patch(es)"), cache key $KEY, cache $WORK"

# A recipe whose stock Wine is a distribution's build names it; the others
# build it (and the patched tree from it).
if [ "$STOCK" = 1 ] && recipe_stock_tree; then
    tree_ready "$TREE"
    echo "$TREE/wine"
    exit 0
fi
recipe_build
if [ "$EACH_PATCH" = 1 ]; then
    [ "$STOCK" = 0 ] || die "--each-patch builds the series: not with --stock"
    stage "each patch of the series on top of the ones before it (make -j$JOBS)"
    each_patch || die "a patch of the series does not build on its own (logs above)"
    stage_done
fi
install_library "$LIBRARY_DIR"
tree_ready "$TREE"
echo "$TREE/wine"
