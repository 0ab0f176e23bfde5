// Wine's Windows headers as the tests use them, plus helpers shared by the
// behavioural tests.
#pragma once

#define NOMINMAX
#define WIN32_NO_STATUS
#include <windows.h>
#undef WIN32_NO_STATUS

#include "page_units.h"
#include "writewatch/writewatch.h"

#include <cstdint>
#include <vector>

namespace test {

constexpr SIZE_T page = 4096;

inline char *page_at(void *base, size_t index)
{
    return static_cast<char *>(base) + index * page;
}

// GetWriteWatch returning the page indices relative to base, or fails the test.
std::vector<size_t> written_pages(void *base, SIZE_T size, DWORD flags = 0, ULONG_PTR limit = ~0u >> 1);

// A watched allocation, released at scope exit.
class WatchedRegion {
public:
    explicit WatchedRegion(size_t pages, DWORD type = MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                           DWORD protect = PAGE_READWRITE);
    ~WatchedRegion();
    WatchedRegion(const WatchedRegion &) = delete;
    WatchedRegion &operator=(const WatchedRegion &) = delete;

    char *base() const { return base_; }
    char *page_ptr(size_t index) const { return page_at(base_, index); }
    SIZE_T size() const { return pages_ * page; }
    size_t pages() const { return pages_; }
    void release();

private:
    char *base_ = nullptr;
    size_t pages_;
};

} // namespace test
