#!/bin/bash
# Runs ww_syncuffd several times on this host, each run started once the
# machine is quiet, and says how much CPU other processes took during it (a
# shared machine: a run that others disturbed can be spotted and redone).
#
#   bench/sync_uffd/run-host.sh BINARY OUTDIR RUNS [ww_syncuffd arguments...]
#
# Writes OUTDIR/run-N.txt (ww_syncuffd's stdout, then a line "# run N: ...
# others used X CPU-s of Y") and OUTDIR/run-N.err (progress).
#   WW_QUIET_LOAD  start a run when the 1-minute load average is below this
#                  (default 1.0); waits at most WW_QUIET_WAIT s (default 1800)
set -euo pipefail
bin=$1 out=$2 runs=$3
shift 3
mkdir -p "$out"
quiet=${WW_QUIET_LOAD:-1.0}
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
for n in $(seq 1 "$runs"); do
	waited=0
	while awk -v q="$quiet" '{ exit !($1 >= q) }' /proc/loadavg && [ "$waited" -lt "${WW_QUIET_WAIT:-1800}" ]; do
		sleep 15
		waited=$((waited + 15))
	done
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	b0=$(busy_jiffies)
	t0=$(date +%s.%N)
	start=$(date -u +%H:%M:%S)
	rc=0
	/usr/bin/time -f "%U %S" -o "$out/run-$n.time" "$bin" "$@" > "$out/run-$n.txt" 2> "$out/run-$n.err" || rc=$?
	t1=$(date +%s.%N)
	b1=$(busy_jiffies)
	hz=$(getconf CLK_TCK)
	read -r u s < "$out/run-$n.time"
	awk -v n="$n" -v rc="$rc" -v st="$start" -v w="$waited" -v l0="$load0" -v l1="$(cut -d' ' -f1-3 /proc/loadavg)" \
		-v b="$(( b1 - b0 ))" -v hz="$hz" -v cpus="$(nproc)" -v u="$u" -v s="$s" -v t0="$t0" -v t1="$t1" 'BEGIN {
		wall = t1 - t0; all = b / hz; mine = u + s; other = all - mine; if (other < 0) other = 0
		printf "# run %d: started %s UTC after waiting %d s for load < quiet; load %s -> %s; %.0f s wall; " \
		       "ww_syncuffd used %.1f CPU-s, other processes %.1f CPU-s of %.0f available; exit %d\n",
		       n, st, w, l0, l1, wall, mine, other, cpus * wall, rc }' | tee -a "$out/run-$n.txt"
	rm -f "$out/run-$n.time"
done
