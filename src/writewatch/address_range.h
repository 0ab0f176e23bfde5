// Rounding a caller's (base, size) to whole pages, with overflow checks.
#pragma once

#include "writewatch/writewatch.h"

#include <cstdint>
#include <optional>

namespace writewatch {

struct AddressRange {
    uintptr_t start;
    uintptr_t end;
    uintptr_t size() const { return end - start; }
};

inline constexpr uintptr_t align_down(uintptr_t value, uintptr_t alignment)
{
    return value & ~(alignment - 1);
}

inline constexpr uintptr_t align_up(uintptr_t value, uintptr_t alignment)
{
    return align_down(value + alignment - 1, alignment);
}

// [align_down(base, start_alignment), round_up(base + size, WW_PAGE_SIZE)), or
// nothing when that wraps around the address space.
inline std::optional<AddressRange> round_range(const void *base, size_t size,
                                               uintptr_t start_alignment = WW_PAGE_SIZE)
{
    auto address = reinterpret_cast<uintptr_t>(base);
    uintptr_t last;
    if (__builtin_add_overflow(address, size, &last) ||
        __builtin_add_overflow(last, WW_PAGE_SIZE - 1, &last))
        return std::nullopt;
    return AddressRange{align_down(address, start_alignment), align_down(last, WW_PAGE_SIZE)};
}

} // namespace writewatch
