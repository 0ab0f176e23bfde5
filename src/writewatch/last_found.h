// The entry a table's last lookup found, tried before the table's tree. A
// program asks about the same region again and again, and a cold lookup in a
// std::map costs a dependent cache miss per tree level, which a GetWriteWatch
// on a small region feels (bench/results/percall-profile.md). Kept beside the
// table's lock, on the cache line a reader touches first anyway.
#pragma once

#include <atomic>

namespace writewatch {

template <typename T>
class LastFound {
public:
    // The entry, or null. Caller holds the table's lock, shared at least.
    T *get() const { return last_.load(std::memory_order_relaxed); }
    // Readers under the shared lock may store concurrently; each stores an
    // entry that is in the table, and nothing removes one while they hold it.
    void remember(T *entry) const { last_.store(entry, std::memory_order_relaxed); }
    // Before 'entry' leaves the table. Caller holds the lock exclusively.
    void forget(const T *entry)
    {
        if (last_.load(std::memory_order_relaxed) == entry)
            last_.store(nullptr, std::memory_order_relaxed);
    }

private:
    mutable std::atomic<T *> last_{nullptr};
};

} // namespace writewatch
