#!/usr/bin/env bash
# Runs the write-watch benchmarks for every contestant and writes the report.
#
#   scripts/run-benchmarks.sh [--short|--long] [--runs N] [--builddir DIR]
#                             [--only LIST] [--no-install] [--wine NAME=LOADER]...
#
#   --short      (default) a subset of sizes, 3 runs: about a minute or two
#                per contestant
#   --long       the full grid, 16 pages .. 1 GiB, 5 runs
#   --runs N     repeats of each contestant (medians are over these)
#   --builddir   (or --build) meson build directory (default: build; set up
#                with --buildtype=release if it does not exist); results go to
#                DIR/bench-results/{results.json,results.svg,table.txt,raw/}
#   --only LIST  comma-separated contestants among writewatch-kernel,
#                writewatch-fault,floor-uffd,floor-untracked, wine (the
#                host's Wine 8) and the Wines given with --wine
#   --wine NAME=LOADER
#                one more Wine contestant: NAME is wine-writewatch (Wine 8 +
#                writewatch), wine10, wine10-writewatch, wine11 or
#                wine11-writewatch; LOADER what wine-patches/build-wine.sh
#                printed for it. --patched-wine LOADER is --wine
#                wine-writewatch=LOADER
#   --no-install do not apt-get missing packages
#
# Contestants of one run are interleaved (kernel, floor, fault, then each Wine
# beside its patched build, then the next repeat) so that noise from other
# work on the machine spreads over all.
set -euo pipefail
source "$(dirname "$0")/lib/fail-loudly.sh"
source "$(dirname "$0")/lib/meson-build.sh"

mode=short
runs=
builddir=build
only=
install=1
declare -A loader=([wine]=wine)
add_wine() { # NAME=LOADER
	case "${1%%=*}" in
	wine-writewatch|wine10|wine10-writewatch|wine11|wine11-writewatch) loader[${1%%=*}]=${1#*=} ;;
	*) echo "run-benchmarks: unknown Wine contestant '${1%%=*}'" >&2; exit 2 ;;
	esac
}
while [ $# -gt 0 ]; do
	case "$1" in
	--short) mode=short ;;
	--long) mode=long ;;
	--runs) runs=$2; shift ;;
	--runs=*) runs=${1#--runs=} ;;
	--builddir|--build) builddir=$2; shift ;;
	--builddir=*|--build=*) builddir=${1#*=} ;;
	--only) only=$2; shift ;;
	--only=*) only=${1#--only=} ;;
	--no-install) install=0 ;;
	--wine) add_wine "$2"; shift ;;
	--wine=*) add_wine "${1#--wine=}" ;;
	--patched-wine) add_wine "wine-writewatch=$2"; shift ;;
	--patched-wine=*) add_wine "wine-writewatch=${1#--patched-wine=}" ;;
	-h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-benchmarks: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$runs" ] || { [ $mode = long ] && runs=5 || runs=3; }

src=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[run-benchmarks] %s\n' "$*" >&2; }

# --- packages ---------------------------------------------------------------
[ $install = 0 ] || bash "$src/scripts/install-deps.sh" main

