// The interface every way of tracking writes implements. Page indices are
// relative to the allocation; the engine has already checked and rounded the
// caller's arguments, and holds the registry lock (shared for scans, exclusive
// for layout changes) while a backend method runs.
#pragma once

#include "allocation.h"
#include "writewatch/writewatch.h"

namespace writewatch {

class Backend {
public:
    virtual ~Backend() = default;
    virtual ww_backend_kind kind() const = 0;

    // Start tracking a freshly mapped allocation whose pages are all clean
    // and have no access; committed pages follow with prepare_commit.
    virtual ww_status attach(Allocation &allocation) = 0;
    // The pages, reserved and not committed, are about to be committed: they
    // start clean. Called before their protection allows any access, so that
    // what a reservation costs does not depend on its size.
    virtual ww_status prepare_commit(Allocation &allocation, PageRange pages) = 0;
    // Stop tracking; the allocation is unmapped right after.
    virtual void detach(Allocation &allocation) = 0;
    // Make the mapping of the pages match their page states (after a protection
    // change, a commit or a decommit).
    virtual ww_status apply_protection(Allocation &allocation, PageRange pages) = 0;
    // VirtualProtect covers the pages: the written ones become latched.
    virtual ww_status latch(Allocation &allocation, PageRange pages) = 0;
    // MEM_RESET: drop the contents of the pages without changing which of
    // them count as written.
    virtual ww_status discard(Allocation &allocation, PageRange pages) = 0;
    // Decommit (the pages have no access already): drop their contents and
    // their written state; latched pages stay reported.
    virtual ww_status decommit(Allocation &allocation, PageRange pages) = 0;
    // Store the addresses of up to 'limit' written pages, in ascending order, at
    // addresses[0..]; with reset, exactly those become clean. *found is set to
    // the number stored.
    virtual ww_status get_written(Allocation &allocation, PageRange pages, bool reset,
                                  void **addresses, uintptr_t limit, uintptr_t *found) = 0;
    virtual ww_status reset(Allocation &allocation, PageRange pages) = 0;
    // Let the kernel write into the pages (see ww_prepare_kernel_write).
    virtual ww_status prepare_kernel_write(Allocation &allocation, PageRange pages) = 0;
};

// The kernel backend's get_written and reset for an allocation it tracks
// (allocation.kernel_range set), callable without the virtual call.
ww_status kernel_get_written(Allocation &allocation, PageRange pages, bool reset, void **addresses,
                             uintptr_t limit, uintptr_t *found);
ww_status kernel_reset(Allocation &allocation, PageRange pages);

// get_written and reset of the allocation's backend. An allocation the
// kernel backend tracks is served without the virtual call: a cold
// GetWriteWatch pays the backend object and its vtable as two dependent
// cache misses before the scan.
inline ww_status backend_get_written(Allocation &allocation, PageRange pages, bool reset, void **addresses,
                                     uintptr_t limit, uintptr_t *found)
{
    if (allocation.kernel_range)
        return kernel_get_written(allocation, pages, reset, addresses, limit, found);
    return allocation.backend->get_written(allocation, pages, reset, addresses, limit, found);
}

inline ww_status backend_reset(Allocation &allocation, PageRange pages)
{
    if (allocation.kernel_range)
        return kernel_reset(allocation, pages);
    return allocation.backend->reset(allocation, pages);
}

// The backends, created on first use. kernel_backend() is null when the kernel
// lacks what it needs.
Backend *kernel_backend();
Backend &fault_backend();

} // namespace writewatch
