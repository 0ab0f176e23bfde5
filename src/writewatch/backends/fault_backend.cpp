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
#include "../registry.h"
#include "fault_protection.h"
#include "fault_signal.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdint>

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

    ww_status prepare_commit(Allocation &, PageRange) override
    {
        return WW_STATUS_SUCCESS; // their clean protection comes with the commit
    }

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
            for (size_t i = allocation.next_watched(pages.first, end); i < end && stored < limit;
                 i = allocation.next_watched(i + 1, end))
                addresses[stored++] = reinterpret_cast<void *>(allocation.page_address(i));
            *found = stored;
            return WW_STATUS_SUCCESS;
        }
        // Copying into a fault-backend allocation may fault into the handler,
        // which takes that allocation's fault lock: such output is copied
        // outside the section. Inside it, a call would wait for itself (its
        // output in this allocation), or two calls for each other (each one's
        // output in the allocation the other resets).
        bool output_may_fault = overlaps_fault_allocation(addresses, limit * sizeof(void *));
        ww_status status = clean_written(allocation, pages, limit, !output_may_fault, [&](size_t index) {
            addresses[stored++] = reinterpret_cast<void *>(allocation.page_address(index));
        });
        // On failure the failed chunk stays written; earlier ones are in addresses.
        *found = stored;
        return status;
    }

    ww_status reset(Allocation &allocation, PageRange pages) override
    {
        return clean_written(allocation, pages, UINTPTR_MAX, true, [](size_t) {});
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
    // Whether [address, address + size) overlaps memory this backend
    // watches. Caller holds the registry lock.
    bool overlaps_fault_allocation(const void *address, size_t size) const
    {
        auto start = reinterpret_cast<uintptr_t>(address);
        bool found = false;
        registry().for_each_overlapping(start, start + size, [&](const Allocation &allocation) {
            found = found || allocation.backend == this;
        });
        return found;
    }

    static ww_status drop_contents(Allocation &allocation, PageRange pages)
    {
        return writewatch::drop_contents(allocation, pages);
    }

    // Makes up to 'limit' written pages of the range clean, in ascending
    // order, handing each one's page index to deliver(index). With
    // hold_throughout the whole call is one fault section (writers that fault
    // meanwhile wait once, as under a global lock) and one window, so one
    // mprotect per protection run covers it; deliver runs inside. Otherwise
    // each window is its own section, examining at most scan_span pages and
    // cleaning at most chunk_pages, and deliver runs unlocked afterwards.
    template <typename Deliver>
    static ww_status clean_written(Allocation &allocation, PageRange pages, uintptr_t limit,
                                   bool hold_throughout, Deliver deliver)
    {
        size_t end = pages.first + pages.count;
        if (hold_throughout) {
            FaultSection section(allocation);
            uintptr_t done = 0;
            for (size_t next = pages.first; next < end && done < limit;)
                if (ww_status status = clean_window(allocation, next, end, limit - done, [&](size_t index) {
                        ++done;
                        deliver(index);
                    });
                    status != WW_STATUS_SUCCESS)
                    return status;
            return WW_STATUS_SUCCESS;
        }
        std::array<size_t, chunk_pages> chunk;
        uintptr_t done = 0;
        for (size_t next = pages.first; done < limit && next < end;) {
            size_t count = 0;
            ww_status status;
            {
                FaultSection section(allocation);
                size_t room = std::min<uintptr_t>(limit - done, chunk.size());
                status = clean_window(allocation, next, std::min(end, next + scan_span), room,
                                      [&](size_t index) { chunk[count++] = index; });
            }
            std::for_each(chunk.begin(), chunk.begin() + count, deliver);
            done += count;
            if (status != WW_STATUS_SUCCESS)
                return status;
        }
        return WW_STATUS_SUCCESS;
    }

    // One window of clean_written, inside its fault section: finds up to
    // 'room' written pages in [next, stop), within one run of blocks ever
    // committed, write-protects the span from the first to the last of them
    // and clears their watch bits, calling deliver(index) for each, and
    // moves next past what it examined. The clean pages in the span have
    // their clean protection already, so one mprotect per protection run
    // covers it: fewer calls, and mappings split by earlier writes merge
    // again. When an mprotect fails, the pages before its run are clean and
    // delivered and the rest stay written.
    template <typename Deliver>
    static ww_status clean_window(Allocation &allocation, size_t &next, size_t stop, uintptr_t room,
                                  Deliver deliver)
    {
        auto written = [&](size_t i) { return (allocation.state(i) & page_state::watch_mask) != 0; };
        next = allocation.next_watched(next, stop);
        if (next == stop)
            return WW_STATUS_SUCCESS;
        // The span ends with the blocks ever committed: protecting across
        // the reserved ones between would walk every page state there.
        stop = allocation.pages.next_untouched(next, stop);
        size_t first = next, last = next;
        for (uintptr_t found = 0; next < stop;) {
            last = next;
            if (++found == room) {
                next = last + 1;
                break;
            }
            next = allocation.next_watched(next + 1, stop);
        }
        size_t applied = 0;
        ww_status status = apply_host_protection(
            allocation, PageRange{first, last - first + 1},
            [](PageState state) { return clean_fault_protection(state); }, &applied);
        for (size_t i = first; i < first + applied; ++i)
            if (written(i)) {
                allocation.clear_watch_bits_exclusively(i); // callers hold the registry lock
                deliver(i);
            }
        if (status != WW_STATUS_SUCCESS)
            next = first + applied; // the failed pages are not examined
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
