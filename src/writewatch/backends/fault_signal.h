// The fault backend's SIGSEGV side: a table of watched allocations that the
// signal handler can search without locks, the handler itself, and passing
// faults it does not own to the handler installed before it.
#pragma once

#include "../allocation.h"

#include <csignal>

namespace writewatch {

// Installs the SIGSEGV/SIGBUS handler the first time (the fault backend needs
// it, and check_user_writable uses it to survive bad pointers). Returns false
// if sigaction failed.
bool install_fault_handler();

// Make an allocation visible to the handler / invisible again. Removal waits
// until no handler still looks at it, so it can be freed afterwards.
bool publish_fault_allocation(Allocation &allocation);
void withdraw_fault_allocation(Allocation &allocation);

// Resolves a write fault on a clean, writable, committed page of a fault-backend
// allocation: marks it written and gives it its full protection.
bool handle_write_fault(int signal, siginfo_t *info, void *ucontext);

// Blocks asynchronous signals for the life of the object, so that a signal
// handler writing to watched memory cannot run on a thread that holds an
// allocation's fault lock.
class AsyncSignalsBlocked {
public:
    AsyncSignalsBlocked();
    ~AsyncSignalsBlocked();
    AsyncSignalsBlocked(const AsyncSignalsBlocked &) = delete;
    AsyncSignalsBlocked &operator=(const AsyncSignalsBlocked &) = delete;

private:
    sigset_t previous_;
};

} // namespace writewatch
