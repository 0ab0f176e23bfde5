// NtAllocateVirtualMemory, NtFreeVirtualMemory, NtProtectVirtualMemory and
// NtQueryVirtualMemory for memory the library hands out: reservations of 64K-
// aligned address space, commits and decommits of pages inside them, and the
// write watch attached at reservation time.
#include "address_range.h"
#include "backend_choice.h"
#include "errno_status.h"
#include "host_mapping.h"
#include "host_pages.h"
#include "placement.h"
#include "probe.h"
#include "protection.h"
#include "registry.h"

#include <sys/mman.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <new>

namespace writewatch {
namespace {

constexpr uintptr_t allocation_granularity = 0x10000; // Windows reserves in 64K units
constexpr int reservation_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
constexpr uint32_t reserve_or_commit_flags =
    WW_MEM_COMMIT | WW_MEM_RESERVE | WW_MEM_TOP_DOWN | WW_MEM_WRITE_WATCH;

bool is_current_process(void *process) { return process == WW_CURRENT_PROCESS; }

// The protection bits for a protect argument, or the status refusing it.
ww_status parse_protection(uint32_t protect, PageState *bits)
{
    std::optional<PageState> encoded = encode_protection(protect & ~WW_PAGE_GUARD);
    if (!encoded)
        return WW_STATUS_INVALID_PAGE_PROTECTION;
    if (protect & WW_PAGE_GUARD)
        return WW_STATUS_NOT_SUPPORTED; // one-shot guard pages are not emulated
    *bits = *encoded;
    return WW_STATUS_SUCCESS;
}

ww_status apply_protection(Allocation &allocation, PageRange pages)
{
    if (allocation.backend)
        return allocation.backend->apply_protection(allocation, pages);
    return apply_host_protection(allocation, pages);
}

// MEM_RESET: contents go, watch state stays.
ww_status discard(Allocation &allocation, PageRange pages)
{
    if (allocation.backend)
        return allocation.backend->discard(allocation, pages);
    return drop_contents(allocation, pages);
}

// Gives the pages a new layout (protection and commit state), applies it, then
// runs then() (the watch-state side of the change). When the kernel refuses
// either (ENOMEM at vm.max_map_count), the pages get their old layout back, so
// that the page states keep describing the mapping and a failed call changes
// nothing the caller can see.
template <typename Then>
ww_status change_layout(Allocation &allocation, PageRange pages, PageState layout, Then then)
{
    std::unique_ptr<PageState[]> old(new (std::nothrow) PageState[pages.count]);
    if (!old)
        return WW_STATUS_NO_MEMORY;
    for (size_t i = 0; i < pages.count; ++i) {
        old[i] = allocation.state(pages.first + i) & page_state::layout_mask;
        allocation.set_layout(pages.first + i, layout);
    }
    ww_status status = apply_protection(allocation, pages);
    if (status == WW_STATUS_SUCCESS)
        status = then();
    if (status != WW_STATUS_SUCCESS) {
        for (size_t i = 0; i < pages.count; ++i)
            allocation.set_layout(pages.first + i, old[i]);
        apply_protection(allocation, pages); // best effort: it only joins what was split
    }
    return status;
}

// Maps PROT_NONE address space of whole host pages at 'start' exactly.
ww_status map_reservation_at(uintptr_t start, size_t size)
{
    void *at = kernel::mmap(reinterpret_cast<void *>(start), size, PROT_NONE, reservation_flags | MAP_FIXED_NOREPLACE);
    if (at == MAP_FAILED)
        return errno == EEXIST ? WW_STATUS_CONFLICTING_ADDRESSES : status_from_errno(errno);
    if (reinterpret_cast<uintptr_t>(at) != start) { // kernels before 4.17 treat the flag as a hint
        munmap(at, size);
        return WW_STATUS_CONFLICTING_ADDRESSES;
    }
    return WW_STATUS_SUCCESS;
}

// Maps PROT_NONE address space for a reservation: at 'start' if given, else
// on a 64K boundary, bottom-up unless top_down (placement.h); whole host pages
// (the last may reach past 'size'). Caller holds the registry lock exclusively.
ww_status map_reservation(const Registry &reg, uintptr_t start, size_t size, bool top_down, uintptr_t *mapped)
{
    size = host_round_up(size);
    if (start) {
        ww_status status = map_reservation_at(start, size);
        if (status == WW_STATUS_SUCCESS)
            *mapped = start;
        return status;
    }
    // Where page tables start matters (Windows only asks for 64K alignment):
    // a scan that write-protects pages flushes them from the TLB one by one
    // when few of a page table's pages are in the range, and that is slow
    // (in a VM, each is a trap). So a reservation of 2 MiB or more starts on
    // a 2 MiB boundary, as the kernel places large anonymous mappings, and a
    // smaller one lies within one 2 MiB block when the padding allows.
    bool large = size >= page_table_block;
    uintptr_t alignment = large ? page_table_block : allocation_granularity;
    if (!top_down) {
        BottomUpPlacement &placement = bottom_up_placement();
        if (uintptr_t candidate = placement.candidate(reg, size, alignment)) {
            placement.move_past(candidate, size);
            if (map_reservation_at(candidate, size) == WW_STATUS_SUCCESS) {
                *mapped = candidate;
                return WW_STATUS_SUCCESS;
            }
        }
    }
    size_t padded = size + alignment + (large ? 0 : size);
    void *area = kernel::mmap(nullptr, padded, PROT_NONE, reservation_flags);
    if (area == MAP_FAILED)
        return status_from_errno(errno);
    auto raw = reinterpret_cast<uintptr_t>(area);
    uintptr_t aligned = align_up(raw, alignment);
    if (uintptr_t moved = within_one_block(aligned, size); moved + size <= raw + padded)
        aligned = moved;
    if (aligned > raw)
        munmap(area, aligned - raw);
    if (raw + padded > aligned + size)
        munmap(reinterpret_cast<void *>(aligned + size), raw + padded - (aligned + size));
    *mapped = aligned;
    return WW_STATUS_SUCCESS;
}

// Caller holds the registry lock exclusively.
ww_status reserve(Registry &reg, AddressRange range, uint32_t type, uint32_t protect,
                  PageState protection_bits, Allocation **made)
{
    if (range.start && !reg.is_free(range.start, range.end))
        return WW_STATUS_CONFLICTING_ADDRESSES;
    Backend *backend = nullptr;
    if (type & WW_MEM_WRITE_WATCH) {
        ww_status status = WW_STATUS_SUCCESS;
        if (!(backend = backend_for_new_watch(&status)))
            return status;
    }
    auto allocation = std::unique_ptr<Allocation>(new (std::nothrow) Allocation);
    if (!allocation)
        return WW_STATUS_NO_MEMORY;
    size_t page_count = range.size() / WW_PAGE_SIZE;
    if (!allocation->pages.allocate(page_count))
        return WW_STATUS_NO_MEMORY;
    // A reservation's pages start zero (reserved, no access) and cost nothing.
    const bool committed = type & WW_MEM_COMMIT;

    uintptr_t mapped = 0;
    ww_status status = map_reservation(reg, range.start, range.size(), type & WW_MEM_TOP_DOWN, &mapped);
    if (status != WW_STATUS_SUCCESS)
        return status;
    allocation->base = mapped;
    allocation->size = range.size();
    allocation->allocation_protect = protect;
    allocation->backend = backend;
    if (backend && (status = backend->attach(*allocation)) != WW_STATUS_SUCCESS) {
        munmap(reinterpret_cast<void *>(mapped), range.size());
        return status;
    }
    // The mapping has no access already; committed pages start clean first.
    if (committed && backend)
        status = backend->prepare_commit(*allocation, PageRange{0, page_count});
    if (committed && status == WW_STATUS_SUCCESS) {
        allocation->pages.touch(0, page_count);
        for (size_t i = 0; i < page_count; ++i)
            allocation->pages[i].store(protection_bits | page_state::committed, std::memory_order_relaxed);
        status = apply_protection(*allocation, PageRange{0, page_count});
    }
    if (status != WW_STATUS_SUCCESS) {
        if (backend)
            backend->detach(*allocation);
        munmap(reinterpret_cast<void *>(mapped), range.size());
        return status;
    }
    *made = &reg.insert(std::move(allocation));
    return WW_STATUS_SUCCESS;
}

// Caller holds the registry lock exclusively.
ww_status commit(Registry &reg, AddressRange range, PageState protection_bits)
{
    Allocation *allocation = reg.find(range.start);
    if (!allocation || !allocation->contains(range.start, range.end))
        return WW_STATUS_CONFLICTING_ADDRESSES;
    PageRange pages = allocation->pages_of(range.start, range.end);
    if (allocation->backend) {
        // Each run of reserved pages starts clean before it gets access.
        for (size_t i = pages.first; i < pages.first + pages.count;) {
            if (allocation->state(i) & page_state::committed) {
                ++i;
                continue;
            }
            size_t run = i;
            while (run < pages.first + pages.count && !(allocation->state(run) & page_state::committed))
                ++run;
            if (ww_status status = allocation->backend->prepare_commit(*allocation, PageRange{i, run - i});
                status != WW_STATUS_SUCCESS)
                return status;
            i = run;
        }
    }
    return change_layout(*allocation, pages, protection_bits | page_state::committed,
                         [] { return WW_STATUS_SUCCESS; });
}

// Caller holds the registry lock exclusively (the kernel backend's discard is
// several steps that a concurrent scan must not interleave with).
ww_status reset_contents(Registry &reg, AddressRange range)
{
    Allocation *allocation = reg.find(range.start);
    if (!allocation || !allocation->contains(range.start, range.end))
        return WW_STATUS_CONFLICTING_ADDRESSES;
    PageRange pages = allocation->pages_of(range.start, range.end);
    for (size_t i = pages.first; i < pages.first + pages.count; ++i)
        if (!(allocation->state(i) & page_state::committed))
            return WW_STATUS_NOT_COMMITTED;
    return discard(*allocation, pages);
}

ww_status check_allocation_type(uint32_t type)
{
    if (type == WW_MEM_RESET || type == WW_MEM_RESET_UNDO)
        return WW_STATUS_SUCCESS;
    if (type & ~reserve_or_commit_flags)
        return WW_STATUS_INVALID_PARAMETER;
    if (!(type & (WW_MEM_COMMIT | WW_MEM_RESERVE)))
        return WW_STATUS_INVALID_PARAMETER;
    if ((type & WW_MEM_WRITE_WATCH) && !(type & WW_MEM_RESERVE))
        return WW_STATUS_INVALID_PARAMETER;
    return WW_STATUS_SUCCESS;
}

ww_status release(Registry &reg, uintptr_t address, size_t *size_out)
{
    Allocation *allocation = reg.find(address);
    if (!allocation)
        return WW_STATUS_MEMORY_NOT_ALLOCATED;
    if (allocation->base != address)
        return WW_STATUS_FREE_VM_NOT_AT_BASE;
    std::unique_ptr<Allocation> removed = reg.remove(address);
    if (removed->backend)
        removed->backend->detach(*removed);
    munmap(reinterpret_cast<void *>(removed->base), removed->size);
    bottom_up_placement().released(removed->base);
    *size_out = removed->size;
    return WW_STATUS_SUCCESS;
}

ww_status decommit(Registry &reg, AddressRange range)
{
    Allocation *allocation = reg.find(range.start);
    if (!allocation)
        return WW_STATUS_MEMORY_NOT_ALLOCATED;
    if (!allocation->contains(range.start, range.end))
        return WW_STATUS_INVALID_PARAMETER;
    PageRange pages = allocation->pages_of(range.start, range.end);
    // Contents and live written state go; latched pages stay reported.
    return change_layout(*allocation, pages, 0, [&] {
        return allocation->backend ? allocation->backend->decommit(*allocation, pages)
                                   : drop_contents(*allocation, pages);
    });
}

} // namespace

} // namespace writewatch

