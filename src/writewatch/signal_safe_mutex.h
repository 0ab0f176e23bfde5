// A mutex that may be taken inside a signal handler: an atomic word and the
// futex system call, nothing that allocates or depends on libc's locks.
// Waiters sleep in the kernel instead of spinning, which matters on a loaded
// machine where the holder may be descheduled. Hold it only for short,
// fault-free sections.
#pragma once

#include "futex.h"

#include <atomic>

namespace writewatch {

class SignalSafeMutex {
public:
    void lock()
    {
        int expected = unlocked;
        if (state_.compare_exchange_strong(expected, locked, std::memory_order_seq_cst))
            return;
        // A short spin covers the usual case, a holder doing one mprotect.
        for (int spin = 0; spin < 64; ++spin) {
            expected = unlocked;
            if (state_.load(std::memory_order_relaxed) == unlocked &&
                state_.compare_exchange_weak(expected, locked, std::memory_order_seq_cst))
                return;
            cpu_relax();
        }
        while (state_.exchange(contended, std::memory_order_seq_cst) != unlocked)
            futex_wait(state_, contended);
    }

    // Whether some thread holds it (seq_cst, like lock and unlock: RwLock
    // pairs it with its own counter).
    bool is_locked() const { return state_.load(std::memory_order_seq_cst) != unlocked; }

    // Unlocked, whoever held it. Only for the child after fork(), where the
    // holder's thread does not exist.
    void reset_in_child() { state_.store(unlocked, std::memory_order_relaxed); }

    void unlock()
    {
        if (state_.exchange(unlocked, std::memory_order_seq_cst) == contended)
            futex_wake(state_, 1);
    }

private:
    static constexpr int unlocked = 0;
    static constexpr int locked = 1;    // held, nobody waits
    static constexpr int contended = 2; // held, someone may sleep on it

    static_assert(sizeof(std::atomic<int>) == sizeof(int) && std::atomic<int>::is_always_lock_free);
    std::atomic<int> state_{unlocked};
};

} // namespace writewatch
