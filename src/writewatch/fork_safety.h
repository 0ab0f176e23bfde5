// fork() while other threads are inside the library: the child must not
// inherit a lock held by a thread that does not exist there, nor descriptors
// that name the parent's memory. One set of pthread_atfork handlers for the
// whole library takes every lock in one fixed order.
#pragma once

#include "hot_path.h"

#include <atomic>

namespace writewatch {

// Registers the handlers once; called when the registry, the range table or
// the kernel descriptors are made.
void install_fork_handlers();

// The one instance of a table the fork handlers lock: made on first use with
// the handlers installed, never destroyed (other threads may still call in
// while the process exits), and published for the handlers, which must not
// make it.
template <typename T>
class ForkLockedInstance {
public:
    WW_HOT_PATH static T &get()
    {
        T *object = published_.load(std::memory_order_acquire);
        return object ? *object : make();
    }
    // The instance if it was made already, else null.
    static T *if_made() { return published_.load(std::memory_order_acquire); }

private:
    __attribute__((noinline, cold)) static T &make()
    {
        static T *made = [] {
            install_fork_handlers();
            T *object = new T;
            published_.store(object, std::memory_order_release);
            return object;
        }();
        return *made;
    }

    inline static std::atomic<T *> published_{nullptr};
};

} // namespace writewatch
