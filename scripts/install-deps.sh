#!/usr/bin/env bash
# Installs the Debian 12 packages a command needs before anything is built, so
# that the first `meson setup` already finds every tool it looks for.
#
#   scripts/install-deps.sh build|main|test [extra packages...]
#
#   build  the library, its tests and the Win32 layer
#   main   build + what the main job's benchmark report runs (mingw, Wine 8)
#   test   main + the test command's stages (fuzzer, ABI check, qemu, kernel sources)
# Does nothing for packages already present; fails loudly when apt-get does.
set -euo pipefail
source "$(dirname "$0")/lib/fail-loudly.sh"
profile=${1:-build}
shift || true
build=(meson ninja-build pkg-config gcc g++ libfmt-dev catch2 libwine-dev python3)
main=("${build[@]}" wine wine64 gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64)
test=("${main[@]}" abigail-tools clang libclang-rt-14-dev linux-source-6.1 qemu-system-x86 busybox-static
      bc flex bison libelf-dev libssl-dev cpio make xz-utils debootstrap)
case "$profile" in
build) packages=("${build[@]}") ;;
main) packages=("${main[@]}") ;;
test) packages=("${test[@]}") ;;
*) die "unknown profile '$profile' (build, main or test)" ;;
esac
packages+=("$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -gt 0 ] || exit 0
[ "$(id -u)" = 0 ] || die "not root: install these packages first: ${missing[*]}"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || die "apt-get update failed"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
