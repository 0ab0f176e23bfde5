// fork() while other threads are inside the library: the child must not
// inherit a lock held by a thread that does not exist there, nor descriptors
// that name the parent's memory. One set of pthread_atfork handlers for the
// whole library takes every lock in one fixed order.
#pragma once

#include "hot_path.h"

#include <atomic>
#include <new>

namespace writewatch {

// Registers the handlers once; called when the registry, the range table or
// the kernel descriptors are made.
void install_fork_handlers();

// The one instance of a table the fork handlers lock: made on first use with
// the handlers installed, never destroyed (other threads may still call in
// while the process exits), and published for the handlers, which must not
// make it.
//
// It lives in static storage, not on the heap, and the flag saying it was
// made shares its first cache line: a cold GetWriteWatch then finds the
// table's lock without first loading a pointer to it, one dependent cache
// miss less (tables put their lock first for this).
template <typename T>
class ForkLockedInstance {
public:
    WW_HOT_PATH static T &get()
    {
        if (slot_.made.load(std::memory_order_acquire)) [[likely]]
            return object();
        return make();
    }
    // The instance if it was made already, else null.
    static T *if_made() { return slot_.made.load(std::memory_order_acquire) ? &object() : nullptr; }

private:
    static T &object() { return *std::launder(reinterpret_cast<T *>(slot_.storage)); }

    __attribute__((noinline, cold)) static T &make()
    {
        static T *made = [] {
            install_fork_handlers();
            T *object = new (slot_.storage) T;
            slot_.made.store(true, std::memory_order_release);
            return object;
        }();
        return *made;
    }

    struct alignas(64) Slot {
        std::atomic<bool> made{false};
        alignas(T) unsigned char storage[sizeof(T)];
    };
    inline static Slot slot_;
};

} // namespace writewatch
