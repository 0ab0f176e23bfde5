#include "fault_signal.h"

#include "fault_protection.h"
#include "../host_pages.h"
#include "../hot_path.h"
#include "../kernel_calls.h"
#include "../user_memory.h"

#include <sched.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <atomic>
#include <mutex>
#include <new>

namespace writewatch {
namespace {

// One published allocation. 'users' counts handlers looking at it; withdrawal
// clears 'base' first and then waits for users to leave.
struct FaultSlot {
    std::atomic<uintptr_t> base{0};
    std::atomic<uintptr_t> end{0};
    std::atomic<Allocation *> allocation{nullptr};
    std::atomic<unsigned> users{0};
};

// Slots live in chunks that are never freed, so the handler can walk them at
// any time without locks.
struct SlotChunk {
    static constexpr size_t size = 256;
    FaultSlot slots[size];
    std::atomic<SlotChunk *> next{nullptr};
};

SlotChunk first_chunk;
std::mutex publish_mutex; // serialises publish and withdraw, never taken by the handler

// What SIGSEGV and SIGBUS did before we came: faults we do not own go there.
struct sigaction previous_segv_action;
struct sigaction previous_bus_action;
std::atomic<bool> handler_installed{false};

template <typename Fn>
bool for_each_slot(Fn fn)
{
    for (SlotChunk *chunk = &first_chunk; chunk; chunk = chunk->next.load(std::memory_order_acquire))
        for (FaultSlot &slot : chunk->slots)
            if (fn(slot))
                return true;
    return false;
}

// mprotect of pages [first, end); a failure that may pass (EINTR, EAGAIN,
// ENOMEM for a page table) is tried again a few times before the caller looks
// for another way.
bool protect_pages(const Allocation &allocation, size_t first, size_t end, int prot)
{
    for (int attempt = 0; attempt < 4; ++attempt) {
        if (kernel::mprotect(reinterpret_cast<void *>(allocation.page_address(first)),
                             (end - first) * WW_PAGE_SIZE, prot) == 0)
            return true;
        if (errno != EINTR && errno != EAGAIN && errno != ENOMEM)
            return false;
    }
    return false;
}

// The page's own mprotect failed: the kernel could not split its mapping
// (vm.max_map_count reached, ENOMEM). Give write access to a larger range
// instead, chosen so that no mapping has to be split: the clean pages around
// the faulting one that share its layout, [first, end), are one mapping;
// joining them (or the part up to the faulting page) to a neighbouring
// mapping that already has the written protection, or converting the whole
// run, only merges mappings. The pages made writable this way are marked
// written: they will be reported although they were not written, which the
// API allows (an extra report never loses a write). Caller holds the lock.
bool resolve_without_split(Allocation &allocation, size_t index, PageState state)
{
    const PageState layout = state & page_state::layout_mask;
    auto clean_alike = [&](size_t i) {
        PageState other = allocation.state(i);
        return (other & page_state::layout_mask) == layout && !(other & page_state::written);
    };
    const int target = fault_protection(static_cast<PageState>(state | page_state::written));
    size_t first = index, end = index + 1;
    while (first > 0 && clean_alike(first - 1))
        --first;
    while (end < allocation.page_count() && clean_alike(end))
        ++end;
    size_t from = first, to = end;
    if (first > 0 && fault_protection(allocation.state(first - 1)) == target)
        to = index + 1; // the left neighbour grows up to the faulting page
    else if (end < allocation.page_count() && fault_protection(allocation.state(end)) == target)
        from = index; // the right neighbour grows down to it
    if (!protect_pages(allocation, from, to, target) &&
        (from == first && to == end ? true : !protect_pages(allocation, (from = first), (to = end), target)))
        return false;
    for (size_t i = from; i < to; ++i)
        allocation.pages[i].fetch_or(page_state::written, std::memory_order_acq_rel);
    return true;
}

// A write fault in a host page larger than 4K: every page of the host page
// that can be written counts as written (the kernel cannot tell which 4K of
// it the write hit, and later writes to them will not fault), and the host
// page gets its written protection. Caller holds the lock.
bool resolve_host_page(Allocation &allocation, size_t index)
{
    PageRange host = covering_host_pages(PageRange{index, 1}, allocation.page_count());
    auto writable = [&](PageState state) {
        return (state & page_state::committed) && protection_allows_write(state);
    };
    int prot = 0;
    for (size_t i = host.first; i < host.first + host.count; ++i) {
        PageState state = allocation.state(i);
        prot |= fault_protection(writable(state) ? static_cast<PageState>(state | page_state::written) : state);
    }
    if (!protect_pages(allocation, host.first, host.first + host.count, prot & ~write_must_fault))
        return false;
    for (size_t i = host.first; i < host.first + host.count; ++i)
        if (writable(allocation.state(i)))
            allocation.pages[i].fetch_or(page_state::written, std::memory_order_acq_rel);
    return true;
}

bool resolve(Allocation &allocation, uintptr_t address)
{
    size_t index = allocation.page_index(address);
    allocation.fault_lock.lock();
    PageState state = allocation.state(index);
    bool ours = (state & page_state::committed) && protection_allows_write(state);
    if (ours && subpages_per_host_page() > 1) {
        ours = resolve_host_page(allocation, index);
    } else if (ours) {
        // Already written pages get here when two threads fault on one page.
        int target = fault_protection(static_cast<PageState>(state | page_state::written));
        if (protect_pages(allocation, index, index + 1, target))
            allocation.pages[index].fetch_or(page_state::written, std::memory_order_acq_rel);
        else
            // If even that fails the fault is not resolved: returning it to the
            // previous handler (by default: death by SIGSEGV) beats re-running
            // the faulting write forever.
            ours = resolve_without_split(allocation, index, state);
    }
    allocation.fault_lock.unlock();
    return ours;
}

void pass_on(int signal, siginfo_t *info, void *ucontext)
{
    const struct sigaction &previous = signal == SIGBUS ? previous_bus_action : previous_segv_action;
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(signal, info, ucontext);
    } else if (previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN) {
        // Let the faulting instruction run again with the default action: the
        // process ends the way it would have without us.
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        sigaction(signal, &default_action, nullptr);
    } else {
        previous.sa_handler(signal);
    }
}

void on_fault(int signal, siginfo_t *info, void *ucontext)
{
    int saved_errno = errno;
    bool handled = handle_write_fault(signal, info, ucontext);
    errno = saved_errno;
    if (handled)
        return;
    if (recover_from_user_probe(ucontext))
        return;
    pass_on(signal, info, ucontext);
}

sigset_t async_signals()
{
    sigset_t set;
    sigfillset(&set);
    for (int synchronous : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP})
        sigdelset(&set, synchronous);
    return set;
}

} // namespace

