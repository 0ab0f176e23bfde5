# Sourced by run-vm-tests.sh: boots one VM under qemu (software emulation)
# and judges its serial log. Needs WORK, VM_TIMEOUT, CONCURRENT_SECONDS,
# log and die from the caller.

# qemu for an arch. -cpu max on arm64 gives the newest architecture qemu
# emulates; pauth-impdef=on swaps the architected pointer-authentication
# hash (QARMA, very slow under TCG) for qemu's own cheap one.
boot_qemu_command() { # ARCH ACCEL: sets B_QEMU (array) and B_CONSOLE
	case "$1" in
	x86_64)
		# Two NUMA nodes of 1 GiB, one vCPU each (the guest has 2 GiB):
		# move_pages() and NUMA balancing then move watched pages. One
		# socket per vCPU: two cores of one socket share a last-level
		# cache, which the kernel warns about across nodes.
		B_QEMU=(qemu-system-x86_64 -accel "$2" -smp 2,sockets=2,cores=1,threads=1
			-object memory-backend-ram,id=node0,size=1024M -numa node,nodeid=0,cpus=0,memdev=node0
			-object memory-backend-ram,id=node1,size=1024M -numa node,nodeid=1,cpus=1,memdev=node1)
		B_CONSOLE=ttyS0 ;;
	arm64)
		B_QEMU=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on -accel "$2" -smp 2)
		B_CONSOLE=ttyAMA0 ;;
	*) die "boot_qemu_command: unknown arch '$1'" ;;
	esac
	command -v "${B_QEMU[0]}" >/dev/null || die "boot_qemu_command: ${B_QEMU[0]} is not installed"
}

# boot_vm LOG ARCH KERNEL INITRD ACCEL APPEND: runs one VM until it reboots
# (the guest's init ends with reboot -f; -no-reboot makes qemu exit) or
# VM_TIMEOUT passes. Serial output goes to LOG; sets B_SECONDS.
boot_vm() {
	local out=$1 arch=$2 kernel=$3 initrd=$4 accel=$5 append=$6 t0=$SECONDS
	boot_qemu_command "$arch" "$accel"
	log "booting $(basename "$out" .log) ($arch, $kernel, -accel $accel), serial log: $out"
	timeout "$VM_TIMEOUT" "${B_QEMU[@]}" -nographic -no-reboot -m 2048 \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=$B_CONSOLE panic=-1 ww.secs=$CONCURRENT_SECONDS $append" \
		< /dev/null > "$out" 2>&1 || true
	B_SECONDS=$((SECONDS - t0))
}

# boot_clean_log LOG: the serial log without carriage returns and colours.
boot_clean_log() {
	tr -d '\r' < "$1" | sed 's/\x1b\[[0-9;]*m//g'
}

# boot_summaries LOG: one line per test run, "NAME RC SUMMARY", SUMMARY being
# passed/total from the run's own closing line (pagemap_scan_test: "N passed,
# N failed, N skipped"; Catch2: "All tests passed (.. in N test cases)" or
# "test cases: N | N passed | N failed"; a kselftest: "# Totals: pass:N
# fail:N ..."), the moving-memory stress's exact rounds (written, lost,
# clean pages reported), its SKIP reason, or the status a refusal check saw.
boot_summaries() {
	boot_clean_log "$1" | awk '
	/^WW-BEGIN / { name = $2; sum = ""; next }
	/^[0-9]+ passed, [0-9]+ failed/ { sum = $1 "/" ($1 + $3) }
	/^All tests passed/ { n = $0; sub(/.* in /, "", n); sub(/ test case.*/, "", n); sum = n "/" n }
	/^test cases:/ { t = $3; p = $5; sum = p "/" t }
	/^SKIP: / { sum = "skipped: " substr($0, 7) }
	/^exit status [0-9]+ \(77 expected\)/ { sum = "refused with status " $3 }
	/^# Totals: pass:/ { split($0, tap, /[: ]+/); sum = tap[4] "/" (tap[4] + tap[6] + tap[12]) }
	/^moving-memory .*: exact rounds / {
		w = $0; sub(/.*exact rounds [0-9]+: written /, "", w); sub(/,.*/, "", w)
		l = $0; sub(/.*, lost /, "", l); sub(/,.*/, "", l)
		c = $0; sub(/.*clean reported /, "", c); sub(/,.*/, "", c)
		sum = "written " w " lost " l " clean " c }
	/^WW-RESULT / { rc = $3; sub(/^rc=/, "", rc); print $2, rc, (sum == "" ? "-" : sum); name = "" }'
}

# boot_check LOG WANT_BACKEND: judges a finished VM. WANT_BACKEND is the
# backend the project's tests must report ("kernel", "fault" or empty when
# they did not run). Prints the runs; sets B_OK (1/0), B_PASSED (the runs
# that passed, with their counts) and B_WHY (the reasons it failed).
boot_check() {
	local out=$1 want=$2 name rc sum why=() passed=()
	boot_clean_log "$out" | grep -o 'WW-KERNEL.*' || true
	boot_clean_log "$out" | grep -E '^(WW-B|WW-R|WW-D|WW-MM|FAIL |SKIP |INFO |[0-9]+ passed|test cases|All tests|writewatch tests:|SKIP:|exit status|moving-memory|ksm-run|not ok|# Totals|  [a-z-]+ +(happened|not here|NO TRACE|refused) )' || true
	while read -r name rc sum; do
		if [ "$rc" = 0 ]; then
			passed+=("$name $sum")
		elif [ "$rc" -gt 128 ] && [ "$sum" = - ]; then
			why+=("$name killed by signal $((rc - 128))")
		else
			why+=("$name rc=$rc ($sum)")
		fi
	done < <(boot_summaries "$out")
	[ ${#passed[@]} -gt 0 ] || [ ${#why[@]} -gt 0 ] || why+=("no test ran")
	if ! boot_clean_log "$out" | grep -q '^WW-DONE'; then
		why+=("the VM did not finish (timeout after ${VM_TIMEOUT} s or crash; last lines above)")
		tail -30 "$out"
	fi
	if [ -n "$want" ] && ! grep -q "writewatch tests: backend $want" "$out"; then
		why+=("no 'backend $want' line from the project tests")
	fi
	if grep -qE 'WARNING: |BUG: |Oops|Kernel panic' "$out"; then
		grep -E -A20 'WARNING: |BUG: |Oops|Kernel panic' "$out" | head -60
		why+=("the kernel logged a warning, bug or panic")
	fi
	B_PASSED=$(IFS=';'; echo "${passed[*]}" | sed 's/;/, /g')
	B_WHY=$(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')
	if [ ${#why[@]} -eq 0 ]; then B_OK=1; else B_OK=0; fi
}
