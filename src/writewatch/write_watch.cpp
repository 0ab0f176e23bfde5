// NtGetWriteWatch and NtResetWriteWatch: argument checks in Windows' order,
// rounding to pages, and the hand-over to the backend of the allocation.
#include "address_range.h"
#include "backend.h"
#include "hot_path.h"
#include "registry.h"
#include "user_memory.h"

#include <algorithm>
#include <shared_mutex>

namespace writewatch {
namespace {

// The watched allocation holding all of [base, base + size), as page range.
WW_HOT_PATH ww_status find_watched(const Registry &reg, const void *base, size_t size, Allocation **found,
                       PageRange *pages)
{
    std::optional<AddressRange> range = round_range(base, size);
    if (!range || range->start == 0)
        return WW_STATUS_INVALID_PARAMETER;
    Allocation *allocation = reg.find(range->start);
    if (!allocation || !allocation->backend || !allocation->contains(range->start, range->end))
        return WW_STATUS_INVALID_PARAMETER;
    *found = allocation;
    *pages = allocation->pages_of(range->start, range->end);
    return WW_STATUS_SUCCESS;
}

} // namespace
} // namespace writewatch

using namespace writewatch;

extern "C" WW_HOT_PATH ww_status ww_get_write_watch(void *process, uint32_t flags, void *base, size_t size,
                                        void **addresses, uintptr_t *count, uint32_t *granularity)
{
    if (process != WW_CURRENT_PROCESS)
        return WW_STATUS_INVALID_HANDLE;
    if (!count || !granularity)
        return WW_STATUS_ACCESS_VIOLATION;
    Registry &reg = registry();
    std::shared_lock lock(reg.mutex());
    if (check_user_writable(count, sizeof(*count), granularity, sizeof(*granularity)) != WW_STATUS_SUCCESS)
        return WW_STATUS_ACCESS_VIOLATION;
    if (*count == 0 || size == 0)
        return WW_STATUS_INVALID_PARAMETER;
    if (flags & ~WW_WRITE_WATCH_FLAG_RESET)
        return WW_STATUS_INVALID_PARAMETER;
    if (!addresses)
        return WW_STATUS_ACCESS_VIOLATION;
    Allocation *allocation = nullptr;
    PageRange pages{};
    ww_status status = find_watched(reg, base, size, &allocation, &pages);
    if (status != WW_STATUS_SUCCESS)
        return status;
    uintptr_t limit = std::min<uintptr_t>(*count, pages.count);
    if (check_user_writable(addresses, limit * sizeof(*addresses)) != WW_STATUS_SUCCESS)
        return WW_STATUS_ACCESS_VIOLATION;
    uintptr_t found = 0;
    status = backend_get_written(*allocation, pages, flags & WW_WRITE_WATCH_FLAG_RESET, addresses, limit, &found);
    if (flags & WW_WRITE_WATCH_FLAG_RESET)
        rewrite_results(addresses, found);
    // Even on a kernel failure the pages stored (and perhaps re-protected) are
    // counted, so a caller that looks loses nothing.
    *count = found;
    if (status == WW_STATUS_SUCCESS)
        *granularity = WW_PAGE_SIZE;
    return status;
}

extern "C" WW_HOT_PATH ww_status ww_reset_write_watch(void *process, void *base, size_t size)
{
    if (process != WW_CURRENT_PROCESS)
        return WW_STATUS_INVALID_HANDLE;
    if (size == 0)
        return WW_STATUS_INVALID_PARAMETER;
    Registry &reg = registry();
    std::shared_lock lock(reg.mutex());
    Allocation *allocation = nullptr;
    PageRange pages{};
    ww_status status = find_watched(reg, base, size, &allocation, &pages);
    if (status != WW_STATUS_SUCCESS)
        return status;
    return backend_reset(*allocation, pages);
}

extern "C" ww_status ww_prepare_kernel_write(void *addr, size_t size)
{
    std::optional<AddressRange> range = round_range(addr, size);
    if (!range)
        return WW_STATUS_INVALID_PARAMETER;
    Registry &reg = registry();
    std::shared_lock lock(reg.mutex());
    ww_status result = WW_STATUS_SUCCESS;
    reg.for_each_overlapping(range->start, range->end, [&](Allocation &allocation) {
        if (!allocation.backend || result != WW_STATUS_SUCCESS)
            return;
        PageRange pages = allocation.pages_of(std::max(range->start, allocation.base),
                                              std::min(range->end, allocation.end()));
        result = allocation.backend->prepare_kernel_write(allocation, pages);
    });
    return result;
}
