#include "win32.h"

#include <catch2/catch.hpp>

namespace test {

std::vector<size_t> written_pages(void *base, SIZE_T size, DWORD flags, ULONG_PTR limit)
{
    size_t offset = reinterpret_cast<uintptr_t>(base) % page;
    size_t capacity = (offset + size + page - 1) / page;
    std::vector<void *> addresses(std::min<size_t>(capacity, limit));
    ULONG_PTR count = addresses.size();
    ULONG granularity = 0;
    SetLastError(0xdeadbeef);
    UINT result = GetWriteWatch(flags, base, size, addresses.data(), &count, &granularity);
    INFO("GetWriteWatch error " << GetLastError());
    REQUIRE(result == 0);
    REQUIRE(granularity == page);
    REQUIRE(count <= addresses.size());
    auto start = reinterpret_cast<uintptr_t>(base) & ~(uintptr_t)(page - 1);
    std::vector<size_t> pages;
    for (ULONG_PTR i = 0; i < count; ++i)
        pages.push_back((reinterpret_cast<uintptr_t>(addresses[i]) - start) / page);
    return pages;
}

WatchedRegion::WatchedRegion(size_t pages, DWORD type, DWORD protect) : pages_(pages)
{
    base_ = static_cast<char *>(VirtualAlloc(nullptr, pages * page, type, protect));
    INFO("VirtualAlloc error " << GetLastError());
    REQUIRE(base_ != nullptr);
}

WatchedRegion::~WatchedRegion()
{
    release();
}

void WatchedRegion::release()
{
    if (base_)
        VirtualFree(base_, 0, MEM_RELEASE);
    base_ = nullptr;
}

} // namespace test
