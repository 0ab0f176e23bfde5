#include "tracked_range.h"

#include "../errno_status.h"
#include "../host_mapping.h"
#include "../hot_path.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <new>
#include <optional>

namespace writewatch {
namespace {

// Room for scan results: 'dirty' entries may hold ends of an earlier scan,
// the others end at zero. 'dirty' comes first, on the page of the first
// entries: a scan with reset flushes the TLB, and each page touched after it
// costs a walk.
template <size_t Length>
struct RegionStore {
    size_t dirty = Length; // nothing cleared yet
    std::array<page_region, Length> regions;
};

// The store a scan writes to. Entries from 'dirty' on end at zero, so after
// a failed scan the regions the kernel stored before it stopped are exactly
// the prefix with non-zero ends (a region never ends at address 0).
struct RegionVector {
    page_region *regions;
    size_t length;
    size_t *dirty;

    template <size_t Length>
    static RegionVector of(RegionStore<Length> &store)
    {
        return RegionVector{store.regions.data(), Length, &store.dirty};
    }

    void clear()
    {
        // Only the ends (a plain store loop, not a call to memset).
        for (size_t i = 0; i < *dirty; ++i)
            regions[i].end = 0;
        *dirty = 0;
    }
    // After a scan that returned 'result' (regions, or -errno): how many
    // regions it stored.
    size_t stored_by(long result)
    {
        if (result >= 0)
            return *dirty = static_cast<size_t>(result);
        size_t count = 0;
        while (count < length && regions[count].end)
            ++count;
        return *dirty = count;
    }
};

// Each thread's store for scans of large windows, made on first use (null
// without memory). On the heap, not in thread-local storage: the library must
// stay loadable with dlopen (Wine's ntdll loads it), and glibc has little
// static TLS to spare. The pointer is initial-exec TLS (8 bytes of static
// TLS, read without a call); the owner that frees the store at thread exit
// is not.
using ThreadStore = RegionStore<256>;
__attribute__((tls_model("initial-exec"))) thread_local ThreadStore *current_store;

struct StoreOwner {
    ~StoreOwner()
    {
        delete current_store;
        current_store = nullptr;
    }
};

ThreadStore *thread_store()
{
    if (current_store)
        return current_store;
    thread_local StoreOwner owner; // frees it when the thread ends
    (void)owner;
    return current_store = new (std::nothrow) ThreadStore;
}

// Windows of up to this many pages are scanned into a store on the stack,
// which holds every region such a window can have (written runs are split by
// clean pages). The stack's page is touched after the scan anyway; a heap
// store is one more page to walk after the TLB flush of a scan with reset,
// and its pointer is a thread-local load before it.
constexpr size_t stack_window_pages = 128;
using StackStore = RegionStore<stack_window_pages / 2>;

// A scan for written pages of [start, end); with write_protect, what it
// finds is protected again (exactly that). Without a vector it only protects.
pm_scan_arg scan_request(uintptr_t start, uintptr_t end, bool write_protect)
{
    pm_scan_arg arg{};
    arg.size = sizeof(arg);
    arg.flags = PM_SCAN_CHECK_WPASYNC | (write_protect ? PM_SCAN_WP_MATCHING : 0);
    arg.start = start;
    arg.end = end;
    arg.category_mask = PAGE_IS_WRITTEN;
    arg.return_mask = PAGE_IS_WRITTEN;
    return arg;
}

// The same, storing the regions found in 'vector'.
pm_scan_arg written_request(const RegionVector &vector, uintptr_t start, uintptr_t end, bool write_protect)
{
    pm_scan_arg arg = scan_request(start, end, write_protect);
    arg.vec = reinterpret_cast<uintptr_t>(vector.regions);
    arg.vec_len = vector.length;
    return arg;
}

// Where a scan's results end: everything the kernel found below it is in the
// vector. A walk that found nothing and stopped nowhere is finished.
uintptr_t window_end(const RegionVector &vector, const pm_scan_arg &arg, long result, size_t stored,
                     uintptr_t cursor)
{
    uintptr_t last = stored ? vector.regions[stored - 1].end : cursor;
    if (result < 0)
        return last; // the walk_end of a failed scan is not to be trusted
    uintptr_t end = std::max<uintptr_t>(arg.walk_end, last);
    return end > cursor ? end : arg.end;
}

// Scans [cursor, end) for written pages, window after window, handing each
// window's regions to take(regions, count, reached), where 'reached' is where
// the window's results end; with write_protect what a scan finds is protected
// again. Before each scan, room() says how many pages the caller can still
// take (the scan's max_pages, 0 for no limit), or nothing when it has all it
// wants. Transient kernel errors are retried. Returns the first error of
// take() or of the kernel; regions a failed scan stored still reach take()
// first. Inlined, so that each caller's copy sits with the caller (the hot
// ones in .text.hot, hot_path.h).
template <typename Room, typename Take>
__attribute__((always_inline)) inline ww_status scan_written(KernelTracking &kernel, uintptr_t cursor, uintptr_t end,
                                                             bool write_protect, Room room, Take take)
{
    StackStore on_stack;
    RegionVector vector = RegionVector::of(on_stack);
    size_t window_pages = (end - cursor) / WW_PAGE_SIZE;
    if (window_pages <= stack_window_pages) {
        // Only as many entries as the window can have regions: each one is
        // cleared before the scan.
        vector.length = on_stack.dirty = (window_pages + 1) / 2;
    } else {
        ThreadStore *store = thread_store();
        if (!store)
            return WW_STATUS_NO_MEMORY;
        vector = RegionVector::of(*store);
    }
    for (int failures = 0; cursor < end;) {
        std::optional<uint64_t> max_pages = room();
        if (!max_pages)
            break;
        vector.clear();
        pm_scan_arg arg = written_request(vector, cursor, end, write_protect);
        arg.max_pages = *max_pages;
        long result = kernel.scan(arg);
        size_t regions = vector.stored_by(result);
        cursor = window_end(vector, arg, result, regions, cursor);
        if (ww_status status = take(vector.regions, regions, cursor); status != WW_STATUS_SUCCESS)
            return status;
        if (result >= 0)
            failures = 0;
        else if (++failures == kernel_attempts || !retryable_kernel_error(static_cast<int>(-result)))
            return status_from_errno(static_cast<int>(-result));
    }
    return WW_STATUS_SUCCESS;
}

} // namespace

// Hands pages to the caller's array in ascending order, merging two sources:
// runs of pages whose kernel bit a scan found (host pages, expanded to 4096-
// byte pages) and marked pages. Stores at most 'limit'. With reset, a stored
// page loses its marks, and a kernel-found page that is not stored (no room,
// or outside the request because its host page is cut by it) becomes pending:
// the scan cleaned its kernel bit already.
class TrackedRange::Delivery {
public:
    Delivery(TrackedRange &range, uintptr_t start, uintptr_t end, bool reset, void **out, uintptr_t limit)
        : range_(range), marks_(range.marks_), start_(start), end_(end), reset_(reset), out_(out), limit_(limit),
          mark_end_(range.page_index(end)),
          next_mark_(marks_.marked_pages() ? marks_.next_marked(range.page_index(start), mark_end_) : mark_end_)
    {
    }

