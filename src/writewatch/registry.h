// All allocations made through the library, by address. Readers (get, reset,
// query) share the lock; anything that changes the layout of memory (allocate,
// free, protect, commit, decommit) takes it exclusively, so a call racing with
// a release sees the allocation either whole or gone.
#pragma once

#include "allocation.h"
#include "last_found.h"
#include "rw_lock.h"

#include <atomic>
#include <map>
#include <memory>

namespace writewatch {

class Registry {
public:
    RwLock &mutex() { return mutex_; }
    // After fork(), in the child: the lock as new. The parent held it
    // exclusively across the fork (see fork_safety.cpp); the child's only thread
    // cannot unlock it as its owner, so it is rebuilt.
    // The allocations' fault locks are freed too: a thread of the parent may
    // have held one (in the fault handler or a scan) at the moment of the fork,
    // and it does not exist in the child.
    void reset_lock_in_child()
    {
        mutex_.rebuild();
        for (auto &entry : by_end_)
            entry.second->fault_lock.reset_in_child();
    }

    // The allocation containing address, or null. Caller holds the lock.
    Allocation *find(uintptr_t address) const;
    // True when no allocation overlaps [start, stop). Caller holds the lock.
    bool is_free(uintptr_t start, uintptr_t stop) const;

    // fn(Allocation &) for every allocation overlapping [start, stop), in address
    // order. Caller holds the lock.
    template <typename Fn>
    void for_each_overlapping(uintptr_t start, uintptr_t stop, Fn fn) const
    {
        for (auto it = by_end_.upper_bound(start); it != by_end_.end() && it->second->base < stop; ++it)
            fn(*it->second);
    }

    // Caller holds the lock exclusively.
    Allocation &insert(std::unique_ptr<Allocation> allocation);
    std::unique_ptr<Allocation> remove(uintptr_t base);

    // Heap bytes held for the allocations. Caller holds the lock.
    size_t tracking_bytes() const;

private:
    static size_t bytes_for(const Allocation &allocation);

    // The lock and the last allocation found first, on the one cache line a
    // GetWriteWatch reads before the allocation itself (fork_safety.h).
    mutable RwLock mutex_;
    LastFound<Allocation> last_found_;
    // By end address (an allocation never changes size): the one holding an
    // address is the first ending above it, found without stepping back
    // through the tree, which is a call into libstdc++ and one more code page
    // for a GetWriteWatch to touch.
    std::map<uintptr_t, std::unique_ptr<Allocation>> by_end_;
};

Registry &registry();
// The registry if it was made already (for the fork handlers), else null.
Registry *registry_if_made();

} // namespace writewatch
