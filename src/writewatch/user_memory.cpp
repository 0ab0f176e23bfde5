#include "user_memory.h"

#include "address_range.h"
#include "backends/fault_signal.h"
#include "hot_path.h"

#include <ucontext.h>

#include <cstdint>

// probe_byte(address): a write access to one byte that changes nothing (an
// atomic OR with 0, or a load-exclusive / store-exclusive of the same value).
// Returns 1, or 0 when the access faulted: the fault handler then moves the
// program counter from the probing instructions to the landing, which
// returns 0. No jump buffer to fill (sigsetjmp is a call into libc, one more
// code page on the hot path), nothing to undo.
#if defined(__x86_64__)
asm(R"(
    .pushsection .text.hot.writewatch_probe_byte,"ax",@progbits
    .globl writewatch_probe_byte, writewatch_probe_access, writewatch_probe_access_end, writewatch_probe_landing
    .hidden writewatch_probe_byte, writewatch_probe_access, writewatch_probe_access_end, writewatch_probe_landing
    .type writewatch_probe_byte, @function
writewatch_probe_byte:
writewatch_probe_access:
    lock orb $0, (%rdi)
writewatch_probe_access_end:
    movl $1, %eax
    ret
writewatch_probe_landing:
    xorl %eax, %eax
    ret
    .size writewatch_probe_byte, . - writewatch_probe_byte
    .popsection
)");
#elif defined(__aarch64__)
asm(R"(
    .pushsection .text.hot.writewatch_probe_byte,"ax",@progbits
    .globl writewatch_probe_byte, writewatch_probe_access, writewatch_probe_access_end, writewatch_probe_landing
    .hidden writewatch_probe_byte, writewatch_probe_access, writewatch_probe_access_end, writewatch_probe_landing
    .type writewatch_probe_byte, %function
writewatch_probe_byte:
writewatch_probe_access:
    ldxrb w1, [x0]
    stxrb w2, w1, [x0]
    cbnz w2, writewatch_probe_access
writewatch_probe_access_end:
    mov w0, #1
    ret
writewatch_probe_landing:
    mov w0, #0
    ret
    .size writewatch_probe_byte, . - writewatch_probe_byte
    .popsection
)");
#else
#error "check_user_writable needs a probe with a landing pad for this architecture (user_memory.cpp)"
#endif

extern "C" {
int writewatch_probe_byte(uintptr_t address);
extern const char writewatch_probe_access[], writewatch_probe_access_end[], writewatch_probe_landing[];
}

namespace writewatch {
namespace {

uintptr_t program_counter(const ucontext_t *context)
{
#if defined(__x86_64__)
    return static_cast<uintptr_t>(context->uc_mcontext.gregs[REG_RIP]);
#else
    return static_cast<uintptr_t>(context->uc_mcontext.pc);
#endif
}

void set_program_counter(ucontext_t *context, uintptr_t pc)
{
#if defined(__x86_64__)
    context->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(pc);
#else
    context->uc_mcontext.pc = pc;
#endif
}

struct Span {
    uintptr_t start;
    uintptr_t end;
};

// Probes every page of the span (nothing for an empty one).
WW_HOT_PATH bool touch_pages(Span span)
{
    for (uintptr_t address = span.start; address < span.end;
         address = align_down(address, WW_PAGE_SIZE) + WW_PAGE_SIZE)
        if (!writewatch_probe_byte(address))
            return false;
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

WW_HOT_PATH ww_status check_user_writable(const void *first, size_t first_size, const void *second,
                                          size_t second_size)
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
    return touch_pages(a) && touch_pages(b) ? WW_STATUS_SUCCESS : WW_STATUS_ACCESS_VIOLATION;
}

WW_HOT_PATH void rewrite_results(void **addresses, uintptr_t count)
{
    // The caller's own results: a volatile store of what a byte holds loses
    // nothing of anybody else's, unlike a write of any other byte of the page.
    auto *bytes = reinterpret_cast<volatile char *>(addresses);
    uintptr_t start = reinterpret_cast<uintptr_t>(addresses);
    uintptr_t end = start + count * sizeof(*addresses);
    for (uintptr_t address = start; address < end; address = align_down(address, WW_PAGE_SIZE) + WW_PAGE_SIZE)
        bytes[address - start] = bytes[address - start];
}

bool recover_from_user_probe(void *ucontext)
{
    auto *context = static_cast<ucontext_t *>(ucontext);
    if (!context)
        return false;
    uintptr_t pc = program_counter(context);
    if (pc < reinterpret_cast<uintptr_t>(writewatch_probe_access) ||
        pc >= reinterpret_cast<uintptr_t>(writewatch_probe_access_end))
        return false;
    set_program_counter(context, reinterpret_cast<uintptr_t>(writewatch_probe_landing));
    return true;
}

} // namespace writewatch
