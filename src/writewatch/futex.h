// The futex system call for the library's own locks, and the pause of a short
// spin: what sleeping and waking need without libc's locks, so that they work
// in signal handlers and cost no call into libc on the fast path.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace writewatch {

// Sleeps while *word holds 'expected' (returns at once when it does not, and
// may return spuriously: callers loop).
template <typename T>
inline void futex_wait(std::atomic<T> &word, T expected)
{
    static_assert(sizeof(T) == 4 && std::atomic<T>::is_always_lock_free);
    syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAIT_PRIVATE, static_cast<uint32_t>(expected),
            nullptr, nullptr, 0);
}

// Wakes up to 'count' threads sleeping on word (all by default).
template <typename T>
inline void futex_wake(std::atomic<T> &word, int count = INT_MAX)
{
    static_assert(sizeof(T) == 4 && std::atomic<T>::is_always_lock_free);
    syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

inline void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

} // namespace writewatch
