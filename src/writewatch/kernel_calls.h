// Every system call of the library that the kernel can fail while tracking,
// one wrapper per kind of call, so that a test build can make any of them fail
// on purpose (fault_injection.h, meson option fault_injection). Each wrapper
// has the system call's own contract: -1 (or MAP_FAILED) and errno on failure.
// Async-signal-safe: the fault backend's handler calls mprotect() through here.
#pragma once

#include "uapi/pagemap_scan.h"

#include <sys/types.h>

#include <cstddef>

namespace writewatch::kernel {

long pagemap_scan(int pagemap, pm_scan_arg *arg);
int uffd_api(int uffd, void *arg);
int uffd_register(int uffd, void *arg);
int uffd_unregister(int uffd, void *arg);
int uffd_writeprotect(int uffd, void *arg);
int userfaultfd(int flags);
int open_pagemap();
int mprotect(void *address, size_t size, int prot);
int madvise(void *address, size_t size, int advice);
void *mmap(void *address, size_t size, int prot, int flags);

} // namespace writewatch::kernel
