#include "placement.h"

#include <sys/random.h>

#include <ctime>

namespace writewatch {
namespace {

constexpr uintptr_t lowest_floor = uintptr_t{1} << 32; // the low 4 GiB stay free
constexpr uintptr_t widest_spread = uintptr_t{1} << 40;
// Steps over allocations of ours (or wrap-arounds) before giving up on a candidate.
constexpr int max_steps = 16;

uint64_t random_bits()
{
    uint64_t bits = 0;
    if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) == sizeof bits)
        return bits;
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now); // weaker, but never fails
    return static_cast<uint64_t>(now.tv_nsec) * 0x9e3779b97f4a7c15u ^
           reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
}

} // namespace

uintptr_t BottomUpPlacement::candidate(const Registry &registry, size_t size, uintptr_t alignment)
{
    if (!cursor_) {
        // The stack sits at the top of the address space: the bottom-up range
        // is its lower half, which leaves the top-down mappings room to grow
        // on any address-space size (39-bit arm64 kernels included).
        ceiling_ = reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) / 2;
        uintptr_t spread = ceiling_ / 4 < widest_spread ? ceiling_ / 4 : widest_spread;
        if (ceiling_ < 2 * lowest_floor || spread < page_table_block)
            return 0; // too small an address space to bother
        floor_ = lowest_floor + align_down(random_bits() % spread, page_table_block);
        cursor_ = floor_;
    }
    uintptr_t start = cursor_;
    bool wrapped = false;
    for (int step = 0; step < max_steps; ++step) {
        start = within_one_block(align_up(start, alignment), size);
        if (start < floor_ || size > ceiling_ || start > ceiling_ - size) {
            if (wrapped)
                return 0;
            start = floor_;
            wrapped = true;
            continue;
        }
        uintptr_t blocked_until = 0;
        registry.for_each_overlapping(start, start + size,
                                      [&](const Allocation &allocation) { blocked_until = allocation.end(); });
        if (!blocked_until)
            return start;
        start = blocked_until;
    }
    return 0;
}

void BottomUpPlacement::released(uintptr_t start)
{
    if (start >= floor_ && start < cursor_)
        cursor_ = start;
}

BottomUpPlacement &bottom_up_placement()
{
    static BottomUpPlacement placement;
    return placement;
}

} // namespace writewatch
