// Kernel backend: userfaultfd async write-protect keeps a written bit in every
// PTE, PAGEMAP_SCAN reads it (and atomically write-protects what it returns).
//
// A watched allocation is registered for write-protect on the process's one
// userfaultfd, marked MADV_NOHUGEPAGE (a huge page would report 512 pages for
// one write) and write-protected whole. GetWriteWatch is a loop of scans over a
// per-thread region vector: max_pages is the caller's remaining count, so with
// PM_SCAN_WP_MATCHING exactly the returned pages are re-protected; a full
// vector is resumed from walk_end.
#include "../backend.h"
#include "../errno_status.h"
#include "../host_mapping.h"
#include "../probe.h"
#include "../protection.h"
#include "../uapi/pagemap_scan.h"
#include "../uapi/userfaultfd_wp.h"
#include "../unique_fd.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <mutex>
#include <vector>

namespace writewatch {
namespace {

constexpr size_t region_vector_length = 256;
// Consecutive failed scans tolerated (ENOMEM for page tables, EINTR, EAGAIN).
constexpr int scan_attempts = 4;

class KernelBackend final : public Backend {
public:
    static KernelBackend *create()
    {
        auto *backend = new KernelBackend;
        if (!backend->open_descriptors()) {
            delete backend;
            return nullptr;
        }
        return backend;
    }

    ww_backend_kind kind() const override { return WW_BACKEND_KERNEL; }

    ww_status attach(Allocation &allocation) override
    {
        void *base = reinterpret_cast<void *>(allocation.base);
        if (madvise(base, allocation.size, MADV_NOHUGEPAGE) != 0)
            return status_from_errno(errno);
        uffdio_register reg{};
        reg.range.start = allocation.base;
        reg.range.len = allocation.size;
        reg.mode = UFFDIO_REGISTER_MODE_WP;
        if (ioctl(uffd_.get(), UFFDIO_REGISTER, &reg) != 0)
            return status_from_errno(errno);
        return write_protect_all(allocation.base, allocation.end());
    }

    void detach(Allocation &) override
    {
        // Unmapping the range drops its registration.
    }

    ww_status apply_protection(Allocation &allocation, PageRange pages) override
    {
        // The uffd-wp bit of each PTE survives mprotect, so tracking is untouched.
        return apply_host_protection(allocation, pages);
    }

    ww_status discard(Allocation &allocation, PageRange pages) override
    {
        // A zapped PTE reads as written, so remember which pages were clean and
        // write-protect them again afterwards.
        uintptr_t start = allocation.page_address(pages.first);
        uintptr_t end = allocation.page_address(pages.first + pages.count);
        std::vector<page_region> written;
        ww_status status = collect_written(start, end, written);
        if (status != WW_STATUS_SUCCESS)
            return status;
        if (madvise(reinterpret_cast<void *>(start), end - start, MADV_DONTNEED) != 0)
            return status_from_errno(errno);
        uintptr_t clean_start = start;
        for (const page_region &region : written) {
            if (region.start > clean_start)
                if ((status = write_protect_all(clean_start, region.start)) != WW_STATUS_SUCCESS)
                    return status;
            clean_start = region.end;
        }
        return clean_start < end ? write_protect_all(clean_start, end) : WW_STATUS_SUCCESS;
    }

    ww_status get_written(Allocation &allocation, PageRange pages, bool reset, void **addresses,
                          uintptr_t limit, uintptr_t *found) override
    {
        thread_local std::array<page_region, region_vector_length> vector;
        uintptr_t stored = 0;
        uintptr_t start = allocation.page_address(pages.first);
        uintptr_t end = allocation.page_address(pages.first + pages.count);
        int failures = 0;
        size_t used = 0; // entries of 'vector' written by the previous scan
        while (stored < limit && start < end) {
            // Cleared so that a scan failing midway still shows what it wrote.
            for (size_t i = 0; i < used; ++i)
                vector[i] = page_region{};
            pm_scan_arg arg = scan_request(start, end, reset);
            arg.vec = reinterpret_cast<uintptr_t>(vector.data());
            arg.vec_len = vector.size();
            arg.max_pages = limit - stored;
            long regions = ioctl(pagemap_.get(), PAGEMAP_SCAN, &arg);
            int error = errno;
            if (regions < 0) {
                // Pages the kernel flushed before failing were re-protected
                // already: they must reach the caller.
                regions = 0;
                while (static_cast<size_t>(regions) < vector.size() && vector[regions].end)
                    ++regions;
                if (++failures == scan_attempts || !retryable(error)) {
                    stored += expand(vector.data(), regions, addresses + stored);
                    *found = stored;
                    return status_from_errno(error);
                }
            } else {
                failures = 0;
            }
            used = static_cast<size_t>(regions);
            stored += expand(vector.data(), used, addresses + stored);
            if (arg.walk_end > start)
                start = arg.walk_end;
            else if (failures == 0)
                break; // the walk made no progress; should not happen
        }
        *found = stored;
        return WW_STATUS_SUCCESS;
    }

