// Kernel backend: each watched allocation is a tracked range (the range
// tracker's core, tracker/tracked_range.h) registered in the process's range
// table, so that the NT-level calls and the range tracker's C API share one
// translation of the rules into PAGEMAP_SCAN requests.
#include "../backend.h"
#include "../errno_status.h"
#include "../host_mapping.h"
#include "../host_pages.h"
#include "../hot_path.h"
#include "../probe.h"
#include "../tracker/range_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <mutex>
#include <new>

namespace writewatch {
namespace {

uintptr_t start_of(const Allocation &allocation, PageRange pages)
{
    return allocation.page_address(pages.first);
}

uintptr_t end_of(const Allocation &allocation, PageRange pages)
{
    return allocation.page_address(pages.first + pages.count);
}

// Calls visit(run) for each run of the pages whose blocks were ever
// committed, in ascending order, until one fails. The other blocks hold no
// written page, and the kernel would read their unprotected pages as written.
template <typename Visit>
inline ww_status for_each_touched_run(const Allocation &allocation, PageRange pages, Visit visit)
{
    const size_t end = pages.first + pages.count;
    for (size_t first = allocation.pages.next_touched(pages.first, end); first < end;) {
        size_t stop = allocation.pages.next_untouched(first, end);
        if (ww_status status = visit(PageRange{first, stop - first}); status != WW_STATUS_SUCCESS)
            return status;
        first = allocation.pages.next_touched(stop, end);
    }
    return WW_STATUS_SUCCESS;
}

class KernelBackend final : public Backend {
public:
    explicit KernelBackend(KernelTracking &kernel) : kernel_(kernel) {}

    ww_backend_kind kind() const override { return WW_BACKEND_KERNEL; }

    ww_status attach(Allocation &allocation) override
    {
        // Whole host pages: the mapping reaches the end of the last one.
        TrackedRange &range = allocation.kernel_range.emplace(kernel_, allocation.base,
                                                              host_round_up(allocation.size),
                                                              static_cast<size_t>(kernel_features().host_page_size));
        ww_status status = range.attach_inaccessible();
        if (status == WW_STATUS_SUCCESS) {
            RangeTable &table = range_table();
            std::unique_lock lock(table.mutex());
            if (table.overlaps(allocation.base, allocation.end()))
                status = WW_STATUS_CONFLICTING_ADDRESSES; // a host registered this memory
            else
                table.insert(&range, RangeTable::Owner::engine);
        }
        if (status != WW_STATUS_SUCCESS)
            allocation.kernel_range.reset();
        return status;
    }

    void detach(Allocation &allocation) override
    {
        // The allocation is unmapped right after, which drops the registration.
        RangeTable &table = range_table();
        std::unique_lock lock(table.mutex());
        table.remove(allocation.base);
        allocation.kernel_range.reset();
    }

    ww_status prepare_commit(Allocation &allocation, PageRange pages) override
    {
        // The kernel reads an unprotected page as written, so only blocks
        // whose pages are all protected or committed may be scanned: the
        // blocks the run touches are protected whole (pages committed there
        // keep their state), and calls skip the blocks never touched
        // (for_each_touched_run).
        const size_t block = allocation.pages.block;
        return protect_reserved(allocation, pages.first / block * block,
                                (pages.first + pages.count + block - 1) / block * block);
    }

    ww_status apply_protection(Allocation &allocation, PageRange pages) override
    {
        // The uffd-wp bit of each PTE survives mprotect, so tracking is untouched.
        return apply_host_protection(allocation, pages);
    }

    ww_status latch(Allocation &allocation, PageRange pages) override
    {
        return allocation.kernel_range->latch(start_of(allocation, pages), end_of(allocation, pages));
    }

    ww_status discard(Allocation &allocation, PageRange pages) override
    {
        return allocation.kernel_range->discard(start_of(allocation, pages), mapped_end_of(allocation, pages));
    }

    ww_status decommit(Allocation &allocation, PageRange pages) override
    {
        return for_each_touched_run(allocation, pages, [&](PageRange run) {
            return allocation.kernel_range->decommit(start_of(allocation, run), mapped_end_of(allocation, run));
        });
    }

    ww_status get_written(Allocation &allocation, PageRange pages, bool reset, void **addresses, uintptr_t limit,
                          uintptr_t *found) override
    {
        return kernel_get_written(allocation, pages, reset, addresses, limit, found);
    }

    ww_status reset(Allocation &allocation, PageRange pages) override { return kernel_reset(allocation, pages); }

    ww_status prepare_kernel_write(Allocation &, PageRange) override
    {
        return WW_STATUS_SUCCESS; // the kernel tracks its own writes
    }

private:
    // Write-protects the host pages of [first, end) (page indices, clipped to
    // the mapping) that hold no committed page: their state is clean, and
    // protecting a host page that holds one would clean its write.
    ww_status protect_reserved(Allocation &allocation, size_t first, size_t end)
    {
        const size_t host_pages = subpages_per_host_page();
        const size_t mapped_pages = host_round_up(allocation.size) / WW_PAGE_SIZE;
        end = std::min(end, mapped_pages);
        auto holds_committed = [&](size_t host_first) {
            for (size_t i = host_first; i < std::min(host_first + host_pages, allocation.page_count()); ++i)
                if (allocation.state(i) & page_state::committed)
                    return true;
            return false;
        };
        for (size_t page = first / host_pages * host_pages; page < end;) {
            if (holds_committed(page)) {
                page += host_pages;
                continue;
            }
            size_t run_end = page + host_pages;
            while (run_end < end && !holds_committed(run_end))
                run_end += host_pages;
            if (ww_status status = allocation.kernel_range->protect_fresh(allocation.page_address(page),
                                                                            allocation.page_address(run_end));
                status != WW_STATUS_SUCCESS)
                return status;
            page = run_end;
        }
        return WW_STATUS_SUCCESS;
    }

    // The end of the pages, where the end of the allocation counts as the end
    // of its mapping (the last host page may reach past it).
    static uintptr_t mapped_end_of(const Allocation &allocation, PageRange pages)
    {
        uintptr_t end = end_of(allocation, pages);
        return end == allocation.end() ? allocation.base + host_round_up(allocation.size) : end;
    }

    KernelTracking &kernel_;
};

} // namespace

WW_HOT_PATH ww_status kernel_get_written(Allocation &allocation, PageRange pages, bool reset, void **addresses,
                                        uintptr_t limit, uintptr_t *found)
{
    *found = 0;
    return for_each_touched_run(allocation, pages, [&](PageRange run) {
        if (*found == limit)
            return WW_STATUS_SUCCESS; // full
        uintptr_t stored = 0;
        ww_status status = allocation.kernel_range->get_written(start_of(allocation, run), end_of(allocation, run),
                                                                reset, addresses + *found, limit - *found, &stored);
        *found += stored;
        return status;
    });
}

WW_HOT_PATH ww_status kernel_reset(Allocation &allocation, PageRange pages)
{
    return for_each_touched_run(allocation, pages, [&](PageRange run) {
        return allocation.kernel_range->reset(start_of(allocation, run), end_of(allocation, run));
    });
}

Backend *kernel_backend()
{
    static KernelBackend *instance = [] () -> KernelBackend * {
        KernelTracking *kernel = KernelTracking::get();
        return kernel ? new KernelBackend(*kernel) : nullptr; // lives as long as the process
    }();
    return instance;
}

} // namespace writewatch
