// Decommit and VirtualProtect latching (SEMANTICS.md, "Decommit and
// recommit"): each page has a live written bit, which a decommit drops, and a
// latched bit, which a protection change sets from the live one; a page is
// reported when either is set; a reset, or a get-and-reset returning the page,
// clears both. One test case per rule, on whichever backend the run selects.
// Pages here are units of one host page (win32.h): on hosts with pages larger
// than 4K every rule is checked on whole host pages.
#include "win32.h"

#include <catch2/catch.hpp>

using namespace test;

namespace {

using Pages = std::vector<size_t>;

// Unit 'index' written.
void write_page(const WatchedRegion &region, size_t index, char value = 1)
{
    region.page_ptr(index * unit())[0] = value;
}

void protect(const WatchedRegion &region, size_t first, size_t count, DWORD protection)
{
    DWORD old;
    INFO("VirtualProtect error " << GetLastError());
    REQUIRE(VirtualProtect(region.page_ptr(first * unit()), count * unit() * page, protection, &old));
}

void decommit(const WatchedRegion &region, size_t first, size_t count)
{
    INFO("VirtualFree error " << GetLastError());
    REQUIRE(VirtualFree(region.page_ptr(first * unit()), count * unit() * page, MEM_DECOMMIT));
}

void commit(const WatchedRegion &region, size_t first, size_t count)
{
    INFO("VirtualAlloc error " << GetLastError());
    char *at = region.page_ptr(first * unit());
    REQUIRE(VirtualAlloc(at, count * unit() * page, MEM_COMMIT, PAGE_READWRITE) == at);
}

// The 4K pages reported; a limit counts units.
Pages reported(const WatchedRegion &region, DWORD flags = 0, ULONG_PTR limit = ~0u >> 2)
{
    return written_pages(region.base(), region.size(), flags, limit * unit());
}

} // namespace

TEST_CASE("decommit forgets writes: not reported after it nor after the recommit", "[decommit]")
{
    WatchedRegion region(8 * unit());
    write_page(region, 2, 7);
    REQUIRE(ResetWriteWatch(region.base(), region.size()) == 0);
    write_page(region, 1, 7);
    decommit(region, 1, 2);
    MEMORY_BASIC_INFORMATION info;
    REQUIRE(VirtualQuery(region.page_ptr(1 * unit()), &info, sizeof(info)) == sizeof(info));
    CHECK(info.State == MEM_RESERVE);
    CHECK(info.RegionSize == 2 * unit() * page);
    CHECK(reported(region).empty());
    commit(region, 1, 2);
    CHECK(region.page_ptr(1 * unit())[0] == 0); // recommitted pages read zero
    CHECK(region.page_ptr(2 * unit())[0] == 0);
    CHECK(reported(region).empty());
    write_page(region, 2);
    CHECK(reported(region, WRITE_WATCH_FLAG_RESET) == units({2}));
    CHECK(reported(region).empty());
}

TEST_CASE("a VirtualProtect latches pages written before it, across decommit and recommit", "[decommit][latch]")
{
    WatchedRegion region(8 * unit());
    write_page(region, 3);
    protect(region, 0, 8, PAGE_READWRITE); // RW to RW: no change of protection, still a latch
    decommit(region, 0, 8);
    CHECK(reported(region) == units({3}));
    commit(region, 0, 8);
    CHECK(reported(region) == units({3}));
    // Until a reset.
    REQUIRE(ResetWriteWatch(region.base(), region.size()) == 0);
    CHECK(reported(region).empty());
    decommit(region, 0, 8);
    CHECK(reported(region).empty());
}

TEST_CASE("a page written after the VirtualProtect loses its mark on decommit", "[decommit][latch]")
{
    WatchedRegion region(8 * unit());
    write_page(region, 1);
    protect(region, 0, 8, PAGE_READONLY);
    protect(region, 0, 8, PAGE_READWRITE);
    write_page(region, 4); // after both protection changes
    write_page(region, 1); // latched already, written again
    CHECK(reported(region) == units({1, 4}));
    decommit(region, 0, 8);
    CHECK(reported(region) == units({1}));
}

TEST_CASE("protection changes and decommits of clean pages mark nothing", "[decommit][latch]")
{
    WatchedRegion region(8 * unit());
    protect(region, 0, 8, PAGE_NOACCESS);
    protect(region, 0, 8, PAGE_READWRITE); // NOACCESS to RW on clean pages
    CHECK(reported(region).empty());
    decommit(region, 2, 3);
    CHECK(reported(region).empty());
    commit(region, 2, 3);
    protect(region, 2, 3, PAGE_READONLY);
    CHECK(reported(region).empty());
}

TEST_CASE("the worked example of SEMANTICS.md", "[decommit][latch]")
{
    WatchedRegion region(8 * unit());
    // Write pages 3 and 5, decommit all: 0 reported; recommit: 0.
    write_page(region, 3);
    write_page(region, 5);
    decommit(region, 0, 8);
    CHECK(reported(region).empty());
    commit(region, 0, 8);
    CHECK(reported(region).empty());
    // Write page 3, VirtualProtect pages 0-5 RW to RW, write page 5: 3 and 5.
    write_page(region, 3);
    protect(region, 0, 6, PAGE_READWRITE);
    write_page(region, 5);
    CHECK(reported(region) == units({3, 5}));
    // Decommit all: only 3; recommit: only 3.
    decommit(region, 0, 8);
    CHECK(reported(region) == units({3}));
    commit(region, 0, 8);
    CHECK(reported(region) == units({3}));
    // Write 2, 4 and 6: 2, 3, 4, 6.
    write_page(region, 2);
    write_page(region, 4);
    write_page(region, 6);
    CHECK(reported(region) == units({2, 3, 4, 6}));
}