using namespace writewatch;

extern "C" ww_status ww_allocate_virtual_memory(void *process, void **base, size_t *size,
                                                uint32_t type, uint32_t protect)
{
    if (!is_current_process(process))
        return WW_STATUS_INVALID_HANDLE;
    if (!base || !size)
        return WW_STATUS_ACCESS_VIOLATION;
    if (*size == 0)
        return WW_STATUS_INVALID_PARAMETER;
    ww_status status = check_allocation_type(type);
    if (status != WW_STATUS_SUCCESS)
        return status;
    PageState protection_bits = 0;
    if ((status = parse_protection(protect, &protection_bits)) != WW_STATUS_SUCCESS)
        return status;
    if (type == WW_MEM_RESET_UNDO)
        return WW_STATUS_NOT_SUPPORTED; // contents dropped by MEM_RESET are gone for good

    bool reserving = (type & WW_MEM_RESERVE) || !*base; // a commit at NULL reserves too
    std::optional<AddressRange> range =
        round_range(*base, *size, reserving && type != WW_MEM_RESET ? allocation_granularity : WW_PAGE_SIZE);
    if (!range || range->size() == 0)
        return WW_STATUS_INVALID_PARAMETER;

    Registry &reg = registry();
    std::unique_lock lock(reg.mutex());
    if (type == WW_MEM_RESET) {
        status = *base ? reset_contents(reg, *range) : WW_STATUS_INVALID_PARAMETER;
    } else {
        if (reserving) {
            Allocation *made = nullptr;
            status = reserve(reg, *range, type | (*base ? 0 : WW_MEM_RESERVE), protect,
                             protection_bits, &made);
            if (status == WW_STATUS_SUCCESS)
                range->start = made->base, range->end = made->end();
        } else {
            status = commit(reg, *range, protection_bits);
        }
    }
    if (status == WW_STATUS_SUCCESS) {
        *base = reinterpret_cast<void *>(range->start);
        *size = range->size();
    }
    return status;
}

