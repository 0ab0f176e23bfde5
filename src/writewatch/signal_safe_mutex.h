// A mutex that may be taken inside a signal handler: an atomic word and the
// futex system call, nothing that allocates or depends on libc's locks.
// Waiters sleep in the kernel instead of spinning, which matters on a loaded
// machine where the holder may be descheduled. Hold it only for short,
// fault-free sections.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace writewatch {

class SignalSafeMutex {
public:
    void lock()
    {
        int expected = unlocked;
        if (state_.compare_exchange_strong(expected, locked, std::memory_order_acquire))
            return;
        // A short spin covers the usual case, a holder doing one mprotect.
        for (int spin = 0; spin < 64; ++spin) {
            expected = unlocked;
            if (state_.load(std::memory_order_relaxed) == unlocked &&
                state_.compare_exchange_weak(expected, locked, std::memory_order_acquire))
                return;
            cpu_relax();
        }
        while (state_.exchange(contended, std::memory_order_acquire) != unlocked)
            futex(FUTEX_WAIT_PRIVATE, contended);
    }

    // Unlocked, whoever held it. Only for the child after fork(), where the
    // holder's thread does not exist.
    void reset_in_child() { state_.store(unlocked, std::memory_order_relaxed); }

    void unlock()
    {
        if (state_.exchange(unlocked, std::memory_order_release) == contended)
            futex(FUTEX_WAKE_PRIVATE, 1);
    }

private:
    static constexpr int unlocked = 0;
    static constexpr int locked = 1;    // held, nobody waits
    static constexpr int contended = 2; // held, someone may sleep on it

    static void cpu_relax()
    {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        asm volatile("yield");
#endif
    }

    void futex(int op, int value)
    {
        syscall(SYS_futex, reinterpret_cast<int *>(&state_), op, value, nullptr, nullptr, 0);
    }

    static_assert(sizeof(std::atomic<int>) == sizeof(int) && std::atomic<int>::is_always_lock_free);
    std::atomic<int> state_{unlocked};
};

} // namespace writewatch
