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
#include <shared_mutex>

#include <pthread.h>

namespace writewatch {

// A readers-writer lock that lets a waiting writer in. std::shared_mutex is
// glibc's default rwlock, which prefers readers: threads polling
// GetWriteWatch back to back kept VirtualAlloc / VirtualFree / VirtualProtect
// waiting for seconds (tests/stress/race_mm.cpp saw one VirtualProtect in
// 2.5 s). The lock is never taken recursively.
class RwLock {
public:
    RwLock()
    {
        pthread_rwlockattr_t attr;
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&lock_, &attr);
        pthread_rwlockattr_destroy(&attr);
    }
    ~RwLock() { pthread_rwlock_destroy(&lock_); }
    RwLock(const RwLock &) = delete;
    RwLock &operator=(const RwLock &) = delete;

    void lock() { pthread_rwlock_wrlock(&lock_); }
    void unlock() { pthread_rwlock_unlock(&lock_); }
    void lock_shared() { pthread_rwlock_rdlock(&lock_); }
    void unlock_shared() { pthread_rwlock_unlock(&lock_); }

private:
    pthread_rwlock_t lock_;
};

class Registry {
public:
    RwLock &mutex() { return mutex_; }

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
