// What a huge watched reservation costs: page tables and tracking memory
// follow the committed pieces, not the reserved size, and answers inside it
// stay exact (SEMANTICS.md, "Cost of a reservation").
#include "host_range.h"
#include "page_units.h"
#include "win32.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

using namespace test;

namespace {

// The process's page tables in KiB (VmPTE in /proc/self/status).
long page_table_kib()
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmPTE:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

constexpr size_t piece_pages = 1024; // 4 MiB
constexpr size_t pieces = 16;

} // namespace

TEST_CASE("a 256 GiB watched reservation costs what its committed pieces cost", "[allocation][cost]")
{
    // Offsets in whole host pages (units), so that answers are exact there too.
    const size_t u = unit();
    const size_t reserved_pages = size_t(256) << 18; // 256 GiB
    const size_t stride = reserved_pages / pieces;
    const size_t offset = 3 * u; // pieces start off a page-table boundary
    auto written_at = [&](size_t piece, size_t page) { return units({(piece * stride + offset) / u + page}); };
    long tables_before = page_table_kib();
    size_t tracking_before = ww_tracking_memory_bytes();
    WatchedRegion region(reserved_pages, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE);
    // Reserving: no page tables, no per-page tracking memory.
    CHECK(page_table_kib() - tables_before <= 64);
    CHECK(ww_tracking_memory_bytes() - tracking_before <= 4096);
    CHECK(written_pages(region.base(), region.size()).empty());

    for (size_t i = 0; i < pieces; ++i) {
        char *piece = region.page_ptr(i * stride + offset);
        REQUIRE(VirtualAlloc(piece, piece_pages * page, MEM_COMMIT, PAGE_READWRITE) == piece);
        piece[i * u * page + 1] = 1;
    }
    // Committing 64 MiB in 16 pieces: the page tables of each piece (it
    // straddles up to three) and of the level above, and tracking of about
    // one byte per committed page.
    const long table_kib = static_cast<long>(host_page_size() / 1024);
    CHECK(page_table_kib() - tables_before <= long(pieces) * 4 * table_kib + 256);
    size_t tracking = ww_tracking_memory_bytes() - tracking_before;
    CHECK(tracking <= pieces * (piece_pages + 2 * 512 + 4096) + 4096);

    std::vector<size_t> expected;
    for (size_t i = 0; i < pieces; ++i)
        for (size_t index : written_at(i, i))
            expected.push_back(index);
    CHECK(written_pages(region.base(), region.size(), WRITE_WATCH_FLAG_RESET) == expected);
    CHECK(written_pages(region.base(), region.size()).empty());

    SECTION("decommit and recommit inside it: the pieces start clean")
    {
        char *piece = region.page_ptr(3 * stride + offset);
        piece[5 * u * page] = 1;
        REQUIRE(VirtualFree(piece, piece_pages * page, MEM_DECOMMIT));
        CHECK(written_pages(region.base(), region.size()).empty());
        REQUIRE(VirtualAlloc(piece, piece_pages * page, MEM_COMMIT, PAGE_READWRITE) == piece);
        CHECK(written_pages(region.base(), region.size()).empty());
        piece[9 * u * page] = 1;
        CHECK(written_pages(region.base(), region.size()) == written_at(3, 9));
    }
    SECTION("committing again what is committed keeps its writes; a new piece beside one starts clean")
    {
        char *piece = region.page_ptr(5 * stride + offset);
        piece[2 * u * page] = 1;
        REQUIRE(VirtualAlloc(piece - u * page, (piece_pages + 2 * u) * page, MEM_COMMIT, PAGE_READWRITE) ==
                piece - u * page);
        CHECK(written_pages(region.base(), region.size()) == written_at(5, 2));
        piece[-1] = 1; // the last page before the piece, committed just now
        std::vector<size_t> both = units({(5 * stride + offset) / u - 1});
        for (size_t index : written_at(5, 2))
            both.push_back(index);
        CHECK(written_pages(region.base(), region.size()) == both);
    }
    SECTION("MEM_RESET inside it keeps which pages count as written")
    {
        char *piece = region.page_ptr(7 * stride + offset);
        piece[4 * u * page] = 1;
        REQUIRE(VirtualAlloc(piece, 8 * u * page, MEM_RESET, PAGE_READWRITE) == piece);
        CHECK(written_pages(region.base(), region.size()) == written_at(7, 4));
    }
    SECTION("a commit long after the reservation, at its far end, starts clean")
    {
        char *last = region.page_ptr(reserved_pages - 3 * u);
        REQUIRE(VirtualAlloc(last, 3 * u * page, MEM_COMMIT, PAGE_READWRITE) == last);
        CHECK(written_pages(region.base(), region.size()).empty());
        last[2 * u * page] = 1;
        CHECK(written_pages(region.base(), region.size(), WRITE_WATCH_FLAG_RESET) ==
              units({reserved_pages / u - 1}));
    }
}
