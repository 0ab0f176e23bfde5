# Sourced. Puts the machine in the state the "memory that moves" checks need
# and puts it back afterwards, whatever happens in between:
#   swap    zram0 as swap when no swap is on (2 GiB), so MADV_PAGEOUT really
#           swaps anonymous pages out; left alone when swap is already on
#   KSM     run=1, pages_to_scan=5000, sleep_millisecs=10, so identical pages
#           of mergeable memory merge within tens of milliseconds
#   THP     transparent_hugepage/enabled=madvise when it was never
#
#   moving_memory_on        set up; records what it changed
#   moving_memory_restore   undo exactly what moving_memory_on changed
#   moving_memory_describe  one line: swap and KSM as they are now
# Callers run moving_memory_restore from an EXIT trap (or call it on every
# path). Needs root; without it moving_memory_on returns 1 and changes nothing.

MM_KSM=/sys/kernel/mm/ksm
MM_THP=/sys/kernel/mm/transparent_hugepage/enabled
mm_saved_ksm=()       # "file=value" to write back
mm_saved_thp=
mm_zram_swap=0        # 1 when we turned zram0 on as swap

mm_swap_active() { [ "$(awk 'NR > 1' /proc/swaps | wc -l)" -gt 0 ]; }

moving_memory_on() {
    [ "$(id -u)" -eq 0 ] || { echo "moving-memory: not root: swap and KSM cannot be set up" >&2; return 1; }
    if ! mm_swap_active; then
        if [ -e /sys/block/zram0 ] || modprobe zram num_devices=1 2>/dev/null; then
            if [ "$(cat /sys/block/zram0/disksize)" = 0 ]; then
                echo 2G > /sys/block/zram0/disksize || return 1
            fi
            mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 || return 1
            mm_zram_swap=1
            echo "moving-memory: zram0 (2 GiB) on as swap" >&2
        else
            echo "moving-memory: no swap and no zram device: swap-out cannot happen" >&2
        fi
    fi
    if [ -d "$MM_KSM" ]; then
        local setting file value
        for setting in run=1 pages_to_scan=5000 sleep_millisecs=10; do
            file=${setting%%=*} value=${setting#*=}
            mm_saved_ksm+=("$file=$(cat "$MM_KSM/$file")")
            echo "$value" > "$MM_KSM/$file" || return 1
        done
    else
        echo "moving-memory: this kernel has no KSM" >&2
    fi
    if [ -w "$MM_THP" ] && grep -q '\[never\]' "$MM_THP"; then
        mm_saved_thp=never
        echo madvise > "$MM_THP"
    fi
    return 0
}

moving_memory_restore() {
    local entry i
    # In reverse: run goes back last, after the rates it ran with.
    for ((i = ${#mm_saved_ksm[@]} - 1; i >= 0; i--)); do
        entry=${mm_saved_ksm[i]}
        echo "${entry#*=}" > "$MM_KSM/${entry%%=*}" 2>/dev/null ||
            echo "moving-memory: could not restore ksm/${entry%%=*}" >&2
    done
    mm_saved_ksm=()
    if [ -n "$mm_saved_thp" ]; then
        echo "$mm_saved_thp" > "$MM_THP" 2>/dev/null || echo "moving-memory: could not restore THP" >&2
        mm_saved_thp=
    fi
    if [ "$mm_zram_swap" = 1 ]; then
        swapoff /dev/zram0 && echo 1 > /sys/block/zram0/reset ||
            echo "moving-memory: could not take zram0 swap down" >&2
        mm_zram_swap=0
    fi
}

moving_memory_describe() {
    local swap=none ksm=absent
    mm_swap_active && swap=$(awk 'NR > 1 {printf "%s%s", sep, $1; sep=","}' /proc/swaps)
    [ -d "$MM_KSM" ] && ksm="run=$(cat $MM_KSM/run) pages_to_scan=$(cat $MM_KSM/pages_to_scan) sleep_millisecs=$(cat $MM_KSM/sleep_millisecs)"
    echo "swap: $swap; ksm: $ksm"
}
