#!/usr/bin/env bash
# The README's main job: builds the project, shows what this kernel offers and
# a watched region drained in chunks on each backend, builds Wine 8, 10 and 11
# with and without the wine-patches/ series (cached), then the benchmark report.
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
# The Wines, each beside the same Wine with the wine-patches/ series (built
# from source and cached; the first run builds Wine 11 and a Debian 13 root,
# with progress on stderr): Wine 8 is the host's, Wine 10 is Debian 13's,
# Wine 11 has its own userfaultfd path.
wines=(--wine "wine-writewatch=$(bash wine-patches/build-wine.sh 8.0 | tail -n 1)")
for version in 10 11; do
    wines+=(--wine "wine$version=$(bash wine-patches/build-wine.sh $version.0 --stock | tail -n 1)")
    wines+=(--wine "wine$version-writewatch=$(bash wine-patches/build-wine.sh $version.0 | tail -n 1)")
done
bash scripts/run-benchmarks.sh --short --build "$build" "${wines[@]}"
