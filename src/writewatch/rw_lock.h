// The readers-writer lock of the registry and of every tracked range.
#pragma once

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
        // forking thread took (see fork_safety.cpp) was released.
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

} // namespace writewatch