# --- build ------------------------------------------------------------------
case "$builddir" in /*) ;; *) builddir="$src/$builddir" ;; esac
bin="$builddir/bench"
# Only the benchmark programs (and what they link) are built, not the tests.
bench_targets() {
	ninja -C "$builddir" -t targets all 2>/dev/null |
		sed -n 's#^\(bench/ww_[a-z_]*\(\.exe\)\{0,1\}\): .*#\1#p' | sort -u
}
[ -f "$builddir/build.ninja" ] || setup_build "$builddir" --buildtype=release
targets=$(bench_targets)
[ -n "$targets" ] || die "no benchmark targets in $builddir"
# shellcheck disable=SC2086
ninja -C "$builddir" $targets >&2 || die "building the benchmarks failed"
log "built with meson in $builddir"

out="$builddir/bench-results"
raw="$out/raw"
rm -rf "$raw"
mkdir -p "$raw"

# Order matters on a noisy machine: each backend runs right beside what it is
# compared with (kernel beside the floor, fault beside Wine, each patched Wine
# beside its stock one).
all="writewatch-kernel floor-uffd writewatch-fault wine wine-writewatch wine10 wine10-writewatch
     wine11 wine11-writewatch floor-untracked"
want() { [ -z "$only" ] || case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
contestants=
for c in $all; do
	want $c || continue
	# A Wine other than the host's runs when its loader was given.
	case $c in wine?*) [ -n "${loader[$c]:-}" ] || [ -n "$only" ] || continue ;; esac
	# Every contestant asked for must be able to run: a missing one is a
	# broken setup, not a column to leave out quietly.
	case $c in
	writewatch-*) [ -x "$bin/ww_bench" ] || die "$c: $bin/ww_bench was not built" ;;
	wine*) [ -f "$bin/ww_bench.exe" ] || die "$c: $bin/ww_bench.exe was not built (mingw missing when $builddir was configured?)"
	      if [ $c = wine ]; then command -v wine >/dev/null || die "wine: no wine command"
	      else [ -x "${loader[$c]:-}" ] || die "$c: no loader (--wine $c=LOADER)"; fi ;;
	*) [ -x "$bin/ww_floor" ] || die "$c: $bin/ww_floor was not built" ;;
	esac
	contestants="$contestants $c"
done
[ -n "$contestants" ] || die "no contestant matches --only '$only'"

# --- Wine prefixes: one per Wine and invocation, created once and kept warm ---
# (every Wine gets its own prefix and wineserver)
declare -A prefix=()
wineserver_of() { # the wineserver beside a loader
	if [ "$1" = wine ]; then echo wineserver; else echo "$(dirname "$1")/wineserver"; fi
}
cleanup() {
	local c
	for c in "${!prefix[@]}"; do
		WINEPREFIX="${prefix[$c]}" "$(wineserver_of "${loader[$c]}")" -k 2>/dev/null || true
		rm -rf "${prefix[$c]}"
	done
}
trap cleanup EXIT INT TERM
for c in $contestants; do
	case $c in wine*) ;; *) continue ;; esac
	prefix[$c]=$(mktemp -d /tmp/writewatch-bench-$c.XXXXXX)
	log "creating Wine prefix ${prefix[$c]} for $c (first start takes a while)"
	t0=$(date +%s)
	WINEPREFIX="${prefix[$c]}" WINEDEBUG=-all DISPLAY= "${loader[$c]}" wineboot -i >/dev/null 2>&1 || true
	# The server stays up between runs, but not for a Wine in a Debian root:
	# its launcher waits for the server to end (the mounts it works in go
	# with it).
	if [ $c = wine ] || ! grep -qs 'root_run' "${loader[$c]}"; then
		WINEPREFIX="${prefix[$c]}" "$(wineserver_of "${loader[$c]}")" -p 2>/dev/null || true
	fi
	log "Wine prefix ready in $(( $(date +%s) - t0 )) s"
done

# --- runs -------------------------------------------------------------------
[ $mode = long ] && limit=3600 || limit=300
run_one() { # contestant repeat
	c=$1 r=$2 f="$raw/$1.$2.jsonl"
	log "run $r/$runs: $c ($mode)"
	t0=$(date +%s)
	case $c in
	writewatch-kernel) WRITEWATCH_BACKEND=kernel timeout $limit "$bin/ww_bench" --$mode >"$f" || rc=$? ;;
	writewatch-fault) WRITEWATCH_BACKEND=fault timeout $limit "$bin/ww_bench" --$mode >"$f" || rc=$? ;;
	wine*) WINEPREFIX="${prefix[$c]}" WINEDEBUG=-all DISPLAY= timeout $limit \
		"${loader[$c]}" "$bin/ww_bench.exe" --$mode >"$f" || rc=$? ;;
	floor-uffd) timeout $limit "$bin/ww_floor" uffd --$mode >"$f" || rc=$? ;;
	floor-untracked) timeout $limit "$bin/ww_floor" untracked --$mode >"$f" || rc=$? ;;
	esac
	# Wine's console may turn \n into \r\n.
	tr -d '\r' <"$f" >"$f.tmp" && mv "$f.tmp" "$f"
	echo "${rc:-0}" >"$raw/$c.$r.exit"
	log "  $c done in $(( $(date +%s) - t0 )) s${rc:+ (exit $rc)}"
	unset rc
}
r=1
while [ $r -le "$runs" ]; do
	for c in $contestants; do run_one $c $r; done
	r=$((r + 1))
done

# --- what a reservation costs (bench/ww_reserve.c), once per contestant -----
# Natively up to 4 TiB. Under Wine up to 256 GiB: the Wine series and Wine
# 11's own path still write-protect a whole reservation, and 4 TiB would ask
# them for 8 GiB of page tables.
reservation="$out/reservation.txt"
: >"$reservation"
for c in $contestants; do
	case $c in
	writewatch-kernel|writewatch-fault)
		run=(env "WRITEWATCH_BACKEND=${c#writewatch-}" "$bin/ww_reserve" 64K,1G,256G,4T) ;;
	wine*)
		[ -f "$bin/ww_reserve.exe" ] || die "$c: $bin/ww_reserve.exe was not built"
		run=(env "WINEPREFIX=${prefix[$c]}" WINEDEBUG=-all DISPLAY= "${loader[$c]}" "$bin/ww_reserve.exe" 64K,1G,256G) ;;
	*) continue ;;
	esac
	log "reservation cost: $c"
	{ echo "$c"; timeout $limit "${run[@]}" | tr -d '\r'; } >>"$reservation" || die "$c: ww_reserve failed"
done

# --- report -----------------------------------------------------------------
python3 "$src/scripts/bench-report.py" --raw "$raw" --out "$out" --mode $mode
echo
echo "What a reservation costs, with MEM_WRITE_WATCH against without, and a scan over it against the same"
echo "scan over a dense allocation of the committed pieces' size (ms; VmPTE in KiB; bench/ww_reserve.c):"
cat "$reservation"
