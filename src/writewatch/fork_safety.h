// fork() while other threads are inside the library: the child must not
// inherit a lock held by a thread that does not exist there, nor descriptors
// that name the parent's memory. One set of pthread_atfork handlers for the
// whole library takes every lock in one fixed order.
#pragma once

namespace writewatch {

// Registers the handlers once; called when the registry, the range table or
// the kernel descriptors are made.
void install_fork_handlers();

} // namespace writewatch