TEST_CASE("a get-and-reset that returns a latched page clears its latch", "[decommit][latch]")
{
    WatchedRegion region(8 * unit());
    write_page(region, 2);
    write_page(region, 6);
    protect(region, 0, 8, PAGE_READWRITE);
    CHECK(reported(region, WRITE_WATCH_FLAG_RESET, 1) == units({2}));
    decommit(region, 0, 8);
    CHECK(reported(region) == units({6})); // 6 was not returned: still latched
}

TEST_CASE("the count limit with latched and live pages interleaved", "[decommit][latch][limit]")
{
    WatchedRegion region(16 * unit());
    // Latched only: 1, 4, 9 (written, latched, then decommitted and
    // recommitted one by one); live only: 2, 7, 12; page 4 also live again.
    write_page(region, 1);
    write_page(region, 4);
    write_page(region, 9);
    protect(region, 0, 16, PAGE_READWRITE);
    for (size_t i : {1, 4, 9}) {
        decommit(region, i, 1);
        commit(region, i, 1);
    }
    write_page(region, 2);
    write_page(region, 7);
    write_page(region, 12);
    write_page(region, 4); // latched and live
    CHECK(reported(region) == units({1, 2, 4, 7, 9, 12}));
    // Drained three at a time: the first three in address order, exactly those cleaned.
    CHECK(reported(region, WRITE_WATCH_FLAG_RESET, 3) == units({1, 2, 4}));
    CHECK(reported(region) == units({7, 9, 12}));
    CHECK(reported(region, WRITE_WATCH_FLAG_RESET, 2) == units({7, 9}));
    CHECK(reported(region) == units({12}));
    // Nothing past the limit was cleaned: a decommit now drops live page 12 only.
    write_page(region, 13);
    protect(region, 13, 1, PAGE_READWRITE);
    decommit(region, 12, 4);
    CHECK(reported(region) == units({13}));
}

TEST_CASE("latched pages beyond a count limit stay latched", "[decommit][latch][limit]")
{
    WatchedRegion region(12 * unit());
    for (size_t i : {1, 3, 5, 7, 9})
        write_page(region, i);
    protect(region, 0, 12, PAGE_READONLY);
    CHECK(reported(region, WRITE_WATCH_FLAG_RESET, 2) == units({1, 3}));
    decommit(region, 0, 12);
    CHECK(reported(region) == units({5, 7, 9}));
    commit(region, 0, 12);
    CHECK(reported(region, WRITE_WATCH_FLAG_RESET, 2) == units({5, 7}));
    CHECK(reported(region, WRITE_WATCH_FLAG_RESET, 2) == units({9}));
    CHECK(reported(region).empty());
}

TEST_CASE("pages decommitted twice, and partial decommits", "[decommit][latch]")
{
    WatchedRegion region(10 * unit());
    for (size_t i = 0; i < 10; ++i)
        write_page(region, i);
    protect(region, 2, 2, PAGE_READWRITE); // latches 2 and 3
    decommit(region, 0, 5);                // partial: 5..9 keep their live bits
    CHECK(reported(region) == units({2, 3, 5, 6, 7, 8, 9}));
    decommit(region, 0, 5); // again: nothing changes
    CHECK(reported(region) == units({2, 3, 5, 6, 7, 8, 9}));
    decommit(region, 3, 4); // overlapping the first: drops 5 and 6, 3 stays latched
    CHECK(reported(region) == units({2, 3, 7, 8, 9}));
    commit(region, 0, 10);
    CHECK(reported(region) == units({2, 3, 7, 8, 9}));
}

TEST_CASE("MEM_RESET keeps both kinds of written state", "[decommit][latch][reset_memory]")
{
    WatchedRegion region(8 * unit());
    write_page(region, 1);
    protect(region, 0, 8, PAGE_READWRITE);
    write_page(region, 5);
    REQUIRE(VirtualAlloc(region.base(), region.size(), MEM_RESET, PAGE_READWRITE) == region.base());
    CHECK(reported(region) == units({1, 5}));
    decommit(region, 0, 8);
    CHECK(reported(region) == units({1}));
}

TEST_CASE("release forgets latched pages", "[decommit][latch]")
{
    auto *region = new WatchedRegion(4 * unit());
    char *base = region->base();
    write_page(*region, 1);
    protect(*region, 0, 4, PAGE_READWRITE);
    delete region;
    const size_t pages = 4 * unit();
    void *again = VirtualAlloc(base, pages * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    if (!again) {
        WARN("the address was taken meanwhile; cannot check the same address again");
        return;
    }
    ULONG_PTR count = pages;
    std::vector<void *> addresses(pages);
    ULONG granularity;
    CHECK(GetWriteWatch(0, again, pages * page, addresses.data(), &count, &granularity) == 0);
    CHECK(count == 0);
    VirtualFree(again, 0, MEM_RELEASE);
}
