#include "registry.h"

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

Registry &registry()
{
    // Never destroyed: other threads may still call in while the process exits.
    static Registry *instance = new Registry;
    return *instance;
}

} // namespace writewatch

extern "C" size_t ww_tracking_memory_bytes(void)
{
    return writewatch::registry().tracking_bytes();
}