    ww_status reset(Allocation &allocation, PageRange pages) override
    {
        // One write-protect-only scan: it touches the written pages alone.
        uintptr_t start = allocation.page_address(pages.first);
        uintptr_t end = allocation.page_address(pages.first + pages.count);
        for (int failures = 0; start < end;) {
            pm_scan_arg arg = scan_request(start, end, true);
            if (ioctl(pagemap_.get(), PAGEMAP_SCAN, &arg) >= 0)
                return WW_STATUS_SUCCESS;
            if (++failures == scan_attempts || !retryable(errno))
                return status_from_errno(errno);
            if (arg.walk_end > start)
                start = arg.walk_end;
        }
        return WW_STATUS_SUCCESS;
    }

    ww_status prepare_kernel_write(Allocation &, PageRange) override
    {
        return WW_STATUS_SUCCESS; // the kernel tracks its own writes
    }

    // After fork the descriptors still name the parent: /proc/self/pagemap was
    // resolved at open time and the userfaultfd belongs to the parent's mm.
    void reopen_in_child()
    {
        uffd_.reset();
        pagemap_.reset();
        open_descriptors();
    }

private:
    bool open_descriptors()
    {
        int flags = O_CLOEXEC | O_NONBLOCK;
        if (kernel_features().user_mode_only)
            flags |= UFFD_USER_MODE_ONLY;
        uffd_.reset(static_cast<int>(syscall(SYS_userfaultfd, flags)));
        if (!uffd_)
            return false;
        uffdio_api api{};
        api.api = UFFD_API;
        api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
        if (ioctl(uffd_.get(), UFFDIO_API, &api) != 0)
            return false;
        pagemap_.reset(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
        return static_cast<bool>(pagemap_);
    }

    static bool retryable(int error) { return error == EINTR || error == EAGAIN || error == ENOMEM; }

    static pm_scan_arg scan_request(uintptr_t start, uintptr_t end, bool write_protect_matches)
    {
        pm_scan_arg arg{};
        arg.size = sizeof(arg);
        arg.flags = PM_SCAN_CHECK_WPASYNC | (write_protect_matches ? PM_SCAN_WP_MATCHING : 0);
        arg.start = start;
        arg.end = end;
        arg.category_mask = PAGE_IS_WRITTEN;
        arg.return_mask = PAGE_IS_WRITTEN;
        return arg;
    }

    static uintptr_t expand(const page_region *regions, size_t count, void **out)
    {
        uintptr_t stored = 0;
        for (size_t i = 0; i < count; ++i)
            for (uintptr_t page = regions[i].start; page < regions[i].end; page += WW_PAGE_SIZE)
                out[stored++] = reinterpret_cast<void *>(page);
        return stored;
    }

    // Written pages of [start, end) as regions, nothing re-protected.
    ww_status collect_written(uintptr_t start, uintptr_t end, std::vector<page_region> &out)
    {
        std::array<page_region, region_vector_length> vector;
        for (int failures = 0; start < end;) {
            pm_scan_arg arg = scan_request(start, end, false);
            arg.vec = reinterpret_cast<uintptr_t>(vector.data());
            arg.vec_len = vector.size();
            long regions = ioctl(pagemap_.get(), PAGEMAP_SCAN, &arg);
            if (regions < 0) {
                if (++failures == scan_attempts || !retryable(errno))
                    return status_from_errno(errno);
                continue; // nothing was changed: simply ask again
            }
            out.insert(out.end(), vector.begin(), vector.begin() + regions);
            if (arg.walk_end <= start)
                break;
            start = arg.walk_end;
        }
        return WW_STATUS_SUCCESS;
    }

    // Write-protect every page of [start, end), unpopulated ones included (markers).
    ww_status write_protect_all(uintptr_t start, uintptr_t end)
    {
        uffdio_writeprotect wp{};
        wp.range.start = start;
        wp.range.len = end - start;
        wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
        for (int failures = 0;;) {
            if (ioctl(uffd_.get(), UFFDIO_WRITEPROTECT, &wp) == 0)
                return WW_STATUS_SUCCESS;
            if (++failures == scan_attempts || !retryable(errno))
                return status_from_errno(errno);
        }
    }

    UniqueFd uffd_;
    UniqueFd pagemap_;
};

KernelBackend *instance;

void reopen_after_fork()
{
    if (instance)
        instance->reopen_in_child();
}

} // namespace

Backend *kernel_backend()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (!kernel_features().kernel_backend_usable)
            return;
        instance = KernelBackend::create(); // lives as long as the process
        if (instance)
            pthread_atfork(nullptr, nullptr, reopen_after_fork);
    });
    return instance;
}

} // namespace writewatch
