// Checking that memory the caller passed for results can be written, before
// anything is changed: an answer that cannot be delivered must not cost the
// caller its write marks, and a bad pointer must give an error, not a crash.
#pragma once

#include "registry.h"

namespace writewatch {

// WW_STATUS_ACCESS_VIOLATION unless [address, address + size) is mapped
// writable. Watched pages of the fault backend in that range are marked
// written and made writable first, as any kernel write into them would.
// Caller holds the registry lock (shared is enough).
ww_status check_user_writable(const Registry &registry, const void *address, size_t size);

// Marks the fault backend's watched pages of [start, end) written and writable.
ww_status prepare_kernel_write_locked(const Registry &registry, uintptr_t start, uintptr_t end);

} // namespace writewatch
