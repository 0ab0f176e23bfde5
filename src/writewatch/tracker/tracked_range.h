// One range whose writes the kernel tracks (uffd async write-protect): the
// translation of Windows' write-watch rules into PAGEMAP_SCAN requests, shared
// by the NT-level kernel backend and the range tracker's C API.
//
// A page counts as written when its PTE lost the uffd-wp bit (a write since it
// was last protected) or when it carries a mark (page_marks.h): pending (a
// live write held in user space) or latched (kept across decommit). While no
// page carries a mark and host pages are 4096 bytes, every call is plain
// PAGEMAP_SCAN work; marks, and larger host pages, take a merging path that
// keeps the same guarantees:
//   - a get-and-reset returns the first N written pages of the range in
//     ascending order and cleans exactly those, whatever kind of mark made them
//     written; a page the kernel cleaned that cannot be returned (count limit,
//     a host page cut by the range) becomes pending, never lost;
//   - a failed call reports in *stored exactly the pages it stored and cleaned.
//
// Addresses are absolute. Arguments are checked by the callers: every range
// passed lies inside the tracked range, 4096-aligned, and host-page aligned
// where the method says so.
//
// Locking: callers hold an outer lock (the NT registry's, or the range table's
// for the C API), shared for get_written and reset, exclusively for every
// other method. So while no page carries a mark, nothing can add one during a
// get or reset, and the plain path takes no lock of the range's own; calls
// that merge marks take the range's lock, one at a time. A plain call that
// runs beside a merging one on the same range may miss a page the other holds
// back at that moment; that page is reported by the next call.
#pragma once

#include "kernel_tracking.h"
#include "page_marks.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace writewatch {

class TrackedRange {
public:
    TrackedRange(KernelTracking &kernel, uintptr_t base, size_t size, size_t host_page);

    uintptr_t base() const { return base_; }
    uintptr_t end() const { return end_; }
    size_t size() const { return end_ - base_; }
    // Heap bytes this range holds beyond the object itself.
    size_t heap_bytes() const { return marks_.heap_bytes(); }

    // Start tracking: all pages clean (host-page aligned range, mapped).
    ww_status attach() { return kernel_.track(base_, end_); }
    // Start tracking a range none of whose pages can be accessed yet (a
    // reservation): nothing is write-protected, so its size costs nothing.
    // Pages are protected by protect_fresh before they become accessible.
    ww_status attach_inaccessible() { return kernel_.enroll(base_, end_); }
    // [start, end) (host-page aligned) had no access and never held a write
    // that is still reported; it becomes accessible: its pages start clean.
    ww_status protect_fresh(uintptr_t start, uintptr_t end)
    {
        return orphaned() ? WW_STATUS_NOT_SUPPORTED : kernel_.write_protect(start, end);
    }
    // Stop tracking (the host unmaps the memory, or keeps it untracked).
    void detach() { kernel_.untrack(base_, end_); }

    // Up to 'limit' written pages of [start, end) stored at out[0..], in
    // ascending order; with reset, exactly those become clean.
    ww_status get_written(uintptr_t start, uintptr_t end, bool reset, void **out, uintptr_t limit,
                          uintptr_t *stored);
    // Every page of [start, end) becomes clean.
    ww_status reset(uintptr_t start, uintptr_t end);
    // A protection change covered [start, end): written pages become latched.
    ww_status latch(uintptr_t start, uintptr_t end);
    // The host decommitted [start, end) (host-page aligned) itself: live
    // written state is gone, latched pages stay reported. The mapping may have
    // been replaced (mmap over it): it is registered again.
    ww_status forget_live(uintptr_t start, uintptr_t end);
    // Decommit [start, end) (no access already): drop the contents and the
    // live written state; latched pages stay reported. A host page the range
    // cuts keeps its contents. When the kernel fails midway, no page written
    // before is lost (some unwritten ones may be reported).
    ww_status decommit(uintptr_t start, uintptr_t end);
    // MEM_RESET: drop the contents of the whole host pages of [start, end)
    // with MADV_DONTNEED, keeping which pages count as written.
    ww_status discard(uintptr_t start, uintptr_t end);
    // The mapping under [start, end) (host-page aligned) was replaced by one
    // whose history is unknown: registered again, every page counts as written.
    ww_status replaced(uintptr_t start, uintptr_t end);

    // After fork(), in the child: the kernel does not copy the registration,
    // so every call on this range reports WW_STATUS_NOT_SUPPORTED.
    void orphan_in_child();

private:
    class Delivery;

    // get_written while no page carries a mark and host pages are 4096
    // bytes: the kernel's regions go straight out. Small, on the hot path.
    ww_status get_written_plain(uintptr_t start, uintptr_t end, bool reset, void **out, uintptr_t limit,
                                uintptr_t *stored);
    // get_written otherwise: merges marks and holds back what cannot be stored.
    ww_status get_written_merging(uintptr_t start, uintptr_t end, bool reset, void **out, uintptr_t limit,
                                  uintptr_t *stored);
    // Pages [from, to) a plain scan with reset cleaned but could not store
    // (the kernel returned more than asked): kept as pending.
    ww_status keep_unstored(uintptr_t from, uintptr_t to);

    // Moves the kernel's written bits of [start, end) (host-page aligned) into
    // pending marks; the kernel's bits are clean afterwards. Exclusive lock held.
    ww_status absorb(uintptr_t start, uintptr_t end);
    // MADV_DONTNEED of [start, end) keeping its written state (in pending
    // marks), all pages write-protected afterwards. Exclusive lock held.
    ww_status zap(uintptr_t start, uintptr_t end);
    // The write-protect-only scan: every written page of [start, end) clean.
    ww_status clean_kernel(uintptr_t start, uintptr_t end);
    size_t page_index(uintptr_t address) const { return (address - base_) / WW_PAGE_SIZE; }
    uintptr_t host_down(uintptr_t address) const { return address & ~(host_page_ - 1); }
    uintptr_t host_up(uintptr_t address) const { return (address + host_page_ - 1) & ~(host_page_ - 1); }
    bool orphaned() const { return orphaned_.load(std::memory_order_relaxed); }

    // What a plain get or reset reads comes first, on one cache line.
    KernelTracking &kernel_;
    const uintptr_t base_;
    const uintptr_t end_;
    const size_t host_page_;
    std::atomic<bool> orphaned_{false};
    PageMarks marks_;
    std::mutex lock_; // calls that merge or change marks, one at a time
};

} // namespace writewatch
