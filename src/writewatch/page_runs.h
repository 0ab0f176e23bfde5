// Walking a page range in runs of pages that share a key (a protection, a
// written bit), so that one system call covers each run.
#pragma once

#include "backend.h"

namespace writewatch {

// key(index) -> value; visit(PageRange run, value) -> ww_status. Stops at the
// first failure and returns it.
template <typename KeyFn, typename VisitFn>
ww_status for_each_run(PageRange pages, KeyFn key, VisitFn visit)
{
    size_t end = pages.first + pages.count;
    size_t run_start = pages.first;
    while (run_start < end) {
        auto value = key(run_start);
        size_t run_end = run_start + 1;
        while (run_end < end && key(run_end) == value)
            ++run_end;
        ww_status status = visit(PageRange{run_start, run_end - run_start}, value);
        if (status != WW_STATUS_SUCCESS)
            return status;
        run_start = run_end;
    }
    return WW_STATUS_SUCCESS;
}

} // namespace writewatch
