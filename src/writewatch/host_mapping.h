// mprotect of page ranges to what their page states say.
#pragma once

#include "backend.h"
#include "errno_status.h"
#include "host_pages.h"
#include "kernel_calls.h"
#include "page_runs.h"

#include <sys/mman.h>

#include <cerrno>

namespace writewatch {

// What prot_of() returns, beside PROT_* bits, for a page that could be
// written but must fault on its first write (the fault backend's clean
// pages): with host pages larger than 4K it keeps write access away from the
// whole host page, whatever its other pages allow.
inline constexpr int write_must_fault = 1 << 24;

// The protection of the host page holding 4K page 'index': the union of its
// pages' prot_of(state), without write access when one of them must fault.
template <typename ProtFn>
int host_page_protection(const Allocation &allocation, size_t index, ProtFn prot_of)
{
    PageRange host = covering_host_pages(PageRange{index, 1}, allocation.page_count());
    int prot = 0;
    for (size_t i = host.first; i < host.first + host.count; ++i)
        prot |= prot_of(allocation.state(i));
    return prot & write_must_fault ? prot & ~(write_must_fault | PROT_WRITE) : prot;
}

// Gives each page of the range the protection prot_of(state), one mprotect
// per run of equal protection, whole host pages at a time (see
// host_pages.h). When one fails, *applied (if given) tells how many pages
// from the start of the range got theirs: those before the failing run.
template <typename ProtFn>
ww_status apply_host_protection(const Allocation &allocation, PageRange pages, ProtFn prot_of,
                                size_t *applied = nullptr)
{
    if (applied)
        *applied = 0;
    auto protect = [&](PageRange run, int prot) -> ww_status {
        if (kernel::mprotect(reinterpret_cast<void *>(allocation.page_address(run.first)),
                             host_round_up(run.count * WW_PAGE_SIZE), prot) != 0)
            return status_from_errno(errno);
        if (applied)
            *applied = std::min(run.first + run.count, pages.first + pages.count) - pages.first;
        return WW_STATUS_SUCCESS;
    };
    size_t h = subpages_per_host_page();
    if (h == 1) { // each page is a host page: its own protection, less the flag
        // Neighbours mostly share their state: work out each protection once.
        int last_state = -1, last_prot = 0;
        return for_each_run(
            pages,
            [&](size_t i) {
                PageState state = allocation.state(i);
                if (state != last_state) {
                    last_state = state;
                    last_prot = prot_of(state) & ~write_must_fault;
                }
                return last_prot;
            },
            protect);
    }
    PageRange host = covering_host_pages(pages, allocation.page_count());
    return for_each_run(
        host, [&](size_t i) { return host_page_protection(allocation, i / h * h, prot_of); }, protect);
}

// The same with the plain host protection of each state (PROT_NONE when not committed).
ww_status apply_host_protection(const Allocation &allocation, PageRange pages);

// MADV_DONTNEED of [start, start + size): the contents go, the mapping stays.
ww_status drop_contents(uintptr_t start, size_t size);
// The same for the whole host pages among the allocation's 'pages' (the
// others keep their contents: madvise acts on whole host pages).
ww_status drop_contents(const Allocation &allocation, PageRange pages);

} // namespace writewatch
