// Host pages larger than the 4096-byte Windows page (16K or 64K on some arm64
// kernels). The engine keeps its state per 4K page, but mprotect, madvise and
// the kernel's write tracking act on whole host pages:
//   - a host page gets the most permissive protection of its 4K pages (a
//     write-protection the fault backend needs for a clean page wins);
//   - contents are dropped (decommit, MEM_RESET) only for whole host pages;
//   - a write marks every 4K page of its host page (over-reporting is allowed,
//     losing a write is not).
// With 4K host pages all of this is the identity.
#pragma once

#include "allocation.h"
#include "probe.h"

#include <algorithm>
#include <cstddef>

namespace writewatch {

// 4K pages per host page.
inline size_t subpages_per_host_page()
{
    static const size_t subpages = static_cast<size_t>(kernel_features().host_page_size) / WW_PAGE_SIZE;
    return subpages;
}

inline size_t host_round_up(size_t bytes)
{
    size_t host = static_cast<size_t>(kernel_features().host_page_size);
    return (bytes + host - 1) / host * host;
}

// The pages of the host pages that overlap 'pages', within [0, page_count).
inline PageRange covering_host_pages(PageRange pages, size_t page_count)
{
    size_t h = subpages_per_host_page();
    size_t first = pages.first / h * h;
    size_t end = std::min(page_count, (pages.first + pages.count + h - 1) / h * h);
    return PageRange{first, end - first};
}

// The pages of the host pages that lie wholly inside 'pages' (a host page cut
// by the allocation's end counts as whole when 'pages' reaches that end).
inline PageRange whole_host_pages(PageRange pages, size_t page_count)
{
    size_t h = subpages_per_host_page();
    size_t end = pages.first + pages.count;
    size_t first = (pages.first + h - 1) / h * h;
    size_t last = end == page_count ? end : end / h * h;
    return first < last ? PageRange{first, last - first} : PageRange{first, 0};
}

} // namespace writewatch
