// Checking that memory the caller passed for results can be written, before
// anything is changed: an answer that cannot be delivered must not cost the
// caller its write marks, and a bad pointer must give an error, not a crash.
#pragma once

#include "writewatch/writewatch.h"

#include <csignal>
#include <cstddef>

namespace writewatch {

// WW_STATUS_ACCESS_VIOLATION unless every page of [address, address + size) can
// be written. Each page gets an atomic no-op write (a compare-exchange of a
// byte with itself) under a guard that turns the fault of a bad page into the
// error: no system call on the way, and watched pages count as written, as any
// write into them would.
// Call it holding no fault lock.
ww_status check_user_writable(const void *address, size_t size);

// The same for two spans at once (one guard for both: the count and the
// granularity of GetWriteWatch).
ww_status check_user_writable(const void *first, size_t first_size, const void *second, size_t second_size);

// Called first by the library's SIGSEGV/SIGBUS handler: when the faulting
// thread is inside check_user_writable, jumps back there and does not return.
void recover_from_user_probe(siginfo_t *info, void *ucontext);

} // namespace writewatch
