# The recipe of Wine 10.0 (sourced by build-wine.sh): Debian 13's source
# package wine 10.0~repack-6 (the base of Proton 10), built in a Debian 13
# root (its Wine needs glibc 2.38+), installed as a copied tree of that root's
# wine64 in which only ntdll.so is replaced (lib/debian-source.sh). The tree
# runs in the root through the launchers of lib/build-steps.sh.
DEB_VERSION=10.0~repack-6
WINE_LABEL="Wine 10.0 (Debian $DEB_VERSION)"
ROOT_SUITE=trixie
# Debian's wine64 for the tree, Wine's build dependencies, strace for the
# fault-injection runs of run-wine-tests.sh.
ROOT_PACKAGES=(wine64 dpkg-dev strace build-dep:wine)
source "$HERE/lib/debian-source.sh"

recipe_packages() {
    # The library is built on the host (it loads in the root: glibc 2.36 <
    # 2.41), and dpkg-source unpacks the source here.
    bash "$REPO/scripts/install-deps.sh" build dpkg-dev patch debootstrap ||
        die "installing the packages failed"
}

# Called once the root exists (SYSTEM is where its Wine is installed).
recipe_check_root() {
    SYSTEM=$ROOT_DIR
    local have
    have=$(in_build_root dpkg-query -W -f='${Version}' wine64)
    [ "$have" = "$DEB_VERSION" ] ||
        die "the $ROOT_SUITE root has wine64 $have, but this recipe builds $DEB_VERSION"
}

# As Debian 10.0's debian/rules: the server protocol from protocol.def, the
# system call tables (ntsyscalls.h and its kin) from the spec files. Its
# other generators (Unicode tables, OpenGL and Vulkan thunks, dsound's FIR)
# make files ntdll.so and the two tests do not use.
debian_generate() {
    logged "$BUILD/logs/make_requests.log" in_build_root ./tools/make_requests
    logged "$BUILD/logs/make_specfiles.log" in_build_root ./tools/make_specfiles
}

recipe_stock_tree() { recipe_check_root; debian_stock_tree; }
recipe_build() { recipe_check_root; debian_build; }
