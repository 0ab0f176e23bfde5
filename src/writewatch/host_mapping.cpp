#include "host_mapping.h"

#include "protection.h"

namespace writewatch {

ww_status apply_host_protection(const Allocation &allocation, PageRange pages)
{
    return apply_host_protection(allocation, pages,
                                 [](PageState state) { return host_protection(state); });
}

ww_status drop_contents(uintptr_t start, size_t size)
{
    if (kernel::madvise(reinterpret_cast<void *>(start), size, MADV_DONTNEED) != 0)
        return status_from_errno(errno);
    return WW_STATUS_SUCCESS;
}

} // namespace writewatch
