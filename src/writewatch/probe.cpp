#include "probe.h"

#include "uapi/pagemap_scan.h"
#include "uapi/userfaultfd_wp.h"
#include "unique_fd.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <mutex>
#include <string>

#include <fmt/format.h>

namespace writewatch {
namespace {

// The reason is formatted by the caller (fmt::format with a literal, which
// fmt checks at compile time in every version the project builds with).
void explain(ww_kernel_features &f, const std::string &reason)
{
    if (f.why_not[0])
        return; // keep the first reason
    size_t n = std::min(reason.size(), sizeof(f.why_not) - 1);
    std::memcpy(f.why_not, reason.data(), n);
    f.why_not[n] = '\0';
}

UniqueFd open_userfaultfd(ww_kernel_features &f)
{
    int fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
    if (fd >= 0) {
        f.user_mode_only = 1;
        return UniqueFd(fd);
    }
    // Kernels before 5.11 reject the flag; privileged callers can do without it.
    fd = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
    if (fd < 0)
        explain(f, fmt::format("userfaultfd: {}", std::strerror(errno)));
    return UniqueFd(fd);
}

// PAGEMAP_SCAN exists if a harmless request on a small mapping is understood.
bool pagemap_scan_works(ww_kernel_features &f)
{
    UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    if (!pagemap) {
        explain(f, fmt::format("/proc/self/pagemap: {}", std::strerror(errno)));
        return false;
    }
    long page = f.host_page_size;
    void *area = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        explain(f, fmt::format("mmap for the PAGEMAP_SCAN probe: {}", std::strerror(errno)));
        return false;
    }
    page_region region{};
    pm_scan_arg arg{};
    arg.size = sizeof(arg);
    arg.start = reinterpret_cast<uintptr_t>(area);
    arg.end = arg.start + page;
    arg.vec = reinterpret_cast<uintptr_t>(&region);
    arg.vec_len = 1;
    arg.category_mask = PAGE_IS_WRITTEN;
    arg.return_mask = PAGE_IS_WRITTEN;
    int ret = ioctl(pagemap.get(), PAGEMAP_SCAN, &arg);
    int err = errno;
    munmap(area, page);
    if (ret < 0) {
        explain(f, fmt::format("PAGEMAP_SCAN ioctl: {}", std::strerror(err)));
        return false;
    }
    return true;
}

// Tracking a range advises it (MADV_NOHUGEPAGE, MADV_UNMERGEABLE): a sandbox
// whose filter refuses madvise(2) would make every watched allocation fail
// there, where the fault backend, which needs no advice to track, works.
// EINVAL is a kernel without the feature advised (no THP): not a refusal.
bool advice_allowed(ww_kernel_features &f)
{
    int err = scratch_advice_error(MADV_NOHUGEPAGE);
    if (err == -1) {
        explain(f, fmt::format("mmap for the madvise probe: {}", std::strerror(errno)));
        return false;
    }
    if (err != 0 && err != EINVAL) {
        explain(f, fmt::format("madvise(MADV_NOHUGEPAGE): {}", std::strerror(err)));
        return false;
    }
    return true;
}

ww_kernel_features probe()
{
    ww_kernel_features f{};
    f.host_page_size = sysconf(_SC_PAGESIZE);

    UniqueFd uffd = open_userfaultfd(f);
    if (uffd) {
        f.userfaultfd = 1;
        // A first UFFDIO_API with no features reports what the kernel has.
        uffdio_api api{};
        api.api = UFFD_API;
        if (ioctl(uffd.get(), UFFDIO_API, &api) == 0) {
            f.uffd_features = api.features;
            f.wp_async = (api.features & UFFD_FEATURE_WP_ASYNC) != 0;
            f.wp_unpopulated = (api.features & UFFD_FEATURE_WP_UNPOPULATED) != 0;
        } else {
            explain(f, fmt::format("UFFDIO_API: {}", std::strerror(errno)));
        }
    }
    if (f.userfaultfd && !f.wp_async)
        explain(f, fmt::format("userfaultfd lacks UFFD_FEATURE_WP_ASYNC (features {:#x})", f.uffd_features));
    if (f.userfaultfd && !f.wp_unpopulated)
        explain(f, fmt::format("userfaultfd lacks UFFD_FEATURE_WP_UNPOPULATED (features {:#x})", f.uffd_features));
    f.pagemap_scan = pagemap_scan_works(f);
    f.kernel_backend_usable = f.userfaultfd && f.wp_async && f.wp_unpopulated && f.pagemap_scan &&
                              advice_allowed(f);
    return f;
}

} // namespace

int scratch_advice_error(int advice)
{
    const long page = sysconf(_SC_PAGESIZE);
    void *area = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        return -1;
    int err = madvise(area, page, advice) == 0 ? 0 : errno;
    munmap(area, page);
    return err;
}

const ww_kernel_features &kernel_features()
{
    static std::once_flag once;
    static ww_kernel_features features;
    std::call_once(once, [] { features = probe(); });
    return features;
}

} // namespace writewatch

extern "C" void ww_get_kernel_features(ww_kernel_features *features)
{
    if (features)
        *features = writewatch::kernel_features();
}
