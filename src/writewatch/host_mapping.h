// mprotect of page ranges to what their page states say.
#pragma once

#include "backend.h"
#include "errno_status.h"
#include "kernel_calls.h"
#include "page_runs.h"

#include <sys/mman.h>

#include <cerrno>

namespace writewatch {

// Gives each page of the range the protection prot_of(state), one mprotect
// per run of equal protection. When one fails, *applied (if given) tells how
// many pages from the start of the range got theirs: the runs before it.
template <typename ProtFn>
ww_status apply_host_protection(const Allocation &allocation, PageRange pages, ProtFn prot_of,
                                size_t *applied = nullptr)
{
    if (applied)
        *applied = 0;
    return for_each_run(
        pages, [&](size_t i) { return prot_of(allocation.state(i)); },
        [&](PageRange run, int prot) -> ww_status {
            if (kernel::mprotect(reinterpret_cast<void *>(allocation.page_address(run.first)),
                                 run.count * WW_PAGE_SIZE, prot) != 0)
                return status_from_errno(errno);
            if (applied)
                *applied += run.count;
            return WW_STATUS_SUCCESS;
        });
}

// The same with the plain host protection of each state (PROT_NONE when not committed).
ww_status apply_host_protection(const Allocation &allocation, PageRange pages);

// MADV_DONTNEED of [start, start + size): the contents go, the mapping stays.
ww_status drop_contents(uintptr_t start, size_t size);

} // namespace writewatch
