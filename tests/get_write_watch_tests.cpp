// GetWriteWatch / ResetWriteWatch: argument checks in Windows' order, rounding,
// count limits and the exact-reset rule (SEMANTICS.md). Writes are made to
// whole host pages (units, see win32.h), so each case holds on any page size.
#include "win32.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

using namespace test;

namespace {
// The VmFlags line of the mapping containing address, from /proc/self/smaps.
std::string vm_flags_of(const void *address)
{
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    auto target = reinterpret_cast<uintptr_t>(address);
    while (std::getline(smaps, line)) {
        unsigned long start, end;
        if (std::sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2 && line.find(':') > line.find(' ')) {
            inside = target >= start && target < end;
        } else if (inside && line.rfind("VmFlags:", 0) == 0) {
            return line;
        }
    }
    return {};
}
} // namespace

namespace {
struct Call {
    DWORD flags = 0;
    void *base;
    SIZE_T size;
    void **addresses;
    ULONG_PTR *count;
    ULONG *granularity;
};

DWORD failing_error(const Call &call)
{
    SetLastError(0xdeadbeef);
    UINT result = GetWriteWatch(call.flags, call.base, call.size, call.addresses, call.count, call.granularity);
    if (result != ~0u)
        return 0;
    return GetLastError();
}
} // namespace

