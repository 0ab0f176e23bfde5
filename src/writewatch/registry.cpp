#include "registry.h"

#include <pthread.h>

namespace writewatch {

Allocation *Registry::find(uintptr_t address) const
{
    auto it = by_base_.upper_bound(address);
    if (it == by_base_.begin())
        return nullptr;
    --it;
    Allocation *allocation = it->second.get();
    return address < allocation->end() ? allocation : nullptr;
}

bool Registry::is_free(uintptr_t start, uintptr_t stop) const
{
    auto it = by_base_.lower_bound(stop);
    if (it == by_base_.begin())
        return true;
    --it;
    return it->second->end() <= start;
}

size_t Registry::bytes_for(const Allocation &allocation)
{
    // The map node is an estimate: three pointers and colour beside the pair.
    return sizeof(Allocation) + allocation.page_count() * sizeof(PageState) +
           sizeof(std::pair<const uintptr_t, std::unique_ptr<Allocation>>) + 4 * sizeof(void *);
}

Allocation &Registry::insert(std::unique_ptr<Allocation> allocation)
{
    tracking_bytes_.fetch_add(bytes_for(*allocation), std::memory_order_relaxed);
    auto [it, inserted] = by_base_.emplace(allocation->base, std::move(allocation));
    return *it->second;
}

std::unique_ptr<Allocation> Registry::remove(uintptr_t base)
{
    auto it = by_base_.find(base);
    if (it == by_base_.end())
        return nullptr;
    std::unique_ptr<Allocation> allocation = std::move(it->second);
    by_base_.erase(it);
    tracking_bytes_.fetch_sub(bytes_for(*allocation), std::memory_order_relaxed);
    return allocation;
}

namespace {

Registry *instance;

// fork() while another thread is inside the library would leave the child
// with the registry lock held by a thread that does not exist there: every
// later call in the child would wait forever. The forking thread takes the
// lock exclusively across the fork instead, so no call is in progress in the
// copy the child gets.
void lock_before_fork() { instance->mutex().lock(); }
void unlock_in_parent() { instance->mutex().unlock(); }
void unlock_in_child() { instance->reset_lock_in_child(); }

} // namespace

Registry &registry()
{
    // Never destroyed: other threads may still call in while the process exits.
    static Registry *made = [] {
        instance = new Registry;
        pthread_atfork(lock_before_fork, unlock_in_parent, unlock_in_child);
        return instance;
    }();
    return *made;
}

} // namespace writewatch

extern "C" size_t ww_tracking_memory_bytes(void)
{
    return writewatch::registry().tracking_bytes();
}
