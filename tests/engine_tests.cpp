// The engine's own C API: probe, backend selection, the process handle rule,
// tracking memory, and NT-level argument checks not visible through Win32.
#include "writewatch/writewatch.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include <unistd.h>

TEST_CASE("the probe reports a consistent picture", "[engine]")
{
    ww_kernel_features features;
    std::memset(&features, 0xff, sizeof(features));
    ww_get_kernel_features(&features);
    CHECK(features.host_page_size > 0);
    if (features.kernel_backend_usable) {
        CHECK(features.userfaultfd);
        CHECK(features.wp_async);
        CHECK(features.wp_unpopulated);
        CHECK(features.pagemap_scan);
        CHECK(features.why_not[0] == '\0');
    } else {
        CHECK(features.why_not[0] != '\0');
    }
    ww_get_kernel_features(nullptr); // no crash
}

TEST_CASE("the backend of an allocation is the one chosen when it was made", "[engine]")
{
    ww_backend_kind before = ww_get_backend();
    ww_kernel_features features;
    ww_get_kernel_features(&features);

    REQUIRE(ww_set_backend(WW_BACKEND_FAULT) == WW_STATUS_SUCCESS);
    void *fault_base = nullptr;
    size_t size = 4 * WW_PAGE_SIZE;
    REQUIRE(ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &fault_base, &size,
                                       WW_MEM_RESERVE | WW_MEM_COMMIT | WW_MEM_WRITE_WATCH,
                                       WW_PAGE_READWRITE) == WW_STATUS_SUCCESS);
    CHECK(ww_allocation_backend(fault_base) == WW_BACKEND_FAULT);

    ww_status kernel = ww_set_backend(WW_BACKEND_KERNEL);
    CHECK(kernel == (features.kernel_backend_usable ? WW_STATUS_SUCCESS : WW_STATUS_NOT_SUPPORTED));
    CHECK(ww_set_backend(static_cast<ww_backend_kind>(42)) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_set_backend(WW_BACKEND_NONE) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_allocation_backend(fault_base) == WW_BACKEND_FAULT);
    CHECK(ww_allocation_backend(nullptr) == WW_BACKEND_NONE);

    size = 0;
    CHECK(ww_free_virtual_memory(WW_CURRENT_PROCESS, &fault_base, &size, WW_MEM_RELEASE) == WW_STATUS_SUCCESS);
    REQUIRE(ww_set_backend(before) == WW_STATUS_SUCCESS);
    CHECK(ww_get_backend() == before);
}

TEST_CASE("another process handle is an error, not a silent success", "[engine][errors]")
{
    void *other = reinterpret_cast<void *>(static_cast<intptr_t>(0x1234));
    void *base = nullptr;
    size_t size = WW_PAGE_SIZE;
    CHECK(ww_allocate_virtual_memory(other, &base, &size, WW_MEM_RESERVE, WW_PAGE_READWRITE) ==
          WW_STATUS_INVALID_HANDLE);
    void *addresses[1];
    uintptr_t count = 1;
    uint32_t granularity;
    CHECK(ww_get_write_watch(other, 0, base, size, addresses, &count, &granularity) == WW_STATUS_INVALID_HANDLE);
    CHECK(ww_reset_write_watch(other, base, size) == WW_STATUS_INVALID_HANDLE);
    ww_memory_basic_information info;
    CHECK(ww_query_virtual_memory(other, &info, &info) == WW_STATUS_INVALID_HANDLE);
}

TEST_CASE("NT-level pointer arguments are checked", "[engine][errors]")
{
    size_t size = WW_PAGE_SIZE;
    void *base = nullptr;
    CHECK(ww_allocate_virtual_memory(WW_CURRENT_PROCESS, nullptr, &size, WW_MEM_RESERVE, WW_PAGE_READWRITE) ==
          WW_STATUS_ACCESS_VIOLATION);
    CHECK(ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, nullptr, WW_MEM_RESERVE, WW_PAGE_READWRITE) ==
          WW_STATUS_ACCESS_VIOLATION);
    CHECK(ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &size, WW_MEM_RESERVE, WW_PAGE_READWRITE | WW_PAGE_GUARD) ==
          WW_STATUS_NOT_SUPPORTED);
    CHECK(ww_query_virtual_memory(WW_CURRENT_PROCESS, &base, nullptr) == WW_STATUS_ACCESS_VIOLATION);
    ww_memory_basic_information info;
    CHECK(ww_query_virtual_memory(WW_CURRENT_PROCESS, &base, &info) == WW_STATUS_INVALID_ADDRESS);
}

