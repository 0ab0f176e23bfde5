// One region handed out by ww_allocate_virtual_memory with MEM_RESERVE: its
// address range, its page states and, when watched, the backend tracking it.
#pragma once

#include "page_state.h"
#include "signal_safe_mutex.h"
#include "sparse_array.h"
#include "tracker/tracked_range.h"
#include "writewatch/writewatch.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace writewatch {

class Backend;

// Pages of an allocation by index: [first, first + count).
struct PageRange {
    size_t first;
    size_t count;
};

struct Allocation {
    uintptr_t base = 0;
    size_t size = 0; // bytes, a multiple of WW_PAGE_SIZE
    uint32_t allocation_protect = 0;
    Backend *backend = nullptr; // null for memory allocated without MEM_WRITE_WATCH
    // One state per page; a reservation pays only for the blocks of pages
    // ever committed (a block is 2 MiB of address space, 512 bytes of states).
    SparseArray<std::atomic<PageState>, 512> pages;
    SignalSafeMutex fault_lock; // serialises the fault backend's handler with its scans
    // The kernel backend's tracking, in the allocation's own memory: a cold
    // GetWriteWatch reads it right after the allocation, without a pointer to
    // follow first.
    std::optional<TrackedRange> kernel_range;

    size_t page_count() const { return size / WW_PAGE_SIZE; }
    uintptr_t end() const { return base + size; }
    uintptr_t page_address(size_t index) const { return base + index * WW_PAGE_SIZE; }
    size_t page_index(uintptr_t address) const { return (address - base) / WW_PAGE_SIZE; }
    bool contains(uintptr_t start, uintptr_t stop) const { return start >= base && stop <= end(); }
    // The pages of the page-aligned [start, stop), which lies inside the allocation.
    PageRange pages_of(uintptr_t start, uintptr_t stop) const
    {
        return PageRange{page_index(start), (stop - start) / WW_PAGE_SIZE};
    }

    PageState state(size_t index) const { return pages[index].load(std::memory_order_acquire); }
    // The first page of [from, to) that is written or latched, or 'to';
    // blocks of pages never committed are skipped whole.
    size_t next_watched(size_t from, size_t to) const
    {
        while (from < to) {
            from = pages.next_touched(from, to);
            size_t block_end = std::min(to, (from / pages.block + 1) * pages.block);
            for (; from < block_end; ++from)
                if (state(from) & page_state::watch_mask)
                    return from;
        }
        return to;
    }
    // Replace everything but the watch bits, which the fault handler may set concurrently.
    void set_layout(size_t index, PageState layout)
    {
        if (layout)
            pages.touch(index, 1);
        PageState old = pages[index].load(std::memory_order_relaxed);
        while (!pages[index].compare_exchange_weak(
            old, static_cast<PageState>((old & page_state::watch_mask) | layout),
            std::memory_order_acq_rel))
        {
        }
    }
    // Clear the watch bits without an atomic read-modify-write, which costs
    // more than the rest of a reset's per-page work. Only for callers that
    // hold both the fault lock (the handler and every other watch-bit writer
    // take it) and the registry lock (set_layout runs under it exclusively),
    // so that nothing else can change the page's state meanwhile.
    void clear_watch_bits_exclusively(size_t index)
    {
        PageState state = pages[index].load(std::memory_order_relaxed);
        pages[index].store(static_cast<PageState>(state & ~page_state::watch_mask), std::memory_order_release);
    }
};

} // namespace writewatch
