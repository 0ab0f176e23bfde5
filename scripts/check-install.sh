#!/usr/bin/env bash
# meson install into a scratch root, then build and run a plain C program with
# `pkg-config writewatch-kernelbase` against it.
set -euo pipefail
source "$(dirname "$0")/lib/fail-loudly.sh"
build=${1:?usage: check-install.sh BUILD_DIR}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --quiet
pcdir=$(dirname "$(find "$root" -name writewatch-kernelbase.pc | head -n 1)")
[ -f "$pcdir/writewatch.pc" ] || die "writewatch.pc not installed"
export PKG_CONFIG_PATH=$pcdir
here=$(cd "$(dirname "$0")/.." && pwd)
# The .pc files name the real prefix; point it into the scratch root.
relocate="--define-variable=prefix=$root$(pkg-config --variable=prefix writewatch)"
# shellcheck disable=SC2046
cc -Wall -Werror -o "$root/consumer" "$here/tests/install/consumer.c" \
    $(pkg-config "$relocate" --cflags --libs writewatch-kernelbase)
LD_LIBRARY_PATH=$(pkg-config "$relocate" --variable=libdir writewatch) "$root/consumer"
echo "check-install: passed (pkg-config modules: $(ls "$pcdir" | tr '\n' ' '))"
