#!/usr/bin/env bash
# The README's main job: builds the project, shows what this kernel offers and
# a watched region drained in chunks on each backend, builds Wine 8 with the
# wine-patches/ series (cached), then the benchmark report.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/lib/fail-loudly.sh
source scripts/lib/meson-build.sh
# Everything the job runs, mingw and Wine included, before the first meson setup.
bash scripts/install-deps.sh main
build=${WRITEWATCH_BUILD:-build}
setup_build "$build" --buildtype=release
ninja -C "$build"
"$build/demo/writewatch-demo"
# Wine 8 + writewatch (built from Debian's source, cached): a contestant of its own.
patched_wine=$(bash wine-patches/build-wine.sh | tail -n 1)
bash scripts/run-benchmarks.sh --short --build "$build" --patched-wine "$patched_wine"
