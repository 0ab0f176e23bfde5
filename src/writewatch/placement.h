// Where a reservation without an address goes. Windows hands such address
// space out from the bottom up; mmap hands it out top-down, right below the
// shared libraries. The place matters to the fault backend: its resets
// re-protect ranges that earlier writes split into thousands of mappings, and
// the kernel merges those back about 15% slower right below the libraries
// than low in the address space (bench/results/README.md, "Placement").
//
// So reservations go bottom-up from a random 2 MiB boundary up to 1 TiB above
// 4 GiB (the low 4 GiB stay free for programs that need 32-bit addresses, and
// the start stays unpredictable), within the lower half of the address space.
// Where something else is mapped at a candidate, the reservation gets the
// kernel's usual top-down place instead. MEM_TOP_DOWN asks for that anyway.
//
// Every call is made with the registry lock held exclusively.
#pragma once

#include "address_range.h"
#include "registry.h"

#include <cstddef>
#include <cstdint>

namespace writewatch {

// One page table's worth of address space (x86_64, arm64 4K). Where page
// tables start matters to scans (see map_reservation): reservations of this
// size or more start on such a block, smaller ones lie within one.
inline constexpr uintptr_t page_table_block = 0x200000;

// 'start', or the next block's start if [start, start + size) of a
// reservation smaller than a block would cross into it.
inline uintptr_t within_one_block(uintptr_t start, size_t size)
{
    uintptr_t block_end = align_down(start, page_table_block) + page_table_block;
    return size < page_table_block && start + size > block_end ? block_end : start;
}

class BottomUpPlacement {
public:
    // The lowest address at or above the cursor where [start, start + size)
    // overlaps none of the registry's allocations and starts on 'alignment'
    // (and, for sizes below 2 MiB, stays within one 2 MiB block); 0 when no
    // candidate was found in a few steps.
    uintptr_t candidate(const Registry &registry, size_t size, uintptr_t alignment);
    // The candidate is taken, by the reservation or by a foreign mapping
    // found there: the search goes on above it (over a foreign mapping in a
    // few tries).
    void move_past(uintptr_t start, size_t size) { cursor_ = start + size; }
    // A reservation was released: the next search starts at its hole when it
    // is lower (first fit, as Windows reuses freed address space).
    void released(uintptr_t start);

private:
    uintptr_t floor_ = 0;   // the random start
    uintptr_t ceiling_ = 0; // nothing bottom-up ends above it
    uintptr_t cursor_ = 0;  // 0 until the first candidate picks the start
};

BottomUpPlacement &bottom_up_placement();

} // namespace writewatch
