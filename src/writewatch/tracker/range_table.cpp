#include "range_table.h"

#include "../fork_safety.h"
#include "../hot_path.h"


namespace writewatch {

WW_HOT_PATH TrackedRange *RangeTable::find(uintptr_t start, uintptr_t end, Owner owner) const
{
    if (owner == Owner::host) {
        TrackedRange *last = last_host_range_.get();
        if (last && start >= last->base() && end <= last->end()) [[likely]]
            return last;
    }
    auto it = by_end_.upper_bound(start);
    if (it == by_end_.end())
        return nullptr;
    const Entry &entry = it->second;
    if (entry.owner != owner || start < entry.range->base() || end > entry.range->end())
        return nullptr;
    if (owner == Owner::host)
        last_host_range_.remember(entry.range);
    return entry.range;
}

TrackedRange *RangeTable::find_exact(uintptr_t start, uintptr_t end, Owner owner) const
{
    auto it = by_end_.find(end);
    if (it == by_end_.end() || it->second.owner != owner || it->second.range->base() != start)
        return nullptr;
    return it->second.range;
}

bool RangeTable::overlaps(uintptr_t start, uintptr_t end) const
{
    auto it = by_end_.upper_bound(start);
    return it != by_end_.end() && it->second.range->base() < end;
}

void RangeTable::insert(TrackedRange *range, Owner owner)
{
    Entry entry{range, owner, nullptr};
    if (owner == Owner::host)
        entry.owned.reset(range);
    by_end_.emplace(range->end(), std::move(entry));
}

void RangeTable::remove(uintptr_t base)
{
    auto it = by_end_.upper_bound(base);
    if (it != by_end_.end() && it->second.range->base() == base) {
        last_host_range_.forget(it->second.range);
        by_end_.erase(it);
    }
}

size_t RangeTable::host_bytes() const
{
    size_t bytes = 0;
    for (const auto &[base, entry] : by_end_)
        if (entry.owner == Owner::host)
            bytes += sizeof(TrackedRange) + entry.range->heap_bytes() + sizeof(Entry) + 6 * sizeof(void *);
    return bytes;
}

void RangeTable::reset_in_child()
{
    mutex_.rebuild();
    for (auto &[base, entry] : by_end_)
        entry.range->orphan_in_child();
}

WW_HOT_PATH RangeTable &range_table()
{
    return ForkLockedInstance<RangeTable>::get();
}

RangeTable *range_table_if_made()
{
    return ForkLockedInstance<RangeTable>::if_made();
}

} // namespace writewatch
