// mprotect of page ranges to what their page states say.
#pragma once

#include "backend.h"
#include "errno_status.h"
#include "page_runs.h"

#include <sys/mman.h>

#include <cerrno>

namespace writewatch {

// Gives each page of the range the protection prot_of(state), one mprotect
// per run of equal protection.
template <typename ProtFn>
ww_status apply_host_protection(const Allocation &allocation, PageRange pages, ProtFn prot_of)
{
    return for_each_run(
        pages, [&](size_t i) { return prot_of(allocation.state(i)); },
        [&](PageRange run, int prot) -> ww_status {
            if (mprotect(reinterpret_cast<void *>(allocation.page_address(run.first)),
                         run.count * WW_PAGE_SIZE, prot) != 0)
                return status_from_errno(errno);
            return WW_STATUS_SUCCESS;
        });
}

// The same with the plain host protection of each state (PROT_NONE when not committed).
ww_status apply_host_protection(const Allocation &allocation, PageRange pages);

} // namespace writewatch
