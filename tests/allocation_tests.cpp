// Allocation rules of write watches (SEMANTICS.md, "Allocation").
#include "win32.h"

#include <catch2/catch.hpp>

using namespace test;

TEST_CASE("a new watched allocation is clean", "[allocation]")
{
    WatchedRegion region(16);
    CHECK(written_pages(region.base(), region.size()).empty());
}

TEST_CASE("MEM_WRITE_WATCH without MEM_RESERVE fails with ERROR_INVALID_PARAMETER", "[allocation]")
{
    SetLastError(0xdeadbeef);
    CHECK(VirtualAlloc(nullptr, 4 * page, MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK(VirtualAlloc(nullptr, 4 * page, MEM_WRITE_WATCH, PAGE_READWRITE) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

TEST_CASE("bad allocation arguments give errors", "[allocation]")
{
    SetLastError(0xdeadbeef);
    CHECK(VirtualAlloc(nullptr, 0, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK(VirtualAlloc(nullptr, page, MEM_RESERVE | MEM_WRITE_WATCH, 0x12345) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK(VirtualAlloc(nullptr, page, MEM_RESERVE | 0x4, PAGE_READWRITE) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK(VirtualAlloc(nullptr, ~(SIZE_T)0, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

TEST_CASE("reservations are 64K aligned and sizes rounded to pages", "[allocation]")
{
    char *base = static_cast<char *>(VirtualAlloc(nullptr, 5000, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE));
    REQUIRE(base != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(base) % 0x10000 == 0);
    MEMORY_BASIC_INFORMATION info;
    REQUIRE(VirtualQuery(base, &info, sizeof(info)) == sizeof(info));
    CHECK(info.RegionSize == 2 * page);
    CHECK(info.State == MEM_RESERVE);
    CHECK(VirtualFree(base, 0, MEM_RELEASE));
}

TEST_CASE("committing pages inside a watched reservation keeps them watched", "[allocation]")
{
    const size_t u = unit();
    WatchedRegion region(8 * u, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_NOACCESS);
    REQUIRE(VirtualAlloc(region.page_ptr(2 * u), 3 * u * page, MEM_COMMIT, PAGE_READWRITE) == region.page_ptr(2 * u));
    CHECK(written_pages(region.base(), region.size()).empty());
    region.page_ptr(3 * u)[10] = 1;
    CHECK(written_pages(region.base(), region.size()) == units({3}));
}

TEST_CASE("reserved-only pages are clean; get and reset on them succeed", "[allocation]")
{
    WatchedRegion region(8, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE);
    CHECK(written_pages(region.base(), region.size()).empty());
    CHECK(ResetWriteWatch(region.base(), region.size()) == 0);
}

TEST_CASE("a reservation at a chosen address, and a conflicting one", "[allocation]")
{
    char *first = static_cast<char *>(VirtualAlloc(nullptr, 0x40000, MEM_RESERVE, PAGE_NOACCESS));
    REQUIRE(first != nullptr);
    REQUIRE(VirtualFree(first, 0, MEM_RELEASE));
    char *again = static_cast<char *>(
        VirtualAlloc(first + 0x10000 + 123, page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
    REQUIRE(static_cast<void *>(again) == static_cast<void *>(first + 0x10000));
    SetLastError(0xdeadbeef);
    CHECK(VirtualAlloc(first + 0x10000, page, MEM_RESERVE, PAGE_READWRITE) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_ADDRESS);
    CHECK(VirtualFree(again, 0, MEM_RELEASE));
}

TEST_CASE("release ends the watch", "[allocation]")
{
    WatchedRegion region(4);
    char *base = region.base();
    region.release();
    void *addresses[4];
    ULONG_PTR count = 4;
    ULONG granularity;
    SetLastError(0xdeadbeef);
    CHECK(GetWriteWatch(0, base, 4 * page, addresses, &count, &granularity) == ~0u);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK(ResetWriteWatch(base, 4 * page) == ~0u);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

TEST_CASE("VirtualFree argument rules", "[allocation]")
{
    WatchedRegion region(4);
    SetLastError(0xdeadbeef);
    CHECK_FALSE(VirtualFree(region.base(), page, MEM_RELEASE));
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK_FALSE(VirtualFree(region.page_ptr(1), 0, MEM_RELEASE));
    CHECK(GetLastError() == ERROR_INVALID_ADDRESS);
    SetLastError(0xdeadbeef);
    CHECK_FALSE(VirtualFree(region.base(), 0, MEM_RELEASE | MEM_DECOMMIT));
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

TEST_CASE("write-copy protections are refused for private memory", "[allocation][errors]")
{
    for (DWORD protect : {PAGE_WRITECOPY, PAGE_EXECUTE_WRITECOPY}) {
        SetLastError(0xdeadbeef);
        CHECK(VirtualAlloc(nullptr, page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, protect) == nullptr);
        CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
        WatchedRegion region(2, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE);
        SetLastError(0xdeadbeef);
        CHECK(VirtualAlloc(region.base(), page, MEM_COMMIT, protect) == nullptr);
        CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
        REQUIRE(VirtualAlloc(region.base(), page, MEM_COMMIT, PAGE_READWRITE));
        DWORD old;
        SetLastError(0xdeadbeef);
        CHECK_FALSE(VirtualProtect(region.base(), page, protect, &old));
        CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    }
}

TEST_CASE("a released allocation is not found again, and its successor answers for itself", "[allocation]")
{
    // The registry remembers the allocation it found last (last_found.h).
    const SIZE_T size = 16 * unit() * page;
    const DWORD watched = MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH;
    void *first = VirtualAlloc(nullptr, size, watched, PAGE_READWRITE);
    REQUIRE(first);
    page_at(first, 3 * unit())[0] = 1;
    CHECK(written_pages(first, size) == units({3}));
    REQUIRE(VirtualFree(first, 0, MEM_RELEASE));
    void *addresses[16];
    ULONG_PTR count = 16;
    DWORD granularity = 0;
    SetLastError(0);
    CHECK(GetWriteWatch(0, first, size, addresses, &count, &granularity) != 0);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    void *again = VirtualAlloc(first, size, watched, PAGE_READWRITE);
    REQUIRE(again == first);
    CHECK(written_pages(again, size).empty());
    page_at(again, 5 * unit())[0] = 1;
    CHECK(written_pages(again, size) == units({5}));
    CHECK(VirtualFree(again, 0, MEM_RELEASE));
}
