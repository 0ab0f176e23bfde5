// The readers-writer lock of the registry and of the range table.
#pragma once

#include "futex.h"
#include "signal_safe_mutex.h"

#include <atomic>
#include <cstdint>

namespace writewatch {

// A readers-writer lock fair to both sides. A reader-preferring lock kept
// VirtualAlloc / VirtualFree / VirtualProtect waiting for seconds behind
// threads polling GetWriteWatch (tests/stress/race_mm.cpp saw one
// VirtualProtect in 2.5 s); a writer-preferring one starves GetWriteWatch
// under a stream of VirtualProtect calls. Here a writer first takes the
// turnstile, so no reader arriving after it gets in ahead of it, then waits
// for the readers already in; readers that passed the turnstile before it get
// the lock before the next writer. (Admitting every waiting reader at once,
// phase-fair, did worse on two cores: a writer then waits for readers that
// are runnable but not yet running.)
//
// It is inline atomics and futexes, with no call into libc: an uncontended
// reader loads the turnstile and adds to the count, on one cache line. What a
// GetWriteWatch touches matters more than what it executes, because a
// write-protecting scan flushes the TLB and every page touched after it costs
// a page walk. Never taken recursively. Eight bytes: its owner gives it a
// cache line, shared with what a reader reads next.
class RwLock {
public:
    void lock_shared()
    {
        if (turnstile_.is_locked()) [[unlikely]]
            pass_turnstile();
        if (state_.fetch_add(reader_unit, std::memory_order_seq_cst) & writer_holds) [[unlikely]]
            wait_for_writer();
    }

    void unlock_shared()
    {
        // seq_cst with the turnstile's: either a writer waiting for the readers
        // to leave sees this one gone, or this reader sees it and wakes it.
        uint32_t left = state_.fetch_sub(reader_unit, std::memory_order_seq_cst) - reader_unit;
        if (left == 0 && turnstile_.is_locked()) [[unlikely]]
            wake();
    }

    void lock()
    {
        turnstile_.lock();
        uint32_t expected = 0;
        while (!state_.compare_exchange_weak(expected, writer_holds, std::memory_order_seq_cst)) {
            if (expected != 0)
                wait_while(expected);
            expected = 0;
        }
        turnstile_.unlock();
    }

    void unlock()
    {
        // Readers that came in behind this writer are counted already, and go
        // first; the next writer may be waiting on the same word, holding the
        // turnstile (seq_cst with its lock: one of the two sees the other).
        if (state_.fetch_sub(writer_holds, std::memory_order_seq_cst) != writer_holds || turnstile_.is_locked())
            futex_wake(state_);
    }

    // A new, unlocked lock in place of this one, whatever its state. Only for
    // a process with one thread (the child after fork()), where the threads
    // counted as waiting do not exist.
    void rebuild()
    {
        turnstile_.reset_in_child();
        state_.store(0, std::memory_order_relaxed);
    }

private:
    // state_: readers in (or waiting for the writer), in units of
    // reader_unit, and whether a writer holds the lock.
    static constexpr uint32_t writer_holds = 1;
    static constexpr uint32_t reader_unit = 2;
    static constexpr int spin_limit = 100;

    // The slow paths are out of line, so that the readers' fast path stays a
    // few instructions in the caller (hot_path.h).
    __attribute__((noinline, cold)) void pass_turnstile()
    {
        turnstile_.lock(); // behind the writer that holds it
        turnstile_.unlock();
    }

    __attribute__((noinline, cold)) void wake() { futex_wake(state_); }

    // Counted in while a writer holds the lock: waits until it lets go.
    __attribute__((noinline, cold)) void wait_for_writer()
    {
        for (int spin = 0; spin < spin_limit; ++spin) {
            if (!(state_.load(std::memory_order_seq_cst) & writer_holds))
                return;
            cpu_relax();
        }
        for (uint32_t seen; (seen = state_.load(std::memory_order_seq_cst)) & writer_holds;)
            futex_wait(state_, seen);
    }

    // Holding the turnstile: waits until the state is no longer 'seen' (the
    // readers in left, or the writer before this one let go).
    void wait_while(uint32_t seen)
    {
        for (int spin = 0; spin < spin_limit && seen != 0; ++spin) {
            cpu_relax();
            seen = state_.load(std::memory_order_seq_cst);
        }
        if (seen != 0)
            futex_wait(state_, seen);
    }

    SignalSafeMutex turnstile_;
    std::atomic<uint32_t> state_{0};
};

} // namespace writewatch