    uintptr_t stored() const { return stored_; }
    bool full() const { return stored_ == limit_; }
    bool lost_pending() const { return lost_pending_; }
    // Every marked page of the request below 'bound', while there is room.
    void marks_below(uintptr_t bound)
    {
        size_t stop = range_.page_index(std::min(bound, end_));
        while (next_mark_ < stop && !full()) {
            store(range_.base_ + next_mark_ * WW_PAGE_SIZE);
            if (reset_)
                marks_.clear_all(next_mark_, 1);
            next_mark_ = marks_.next_marked(next_mark_ + 1, mark_end_);
        }
    }

    // Pages [from, to) were found written by the kernel (after everything
    // delivered so far).
    void kernel_run(uintptr_t from, uintptr_t to)
    {
        uintptr_t inside_from = std::clamp(from, start_, end_);
        uintptr_t inside_to = std::clamp(to, start_, end_);
        hold_back(from, std::min(to, inside_from)); // below the request
        if (inside_from < inside_to) {
            marks_below(inside_from);
            if (next_mark_ >= range_.page_index(inside_to))
                unmarked_run(inside_from, inside_to);
            else
                marked_run(inside_from, inside_to);
        }
        hold_back(std::max(from, inside_to), to); // above the request
    }

private:
    void store(uintptr_t page) { out_[stored_++] = reinterpret_cast<void *>(page); }

