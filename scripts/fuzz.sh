#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# together with the engine and the Win32 layer, then fuzzes each for a bounded
# time from its fixed seed corpus:
#   api    tests/fuzz/api_fuzz.cpp, the Win32 and NT-level calls (seeds: tests/fuzz/corpus)
#   range  tests/fuzz/range_fuzz.cpp, the range tracker (seeds: tests/fuzz/corpus-range)
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer args]   default 30 s per target
#
# A longer run: scripts/fuzz.sh 3600 -jobs=2 (new inputs go to
# $build/corpus-TARGET, the seed corpora are never modified).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
source scripts/lib/fail-loudly.sh
seconds=${1:-30}
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
for src in src/writewatch/*.cpp src/writewatch/backends/*.cpp src/writewatch/tracker/*.cpp; do
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
# The fault backend owns SIGSEGV: neither ASan nor libFuzzer may take it.
export ASAN_OPTIONS=handle_segv=0:allow_user_segv_handler=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
overall=0
for target in api range; do
    "$cxx" -std=c++20 -Wno-pragma-pack -Iinclude -I"$wine_inc" -D_KERNEL32_ "${san[@]}" -fsanitize=fuzzer \
        "tests/fuzz/${target}_fuzz.cpp" "${objs[@]}" -lfmt -pthread -o "$build/${target}_fuzz" ||
        die "linking the ${target} fuzzer failed"
    seeds=tests/fuzz/corpus
    [ "$target" = api ] || seeds=tests/fuzz/corpus-$target
    mkdir -p "$build/corpus-$target"
    log="$build/fuzz-$target.log"
    set +e
    "$build/${target}_fuzz" -handle_segv=0 -seed=1 -artifact_prefix="$build/$target-" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 "$@" "$build/corpus-$target" "$seeds" 2>&1 |
        tee "$log" | grep -E "^#[0-9]+ +(INITED|DONE)|ERROR|MISMATCH|SUMMARY|stat::number_of_executed_units"
    status=${PIPESTATUS[0]}
    set -e
    runs=$(awk '/stat::number_of_executed_units/ {print $NF}' "$log")
    echo "fuzz ${target}: ${runs:-0} executions in ${seconds} s, exit status $status"
    [ "$status" -eq 0 ] || overall=1
done
exit "$overall"