TEST_CASE("tracking memory follows committed pages: a fixed record per reservation, a byte per committed page",
          "[engine][memory]")
{
    size_t before = ww_tracking_memory_bytes();
    void *base = nullptr;
    size_t size = size_t(1) << 30; // 1 GiB reserved
    REQUIRE(ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &size, WW_MEM_RESERVE | WW_MEM_WRITE_WATCH,
                                       WW_PAGE_READWRITE) == WW_STATUS_SUCCESS);
    size_t reserved = ww_tracking_memory_bytes() - before;
    CHECK(reserved > 0);
    CHECK(reserved <= 1024);
    void *piece = static_cast<char *>(base) + (size_t(100) << 20);
    size_t piece_size = size_t(64) << 20; // 64 MiB: 16384 pages, 32 blocks of 2 MiB
    REQUIRE(ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &piece, &piece_size, WW_MEM_COMMIT, WW_PAGE_READWRITE) ==
            WW_STATUS_SUCCESS);
    size_t committed = ww_tracking_memory_bytes() - before - reserved;
    CHECK(committed >= piece_size / WW_PAGE_SIZE);
    CHECK(committed <= piece_size / WW_PAGE_SIZE + 4096);
    size = 0;
    CHECK(ww_free_virtual_memory(WW_CURRENT_PROCESS, &base, &size, WW_MEM_RELEASE) == WW_STATUS_SUCCESS);
    CHECK(ww_tracking_memory_bytes() == before);
}

TEST_CASE("a release with a size takes the whole allocation or nothing", "[engine]")
{
    // In host pages: a write marks every 4 KiB page of its host page.
    const size_t host_page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t per_host_page = host_page / WW_PAGE_SIZE;
    const size_t host_pages = 8;
    void *base = nullptr;
    size_t size = host_pages * host_page;
    REQUIRE(ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &size,
                                       WW_MEM_RESERVE | WW_MEM_COMMIT | WW_MEM_WRITE_WATCH,
                                       WW_PAGE_READWRITE) == WW_STATUS_SUCCESS);
    char *bytes = static_cast<char *>(base);
    bytes[1 * host_page] = 1;
    bytes[5 * host_page] = 1;

    // A hole, the head and the tail of a watched allocation: refused, as Windows does.
    const size_t parts[][2] = {{2, 2}, {0, 2}, {6, 2}};
    for (const auto &part : parts) {
        void *address = bytes + part[0] * host_page;
        size_t length = part[1] * host_page;
        CHECK(ww_free_virtual_memory(WW_CURRENT_PROCESS, &address, &length, WW_MEM_RELEASE) ==
              WW_STATUS_FREE_VM_NOT_AT_BASE);
    }
    std::vector<void *> written(host_pages * per_host_page);
    uintptr_t count = written.size();
    uint32_t granularity = 0;
    REQUIRE(ww_get_write_watch(WW_CURRENT_PROCESS, 0, base, size, written.data(), &count, &granularity) ==
            WW_STATUS_SUCCESS);
    REQUIRE(count == 2 * per_host_page);
    CHECK(written[0] == bytes + host_page);
    CHECK(written[per_host_page] == bytes + 5 * host_page);

    // The whole allocation named with its size is released.
    void *address = base;
    size_t length = size;
    CHECK(ww_free_virtual_memory(WW_CURRENT_PROCESS, &address, &length, WW_MEM_RELEASE) == WW_STATUS_SUCCESS);
    CHECK(length == host_pages * host_page);
    count = written.size();
    CHECK(ww_get_write_watch(WW_CURRENT_PROCESS, 0, base, host_pages * host_page, written.data(), &count,
                             &granularity) == WW_STATUS_INVALID_PARAMETER);
}
