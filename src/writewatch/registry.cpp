#include "registry.h"

#include "fork_safety.h"
#include "hot_path.h"
#include "tracker/range_table.h"

#include <shared_mutex>

namespace writewatch {

WW_HOT_PATH Allocation *Registry::find(uintptr_t address) const
{
    Allocation *last = last_found_.get();
    if (last && last->base <= address && address < last->end()) [[likely]]
        return last;
    auto it = by_end_.upper_bound(address);
    if (it == by_end_.end() || it->second->base > address)
        return nullptr;
    last_found_.remember(it->second.get());
    return it->second.get();
}

bool Registry::is_free(uintptr_t start, uintptr_t stop) const
{
    auto it = by_end_.upper_bound(start);
    return it == by_end_.end() || it->second->base >= stop;
}

size_t Registry::bytes_for(const Allocation &allocation)
{
    // The map node is an estimate: three pointers and colour beside the pair.
    size_t bytes = sizeof(Allocation) + allocation.pages.bytes_in_use() +
                   sizeof(std::pair<const uintptr_t, std::unique_ptr<Allocation>>) + 4 * sizeof(void *);
    if (allocation.kernel_range) // and its entry in the range table
        bytes += allocation.kernel_range->heap_bytes() + 10 * sizeof(void *);
    return bytes;
}

size_t Registry::tracking_bytes() const
{
    size_t bytes = 0;
    for (const auto &entry : by_end_)
        bytes += bytes_for(*entry.second);
    return bytes;
}

Allocation &Registry::insert(std::unique_ptr<Allocation> allocation)
{
    auto [it, inserted] = by_end_.emplace(allocation->end(), std::move(allocation));
    return *it->second;
}

std::unique_ptr<Allocation> Registry::remove(uintptr_t base)
{
    auto it = by_end_.upper_bound(base);
    if (it == by_end_.end() || it->second->base != base)
        return nullptr;
    std::unique_ptr<Allocation> allocation = std::move(it->second);
    last_found_.forget(allocation.get());
    by_end_.erase(it);
    return allocation;
}

WW_HOT_PATH Registry &registry()
{
    return ForkLockedInstance<Registry>::get();
}

Registry *registry_if_made()
{
    return ForkLockedInstance<Registry>::if_made();
}

} // namespace writewatch

extern "C" size_t ww_tracking_memory_bytes(void)
{
    using namespace writewatch;
    Registry &reg = registry();
    std::shared_lock lock(reg.mutex());
    RangeTable &table = range_table();
    std::shared_lock table_lock(table.mutex());
    return reg.tracking_bytes() + table.host_bytes();
}
