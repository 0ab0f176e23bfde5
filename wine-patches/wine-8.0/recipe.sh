# The recipe of Wine 8.0 (sourced by build-wine.sh): Debian 12's source
# package wine 8.0~repack-4, built on this Debian 12 host, installed as a
# copied tree of Debian's wine64 in which only ntdll.so is replaced
# (lib/debian-source.sh).
DEB_VERSION=8.0~repack-4
WINE_LABEL="Wine 8.0 (Debian $DEB_VERSION)"
ROOT_SUITE=
SYSTEM=
# The protocol of Debian's wineserver 8.0: a rebuilt ntdll.so must speak it.
SERVER_PROTOCOL=758
source "$HERE/lib/debian-source.sh"

# deb-src for bookworm, so that apt-get source finds Debian's Wine.
DEB_SRC_FILE=/etc/apt/sources.list.d/writewatch-deb-src.sources
DEB_SRC_ENTRY='Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'

recipe_packages() {
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
        die "installed wine64 is $have, but this recipe builds $DEB_VERSION: the copied tree must match the rebuilt ntdll.so"
    if ! apt-cache showsrc wine 2>/dev/null | grep -qx "Version: $DEB_VERSION"; then
        log "apt-get update (no source index for wine $DEB_VERSION yet)"
        apt-get update -qq || die "apt-get update failed"
        apt-cache showsrc wine 2>/dev/null | grep -qx "Version: $DEB_VERSION" ||
            die "apt knows no source package wine $DEB_VERSION (is $DEB_SRC_FILE used?)"
    fi
}

# The server protocol files, made the way Debian 8.0's debian/rules makes them.
debian_generate() {
    ./debian/scripts/generate server/trace.generated make_requests
    ./debian/scripts/generate server/request.generated make_requests
    logged "$BUILD/logs/make_requests.log" ./tools/make_requests
    local protocol
    protocol=$(awk '/#define SERVER_PROTOCOL_VERSION/ {print $3}' include/wine/server_protocol.h)
    [ "$protocol" = "$SERVER_PROTOCOL" ] ||
        die "server protocol is '$protocol', Debian's wineserver speaks $SERVER_PROTOCOL (does the series change the server?)"
}

recipe_stock_tree() { debian_stock_tree; }
recipe_build() { debian_build; }
