// How write watches interact with the rest of memory management: protection
// changes, queries, MEM_RESET, decommit and recommit, kernel writes.
#include "win32.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>

using namespace test;

TEST_CASE("VirtualProtect does not change watch state", "[protect]")
{
    const size_t u = unit();
    WatchedRegion region(8 * u);
    region.page_ptr(1 * u)[0] = 1;
    DWORD old = 0;
    REQUIRE(VirtualProtect(region.base(), region.size(), PAGE_READONLY, &old));
    CHECK(old == PAGE_READWRITE);
    CHECK(written_pages(region.base(), region.size()) == units({1}));
    REQUIRE(VirtualProtect(region.base(), region.size(), PAGE_READWRITE, &old));
    CHECK(old == PAGE_READONLY);
    CHECK(written_pages(region.base(), region.size()) == units({1}));
    region.page_ptr(5 * u)[0] = 1;
    CHECK(written_pages(region.base(), region.size(), WRITE_WATCH_FLAG_RESET) == units({1, 5}));
    // A reset while read-only, then writable again: new writes are tracked.
    region.page_ptr(6 * u)[0] = 1;
    REQUIRE(VirtualProtect(region.page_ptr(6 * u), u * page, PAGE_READONLY, &old));
    CHECK(ResetWriteWatch(region.base(), region.size()) == 0);
    REQUIRE(VirtualProtect(region.page_ptr(6 * u), u * page, PAGE_EXECUTE_READWRITE, &old));
    CHECK(written_pages(region.base(), region.size()).empty());
    region.page_ptr(6 * u)[1] = 1;
    CHECK(written_pages(region.base(), region.size()) == units({6}));
}

TEST_CASE("VirtualQuery reports regions as if there were no watch", "[query]")
{
    WatchedRegion region(8, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE);
    REQUIRE(VirtualAlloc(region.page_ptr(2), 2 * page, MEM_COMMIT, PAGE_READWRITE));
    region.page_ptr(2)[0] = 1; // written
    MEMORY_BASIC_INFORMATION info;
    REQUIRE(VirtualQuery(region.page_ptr(2), &info, sizeof(info)) == sizeof(info));
    CHECK(info.BaseAddress == region.page_ptr(2));
    CHECK(info.AllocationBase == region.base());
    CHECK(info.AllocationProtect == PAGE_READWRITE);
    CHECK(info.RegionSize == 2 * page); // the written and the clean page are one region
    CHECK(info.State == MEM_COMMIT);
    CHECK(info.Protect == PAGE_READWRITE);
    CHECK(info.Type == MEM_PRIVATE);
    REQUIRE(VirtualQuery(region.page_ptr(4) + 10, &info, sizeof(info)) == sizeof(info));
    CHECK(info.BaseAddress == region.page_ptr(4));
    CHECK(info.State == MEM_RESERVE);
    CHECK(info.Protect == 0);
    CHECK(info.RegionSize == 4 * page);
    SetLastError(0xdeadbeef);
    CHECK(VirtualQuery(region.base(), &info, sizeof(info) - 1) == 0);
    CHECK(GetLastError() == ERROR_BAD_LENGTH);
}

TEST_CASE("VirtualProtect argument rules", "[protect][errors]")
{
    WatchedRegion region(4, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE);
    DWORD old;
    SetLastError(0xdeadbeef);
    CHECK_FALSE(VirtualProtect(region.base(), page, PAGE_READONLY, &old));
    CHECK(GetLastError() == ERROR_INVALID_ADDRESS); // not committed
    REQUIRE(VirtualAlloc(region.base(), page, MEM_COMMIT, PAGE_READWRITE));
    SetLastError(0xdeadbeef);
    CHECK_FALSE(VirtualProtect(region.base(), page, PAGE_READONLY | PAGE_READWRITE, &old));
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0xdeadbeef);
    CHECK_FALSE(VirtualProtect(region.base(), page, PAGE_READONLY, nullptr));
    CHECK(GetLastError() == ERROR_NOACCESS);
}

