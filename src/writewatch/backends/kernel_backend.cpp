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
        ww_status status = range.attach();
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
        return allocation.kernel_range->decommit(start_of(allocation, pages), mapped_end_of(allocation, pages));
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
    return allocation.kernel_range->get_written(start_of(allocation, pages), end_of(allocation, pages), reset,
                                                addresses, limit, found);
}

WW_HOT_PATH ww_status kernel_reset(Allocation &allocation, PageRange pages)
{
    return allocation.kernel_range->reset(start_of(allocation, pages), end_of(allocation, pages));
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