    // The common case: no mark inside the run, the pages go straight out.
    void unmarked_run(uintptr_t from, uintptr_t to)
    {
        uintptr_t pages = (to - from) / WW_PAGE_SIZE;
        uintptr_t take = std::min(pages, limit_ - stored_);
        for (uintptr_t i = 0; i < take; ++i)
            store(from + i * WW_PAGE_SIZE);
        hold_back(from + take * WW_PAGE_SIZE, to);
    }

    void marked_run(uintptr_t from, uintptr_t to)
    {
        for (uintptr_t page = from; page < to; page += WW_PAGE_SIZE) {
            size_t index = range_.page_index(page);
            bool marked = next_mark_ == index;
            if (marked)
                next_mark_ = marks_.next_marked(index + 1, mark_end_);
            if (!full()) {
                store(page);
                if (reset_ && marked)
                    marks_.clear_all(index, 1);
            } else {
                hold_back(page, page + WW_PAGE_SIZE);
            }
        }
    }

    // Kernel-found pages [from, to) that are not stored: with reset their
    // kernel bit is gone, so they must be remembered as pending.
    void hold_back(uintptr_t from, uintptr_t to)
    {
        if (!reset_ || from >= to)
            return;
        if (!marks_.set_pending(range_.page_index(from), (to - from) / WW_PAGE_SIZE))
            lost_pending_ = true;
    }

