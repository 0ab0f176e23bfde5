// The protection the fault backend gives a page: what the application asked
// for, less write access while the page is clean, so its first write faults.
#pragma once

#include "../host_mapping.h"
#include "../page_state.h"
#include "../protection.h"

#include <sys/mman.h>

namespace writewatch {

inline int fault_protection(PageState state)
{
    int prot = host_protection(state);
    if ((prot & PROT_WRITE) && !(state & page_state::written))
        prot = (prot & ~PROT_WRITE) | write_must_fault; // see host_mapping.h
    return prot;
}

// The protection the page gets when it becomes clean again.
inline int clean_fault_protection(PageState state)
{
    return fault_protection(static_cast<PageState>(state & ~page_state::written));
}

} // namespace writewatch
