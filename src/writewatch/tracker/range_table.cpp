#include "range_table.h"

#include "../fork_safety.h"

#include <iterator>

namespace writewatch {

TrackedRange *RangeTable::find(uintptr_t start, uintptr_t end, Owner owner) const
{
    auto it = by_base_.upper_bound(start);
    if (it == by_base_.begin())
        return nullptr;
    --it;
    const Entry &entry = it->second;
    if (entry.owner != owner || start < entry.range->base() || end > entry.range->end())
        return nullptr;
    return entry.range;
}

TrackedRange *RangeTable::find_exact(uintptr_t start, uintptr_t end, Owner owner) const
{
    auto it = by_base_.find(start);
    if (it == by_base_.end() || it->second.owner != owner || it->second.range->end() != end)
        return nullptr;
    return it->second.range;
}

bool RangeTable::overlaps(uintptr_t start, uintptr_t end) const
{
    auto it = by_base_.lower_bound(end);
    if (it == by_base_.begin())
        return false;
    return std::prev(it)->second.range->end() > start;
}

void RangeTable::insert(TrackedRange *range, Owner owner)
{
    Entry entry{range, owner, nullptr};
    if (owner == Owner::host)
        entry.owned.reset(range);
    by_base_.emplace(range->base(), std::move(entry));
}

void RangeTable::remove(uintptr_t base)
{
    by_base_.erase(base);
}

size_t RangeTable::host_bytes() const
{
    size_t bytes = 0;
    for (const auto &[base, entry] : by_base_)
        if (entry.owner == Owner::host)
            bytes += sizeof(TrackedRange) + entry.range->heap_bytes() + sizeof(Entry) + 6 * sizeof(void *);
    return bytes;
}

void RangeTable::reset_in_child()
{
    mutex_.rebuild();
    for (auto &[base, entry] : by_base_)
        entry.range->orphan_in_child();
}

RangeTable &range_table()
{
    return ForkLockedInstance<RangeTable>::get();
}

RangeTable *range_table_if_made()
{
    return ForkLockedInstance<RangeTable>::if_made();
}

} // namespace writewatch
