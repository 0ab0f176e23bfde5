#include "user_memory.h"

#include "address_range.h"
#include "backends/fault_signal.h"
#include "hot_path.h"

#include <pthread.h>
#include <setjmp.h>
#include <ucontext.h>

#include <cstdint>

namespace writewatch {
namespace {

// initial-exec: the signal handler reads these, and must not allocate TLS.
__attribute__((tls_model("initial-exec"))) thread_local sigjmp_buf probe_return;
__attribute__((tls_model("initial-exec"))) thread_local volatile sig_atomic_t probing;

__attribute__((noinline)) WW_HOT_PATH void touch_pages(uintptr_t start, uintptr_t end)
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

struct Span {
    uintptr_t start;
    uintptr_t end;
};

// Touches every page of the spans (an empty span is skipped).
WW_HOT_PATH bool touch_pages_for_write(Span first, Span second)
{
    // Nothing but these live across the jump.
    volatile uintptr_t spans[4] = {first.start, first.end, second.start, second.end};
    // The jump target does not save the signal mask (that would be a system
    // call); recover_from_user_probe restores it from the fault's context.
    if (sigsetjmp(probe_return, 0)) {
        probing = 0;
        return false;
    }
    probing = 1;
    touch_pages(spans[0], spans[1]);
    touch_pages(spans[2], spans[3]);
    probing = 0;
    return true;
}

// The span of [address, address + size), or false for NULL or a wrap-around.
WW_HOT_PATH bool span_of(const void *address, size_t size, Span *span)
{
    if (!address)
        return false;
    span->start = reinterpret_cast<uintptr_t>(address);
    return !__builtin_add_overflow(span->start, size, &span->end);
}

} // namespace

WW_HOT_PATH ww_status check_user_writable(const void *address, size_t size)
{
    return check_user_writable(address, size, nullptr, 0);
}

WW_HOT_PATH ww_status check_user_writable(const void *first, size_t first_size, const void *second, size_t second_size)
{
    Span a{}, b{};
    if (!span_of(first, first_size, &a) || (second && !span_of(second, second_size, &b)))
        return WW_STATUS_ACCESS_VIOLATION;
    if (a.start == a.end && b.start == b.end)
        return WW_STATUS_SUCCESS;
    if (!install_fault_handler())
        return WW_STATUS_SUCCESS; // cannot probe safely: trust the caller
    // A second span on the first's last page needs no second touch.
    if (a.end > a.start && b.start >= align_down(a.start, WW_PAGE_SIZE) &&
        b.end <= align_down(a.end - 1, WW_PAGE_SIZE) + WW_PAGE_SIZE)
        b.start = b.end;
    return touch_pages_for_write(a, b) ? WW_STATUS_SUCCESS : WW_STATUS_ACCESS_VIOLATION;
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
