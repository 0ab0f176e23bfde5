#include "kernel_calls.h"

#include "fault_injection.h"
#include "hot_path.h"
#include "raw_syscall.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <algorithm>
#include <cerrno>

namespace writewatch::kernel {
namespace {

using injection::Call;
using injection::Decision;

// The first half of [address, address + size), in whole 4096-byte pages.
size_t first_half(size_t size)
{
    return std::max<size_t>(4096, size / 2 / 4096 * 4096);
}

int fail(int error)
{
    errno = error;
    return -1;
}

// A call on a range: before, partially (the first half), or as asked.
template <typename Op>
int range_call(Call call, size_t size, Op op)
{
    Decision decision = injection::decide(call);
    if (!decision.error)
        return op(size);
    if (decision.partial && size > 4096)
        op(first_half(size));
    return fail(decision.error);
}

} // namespace

WW_HOT_PATH long pagemap_scan(int pagemap, pm_scan_arg *arg)
{
    Decision decision = injection::decide(Call::pagemap_scan);
    if (decision.error && decision.partial && arg->vec_len > 0) {
        // The kernel stored (and, with PM_SCAN_WP_MATCHING, protected) part
        // of what it found before it failed.
        pm_scan_arg part = *arg;
        part.vec_len = std::max<uint64_t>(1, arg->vec_len / 2);
        ioctl(pagemap, PAGEMAP_SCAN, &part);
        arg->walk_end = part.walk_end;
    }
    if (decision.error)
        return fail(decision.error);
    long result = raw_ioctl(pagemap, PAGEMAP_SCAN, arg);
    return result < 0 ? fail(static_cast<int>(-result)) : result;
}

int uffd_api(int uffd, void *arg)
{
    if (int error = injection::decide(Call::uffd_api).error)
        return fail(error);
    return ioctl(uffd, UFFDIO_API, arg);
}

int uffd_register(int uffd, void *arg)
{
    auto *reg = static_cast<uffdio_register *>(arg);
    return range_call(Call::uffd_register, reg->range.len, [&](size_t len) {
        uffdio_register part = *reg;
        part.range.len = len;
        int result = ioctl(uffd, UFFDIO_REGISTER, &part);
        reg->ioctls = part.ioctls;
        return result;
    });
}

int uffd_unregister(int uffd, void *arg)
{
    auto *range = static_cast<uffdio_range *>(arg);
    return range_call(Call::uffd_unregister, range->len, [&](size_t len) {
        uffdio_range part{range->start, len};
        return ioctl(uffd, UFFDIO_UNREGISTER, &part);
    });
}

int uffd_writeprotect(int uffd, void *arg)
{
    auto *wp = static_cast<uffdio_writeprotect *>(arg);
    return range_call(Call::uffd_writeprotect, wp->range.len, [&](size_t len) {
        uffdio_writeprotect part = *wp;
        part.range.len = len;
        return ioctl(uffd, UFFDIO_WRITEPROTECT, &part);
    });
}

int userfaultfd(int flags)
{
    if (int error = injection::decide(Call::userfaultfd).error)
        return fail(error);
    return static_cast<int>(syscall(SYS_userfaultfd, flags));
}

int open_pagemap()
{
    if (int error = injection::decide(Call::pagemap_open).error)
        return fail(error);
    return ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
}

int mprotect(void *address, size_t size, int prot)
{
    return range_call(Call::mprotect, size, [&](size_t len) { return ::mprotect(address, len, prot); });
}

int madvise(void *address, size_t size, int advice)
{
    return range_call(Call::madvise, size, [&](size_t len) { return ::madvise(address, len, advice); });
}

void *mmap(void *address, size_t size, int prot, int flags)
{
    if (int error = injection::decide(Call::mmap).error) {
        errno = error;
        return MAP_FAILED;
    }
    return ::mmap(address, size, prot, flags, -1, 0);
}

} // namespace writewatch::kernel
