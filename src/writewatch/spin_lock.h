// A lock that may be taken inside a signal handler: a pure atomic flag, no
// futex and no allocation. Hold it only for short, fault-free sections.
#pragma once

#include <sched.h>

#include <atomic>

namespace writewatch {

class SpinLock {
public:
    void lock()
    {
        for (unsigned spins = 0; flag_.exchange(true, std::memory_order_acquire); ++spins) {
            if (spins > 64)
                sched_yield();
        }
    }
    void unlock() { flag_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> flag_{false};
};

} // namespace writewatch
