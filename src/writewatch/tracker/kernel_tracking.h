// The process's connection to the kernel's write tracking: one userfaultfd in
// async write-protect mode (UFFD_FEATURE_WP_ASYNC | WP_UNPOPULATED) and
// /proc/self/pagemap for PAGEMAP_SCAN. One call here is one kind of kernel
// request (with the retries that are right for it); everything that decides
// what to ask lives in tracked_range.cpp.
#pragma once

#include "../uapi/pagemap_scan.h"
#include "../unique_fd.h"
#include "writewatch/writewatch.h"

#include <cerrno>
#include <cstdint>

namespace writewatch {

class KernelTracking {
public:
    // The process's instance, opened on first use; null when the kernel lacks
    // async uffd-wp or PAGEMAP_SCAN (the probe says why).
    static KernelTracking *get();
    // The instance if it was opened already (for the fork handlers), else null.
    static KernelTracking *if_made();

    // Register [start, end) (host-page aligned, mapped anonymous memory) for
    // write-protect tracking, without transparent huge pages (one write would
    // report 512 pages), out of KSM (a merge drops the uffd-wp bit), every
    // page write-protected: all clean.
    ww_status track(uintptr_t start, uintptr_t end);
    // The same without write-protecting: for memory no one can access yet
    // (a reservation), whose pages are protected when they become accessible
    // (write_protect). Unprotected pages cost no page tables: registering and
    // advising are per mapping, not per page.
    ww_status enroll(uintptr_t start, uintptr_t end);
    // Register again after the host replaced the mapping (a fresh vma has no
    // registration); registering what is registered already changes nothing.
    ww_status retrack(uintptr_t start, uintptr_t end);
    // Drop the registration; nothing to do when the range is unmapped already.
    void untrack(uintptr_t start, uintptr_t end);
    // Write-protect every page of [start, end), unpopulated ones included.
    ww_status write_protect(uintptr_t start, uintptr_t end);
    // One PAGEMAP_SCAN: the number of regions stored, or -errno. On failure
    // the kernel has still stored (and, with PM_SCAN_WP_MATCHING, protected)
    // the regions it found before it stopped.
    long scan(pm_scan_arg &arg);

    // After fork() in the child: the descriptors named the parent's memory.
    void reopen_in_child();

private:
    KernelTracking() = default;
    bool open_descriptors();
    // MADV_UNMERGEABLE of [start, end); success on a kernel without KSM and
    // with WRITEWATCH_KSM_DEFENCE=off.
    ww_status keep_out_of_ksm(uintptr_t start, uintptr_t end);

    UniqueFd uffd_;
    UniqueFd pagemap_;
    bool unmerge_ranges_ = true; // KSM present and WRITEWATCH_KSM_DEFENCE not off
    bool avoid_huge_pages_ = true; // THP present: ranges are advised MADV_NOHUGEPAGE
};

// Kernel errors worth asking again for: page-table allocation, a signal, a
// transient lack of resources.
inline bool retryable_kernel_error(int error)
{
    return error == EINTR || error == EAGAIN || error == ENOMEM;
}
// How many consecutive failures of one request are tolerated.
inline constexpr int kernel_attempts = 4;

} // namespace writewatch
