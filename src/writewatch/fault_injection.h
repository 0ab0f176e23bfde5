// Making kernel calls fail on purpose, for tests (built only with the meson
// option fault_injection; release builds have none of it). Configured once,
// from the environment, before the first kernel call:
//
//   WRITEWATCH_FAIL=RULE[,RULE...]   RULE = CALL:ERRNO:EVERY[:BURST[:partial]]
//
// CALL is one of the names below; ERRNO a name (ENOMEM, EINTR, EAGAIN, EFAULT,
// EINVAL, EPERM, EBUSY, ENOENT, EMFILE, ENOSPC) or a number. Every EVERY-th
// call of that kind starts a burst of BURST failing calls (default 1). A
// failure happens before the call, or with 'partial' after letting the kernel
// do part of the work, as it can when it fails midway: a scan stores some
// regions (and protects them), an mprotect, madvise or write-protect covers the
// first half of the range, a registration registers the first half.
#pragma once

#include <cstddef>
#include <cstdint>

namespace writewatch::injection {

enum class Call {
    pagemap_scan,
    uffd_api,
    uffd_register,
    uffd_unregister,
    uffd_writeprotect,
    userfaultfd,
    pagemap_open,
    mprotect,
    madvise,
    mmap,
    count
};

struct Decision {
    int error = 0;        // 0: make the call normally
    bool partial = false; // fail after doing part of the work
};

#ifdef WRITEWATCH_FAULT_INJECTION
// Counts the call and says whether it fails. Async-signal-safe.
Decision decide(Call call);
#else
inline Decision decide(Call) { return {}; }
#endif

} // namespace writewatch::injection

#ifdef WRITEWATCH_FAULT_INJECTION
// For the tests: calls made and failures injected so far, for the call named
// 'name'; false for an unknown name.
extern "C" __attribute__((visibility("default"))) int ww_injected_failures(const char *name, uint64_t *calls,
                                                                          uint64_t *failed);
#endif
