// The range tracker against the model of SEMANTICS.md: random writes, gets
// (with and without reset, count limits, sub-ranges), resets, protection
// changes, decommits (by a mapping over the pages, or by MADV_DONTNEED),
// recommits, MEM_RESET and remaps, each answer compared with the model. Work
// is in host pages wherever the host must be aligned; written host pages
// report all their 4096-byte pages.
#include "host_range.h"

#include <catch2/catch.hpp>

#include <random>

using namespace test;

namespace {

struct RangeModel {
    std::vector<bool> live, latched, writable, committed;
    explicit RangeModel(size_t pages) : live(pages), latched(pages), writable(pages, true), committed(pages, true) {}
    bool reported(size_t i) const { return live[i] || latched[i]; }
};

} // namespace

TEST_CASE("tracker: random operations agree with the model", "[tracker][property]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t h = host_page_size() / WW_PAGE_SIZE;
    const size_t host_pages = 48, pages = host_pages * h;
    const uint32_t seed = GENERATE(11u, 12u, 13u, 14u, 15u, 16u);
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
    HostRange range(pages);
    RangeModel model(pages);

    for (int step = 0; step < 1200; ++step) {
        INFO("step " << step);
        // A random span of whole host pages, in 4K pages.
        size_t first_host = pick(host_pages);
        size_t first = first_host * h;
        size_t count = (1 + pick(std::min<size_t>(host_pages - first_host, 12))) * h;
        auto all = [&](const std::vector<bool> &bits) {
            for (size_t i = first; i < first + count; ++i)
                if (!bits[i])
                    return false;
            return true;
        };
        switch (pick(11)) {
        case 0:
        case 1:
        case 2: // writes: a write marks its whole host page
            for (size_t i = first; i < first + count; ++i)
                if (model.committed[i] && model.writable[i] && pick(3) == 0) {
                    range.write(i, static_cast<char>(step));
                    for (size_t k = i / h * h; k < i / h * h + h; ++k)
                        model.live[k] = true;
                }
            break;
        case 3:
        case 4: { // get, maybe reset, maybe limited, on a 4K-granular sub-range
            size_t sub_first = first + pick(h), sub_count = count - (sub_first - first);
            bool reset = pick(2);
            uintptr_t limit = pick(3) ? 1 + pick(sub_count + 2) : sub_count + 1;
            auto got = range.written_in(sub_first, sub_count, reset ? WW_WRITE_WATCH_FLAG_RESET : 0, limit);
            std::vector<size_t> expected;
            for (size_t i = sub_first; i < sub_first + sub_count && expected.size() < limit; ++i)
                if (model.reported(i))
                    expected.push_back(i - sub_first);
            REQUIRE(got == expected);
            if (reset)
                for (size_t p : got)
                    model.live[sub_first + p] = model.latched[sub_first + p] = false;
            break;
        }
        case 5: // reset
            REQUIRE(ww_range_reset(range.page_ptr(first), count * WW_PAGE_SIZE) == WW_STATUS_SUCCESS);
            for (size_t i = first; i < first + count; ++i)
                model.live[i] = model.latched[i] = false;
            break;
        case 6: { // protection change of committed pages: latches
            if (!all(model.committed))
                break;
            bool writable = pick(3) != 0;
            range.protect(first, count, writable ? PROT_READ | PROT_WRITE : PROT_READ);
            for (size_t i = first; i < first + count; ++i) {
                model.writable[i] = writable;
                model.latched[i] = model.latched[i] || model.live[i];
            }
            break;
        }
        case 7: // decommit, either way a host does it
            if (pick(2))
                range.decommit_by_remap(first, count);
            else
                range.decommit_by_madvise(first, count);
            for (size_t i = first; i < first + count; ++i)
                model.committed[i] = model.live[i] = false;
            break;
        case 8: // recommit
            range.recommit(first, count);
            for (size_t i = first; i < first + count; ++i)
                model.committed[i] = model.writable[i] = true;
            break;
        case 9: // MEM_RESET of committed pages
            if (all(model.committed))
                REQUIRE(ww_range_discard(range.page_ptr(first), count * WW_PAGE_SIZE) == WW_STATUS_SUCCESS);
            break;
        case 10: { // remap: a fresh read-write mapping whose pages all count as written
            if (pick(4) != 0)
                break;
            void *at = mmap(range.page_ptr(first), count * WW_PAGE_SIZE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            REQUIRE(at == range.page_ptr(first));
            REQUIRE(ww_range_remapped(range.page_ptr(first), count * WW_PAGE_SIZE) == WW_STATUS_SUCCESS);
            for (size_t i = first; i < first + count; ++i)
                model.live[i] = model.committed[i] = model.writable[i] = true;
            break;
        }
        }
    }
    std::vector<size_t> expected;
    for (size_t i = 0; i < pages; ++i)
        if (model.reported(i))
            expected.push_back(i);
    CHECK(range.written() == expected);
}
