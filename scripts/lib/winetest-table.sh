# Sourced: the check-by-check comparison of conformance test runs, shared by
# scripts/run-winetest.sh (native backends beside Wine 8) and
# wine-patches/run-wine-tests.sh (stock Wine beside the patched one).
#
# A run NAME is described by two files in the output directory:
#   NAME.log  the test's stdout, carriage returns removed
#   NAME.rc   its exit status, or "na" when the run could not be made
#             (NAME.log then says why in its first line)
# Logs in both formats are understood: winetest/wtest.h prints
# "file.c:LINE: test_name: Test failed: ...", Wine's own tests
# (include/wine/test.h) "file.c:LINE: Test failed: ..." and a last line
# "pid:test: N tests executed (...)".

# wt_normalise RUN LOG [TEST]: one line per check of LOG:
#   line TAB file:line TAB test TAB run TAB kind TAB message
# with kind pass, FAIL, todo, flaky or skip. TEST names the checks of logs
# whose lines carry no test name (Wine's own tests).
wt_normalise() {
    awk -v run="$1" -v default_test="${3:--}" '
        match($0, /^[^: ]+\.[ch]:[0-9]+: /) {
            loc = substr($0, 1, RLENGTH - 2); rest = substr($0, RLENGTH + 1)
            test = default_test
            if (match(rest, /^[A-Za-z0-9_]+: /)) { test = substr(rest, 1, RLENGTH - 2); rest = substr(rest, RLENGTH + 1) }
            split(loc, l, ":"); line = l[2]
            if (rest ~ /^Test succeeded$/) kind = "pass"
            else if (index(rest, "Test succeeded inside todo block: ")) kind = "FAIL"
            else if (index(rest, "Test succeeded inside flaky todo block: ")) kind = "flaky"
            else if (index(rest, "Test marked todo: ")) kind = "todo"
            else if (index(rest, "Test marked flaky: ")) kind = "flaky"
            else if (index(rest, "Test failed: ")) kind = "FAIL"
            else if (index(rest, "Tests skipped: ")) kind = "skip"
            else next
            gsub(/\t/, " ", rest)
            print line "\t" loc "\t" test "\t" run "\t" kind "\t" rest
        }' "$2"
}

# wt_summary_line LOG: the harness' closing "N tests executed (...)" line.
wt_summary_line() {
    grep -E '^([0-9a-f]+:[A-Za-z0-9_]+:[0-9.]* )?[0-9]+ tests executed \(' "$1" | tail -n 1 || true
}

# wt_table OUT_DIR DIFF_ONLY RUN...: read OUT_DIR/checks.tsv (wt_normalise
# of every run), write OUT_DIR/table.tsv (line, "file:line test", one cell
# per run) and print the table: one row per check, one column per run, "*"
# before a row where the runs that were made disagree (DIFF_ONLY=1: only
# those rows and rows with a failure). Sets WT_NDIFF to the number of
# differing checks and lists them in OUT_DIR/diff-keys.txt.
wt_table() {
    local out=$1 diff_only=$2 run line key rest loc test real_diff first mark i
    shift 2
    local runs=("$@")
    local runs_csv
    runs_csv=$(IFS=,; echo "${runs[*]}")
    : >"$out/diff-keys.txt"
    rm -f "$out/messages.tsv"
    awk -F'\t' -v runs="$runs_csv" -v outdir="$out" '
        BEGIN { nr = split(runs, R, ",") }
        {
            key = $2 " " $3
            if (!(key in seen)) { seen[key] = 1; order[++nk] = key; line[key] = $1 }
            n[key, $4]++; c[key, $4, $5]++
            if ($5 != "pass" && !((key, $4) in msg)) msg[key, $4] = $6
        }
        function cell(key, run,    s, t) {
            t = n[key, run] + 0
            if (!t) return "-"
            if (c[key, run, "FAIL"]) s = "FAIL"
            else if (c[key, run, "todo"]) s = "todo"
            else if (c[key, run, "flaky"]) s = "flaky"
            else if (c[key, run, "skip"]) s = "skip"
            else s = "pass"
            if (t > 1) s = s ":" (c[key, run, s] + 0) "/" t
            return s
        }
        END {
            for (i = 1; i <= nk; i++) {
                key = order[i]; row = line[key] "\t" key
                for (j = 1; j <= nr; j++) {
                    row = row "\t" cell(key, R[j])
                    if ((key, R[j]) in msg) print key "\t" R[j] "\t" msg[key, R[j]] > (outdir "/messages.tsv")
                }
                print row
            }
        }' "$out/checks.tsv" | sort -t$'\t' -k1,1n -k2,2 >"$out/table.tsv"

    declare -A rc
    for run in "${runs[@]}"; do rc[$run]=$(cat "$out/$run.rc" 2>/dev/null || echo na); done

    printf '\n%-30s %-18s' "check (file:line)" "test"
    for run in "${runs[@]}"; do printf ' %-14s' "$run"; done
    printf '\n'
    WT_NDIFF=0
    while IFS=$'\t' read -r line key rest; do
        loc=${key%% *}; test=${key#* }
        local cells=()
        IFS=$'\t' read -r -a cells <<<"$rest"
        # columns of runs that were not made do not count as differences
        real_diff=0; first=
        for ((i = 0; i < ${#runs[@]}; i++)); do
            [ "${rc[${runs[$i]}]}" = na ] && continue
            if [ -z "$first" ]; then first=${cells[$i]}; elif [ "${cells[$i]}" != "$first" ]; then real_diff=1; fi
        done
        mark=" "; [ $real_diff = 1 ] && { mark="*"; WT_NDIFF=$((WT_NDIFF + 1)); echo "$loc $test" >>"$out/diff-keys.txt"; }
        [ "$diff_only" = 1 ] && [ $real_diff = 0 ] && [[ "$rest" != *FAIL* ]] && continue
        printf '%s%-29s %-18s' "$mark" "$loc" "${test#test_}"
        for ((i = 0; i < ${#runs[@]}; i++)); do
            if [ "${rc[${runs[$i]}]}" = na ]; then printf ' %-14s' "n/a"; else printf ' %-14s' "${cells[$i]}"; fi
        done
        printf '\n'
    done <"$out/table.tsv"
    printf '\nCells: pass/FAIL/todo/skip, ":k/n" when the check ran n times (k of the shown kind); "-" not reached.\n'
}

# wt_differences OUT_DIR RUN...: after wt_table, the checks that differ with
# each run's first message for them.
wt_differences() {
    local out=$1 run loc test
    shift
    declare -A rc
    for run in "$@"; do rc[$run]=$(cat "$out/$run.rc" 2>/dev/null || echo na); done
    printf '\nDifferences: %d check(s)\n' "$(wc -l <"$out/diff-keys.txt")"
    while read -r loc test; do
        printf '  %s %s:\n' "$loc" "$test"
        for run in "$@"; do
            [ "${rc[$run]}" = na ] && continue
            awk -F'\t' -v k="$loc $test" -v r="$run" '$1 == k && $2 == r { printf "      %-14s %s\n", r, $3 }' \
                "$out/messages.tsv" 2>/dev/null
        done
    done <"$out/diff-keys.txt"
}