TEST_CASE("MEM_RESET neither marks pages written nor cleans written ones", "[reset_memory]")
{
    const size_t u = unit();
    WatchedRegion region(8 * u);
    region.page_ptr(1 * u)[0] = 1;
    region.page_ptr(3 * u)[0] = 1;
    REQUIRE(VirtualAlloc(region.base(), region.size(), MEM_RESET, PAGE_READWRITE) == region.base());
    CHECK(written_pages(region.base(), region.size()) == units({1, 3}));
    // Reading the reset memory does not count as a write either.
    volatile char sink = 0;
    for (size_t i = 0; i < region.pages(); ++i)
        sink = sink + region.page_ptr(i)[0];
    CHECK(written_pages(region.base(), region.size()) == units({1, 3}));
    region.page_ptr(6 * u)[0] = 1;
    CHECK(written_pages(region.base(), region.size()) == units({1, 3, 6}));
}

TEST_CASE("decommit of the whole allocation with size 0", "[decommit]")
{
    WatchedRegion region(4);
    REQUIRE(VirtualFree(region.base(), 0, MEM_DECOMMIT));
    MEMORY_BASIC_INFORMATION info;
    REQUIRE(VirtualQuery(region.base(), &info, sizeof(info)) == sizeof(info));
    CHECK(info.State == MEM_RESERVE);
    CHECK(info.RegionSize == region.size());
}

TEST_CASE("read(2) into watched memory counts as a write", "[kernel_write]")
{
    const size_t u = unit();
    WatchedRegion region(4 * u);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const char message[] = "kernel write";
    REQUIRE(write(fds[1], message, sizeof(message)) == (ssize_t)sizeof(message));
    // The fault backend needs to be told; the kernel backend ignores the call.
    REQUIRE(ww_prepare_kernel_write(region.page_ptr(2 * u) + 100, sizeof(message)) == WW_STATUS_SUCCESS);
    CHECK(read(fds[0], region.page_ptr(2 * u) + 100, sizeof(message)) == (ssize_t)sizeof(message));
    CHECK(std::memcmp(region.page_ptr(2 * u) + 100, message, sizeof(message)) == 0);
    CHECK(written_pages(region.base(), region.size()) == units({2}));
    close(fds[0]);
    close(fds[1]);
}

TEST_CASE("the output array may live in the watched region itself", "[get]")
{
    const size_t u = unit();
    WatchedRegion region(16 * u);
    region.page_ptr(3 * u)[0] = 1;
    auto *addresses = reinterpret_cast<void **>(region.page_ptr(10 * u));
    auto *count = reinterpret_cast<ULONG_PTR *>(region.page_ptr(12 * u));
    auto *granularity = reinterpret_cast<ULONG *>(region.page_ptr(12 * u) + 64);
    *count = 4 * u;
    REQUIRE(ResetWriteWatch(region.base(), region.size()) == 0);
    region.page_ptr(3 * u)[0] = 2;
    *count = 4 * u; // unit 12 is now written too
    REQUIRE(GetWriteWatch(0, region.base(), 8 * u * page, addresses, count, granularity) == 0);
    CHECK(*count == u);
    CHECK(addresses[0] == region.page_ptr(3 * u));
    CHECK(*granularity == page);
    auto pages = written_pages(region.base(), region.size());
    CHECK(std::find(pages.begin(), pages.end(), 10 * u) != pages.end()); // results were written there
}

TEST_CASE("fault backend: a kernel write without preparation fails cleanly", "[kernel_write]")
{
    const size_t u = unit();
    WatchedRegion region(2 * u);
    if (ww_allocation_backend(region.base()) != WW_BACKEND_FAULT) {
        WARN("skipped: only the fault backend write-protects clean pages from the kernel");
        return;
    }
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    REQUIRE(write(fds[1], "abc", 3) == 3);
    errno = 0;
    CHECK(read(fds[0], region.page_ptr(u), 3) == -1);
    CHECK(errno == EFAULT);
    CHECK(written_pages(region.base(), region.size()).empty());
    // Nothing was consumed: after preparation the same bytes arrive.
    REQUIRE(ww_prepare_kernel_write(region.page_ptr(u), 3) == WW_STATUS_SUCCESS);
    CHECK(read(fds[0], region.page_ptr(u), 3) == 3);
    CHECK(std::memcmp(region.page_ptr(u), "abc", 3) == 0);
    CHECK(written_pages(region.base(), region.size()) == units({1}));
    close(fds[0]);
    close(fds[1]);
}
