// Checking that memory the caller passed for results can be written, before
// anything is changed: an answer that cannot be delivered must not cost the
// caller its write marks, and a bad pointer must give an error, not a crash.
#pragma once

#include "writewatch/writewatch.h"

#include <cstddef>
#include <cstdint>

namespace writewatch {

// WW_STATUS_ACCESS_VIOLATION unless every page of [address, address + size) can
// be written. Each page gets an atomic write access that changes nothing; the
// fault of a bad page is turned into the error by the library's SIGSEGV /
// SIGBUS handler: no system call on the way, and watched pages count as
// written, as any write into them would.
// Call it holding no fault lock.
ww_status check_user_writable(const void *address, size_t size);

// The same for two spans at once (the count and the granularity of
// GetWriteWatch; the second is not probed again when it lies on the first's
// last page).
ww_status check_user_writable(const void *first, size_t first_size, const void *second, size_t second_size);

// After a get with reset, writes every page of the results again (each
// byte it writes is the same). Windows gathers the answer first and copies it
// out afterwards, so an address array inside the region it reports on has its
// pages written when the call returns; here results are stored as the scan
// goes, and a page of the array that the scan reaches later is cleaned by it.
void rewrite_results(void **addresses, uintptr_t count);

// Called by the library's SIGSEGV/SIGBUS handler: when the fault is a probe's,
// moves the interrupted thread to the probe's failure return and says true.
bool recover_from_user_probe(void *ucontext);

} // namespace writewatch