    TrackedRange &range_;
    PageMarks &marks_;
    const uintptr_t start_, end_;
    const bool reset_;
    void **const out_;
    const uintptr_t limit_;
    uintptr_t stored_ = 0;
    const size_t mark_end_;
    size_t next_mark_;
    bool lost_pending_ = false;
};

TrackedRange::TrackedRange(KernelTracking &kernel, uintptr_t base, size_t size, size_t host_page)
    : kernel_(kernel), base_(base), end_(base + size), host_page_(host_page), marks_(size / WW_PAGE_SIZE)
{
}

WW_HOT_PATH ww_status TrackedRange::get_written(uintptr_t start, uintptr_t end, bool reset, void **out,
                                                uintptr_t limit, uintptr_t *stored)
{
    *stored = 0;
    if (orphaned())
        return WW_STATUS_NOT_SUPPORTED;
    // A plain scan needs no lock (see tracked_range.h, "Locking").
    if (!marks_.marked_pages() && host_page_ == WW_PAGE_SIZE)
        return get_written_plain(start, end, reset, out, limit, stored);
    return get_written_merging(start, end, reset, out, limit, stored);
}

WW_HOT_PATH ww_status TrackedRange::get_written_plain(uintptr_t start, uintptr_t end, bool reset, void **out,
                                                      uintptr_t limit, uintptr_t *stored)
{
    uintptr_t count = 0;
    ww_status kept = WW_STATUS_SUCCESS;
    ww_status status = scan_written(
        kernel_, start, end, reset,
        [&]() -> std::optional<uint64_t> {
            if (count == limit)
                return std::nullopt;
            return limit - count;
        },
        [&](const page_region *regions, size_t found, uintptr_t) {
            // Pages the kernel stored before failing were cleaned already
            // (with reset): they reach the caller like any others.
            for (size_t i = 0; i < found; ++i) {
                uintptr_t page = regions[i].start;
                for (; page < regions[i].end && count < limit; page += WW_PAGE_SIZE)
                    out[count++] = reinterpret_cast<void *>(page);
                if (page < regions[i].end && reset && kept == WW_STATUS_SUCCESS) [[unlikely]]
                    kept = keep_unstored(page, regions[i].end);
            }
            return WW_STATUS_SUCCESS;
        });
    *stored = count;
    return status != WW_STATUS_SUCCESS ? status : kept;
}

__attribute__((noinline)) ww_status TrackedRange::keep_unstored(uintptr_t from, uintptr_t to)
{
    std::unique_lock exclusive(lock_);
    if (!marks_.reserve() || !marks_.set_pending(page_index(from), (to - from) / WW_PAGE_SIZE))
        return WW_STATUS_NO_MEMORY;
    return WW_STATUS_SUCCESS;
}

ww_status TrackedRange::get_written_merging(uintptr_t start, uintptr_t end, bool reset, void **out,
                                            uintptr_t limit, uintptr_t *stored)
{
    // Merging marks, or holding pages back (host pages larger than the
    // request's granularity), is one call at a time.
    std::unique_lock merging(lock_);
    if (reset && !marks_.reserve())
        return WW_STATUS_NO_MEMORY;
    Delivery delivery(*this, start, end, reset, out, limit);
    const size_t subpages = host_page_ / WW_PAGE_SIZE;
    ww_status status = scan_written(
        kernel_, host_down(start), host_up(end), reset,
        [&]() -> std::optional<uint64_t> {
            if (delivery.full())
                return std::nullopt;
            return (limit - delivery.stored() + subpages - 1) / subpages; // host pages
        },
        [&](const page_region *regions, size_t found, uintptr_t reached) {
            for (size_t i = 0; i < found; ++i) {
                delivery.marks_below(regions[i].start);
                delivery.kernel_run(regions[i].start, regions[i].end);
            }
            delivery.marks_below(reached);
            return WW_STATUS_SUCCESS;
        });
    *stored = delivery.stored();
    if (status == WW_STATUS_SUCCESS && delivery.lost_pending())
        status = WW_STATUS_NO_MEMORY;
    return status;
}

WW_HOT_PATH ww_status TrackedRange::clean_kernel(uintptr_t start, uintptr_t end)
{
    // One write-protect-only scan (no vector): it touches the written pages alone.
    for (int failures = 0; start < end;) {
        pm_scan_arg arg = scan_request(start, end, true);
        long result = kernel_.scan(arg);
        if (result >= 0)
            return WW_STATUS_SUCCESS;
        if (++failures == kernel_attempts || !retryable_kernel_error(static_cast<int>(-result)))
            return status_from_errno(static_cast<int>(-result));
        if (arg.walk_end > start && arg.walk_end <= end)
            start = arg.walk_end;
    }
    return WW_STATUS_SUCCESS;
}

ww_status TrackedRange::absorb(uintptr_t start, uintptr_t end)
{
    return scan_written(
        kernel_, start, end, true, [] { return std::optional<uint64_t>(0); },
        [&](const page_region *regions, size_t found, uintptr_t) {
            for (size_t i = 0; i < found; ++i)
                marks_.set_pending(page_index(regions[i].start), (regions[i].end - regions[i].start) / WW_PAGE_SIZE);
            return WW_STATUS_SUCCESS;
        });
}

WW_HOT_PATH ww_status TrackedRange::reset(uintptr_t start, uintptr_t end)
{
    if (orphaned())
        return WW_STATUS_NOT_SUPPORTED;
    const uintptr_t scan_start = host_down(start), scan_end = host_up(end);
    const bool cut = scan_start != start || scan_end != end; // host pages reaching outside
    if (!marks_.marked_pages() && !cut)
        return clean_kernel(start, end);
    std::unique_lock exclusive(lock_);
    if (cut) {
        // The parts of the cut host pages outside the range stay written.
        if (!marks_.reserve())
            return WW_STATUS_NO_MEMORY;
        ww_status status = absorb(scan_start, scan_start + host_page_);
        if (status == WW_STATUS_SUCCESS && scan_end - host_page_ > scan_start)
            status = absorb(scan_end - host_page_, scan_end);
        if (status != WW_STATUS_SUCCESS)
            return status;
    }
    ww_status status = clean_kernel(scan_start, scan_end);
    if (status != WW_STATUS_SUCCESS)
        return status;
    marks_.clear_all(page_index(start), (end - start) / WW_PAGE_SIZE);
    return WW_STATUS_SUCCESS;
}

ww_status TrackedRange::latch(uintptr_t start, uintptr_t end)
{
    if (orphaned())
        return WW_STATUS_NOT_SUPPORTED;
    std::unique_lock exclusive(lock_);
    const size_t first = page_index(start), count = (end - start) / WW_PAGE_SIZE;
    // What to restore if the kernel fails midway: the range's latched bits.
    std::unique_ptr<uint64_t[]> before;
    if (marks_.marked_pages()) {
        before.reset(new (std::nothrow) uint64_t[(count + 63) / 64]);
        if (!before)
            return WW_STATUS_NO_MEMORY;
        marks_.copy_latched(first, count, before.get());
    }
    auto undo = [&](ww_status status) {
        if (before)
            marks_.restore_latched(first, count, before.get());
        else
            marks_.clear_all(first, count); // nothing was marked before
        return status;
    };
    ww_status status = scan_written(
        kernel_, host_down(start), host_up(end), false, [] { return std::optional<uint64_t>(0); },
        [&](const page_region *regions, size_t found, uintptr_t) {
            for (size_t i = 0; i < found; ++i) {
                uintptr_t from = std::max<uintptr_t>(regions[i].start, start);
                uintptr_t to = std::min<uintptr_t>(regions[i].end, end);
                if (from < to && !marks_.set_latched(page_index(from), (to - from) / WW_PAGE_SIZE))
                    return WW_STATUS_NO_MEMORY;
            }
            return WW_STATUS_SUCCESS;
        });
    if (status != WW_STATUS_SUCCESS)
        return undo(status);
    marks_.latch_pending(first, count);
    return WW_STATUS_SUCCESS;
}

ww_status TrackedRange::forget_live(uintptr_t start, uintptr_t end)
{
    if (orphaned())
        return WW_STATUS_NOT_SUPPORTED;
    std::unique_lock exclusive(lock_);
    ww_status status = kernel_.track(start, end);
    if (status != WW_STATUS_SUCCESS)
        return status;
    marks_.clear_pending(page_index(start), (end - start) / WW_PAGE_SIZE);
    return WW_STATUS_SUCCESS;
}

ww_status TrackedRange::zap(uintptr_t start, uintptr_t end)
{
    // The written state moves to pending marks first, so that it survives the
    // zap whatever the kernel then reports for zapped pages, and a failure at
    // any step leaves it reported.
    if (!marks_.reserve())
        return WW_STATUS_NO_MEMORY;
    ww_status status = absorb(start, end);
    if (status == WW_STATUS_SUCCESS)
        status = drop_contents(start, end - start);
    return status == WW_STATUS_SUCCESS ? kernel_.write_protect(start, end) : status;
}

ww_status TrackedRange::decommit(uintptr_t start, uintptr_t end)
{
    if (orphaned())
        return WW_STATUS_NOT_SUPPORTED;
    std::unique_lock exclusive(lock_);
    if (!marks_.reserve())
        return WW_STATUS_NO_MEMORY;
    // A host page cut by the range keeps its contents; its written state
    // moves to pending marks, where its decommitted 4K pages lose theirs.
    ww_status status = WW_STATUS_SUCCESS;
    const uintptr_t whole_start = host_up(start), whole_end = host_down(end);
    if (whole_start != start)
        status = absorb(host_down(start), whole_start);
    if (status == WW_STATUS_SUCCESS && whole_end != end && host_down(end) >= whole_start)
        status = absorb(host_down(end), host_up(end));
    if (status == WW_STATUS_SUCCESS && whole_start < whole_end)
        status = zap(whole_start, whole_end);
    if (status == WW_STATUS_SUCCESS) // the live state goes last
        marks_.clear_pending(page_index(start), (end - start) / WW_PAGE_SIZE);
    return status;
}

ww_status TrackedRange::discard(uintptr_t start, uintptr_t end)
{
    if (orphaned())
        return WW_STATUS_NOT_SUPPORTED;
    std::unique_lock exclusive(lock_);
    // Host pages cut by the range keep their contents (and their state).
    const uintptr_t whole_start = host_up(start), whole_end = host_down(end);
    return whole_start < whole_end ? zap(whole_start, whole_end) : WW_STATUS_SUCCESS;
}

ww_status TrackedRange::replaced(uintptr_t start, uintptr_t end)
{
    if (orphaned())
        return WW_STATUS_NOT_SUPPORTED;
    std::unique_lock exclusive(lock_);
    if (!marks_.reserve())
        return WW_STATUS_NO_MEMORY;
    ww_status status = kernel_.track(start, end);
    if (status != WW_STATUS_SUCCESS)
        return status;
    marks_.set_pending(page_index(start), (end - start) / WW_PAGE_SIZE);
    return WW_STATUS_SUCCESS;
}

void TrackedRange::orphan_in_child()
{
    orphaned_.store(true, std::memory_order_relaxed);
    // A thread of the parent may have held the lock at the fork.
    lock_.~mutex();
    new (&lock_) std::mutex;
}

} // namespace writewatch
