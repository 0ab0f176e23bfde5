#!/usr/bin/env bash
# The README's main job: builds the project, shows what this kernel offers and
# a watched region drained in chunks on each backend, then the benchmark report.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/install-deps.sh
build=${WRITEWATCH_BUILD:-build}
if [ ! -d "$build" ]; then
    meson setup "$build" --buildtype=release
fi
ninja -C "$build"
"$build/demo/writewatch-demo"
if [ -x scripts/run-benchmarks.sh ]; then
    bash scripts/run-benchmarks.sh --short --build "$build"
fi