extern "C" ww_status ww_free_virtual_memory(void *process, void **base, size_t *size, uint32_t type)
{
    if (!is_current_process(process))
        return WW_STATUS_INVALID_HANDLE;
    if (!base || !size)
        return WW_STATUS_ACCESS_VIOLATION;
    if (type != WW_MEM_RELEASE && type != WW_MEM_DECOMMIT)
        return WW_STATUS_INVALID_PARAMETER;
    Registry &reg = registry();
    std::unique_lock lock(reg.mutex());
    auto address = reinterpret_cast<uintptr_t>(*base);
    if (type == WW_MEM_RELEASE) {
        if (*size != 0) {
            // A size naming exactly the whole allocation releases it, as
            // Windows does. Part of one is not released: Windows refuses it
            // for a watched region (it never splits or shortens one) and this
            // engine splits no allocation.
            std::optional<AddressRange> range = round_range(*base, *size);
            Allocation *allocation = range ? reg.find(range->start) : nullptr;
            if (!allocation)
                return WW_STATUS_MEMORY_NOT_ALLOCATED;
            if (range->start != allocation->base || range->end != allocation->end())
                return allocation->backend ? WW_STATUS_FREE_VM_NOT_AT_BASE : WW_STATUS_INVALID_PARAMETER;
            address = allocation->base;
        }
        size_t released = 0;
        ww_status status = release(reg, address, &released);
        if (status == WW_STATUS_SUCCESS)
            *size = released;
        return status;
    }
    std::optional<AddressRange> range;
    if (*size == 0) {
        // The whole allocation, when named by its base.
        Allocation *allocation = reg.find(address);
        if (!allocation)
            return WW_STATUS_MEMORY_NOT_ALLOCATED;
        if (allocation->base != address)
            return WW_STATUS_FREE_VM_NOT_AT_BASE;
        range = AddressRange{allocation->base, allocation->end()};
    } else if (!(range = round_range(*base, *size))) {
        return WW_STATUS_INVALID_PARAMETER;
    }
    ww_status status = decommit(reg, *range);
    if (status == WW_STATUS_SUCCESS) {
        *base = reinterpret_cast<void *>(range->start);
        *size = range->size();
    }
    return status;
}

