// All allocations made through the library, by address. Readers (get, reset,
// query) share the lock; anything that changes the layout of memory (allocate,
// free, protect, commit, decommit) takes it exclusively, so a call racing with
// a release sees the allocation either whole or gone.
#pragma once

#include "allocation.h"

#include <atomic>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace writewatch {

// A readers-writer lock fair to both sides. std::shared_mutex (glibc's default
// rwlock) prefers readers: threads polling GetWriteWatch back to back kept
// VirtualAlloc / VirtualFree / VirtualProtect waiting for seconds
// (tests/stress/race_mm.cpp saw one VirtualProtect in 2.5 s); a writer-
// preferring rwlock starves GetWriteWatch under a stream of VirtualProtect
// calls instead. Here a waiting writer holds the turnstile, so no new reader
// gets in ahead of it, and readers that passed the turnstile before it get the
// reader-preferring rwlock before the next writer. Never taken recursively.
class RwLock {
public:
    void lock()
    {
        turnstile_.lock();
        rw_.lock();
        turnstile_.unlock();
    }
    void unlock() { rw_.unlock(); }
    void lock_shared()
    {
        turnstile_.lock();
        turnstile_.unlock();
        rw_.lock_shared();
    }
    void unlock_shared() { rw_.unlock_shared(); }
    // A new, unlocked lock in place of this one, whatever its state. Only for
    // a process with one thread (the child after fork()).
    void rebuild()
    {
#if defined(__SANITIZE_THREAD__)
        // ThreadSanitizer cannot see the rebuild: tell it the write lock the
        // forking thread took (see registry()) was released.
        __tsan_mutex_pre_unlock(&rw_, 0);
        __tsan_mutex_post_unlock(&rw_, 0);
#endif
        this->~RwLock();
        new (this) RwLock;
    }

private:
    std::mutex turnstile_;
    std::shared_mutex rw_;
};

class Registry {
public:
    RwLock &mutex() { return mutex_; }
    // After fork(), in the child: the lock as new. The parent held it
    // exclusively across the fork (see registry()); the child's only thread
    // cannot unlock it as its owner, so it is rebuilt.
    // The allocations' fault locks are freed too: a thread of the parent may
    // have held one (in the fault handler or a scan) at the moment of the fork,
    // and it does not exist in the child.
    void reset_lock_in_child()
    {
        mutex_.rebuild();
        for (auto &entry : by_base_)
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
        auto it = by_base_.upper_bound(start);
        if (it != by_base_.begin() && std::prev(it)->second->end() > start)
            --it;
        for (; it != by_base_.end() && it->first < stop; ++it)
            fn(*it->second);
    }

    // Caller holds the lock exclusively.
    Allocation &insert(std::unique_ptr<Allocation> allocation);
    std::unique_ptr<Allocation> remove(uintptr_t base);

    size_t tracking_bytes() const { return tracking_bytes_.load(std::memory_order_relaxed); }

private:
    static size_t bytes_for(const Allocation &allocation);

    mutable RwLock mutex_;
    std::map<uintptr_t, std::unique_ptr<Allocation>> by_base_;
    std::atomic<size_t> tracking_bytes_{0};
};

Registry &registry();

} // namespace writewatch
