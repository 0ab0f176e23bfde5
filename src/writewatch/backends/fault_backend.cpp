// Fault backend: clean pages are mapped without write access; the SIGSEGV
// handler (fault_signal.cpp) marks a page written on its first write and gives
// it back its full protection. Works on any kernel; costs a signal per first
// write. The written and latched bits live in the allocation's page states; a
// page is reported when either is set.
//
// Every section that reads and changes written bits and protections together
// holds the allocation's fault lock, which the handler takes too: a write either
// lands before a reset (and is reported) or faults after it (and is recorded).
#include "../backend.h"
#include "../errno_status.h"
#include "../host_mapping.h"
#include "../host_pages.h"
#include "fault_protection.h"
#include "fault_signal.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

namespace writewatch {
namespace {

// Written pages made clean per step of a get-and-reset or a reset.
constexpr size_t chunk_pages = 1024;
// Pages examined per fault section at most, when sections are per chunk.
constexpr size_t scan_span = 64 * 1024;

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

    ww_status latch(Allocation &allocation, PageRange pages) override
    {
        FaultSection section(allocation);
        for (size_t i = pages.first; i < pages.first + pages.count; ++i)
            if (allocation.state(i) & page_state::written)
                allocation.pages[i].fetch_or(page_state::latched, std::memory_order_acq_rel);
        return WW_STATUS_SUCCESS;
    }

    ww_status discard(Allocation &allocation, PageRange pages) override
    {
        // Zapping keeps the protection and the page states: nothing else to do.
        return drop_contents(allocation, pages);
    }

    ww_status decommit(Allocation &allocation, PageRange pages) override
    {
        ww_status status = drop_contents(allocation, pages);
        if (status != WW_STATUS_SUCCESS)
            return status;
        // The pages have no access now, so no write can fault in meanwhile;
        // recommitted, they get the clean protection.
        FaultSection section(allocation);
        for (size_t i = pages.first; i < pages.first + pages.count; ++i)
            allocation.pages[i].fetch_and(static_cast<PageState>(~page_state::written), std::memory_order_acq_rel);
        return WW_STATUS_SUCCESS;
    }

    ww_status get_written(Allocation &allocation, PageRange pages, bool reset, void **addresses,
                          uintptr_t limit, uintptr_t *found) override
    {
        uintptr_t stored = 0;
        size_t end = pages.first + pages.count;
        if (!reset) {
            // Reading the bits needs no lock: a write racing with the call is
            // seen now or by the next call, as with any get.
            for (size_t i = pages.first; i < end && stored < limit; ++i)
                if (allocation.state(i) & page_state::watch_mask)
                    addresses[stored++] = reinterpret_cast<void *>(allocation.page_address(i));
            *found = stored;
            return WW_STATUS_SUCCESS;
        }
        // Copying into memory of this very allocation may fault into the
        // handler, which takes the section: copy such output unlocked.
        auto out = reinterpret_cast<uintptr_t>(addresses);
        bool output_inside = out < allocation.end() && out + limit * sizeof(void *) > allocation.base;
        ww_status status = clean_written(allocation, pages, limit, !output_inside,
                                         [&](const size_t *indices, size_t count) {
                                             for (size_t i = 0; i < count; ++i)
                                                 addresses[stored++] = reinterpret_cast<void *>(
                                                     allocation.page_address(indices[i]));
                                         });
        // On failure the failed chunk stays written; earlier ones are in addresses.
        *found = stored;
        return status;
    }

    ww_status reset(Allocation &allocation, PageRange pages) override
    {
        return clean_written(allocation, pages, UINTPTR_MAX, true, [](const size_t *, size_t) {});
    }

    ww_status prepare_kernel_write(Allocation &allocation, PageRange pages) override
    {
        // Whole host pages: one clean 4K page would keep its host page protected.
        pages = covering_host_pages(pages, allocation.page_count());
        FaultSection section(allocation);
        for (size_t i = pages.first; i < pages.first + pages.count; ++i) {
            PageState state = allocation.state(i);
            if ((state & page_state::committed) && protection_allows_write(state))
                allocation.pages[i].fetch_or(page_state::written, std::memory_order_acq_rel);
        }
        return apply_host_protection(allocation, pages, fault_protection);
    }

private:
    static ww_status drop_contents(Allocation &allocation, PageRange pages)
    {
        return writewatch::drop_contents(allocation, pages);
    }

    // Makes up to 'limit' written pages of the range clean, in ascending
    // chunks, handing each chunk's page indices to deliver(indices, count).
    // With hold_throughout the whole call is one fault section (writers that
    // fault meanwhile wait once, as under a global lock) and deliver runs
    // inside it; otherwise each chunk is its own section, examining at most
    // scan_span pages, and deliver runs unlocked.
    template <typename Deliver>
    static ww_status clean_written(Allocation &allocation, PageRange pages, uintptr_t limit,
                                   bool hold_throughout, Deliver deliver)
    {
        std::array<size_t, chunk_pages> chunk;
        std::optional<FaultSection> whole;
        if (hold_throughout)
            whole.emplace(allocation);
        size_t end = pages.first + pages.count;
        uintptr_t done = 0;
        ww_status status = WW_STATUS_SUCCESS;
        for (size_t next = pages.first; done < limit && next < end;) {
            size_t count = 0;
            {
                std::optional<FaultSection> piece;
                if (!hold_throughout)
                    piece.emplace(allocation);
                size_t stop = hold_throughout ? end : std::min(end, next + scan_span);
                size_t room = std::min<uintptr_t>(limit - done, chunk.size());
                for (; next < stop && count < room; ++next)
                    if (allocation.state(next) & page_state::watch_mask)
                        chunk[count++] = next;
                size_t cleaned = 0;
                status = make_clean(allocation, chunk.data(), count, &cleaned);
                count = cleaned; // on a failure, the pages before the failing run
            }
            deliver(chunk.data(), count);
            done += count;
            if (status != WW_STATUS_SUCCESS)
                return status;
        }
        return WW_STATUS_SUCCESS;
    }

    // Write-protect the listed pages (ascending indices, and every written
    // page between the first and the last of them) and clear their watch bits.
    // The clean pages in between have their clean protection already, so one
    // mprotect per protection run covers the span: fewer calls, and mappings
    // split by earlier writes merge again. *cleaned is the number of leading
    // indices made clean: all of them, or on a failed mprotect those before
    // its run (the rest stay written). Caller holds the fault section.
    static ww_status make_clean(Allocation &allocation, const size_t *indices, size_t count, size_t *cleaned)
    {
        *cleaned = 0;
        if (count == 0)
            return WW_STATUS_SUCCESS;
        PageRange span{indices[0], indices[count - 1] - indices[0] + 1};
        size_t applied = 0;
        ww_status status = apply_host_protection(allocation, span, clean_fault_protection, &applied);
        for (; *cleaned < count && indices[*cleaned] < span.first + applied; ++*cleaned)
            allocation.pages[indices[*cleaned]].fetch_and(static_cast<PageState>(~page_state::watch_mask),
                                                          std::memory_order_acq_rel);
        return status;
    }
};

} // namespace

Backend &fault_backend()
{
    static FaultBackend *instance = new FaultBackend; // lives as long as the process
    return *instance;
}

} // namespace writewatch
