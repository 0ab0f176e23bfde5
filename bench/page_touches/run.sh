#!/bin/bash
# Counts the pages one get-and-reset call touches, for the range tracker, the
# NT-level library call and the bare ioctl (bench/README.md).
#   bench/page_touches/run.sh [BUILD_DIR]     (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gcc -O2 -g -D_GNU_SOURCE -I"$here/../../include" "$here/ww_one_call.c" -o "$out/ww_one_call" \
	-L"$build/src/writewatch" -lwritewatch -Wl,-rpath,"$build/src/writewatch"
for who in bare tracker library; do
	gdb -q -batch -ex "py who='$who'" -x "$here/page_touches.py" "$out/ww_one_call" 2>/dev/null | grep "^$who:"
done