extern "C" ww_status ww_protect_virtual_memory(void *process, void **base, size_t *size,
                                               uint32_t new_protect, uint32_t *old_protect)
{
    if (!is_current_process(process))
        return WW_STATUS_INVALID_HANDLE;
    if (!base || !size || !old_protect)
        return WW_STATUS_ACCESS_VIOLATION;
    PageState protection_bits = 0;
    ww_status status = parse_protection(new_protect, &protection_bits);
    if (status != WW_STATUS_SUCCESS)
        return status;
    std::optional<AddressRange> range = round_range(*base, *size);
    if (!range || range->size() == 0)
        return WW_STATUS_INVALID_PARAMETER;
    Registry &reg = registry();
    std::unique_lock lock(reg.mutex());
    Allocation *allocation = reg.find(range->start);
    if (!allocation || !allocation->contains(range->start, range->end))
        return WW_STATUS_INVALID_ADDRESS;
    PageRange pages = allocation->pages_of(range->start, range->end);
    for (size_t i = pages.first; i < pages.first + pages.count; ++i)
        if (!(allocation->state(i) & page_state::committed))
            return WW_STATUS_NOT_COMMITTED;
    uint32_t previous = decode_protection(allocation->state(pages.first));
    // Windows latches the written state of the pages at every protection
    // change, even one to the same protection (SEMANTICS.md, decommit).
    status = change_layout(*allocation, pages, protection_bits | page_state::committed, [&] {
        return allocation->backend ? allocation->backend->latch(*allocation, pages) : WW_STATUS_SUCCESS;
    });
    if (status != WW_STATUS_SUCCESS)
        return status;
    *old_protect = previous;
    *base = reinterpret_cast<void *>(range->start);
    *size = range->size();
    return WW_STATUS_SUCCESS;
}

