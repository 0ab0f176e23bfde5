// Fault backend: clean pages are mapped without write access; the SIGSEGV
// handler (fault_signal.cpp) marks a page written on its first write and gives
// it back its full protection. Works on any kernel; costs a signal per first
// write. The written bit lives in the allocation's page states.
//
// Every section that reads and changes written bits and protections together
// holds the allocation's fault lock, which the handler takes too: a write either
// lands before a reset (and is reported) or faults after it (and is recorded).
#include "../backend.h"
#include "../errno_status.h"
#include "../host_mapping.h"
#include "fault_protection.h"
#include "fault_signal.h"

#include <sys/mman.h>

#include <array>
#include <mutex>

namespace writewatch {
namespace {

// Written pages collected per locked section before they are copied out.
// Copying happens unlocked: the caller's array may itself be watched memory.
constexpr size_t chunk_pages = 512;

class FaultSection {
public:
    explicit FaultSection(Allocation &allocation) : allocation_(allocation) { allocation_.fault_lock.lock(); }
    ~FaultSection() { allocation_.fault_lock.unlock(); }
    FaultSection(const FaultSection &) = delete;
    FaultSection &operator=(const FaultSection &) = delete;

private:
    AsyncSignalsBlocked signals_; // constructed first, released last
    Allocation &allocation_;
};

class FaultBackend final : public Backend {
public:
    ww_backend_kind kind() const override { return WW_BACKEND_FAULT; }

    ww_status attach(Allocation &allocation) override
    {
        if (!install_fault_handler())
            return WW_STATUS_NOT_SUPPORTED;
        if (!publish_fault_allocation(allocation))
            return WW_STATUS_NO_MEMORY;
        return WW_STATUS_SUCCESS;
    }

    void detach(Allocation &allocation) override { withdraw_fault_allocation(allocation); }

    ww_status apply_protection(Allocation &allocation, PageRange pages) override
    {
        FaultSection section(allocation);
        return apply_host_protection(allocation, pages, fault_protection);
    }

    ww_status discard(Allocation &allocation, PageRange pages) override
    {
        // Zapping keeps the protection and the page states: nothing else to do.
        if (madvise(reinterpret_cast<void *>(allocation.page_address(pages.first)),
                    pages.count * WW_PAGE_SIZE, MADV_DONTNEED) != 0)
            return status_from_errno(errno);
        return WW_STATUS_SUCCESS;
    }

    ww_status get_written(Allocation &allocation, PageRange pages, bool reset, void **addresses,
                          uintptr_t limit, uintptr_t *found) override
    {
        std::array<size_t, chunk_pages> chunk;
        uintptr_t stored = 0;
        size_t next = pages.first;
        size_t end = pages.first + pages.count;
        while (stored < limit && next < end) {
            size_t taken = 0;
            {
                FaultSection section(allocation);
                for (; next < end && taken < chunk.size() && stored + taken < limit; ++next)
                    if (allocation.state(next) & page_state::written)
                        chunk[taken++] = next;
                if (reset) {
                    ww_status status = make_clean(allocation, chunk.data(), taken);
                    if (status != WW_STATUS_SUCCESS) {
                        // Nothing of this chunk was cleaned; earlier chunks were
                        // and their pages are in addresses: count them.
                        *found = stored;
                        return status;
                    }
                }
            }
            for (size_t i = 0; i < taken; ++i)
                addresses[stored++] = reinterpret_cast<void *>(allocation.page_address(chunk[i]));
        }
        *found = stored;
        return WW_STATUS_SUCCESS;
    }

    ww_status reset(Allocation &allocation, PageRange pages) override
    {
        FaultSection section(allocation);
        // Write-protect written pages first, then forget the writes.
        ww_status status = apply_host_protection(allocation, pages, clean_fault_protection);
        if (status != WW_STATUS_SUCCESS)
            return status;
        for (size_t i = pages.first; i < pages.first + pages.count; ++i)
            allocation.pages[i].fetch_and(static_cast<PageState>(~page_state::written),
                                          std::memory_order_acq_rel);
        return WW_STATUS_SUCCESS;
    }

    ww_status prepare_kernel_write(Allocation &allocation, PageRange pages) override
    {
        FaultSection section(allocation);
        for (size_t i = pages.first; i < pages.first + pages.count; ++i) {
            PageState state = allocation.state(i);
            if ((state & page_state::committed) && protection_allows_write(state))
                allocation.pages[i].fetch_or(page_state::written, std::memory_order_acq_rel);
        }
        return apply_host_protection(allocation, pages, fault_protection);
    }

private:
    // Write-protect the listed pages (ascending indices) and clear their written
    // bits. Caller holds the fault section.
    static ww_status make_clean(Allocation &allocation, const size_t *indices, size_t count)
    {
        for (size_t i = 0; i < count;) {
            size_t run = 1;
            int prot = clean_fault_protection(allocation.state(indices[i]));
            while (i + run < count && indices[i + run] == indices[i] + run &&
                   clean_fault_protection(allocation.state(indices[i + run])) == prot)
                ++run;
            if (mprotect(reinterpret_cast<void *>(allocation.page_address(indices[i])),
                         run * WW_PAGE_SIZE, prot) != 0)
                return status_from_errno(errno);
            i += run;
        }
        for (size_t i = 0; i < count; ++i)
            allocation.pages[indices[i]].fetch_and(static_cast<PageState>(~page_state::written),
                                                   std::memory_order_acq_rel);
        return WW_STATUS_SUCCESS;
    }
};

} // namespace

Backend &fault_backend()
{
    static FaultBackend *instance = new FaultBackend; // lives as long as the process
    return *instance;
}

} // namespace writewatch