WW_HOT_PATH bool install_fault_handler()
{
    if (handler_installed.load(std::memory_order_acquire))
        return true; // the common case, on every GetWriteWatch
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_sigaction = on_fault;
        // SA_NODEFER: a write to watched memory from a handler of a nested
        // SIGSEGV still works; asynchronous signals stay out while we run.
        action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
        action.sa_mask = async_signals();
        // SIGBUS only matters to check_user_writable (a truncated file mapping).
        if (sigaction(SIGSEGV, &action, &previous_segv_action) == 0 &&
            sigaction(SIGBUS, &action, &previous_bus_action) == 0)
            handler_installed.store(true, std::memory_order_release);
    });
    return handler_installed.load(std::memory_order_acquire);
}

bool publish_fault_allocation(Allocation &allocation)
{
    std::lock_guard guard(publish_mutex);
    auto claim = [&](FaultSlot &slot) {
        if (slot.allocation.load(std::memory_order_relaxed))
            return false;
        slot.allocation.store(&allocation, std::memory_order_relaxed);
        slot.end.store(allocation.end(), std::memory_order_relaxed);
        slot.base.store(allocation.base, std::memory_order_release);
        return true;
    };
    if (for_each_slot(claim))
        return true;
    SlotChunk *last = &first_chunk;
    while (SlotChunk *next = last->next.load(std::memory_order_acquire))
        last = next;
    auto *chunk = new (std::nothrow) SlotChunk;
    if (!chunk)
        return false;
    claim(chunk->slots[0]);
    last->next.store(chunk, std::memory_order_release);
    return true;
}

void withdraw_fault_allocation(Allocation &allocation)
{
    std::lock_guard guard(publish_mutex);
    for_each_slot([&](FaultSlot &slot) {
        if (slot.allocation.load(std::memory_order_relaxed) != &allocation)
            return false;
        slot.base.store(0, std::memory_order_seq_cst);
        while (slot.users.load(std::memory_order_seq_cst))
            sched_yield();
        slot.end.store(0, std::memory_order_relaxed);
        slot.allocation.store(nullptr, std::memory_order_release);
        return true;
    });
}

bool handle_write_fault(int signal, siginfo_t *info, void *ucontext)
{
    if (signal != SIGSEGV || !info || info->si_code != SEGV_ACCERR)
        return false;
#if defined(__x86_64__)
    // Bit 1 of the page-fault error code: the access was a write.
    if (ucontext && !(static_cast<ucontext_t *>(ucontext)->uc_mcontext.gregs[REG_ERR] & 2))
        return false;
#else
    (void)ucontext; // elsewhere a read of a watched page faults only when it has no read access
#endif
    auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    bool handled = false;
    for_each_slot([&](FaultSlot &slot) {
        uintptr_t base = slot.base.load(std::memory_order_acquire);
        if (!base || address < base || address >= slot.end.load(std::memory_order_relaxed))
            return false;
        slot.users.fetch_add(1, std::memory_order_seq_cst);
        // Still the same allocation once we are counted as a user?
        if (slot.base.load(std::memory_order_seq_cst) == base)
            handled = resolve(*slot.allocation.load(std::memory_order_acquire), address);
        slot.users.fetch_sub(1, std::memory_order_seq_cst);
        return true;
    });
    return handled;
}

AsyncSignalsBlocked::AsyncSignalsBlocked()
{
    static const sigset_t blocked = async_signals();
    pthread_sigmask(SIG_BLOCK, &blocked, &previous_);
}

AsyncSignalsBlocked::~AsyncSignalsBlocked()
{
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

} // namespace writewatch

extern "C" int ww_handle_fault(int signal, void *siginfo, void *ucontext)
{
    return writewatch::handle_write_fault(signal, static_cast<siginfo_t *>(siginfo), ucontext);
}
