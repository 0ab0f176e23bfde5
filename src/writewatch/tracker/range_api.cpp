// The range tracker's C API: argument checks, the table of host ranges, and
// the hand-over to the tracked range.
#include "../hot_path.h"
#include "../probe.h"
#include "../user_memory.h"
#include "range_table.h"

#include <mutex>
#include <new>
#include <shared_mutex>

namespace writewatch {
namespace {

struct Bounds {
    uintptr_t start;
    uintptr_t end;
};

// [base, base + size) when it is not empty, does not wrap and is aligned to
// 'alignment'.
WW_HOT_PATH bool bounds_of(const void *base, size_t size, uintptr_t alignment, Bounds *out)
{
    auto start = reinterpret_cast<uintptr_t>(base);
    uintptr_t end;
    if (size == 0 || __builtin_add_overflow(start, size, &end))
        return false;
    if ((start | size) & (alignment - 1))
        return false;
    *out = Bounds{start, end};
    return true;
}

uintptr_t host_page()
{
    return static_cast<uintptr_t>(kernel_features().host_page_size);
}

// The checks every call starts with: a usable kernel, then the bounds.
ww_status check_call(const void *base, size_t size, uintptr_t alignment, Bounds *bounds)
{
    if (!KernelTracking::get())
        return WW_STATUS_NOT_SUPPORTED;
    return bounds_of(base, size, alignment, bounds) ? WW_STATUS_SUCCESS : WW_STATUS_INVALID_PARAMETER;
}

// Runs op(range, bounds) on the host range holding the checked bounds, with
// the table lock held throughout: shared for gets and resets, exclusively for
// the memory events, which change marks (tracked_range.h, "Locking").
enum class Access { scan, event };

template <typename Op>
WW_HOT_PATH ww_status on_range(const void *base, size_t size, uintptr_t alignment, Access access, Op op)
{
    Bounds bounds;
    bool in_bounds = bounds_of(base, size, alignment, &bounds);
    RangeTable &table = range_table();
    std::shared_lock<RwLock> shared(table.mutex(), std::defer_lock);
    std::unique_lock<RwLock> exclusive(table.mutex(), std::defer_lock);
    if (access == Access::scan)
        shared.lock();
    else
        exclusive.lock();
    TrackedRange *range = in_bounds ? table.find(bounds.start, bounds.end, RangeTable::Owner::host) : nullptr;
    // Ranges exist only where the kernel tracks, so the kernel is asked about
    // on failure alone (the answer check_call would have given first).
    if (!range)
        return KernelTracking::get() ? WW_STATUS_INVALID_PARAMETER : WW_STATUS_NOT_SUPPORTED;
    return op(*range, bounds);
}

} // namespace
} // namespace writewatch

using namespace writewatch;

extern "C" ww_status ww_range_tracker_status(void)
{
    return KernelTracking::get() ? WW_STATUS_SUCCESS : WW_STATUS_NOT_SUPPORTED;
}

extern "C" ww_status ww_range_register(void *base, size_t size)
{
    Bounds bounds;
    ww_status status = check_call(base, size, host_page(), &bounds);
    if (status != WW_STATUS_SUCCESS)
        return status;
    RangeTable &table = range_table();
    std::unique_lock lock(table.mutex());
    if (table.overlaps(bounds.start, bounds.end))
        return WW_STATUS_CONFLICTING_ADDRESSES;
    auto range = std::unique_ptr<TrackedRange>(
        new (std::nothrow) TrackedRange(*KernelTracking::get(), bounds.start, size, host_page()));
    if (!range)
        return WW_STATUS_NO_MEMORY;
    status = range->attach();
    if (status != WW_STATUS_SUCCESS)
        return status;
    table.insert(range.release(), RangeTable::Owner::host);
    return WW_STATUS_SUCCESS;
}

extern "C" ww_status ww_range_unregister(void *base, size_t size)
{
    Bounds bounds;
    ww_status status = check_call(base, size, host_page(), &bounds);
    if (status != WW_STATUS_SUCCESS)
        return status;
    RangeTable &table = range_table();
    std::unique_lock lock(table.mutex());
    TrackedRange *range = table.find_exact(bounds.start, bounds.end, RangeTable::Owner::host);
    if (!range)
        return WW_STATUS_INVALID_PARAMETER;
    range->detach();
    table.remove(bounds.start);
    return WW_STATUS_SUCCESS;
}

extern "C" WW_HOT_PATH ww_status ww_range_get_written(void *base, size_t size, uint32_t flags, void **addresses,
                                          uintptr_t *count)
{
    if (!count || (flags & ~WW_WRITE_WATCH_FLAG_RESET))
        return WW_STATUS_INVALID_PARAMETER;
    if (*count && !addresses)
        return WW_STATUS_INVALID_PARAMETER;
    return on_range(base, size, WW_PAGE_SIZE, Access::scan, [&](TrackedRange &range, Bounds bounds) {
        uintptr_t limit = *count;
        if (limit == 0)
            return WW_STATUS_SUCCESS;
        uintptr_t stored = 0;
        ww_status status = range.get_written(bounds.start, bounds.end, flags & WW_WRITE_WATCH_FLAG_RESET,
                                             addresses, limit, &stored);
        if (flags & WW_WRITE_WATCH_FLAG_RESET)
            rewrite_results(addresses, stored);
        *count = stored;
        return status;
    });
}

extern "C" WW_HOT_PATH ww_status ww_range_reset(void *base, size_t size)
{
    return on_range(base, size, WW_PAGE_SIZE, Access::scan,
                    [](TrackedRange &range, Bounds bounds) { return range.reset(bounds.start, bounds.end); });
}

extern "C" ww_status ww_range_protection_changed(void *base, size_t size)
{
    return on_range(base, size, WW_PAGE_SIZE, Access::event,
                    [](TrackedRange &range, Bounds bounds) { return range.latch(bounds.start, bounds.end); });
}

extern "C" ww_status ww_range_decommitted(void *base, size_t size)
{
    return on_range(base, size, host_page(), Access::event, [](TrackedRange &range, Bounds bounds) {
        return range.forget_live(bounds.start, bounds.end);
    });
}

extern "C" ww_status ww_range_discard(void *base, size_t size)
{
    return on_range(base, size, host_page(), Access::event,
                    [](TrackedRange &range, Bounds bounds) { return range.discard(bounds.start, bounds.end); });
}

extern "C" ww_status ww_range_remapped(void *base, size_t size)
{
    return on_range(base, size, host_page(), Access::event,
                    [](TrackedRange &range, Bounds bounds) { return range.replaced(bounds.start, bounds.end); });
}