TEST_CASE("GetWriteWatch checks arguments in Windows' order", "[get][errors]")
{
    WatchedRegion region(4);
    region.base()[0] = 1;
    void *addresses[8];
    ULONG_PTR count = 8;
    ULONG granularity = 0;
    Call good{0, region.base(), region.size(), addresses, &count, &granularity};

    SECTION("count or granularity NULL: ERROR_NOACCESS, before anything else")
    {
        Call call = good;
        call.count = nullptr;
        call.size = 0;          // would be INVALID_PARAMETER
        call.addresses = nullptr;
        CHECK(failing_error(call) == ERROR_NOACCESS);
        call = good;
        call.granularity = nullptr;
        call.flags = 0x80;
        CHECK(failing_error(call) == ERROR_NOACCESS);
    }
    SECTION("zero count or size: ERROR_INVALID_PARAMETER, before flags and addresses")
    {
        Call call = good;
        ULONG_PTR zero = 0;
        call.count = &zero;
        call.addresses = nullptr;
        CHECK(failing_error(call) == ERROR_INVALID_PARAMETER);
        call = good;
        call.size = 0;
        call.addresses = nullptr;
        call.flags = 0x80;
        CHECK(failing_error(call) == ERROR_INVALID_PARAMETER);
    }
    SECTION("bad flags: ERROR_INVALID_PARAMETER, before addresses")
    {
        Call call = good;
        call.flags = 2;
        call.addresses = nullptr;
        CHECK(failing_error(call) == ERROR_INVALID_PARAMETER);
        call.flags = WRITE_WATCH_FLAG_RESET | 4;
        CHECK(failing_error(call) == ERROR_INVALID_PARAMETER);
    }
    SECTION("addresses NULL: ERROR_NOACCESS, before the range check")
    {
        Call call = good;
        call.addresses = nullptr;
        call.base = nullptr;
        CHECK(failing_error(call) == ERROR_NOACCESS);
    }
    SECTION("ranges outside one watched allocation: ERROR_INVALID_PARAMETER")
    {
        Call call = good;
        call.base = nullptr;
        CHECK(failing_error(call) == ERROR_INVALID_PARAMETER);
        call = good;
        call.size = region.size() + 1; // past the end
        CHECK(failing_error(call) == ERROR_INVALID_PARAMETER);
        char stack_buffer[page];
        call = good;
        call.base = stack_buffer; // memory the library does not manage
        call.size = 16;
        CHECK(failing_error(call) == ERROR_INVALID_PARAMETER);
        void *unwatched = VirtualAlloc(nullptr, page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        REQUIRE(unwatched);
        call.base = unwatched;
        CHECK(failing_error(call) == ERROR_INVALID_PARAMETER);
        VirtualFree(unwatched, 0, MEM_RELEASE);
        call = good;
        call.size = ~(SIZE_T)0; // wraps around
        CHECK(failing_error(call) == ERROR_INVALID_PARAMETER);
    }
    SECTION("a bad output pointer gives ERROR_NOACCESS, and loses no write")
    {
        Call call = good;
        call.flags = WRITE_WATCH_FLAG_RESET;
        call.addresses = reinterpret_cast<void **>(16);
        CHECK(failing_error(call) == ERROR_NOACCESS);
        ULONG_PTR *bad_count = reinterpret_cast<ULONG_PTR *>(8);
        call = good;
        call.count = bad_count;
        CHECK(failing_error(call) == ERROR_NOACCESS);
        CHECK(written_pages(region.base(), region.size()) == units({0}));
    }
    SECTION("the good call succeeds")
    {
        CHECK(failing_error(good) == 0);
        CHECK(count == unit());
        CHECK(granularity == page);
    }
}

TEST_CASE("ResetWriteWatch checks size, then range", "[reset][errors]")
{
    WatchedRegion region(4);
    SetLastError(0xdeadbeef);
    CHECK(ResetWriteWatch(region.base(), 0) == ~0u);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK(ResetWriteWatch(nullptr, page) == ~0u);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK(ResetWriteWatch(region.base(), region.size() + page) == ~0u);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

TEST_CASE("written pages come back in ascending order with granularity 4096", "[get]")
{
    WatchedRegion region(64 * unit());
    const std::vector<size_t> written{1, 2, 7, 30, 31, 63};
    for (auto it = written.rbegin(); it != written.rend(); ++it)
        region.page_ptr(*it * unit())[100] = 5;
    const std::vector<size_t> expected = units(written);
    CHECK(written_pages(region.base(), region.size()) == expected);
    // Without reset the state stays.
    CHECK(written_pages(region.base(), region.size()) == expected);
    CHECK(written_pages(region.base(), region.size(), WRITE_WATCH_FLAG_RESET) == expected);
    CHECK(written_pages(region.base(), region.size()).empty());
}

TEST_CASE("base is rounded down and the end up", "[get]")
{
    const size_t u = unit();
    WatchedRegion region(8 * u);
    region.page_ptr(2 * u)[0] = 1;
    region.page_ptr(3 * u)[0] = 1;
    region.page_ptr(5 * u)[0] = 1;
    // [last page of unit 2 + 100, first page of unit 3 + 1) covers those two pages.
    auto pages = written_pages(region.page_ptr(3 * u - 1) + 100, page - 100 + 1);
    std::vector<size_t> relative;
    for (size_t p : pages)
        relative.push_back(p + 3 * u - 1);
    CHECK(relative == (std::vector<size_t>{3 * u - 1, 3 * u}));
}

TEST_CASE("a count-limited reset cleans exactly the returned pages", "[get][max_pages]")
{
    WatchedRegion region(32 * unit());
    std::vector<size_t> written;
    for (size_t i = 0; i < 32; i += 2) {
        region.page_ptr(i * unit())[1] = 1; // 16 written units: 0, 2, ..., 30
        written.push_back(i);
    }
    const std::vector<size_t> expected = units(written);
    // A limit of 5 pages (with large host pages: one that cuts a host page).
    auto first = written_pages(region.base(), region.size(), WRITE_WATCH_FLAG_RESET, 5);
    CHECK(first == first_of(expected, 5));
    auto rest = written_pages(region.base(), region.size());
    CHECK(rest.size() == expected.size() - 5);
    CHECK(rest.front() == expected[5]);
    // Draining in chunks returns every page once.
    std::vector<size_t> drained = first;
    for (;;) {
        auto chunk = written_pages(region.base(), region.size(), WRITE_WATCH_FLAG_RESET, 3);
        if (chunk.empty())
            break;
        CHECK(chunk.size() <= 3);
        drained.insert(drained.end(), chunk.begin(), chunk.end());
    }
    CHECK(drained == expected);
}

TEST_CASE("a count-limited get without reset changes nothing", "[get][max_pages]")
{
    WatchedRegion region(16);
    for (size_t i = 0; i < 16; ++i)
        region.page_ptr(i)[0] = 1;
    CHECK(written_pages(region.base(), region.size(), 0, 4) == std::vector<size_t>{0, 1, 2, 3});
    CHECK(written_pages(region.base(), region.size()).size() == 16);
}

TEST_CASE("entries past the returned count are untouched", "[get]")
{
    const size_t u = unit();
    WatchedRegion region(8 * u);
    region.page_ptr(4 * u)[0] = 1;
    std::vector<void *> addresses(8 * u, reinterpret_cast<void *>(0x1234));
    ULONG_PTR count = addresses.size();
    ULONG granularity = 0;
    REQUIRE(GetWriteWatch(0, region.base(), region.size(), addresses.data(), &count, &granularity) == 0);
    REQUIRE(count == u);
    for (size_t i = 0; i < u; ++i)
        CHECK(addresses[i] == region.page_ptr(4 * u + i));
    for (size_t i = u; i < addresses.size(); ++i)
        CHECK(addresses[i] == reinterpret_cast<void *>(0x1234));
}

TEST_CASE("a write straddling two pages marks both", "[get]")
{
    WatchedRegion region(4 * unit());
    uint64_t value = 0x0102030405060708ull;
    std::memcpy(region.page_ptr(2 * unit()) - 3, &value, sizeof(value)); // across units 1 and 2
    CHECK(written_pages(region.base(), region.size()) == units({1, 2}));
}

TEST_CASE("a sub-range only reports and resets its own pages", "[get][reset]")
{
    WatchedRegion region(16);
    for (size_t i = 0; i < 16; ++i)
        region.page_ptr(i)[0] = 1;
    CHECK(ResetWriteWatch(region.page_ptr(4), 4 * page) == 0);
    auto pages = written_pages(region.base(), region.size());
    CHECK(pages.size() == 12);
    CHECK(std::find(pages.begin(), pages.end(), 5) == pages.end());
    CHECK(written_pages(region.page_ptr(8), 2 * page).size() == 2);
}

TEST_CASE("a range across two adjacent allocations is refused", "[get][errors]")
{
    char *first = static_cast<char *>(VirtualAlloc(nullptr, 0x20000, MEM_RESERVE, PAGE_NOACCESS));
    REQUIRE(first);
    REQUIRE(VirtualFree(first, 0, MEM_RELEASE));
    char *a = static_cast<char *>(VirtualAlloc(first, 0x10000, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
    char *b = static_cast<char *>(VirtualAlloc(first + 0x10000, 0x10000, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
    // (void *: Catch2 would print char * operands as strings)
    REQUIRE(static_cast<void *>(a) == static_cast<void *>(first));
    REQUIRE(static_cast<void *>(b) == static_cast<void *>(first + 0x10000));
    void *addresses[64];
    ULONG_PTR count = 64;
    ULONG granularity;
    SetLastError(0xdeadbeef);
    CHECK(GetWriteWatch(0, a + 0x8000, 0x10000, addresses, &count, &granularity) == ~0u);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK(ResetWriteWatch(a, 0x20000) == ~0u);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    VirtualFree(a, 0, MEM_RELEASE);
    VirtualFree(b, 0, MEM_RELEASE);
}

TEST_CASE("large regions: alternate pages written and drained in chunks", "[get][large]")
{
    const size_t pages = 8192;
    WatchedRegion region(pages);
    std::vector<size_t> written;
    for (size_t i = 1; i < pages / unit(); i += 2) {
        region.page_ptr(i * unit())[7] = 1;
        written.push_back(i);
    }
    const std::vector<size_t> expected = units(written);
    auto all = written_pages(region.base(), region.size());
    REQUIRE(all == expected);
    std::vector<size_t> drained;
    for (;;) {
        auto chunk = written_pages(region.base(), region.size(), WRITE_WATCH_FLAG_RESET, 333);
        if (chunk.empty())
            break;
        drained.insert(drained.end(), chunk.begin(), chunk.end());
    }
    CHECK(drained == expected);
}

TEST_CASE("one write reports one page even where a huge page would fit", "[get][thp]")
{
    // 8 MiB holds at least two 2 MiB-aligned huge-page slots; with THP a single
    // write could otherwise populate (and report) 512 pages.
    const size_t pages = 2048;
    WatchedRegion region(pages);
    auto base = reinterpret_cast<uintptr_t>(region.base());
    size_t aligned = ((base + (2u << 20) - 1) & ~uintptr_t((2u << 20) - 1)) - base;
    size_t first = aligned / page + 5 * unit(); // a unit: where the host page starts
    region.page_ptr(first)[0] = 1;
    CHECK(written_pages(region.base(), region.size()) == units({first / unit()}));
    if (ww_allocation_backend(region.base()) == WW_BACKEND_KERNEL) {
        // The kernel backend relies on MADV_NOHUGEPAGE ("nh") for exactness.
        std::string flags = vm_flags_of(region.page_ptr(first));
        INFO(flags);
        CHECK(flags.find(" nh") != std::string::npos);
    }
    region.page_ptr(first + 300 * unit())[0] = 1;
    CHECK(written_pages(region.base(), region.size(), WRITE_WATCH_FLAG_RESET) ==
          units({first / unit(), first / unit() + 300}));
}