extern "C" ww_status ww_query_virtual_memory(void *process, const void *addr,
                                             ww_memory_basic_information *info)
{
    if (!is_current_process(process))
        return WW_STATUS_INVALID_HANDLE;
    if (!info)
        return WW_STATUS_ACCESS_VIOLATION;
    Registry &reg = registry();
    std::shared_lock lock(reg.mutex());
    const Allocation *allocation = reg.find(reinterpret_cast<uintptr_t>(addr));
    if (!allocation)
        return WW_STATUS_INVALID_ADDRESS;
    size_t first = allocation->page_index(reinterpret_cast<uintptr_t>(addr));
    PageState layout = allocation->state(first) & page_state::layout_mask;
    size_t end = first + 1;
    while (end < allocation->page_count()) {
        if (layout == 0) { // reserved: blocks never committed are skipped whole
            size_t touched = allocation->pages.next_touched(end, allocation->page_count());
            if (touched != end) {
                end = touched;
                continue;
            }
        }
        if ((allocation->state(end) & page_state::layout_mask) != layout)
            break;
        ++end;
    }
    bool committed = layout & page_state::committed;
    info->base_address = reinterpret_cast<void *>(allocation->page_address(first));
    info->allocation_base = reinterpret_cast<void *>(allocation->base);
    info->allocation_protect = allocation->allocation_protect;
    info->region_size = (end - first) * WW_PAGE_SIZE;
    info->state = committed ? WW_MEM_COMMIT : WW_MEM_RESERVE;
    info->protect = committed ? decode_protection(layout) : 0;
    info->type = WW_MEM_PRIVATE;
    return WW_STATUS_SUCCESS;
}
