// Every range the kernel tracks for this process, by address: those a host
// registered through the C API (owned here) and those of the NT-level kernel
// backend's allocations (owned by their Allocation). One table, so that no two
// registrations overlap. The lock is held shared for the whole of a C API call
// on a range and exclusively to add or remove one, so a range is never
// destroyed under a call.
#pragma once

#include "../last_found.h"
#include "../rw_lock.h"
#include "tracked_range.h"

#include <map>
#include <memory>

namespace writewatch {

class RangeTable {
public:
    enum class Owner { host, engine };

    RwLock &mutex() { return mutex_; }

    // The range holding all of [start, end), registered by 'owner', or null.
    // Caller holds the lock.
    TrackedRange *find(uintptr_t start, uintptr_t end, Owner owner) const;
    // The range registered by 'owner' at exactly [start, end), or null.
    TrackedRange *find_exact(uintptr_t start, uintptr_t end, Owner owner) const;
    bool overlaps(uintptr_t start, uintptr_t end) const;

    // Caller holds the lock exclusively. A host range is owned by the table
    // from here on; an engine range stays owned by its allocation.
    void insert(TrackedRange *range, Owner owner);
    void remove(uintptr_t base);

    // Heap bytes of the host ranges (engine ranges count with their allocations).
    size_t host_bytes() const;

    // After fork(), in the child: a new lock, and every range orphaned.
    void reset_in_child();

private:
    struct Entry {
        TrackedRange *range;
        Owner owner;
        std::unique_ptr<TrackedRange> owned; // host ranges only
    };

    // The lock and the host range found last first, on one cache line
    // (fork_safety.h); engine ranges are found through the registry.
    mutable RwLock mutex_;
    LastFound<TrackedRange> last_host_range_;
    // By end address, as the registry's allocations (registry.h says why).
    std::map<uintptr_t, Entry> by_end_;
};

RangeTable &range_table();
// The table if it was made already (for the fork handlers), else null.
RangeTable *range_table_if_made();

} // namespace writewatch
