// ioctl() without libc: the system call instruction inline, so that the one
// system call of a GetWriteWatch costs no call through the PLT into another
// code page (see hot_path.h). Other architectures use libc's ioctl().
#pragma once

#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <cerrno>

namespace writewatch {

// The kernel's own result: >= 0 on success, -errno on failure.
inline long raw_ioctl(int fd, unsigned long request, void *arg)
{
#if defined(__x86_64__)
    long result;
    asm volatile("syscall"
                 : "=a"(result)
                 : "0"(static_cast<long>(SYS_ioctl)), "D"(static_cast<long>(fd)), "S"(request), "d"(arg)
                 : "rcx", "r11", "memory");
    return result;
#elif defined(__aarch64__)
    register long x8 asm("x8") = SYS_ioctl;
    register long x0 asm("x0") = fd;
    register unsigned long x1 asm("x1") = request;
    register void *x2 asm("x2") = arg;
    asm volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
#else
    long result = ioctl(fd, request, arg);
    return result < 0 ? -errno : result;
#endif
}

} // namespace writewatch
