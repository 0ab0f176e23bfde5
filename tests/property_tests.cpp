// Random writes, gets (with and without reset, with count limits, on random
// sub-ranges), resets, protection changes, MEM_RESET and decommit/recommit,
// each answer compared with the model of SEMANTICS.md: a live written bit per
// page (set by a write, lost on decommit) and a latched bit (set from the live
// bit by a protection change); reported when either is set; both cleared by a
// reset and by a get-and-reset that returns the page. Writes mark their whole
// host page and layout changes cover whole host pages (units, win32.h), so the
// model holds on any page size; gets and resets are on any 4K pages.
#include "win32.h"

#include <catch2/catch.hpp>

#include <random>
#include <vector>

using namespace test;

namespace {

struct Model {
    std::vector<bool> live;
    std::vector<bool> latched;
    std::vector<bool> writable;
    std::vector<bool> committed;
    explicit Model(size_t pages) : live(pages), latched(pages), writable(pages, true), committed(pages, true) {}
    bool reported(size_t i) const { return live[i] || latched[i]; }
    void clean(size_t i) { live[i] = latched[i] = false; }
};

} // namespace

TEST_CASE("random operations agree with a model", "[property]")
{
    const size_t pages = 96;
    const uint32_t seed = GENERATE(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u);
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    WatchedRegion region(pages);
    Model model(pages);
    auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };

    const size_t u = unit();
    for (int step = 0; step < 1500; ++step) {
        INFO("step " << step);
        size_t first = pick(pages);
        size_t count = 1 + pick(std::min<size_t>(pages - first, 24));
        // The same span widened to whole units, for writes and layout changes.
        const size_t unit_first = first / u * u;
        const size_t unit_count = std::min(pages, (first + count + u - 1) / u * u) - unit_first;
        switch (pick(10)) {
        case 0:
        case 1:
        case 2: { // writes: a write marks its whole unit
            for (size_t i = first; i < first + count; ++i) {
                if (model.committed[i] && model.writable[i] && pick(2)) {
                    region.page_ptr(i)[pick(page)] = static_cast<char>(step);
                    for (size_t k = i / u * u; k < i / u * u + u; ++k)
                        model.live[k] = true;
                }
            }
            break;
        }
        case 3:
        case 4: { // get, maybe reset, maybe limited
            bool reset = pick(2);
            ULONG_PTR limit = pick(3) ? 1 + pick(count + 2) : count + 1;
            auto got = written_pages(region.page_ptr(first), count * page, reset ? WRITE_WATCH_FLAG_RESET : 0, limit);
            std::vector<size_t> expected;
            for (size_t i = first; i < first + count && expected.size() < limit; ++i)
                if (model.reported(i))
                    expected.push_back(i - first);
            REQUIRE(got == expected);
            if (reset)
                for (size_t p : got)
                    model.clean(first + p);
            break;
        }
        case 5: { // reset
            REQUIRE(ResetWriteWatch(region.page_ptr(first), count * page) == 0);
            for (size_t i = first; i < first + count; ++i)
                model.clean(i);
            break;
        }
        case 6: { // protection change on committed pages: latches what was written
            bool all_committed = true;
            for (size_t i = unit_first; i < unit_first + unit_count; ++i)
                all_committed = all_committed && model.committed[i];
            if (!all_committed)
                break;
            const DWORD choices[] = {PAGE_READWRITE, PAGE_READONLY, PAGE_NOACCESS, PAGE_EXECUTE_READWRITE};
            DWORD protection = choices[pick(4)];
            bool writable = protection == PAGE_READWRITE || protection == PAGE_EXECUTE_READWRITE;
            DWORD old;
            REQUIRE(VirtualProtect(region.page_ptr(unit_first), unit_count * page, protection, &old));
            for (size_t i = unit_first; i < unit_first + unit_count; ++i) {
                model.writable[i] = writable;
                model.latched[i] = model.latched[i] || model.live[i];
            }
            break;
        }
        case 7: { // MEM_RESET of committed pages
            bool all_committed = true;
            for (size_t i = unit_first; i < unit_first + unit_count; ++i)
                all_committed = all_committed && model.committed[i];
            if (all_committed)
                REQUIRE(VirtualAlloc(region.page_ptr(unit_first), unit_count * page, MEM_RESET, PAGE_READWRITE));
            break;
        }
        case 8: { // decommit: live writes go, latched ones stay
            REQUIRE(VirtualFree(region.page_ptr(unit_first), unit_count * page, MEM_DECOMMIT));
            for (size_t i = unit_first; i < unit_first + unit_count; ++i) {
                model.committed[i] = false;
                model.live[i] = false;
            }
            break;
        }
        case 9: { // commit
            REQUIRE(VirtualAlloc(region.page_ptr(unit_first), unit_count * page, MEM_COMMIT, PAGE_READWRITE));
            for (size_t i = unit_first; i < unit_first + unit_count; ++i) {
                model.committed[i] = true;
                model.writable[i] = true;
            }
            break;
        }
        }
    }
    std::vector<size_t> expected;
    for (size_t i = 0; i < pages; ++i)
        if (model.reported(i))
            expected.push_back(i);
    CHECK(written_pages(region.base(), region.size()) == expected);
}
