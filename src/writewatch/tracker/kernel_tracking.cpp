#include "kernel_tracking.h"

#include "../errno_status.h"
#include "../fork_safety.h"
#include "../hot_path.h"
#include "../kernel_calls.h"
#include "../probe.h"
#include "../uapi/userfaultfd_wp.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace writewatch {

namespace {
std::atomic<KernelTracking *> instance{nullptr};

// A kernel built without KSM refuses MADV_UNMERGEABLE with EINVAL, one
// without THP MADV_NOHUGEPAGE: nothing to keep out there.
bool kernel_knows_advice(int advice)
{
    return scratch_advice_error(advice) != EINVAL; // -1, cannot tell: ask for every range and see
}
}

KernelTracking *KernelTracking::get()
{
    static KernelTracking *opened = [] () -> KernelTracking * {
        if (!kernel_features().kernel_backend_usable)
            return nullptr;
        install_fork_handlers(); // a child must reopen the descriptors
        auto *made = new KernelTracking; // lives as long as the process
        // WRITEWATCH_KSM_DEFENCE=off leaves ranges to KSM: for tests that show
        // what a kernel does without the defence (a kernel that keeps the bit).
        const char *defence = std::getenv("WRITEWATCH_KSM_DEFENCE");
        made->unmerge_ranges_ = !(defence && std::strcmp(defence, "off") == 0) && kernel_knows_advice(MADV_UNMERGEABLE);
        made->avoid_huge_pages_ = kernel_knows_advice(MADV_NOHUGEPAGE);
        if (!made->open_descriptors()) {
            delete made;
            return nullptr;
        }
        instance.store(made, std::memory_order_release);
        return made;
    }();
    return opened;
}

KernelTracking *KernelTracking::if_made()
{
    return instance.load(std::memory_order_acquire);
}

bool KernelTracking::open_descriptors()
{
    int flags = O_CLOEXEC | O_NONBLOCK;
    if (kernel_features().user_mode_only)
        flags |= UFFD_USER_MODE_ONLY;
    uffd_.reset(kernel::userfaultfd(flags));
    if (!uffd_)
        return false;
    uffdio_api api{};
    api.api = UFFD_API;
    api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
    if (kernel::uffd_api(uffd_.get(), &api) != 0)
        return false;
    pagemap_.reset(kernel::open_pagemap());
    return static_cast<bool>(pagemap_);
}

void KernelTracking::reopen_in_child()
{
    uffd_.reset();
    pagemap_.reset();
    open_descriptors();
}

namespace {

// An idempotent kernel request (0 or -1 with errno), asked again on a
// retryable error.
template <typename Request>
ww_status retried(Request &&request)
{
    for (int failures = 0;;) {
        if (request() == 0)
            return WW_STATUS_SUCCESS;
        if (++failures == kernel_attempts || !retryable_kernel_error(errno))
            return status_from_errno(errno);
    }
}

template <typename Arg>
ww_status uffd_request(int (*request)(int, void *), int uffd, Arg *arg)
{
    return retried([&] { return request(uffd, arg); });
}

// madvise with an advice that may be given again (a partial failure leaves
// part of the range advised).
ww_status advise(uintptr_t start, uintptr_t end, int advice)
{
    return retried([&] { return kernel::madvise(reinterpret_cast<void *>(start), end - start, advice); });
}

} // namespace

ww_status KernelTracking::retrack(uintptr_t start, uintptr_t end)
{
    uffdio_register reg{};
    reg.range.start = start;
    reg.range.len = end - start;
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    return uffd_request(kernel::uffd_register, uffd_.get(), &reg);
}

ww_status KernelTracking::enroll(uintptr_t start, uintptr_t end)
{
    ww_status status = avoid_huge_pages_ ? advise(start, end, MADV_NOHUGEPAGE) : WW_STATUS_SUCCESS;
    if (status == WW_STATUS_SUCCESS)
        status = keep_out_of_ksm(start, end);
    return status == WW_STATUS_SUCCESS ? retrack(start, end) : status;
}

ww_status KernelTracking::track(uintptr_t start, uintptr_t end)
{
    ww_status status = enroll(start, end);
    return status == WW_STATUS_SUCCESS ? write_protect(start, end) : status;
}

ww_status KernelTracking::keep_out_of_ksm(uintptr_t start, uintptr_t end)
{
    // KSM rebuilds a merged page's PTE without the uffd-wp bit (mm/ksm.c,
    // replace_page(), 6.1 to 6.18 at least), so a clean page it merges reads
    // as written. Unmergeable keeps the range out, also when the process made
    // all its memory mergeable (PR_SET_MEMORY_MERGE), and undoes merges made
    // before we got here. A kernel built without KSM refuses the advice with
    // EINVAL (found once, in get()): nothing can merge there.
    return unmerge_ranges_ ? advise(start, end, MADV_UNMERGEABLE) : WW_STATUS_SUCCESS;
}

void KernelTracking::untrack(uintptr_t start, uintptr_t end)
{
    uffdio_range range{start, end - start};
    kernel::uffd_unregister(uffd_.get(), &range); // fails harmlessly on unmapped memory
}

ww_status KernelTracking::write_protect(uintptr_t start, uintptr_t end)
{
    uffdio_writeprotect wp{};
    wp.range.start = start;
    wp.range.len = end - start;
    wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
    return uffd_request(kernel::uffd_writeprotect, uffd_.get(), &wp);
}

WW_HOT_PATH long KernelTracking::scan(pm_scan_arg &arg)
{
    long regions = kernel::pagemap_scan(pagemap_.get(), &arg);
    return regions < 0 ? -errno : regions;
}

} // namespace writewatch
