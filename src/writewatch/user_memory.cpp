#include "user_memory.h"

#include "address_range.h"
#include "backend.h"
#include "probe.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace writewatch {
namespace {

// MADV_POPULATE_WRITE (Linux 5.14) faults the pages in for writing without
// changing their contents, and fails on memory that cannot be written.
int populate_for_write(uintptr_t start, uintptr_t end)
{
    if (madvise(reinterpret_cast<void *>(start), end - start, MADV_POPULATE_WRITE) == 0)
        return 0;
    return errno;
}

bool populate_supported()
{
    static const bool supported = [] {
        long page = kernel_features().host_page_size;
        void *probe = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (probe == MAP_FAILED)
            return false;
        bool works = madvise(probe, page, MADV_POPULATE_WRITE) == 0;
        munmap(probe, page);
        return works;
    }();
    return supported;
}

} // namespace

ww_status prepare_kernel_write_locked(const Registry &registry, uintptr_t start, uintptr_t end)
{
    ww_status result = WW_STATUS_SUCCESS;
    registry.for_each_overlapping(start, end, [&](Allocation &allocation) {
        if (!allocation.backend || result != WW_STATUS_SUCCESS)
            return;
        uintptr_t from = std::max(start, allocation.base);
        uintptr_t to = std::min(end, allocation.end());
        size_t first = allocation.page_index(from);
        size_t last = allocation.page_index(to + WW_PAGE_SIZE - 1);
        result = allocation.backend->prepare_kernel_write(allocation, PageRange{first, last - first});
    });
    return result;
}

ww_status check_user_writable(const Registry &registry, const void *address, size_t size)
{
    if (!address)
        return WW_STATUS_ACCESS_VIOLATION;
    if (size == 0)
        return WW_STATUS_SUCCESS;
    std::optional<AddressRange> range = round_range(address, size);
    if (!range)
        return WW_STATUS_ACCESS_VIOLATION;
    if (!populate_supported())
        return WW_STATUS_SUCCESS; // no way to check without risking a fault: trust the caller
    int error = populate_for_write(range->start, range->end);
    if (error == 0)
        return WW_STATUS_SUCCESS;
    // Clean pages of the fault backend are read-only until written.
    if (prepare_kernel_write_locked(registry, range->start, range->end) == WW_STATUS_SUCCESS &&
        populate_for_write(range->start, range->end) == 0)
        return WW_STATUS_SUCCESS;
    return WW_STATUS_ACCESS_VIOLATION;
}

} // namespace writewatch
