#include "user_memory.h"

#include "address_range.h"
#include "backends/fault_signal.h"

#include <pthread.h>
#include <setjmp.h>
#include <ucontext.h>

#include <cstdint>

namespace writewatch {
namespace {

// initial-exec: the signal handler reads these, and must not allocate TLS.
__attribute__((tls_model("initial-exec"))) thread_local sigjmp_buf probe_return;
__attribute__((tls_model("initial-exec"))) thread_local volatile sig_atomic_t probing;

__attribute__((noinline)) void touch_pages(uintptr_t start, uintptr_t end)
{
    for (uintptr_t address = start; address < end;
         address = align_down(address, WW_PAGE_SIZE) + WW_PAGE_SIZE) {
        // A compare-exchange of the byte with itself: a write access that
        // changes nothing. (An atomic OR with 0 is not: clang folds an unused
        // idempotent RMW into no memory access at all, so nothing was probed.)
        auto *byte = reinterpret_cast<uint8_t *>(address);
        uint8_t value = __atomic_load_n(byte, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(byte, &value, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        }
    }
}

bool touch_pages_for_write(uintptr_t start, uintptr_t end)
{
    // Nothing but these two lives across the jump.
    volatile uintptr_t range_start = start;
    volatile uintptr_t range_end = end;
    // The jump target does not save the signal mask (that would be a system
    // call); recover_from_user_probe restores it from the fault's context.
    if (sigsetjmp(probe_return, 0)) {
        probing = 0;
        return false;
    }
    probing = 1;
    touch_pages(range_start, range_end);
    probing = 0;
    return true;
}

} // namespace

ww_status check_user_writable(const void *address, size_t size)
{
    if (!address)
        return WW_STATUS_ACCESS_VIOLATION;
    if (size == 0)
        return WW_STATUS_SUCCESS;
    auto start = reinterpret_cast<uintptr_t>(address);
    uintptr_t end;
    if (__builtin_add_overflow(start, size, &end))
        return WW_STATUS_ACCESS_VIOLATION;
    if (!install_fault_handler())
        return WW_STATUS_SUCCESS; // cannot probe safely: trust the caller
    return touch_pages_for_write(start, end) ? WW_STATUS_SUCCESS : WW_STATUS_ACCESS_VIOLATION;
}

void recover_from_user_probe(siginfo_t *, void *ucontext)
{
    if (!probing)
        return;
    if (ucontext)
        pthread_sigmask(SIG_SETMASK, &static_cast<ucontext_t *>(ucontext)->uc_sigmask, nullptr);
    siglongjmp(probe_return, 1);
}

} // namespace writewatch
