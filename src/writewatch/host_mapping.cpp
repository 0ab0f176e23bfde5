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

ww_status drop_contents(const Allocation &allocation, PageRange pages)
{
    PageRange whole = whole_host_pages(pages, allocation.page_count());
    if (whole.count == 0)
        return WW_STATUS_SUCCESS;
    return drop_contents(allocation.page_address(whole.first), host_round_up(whole.count * WW_PAGE_SIZE));
}

} // namespace writewatch
