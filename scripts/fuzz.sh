#!/usr/bin/env bash
# Builds the libFuzzer target tests/fuzz/api_fuzz.cpp with clang
# (-fsanitize=fuzzer,address,undefined) together with the engine and the Win32
# layer, then fuzzes for a bounded time from the fixed seed corpus.
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer args]   default 45 s
#
# A longer run: scripts/fuzz.sh 3600 -jobs=2 (new inputs go to
# $build/corpus, the seed corpus tests/fuzz/corpus is never modified).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/lib/fail-loudly.sh
seconds=${1:-45}
shift || true
bash scripts/install-deps.sh build clang libclang-rt-14-dev
build=${WRITEWATCH_FUZZ_BUILD:-build-fuzz}
mkdir -p "$build/obj" "$build/corpus"
cxx=${CXX_FUZZ:-clang++}
cc=${CC_FUZZ:-clang}
wine_inc=/usr/include/wine/wine/windows
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1)
objs=()
# Any change to the engine, the Win32 layer or a header rebuilds every object.
stamp="$build/obj/.stamp"
if [ ! -f "$stamp" ] || [ -n "$(find src dlls include -newer "$stamp" -type f | head -n 1)" ]; then
    rm -f "$build"/obj/*.o
fi
for src in src/writewatch/*.cpp src/writewatch/backends/*.cpp; do
    obj="$build/obj/$(echo "$src" | tr / _).o"
    if [ ! -f "$obj" ]; then
        "$cxx" -std=c++20 -D_GNU_SOURCE -fvisibility=hidden -Iinclude "${san[@]}" -fsanitize=fuzzer-no-link \
            -c "$src" -o "$obj" &
    fi
    objs+=("$obj")
done
for src in dlls/kernelbase/*.c; do
    obj="$build/obj/$(echo "$src" | tr / _).o"
    if [ ! -f "$obj" ]; then
        "$cc" -std=gnu11 -Wno-pragma-pack -Iinclude -I"$wine_inc" "${san[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" &
    fi
    objs+=("$obj")
done
wait
touch "$stamp"
"$cxx" -std=c++20 -Wno-pragma-pack -Iinclude -I"$wine_inc" -DWINBASEAPI= "${san[@]}" -fsanitize=fuzzer \
    tests/fuzz/api_fuzz.cpp "${objs[@]}" -lfmt -pthread -o "$build/api_fuzz"
# The fault backend owns SIGSEGV: neither ASan nor libFuzzer may take it.
export ASAN_OPTIONS=handle_segv=0:allow_user_segv_handler=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
log="$build/fuzz.log"
set +e
"$build/api_fuzz" -handle_segv=0 -seed=1 -artifact_prefix="$build/" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 "$@" "$build/corpus" tests/fuzz/corpus 2>&1 | tee "$log" | grep -E "^#[0-9]+ +(INITED|DONE)|ERROR|MISMATCH|SUMMARY|stat::number_of_executed_units"
status=${PIPESTATUS[0]}
set -e
runs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$log")
echo "fuzz: ${runs:-0} executions in ${seconds} s, exit status $status"
exit "$status"
