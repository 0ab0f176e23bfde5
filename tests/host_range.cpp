#include "host_range.h"

#include <catch2/catch.hpp>

namespace test {

HostRange::HostRange(size_t pages, bool register_it)
{
    size_t host = host_page_size();
    size_ = (pages * WW_PAGE_SIZE + host - 1) / host * host;
    void *mapped = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mapped != MAP_FAILED);
    base_ = static_cast<char *>(mapped);
    if (register_it) {
        ww_status status = ww_range_register(base_, size_);
        INFO("ww_range_register: 0x" << std::hex << status);
        REQUIRE(status == WW_STATUS_SUCCESS);
        registered_ = true;
    }
}

HostRange::~HostRange()
{
    if (registered_)
        ww_range_unregister(base_, size_);
    munmap(base_, size_);
}

std::vector<size_t> HostRange::written_in(size_t first, size_t count, uint32_t flags, uintptr_t limit) const
{
    std::vector<void *> addresses(std::min<uintptr_t>(limit, count) + 1, reinterpret_cast<void *>(0xdead));
    uintptr_t stored = std::min<uintptr_t>(limit, count);
    ww_status status = ww_range_get_written(page_ptr(first), count * WW_PAGE_SIZE, flags, addresses.data(), &stored);
    INFO("ww_range_get_written: 0x" << std::hex << status);
    REQUIRE(status == WW_STATUS_SUCCESS);
    REQUIRE(stored <= std::min<uintptr_t>(limit, count));
    REQUIRE(addresses[stored] == reinterpret_cast<void *>(0xdead)); // nothing past the count
    std::vector<size_t> pages;
    for (uintptr_t i = 0; i < stored; ++i)
        pages.push_back((static_cast<char *>(addresses[i]) - page_ptr(first)) / WW_PAGE_SIZE);
    return pages;
}

void HostRange::protect(size_t first, size_t count, int prot) const
{
    REQUIRE(mprotect(page_ptr(first), count * WW_PAGE_SIZE, prot) == 0);
    REQUIRE(ww_range_protection_changed(page_ptr(first), count * WW_PAGE_SIZE) == WW_STATUS_SUCCESS);
}

void HostRange::decommit_by_remap(size_t first, size_t count) const
{
    void *at = mmap(page_ptr(first), count * WW_PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    REQUIRE(at == page_ptr(first));
    REQUIRE(ww_range_decommitted(page_ptr(first), count * WW_PAGE_SIZE) == WW_STATUS_SUCCESS);
}

void HostRange::decommit_by_madvise(size_t first, size_t count) const
{
    REQUIRE(mprotect(page_ptr(first), count * WW_PAGE_SIZE, PROT_NONE) == 0);
    REQUIRE(madvise(page_ptr(first), count * WW_PAGE_SIZE, MADV_DONTNEED) == 0);
    REQUIRE(ww_range_decommitted(page_ptr(first), count * WW_PAGE_SIZE) == WW_STATUS_SUCCESS);
}

void HostRange::recommit(size_t first, size_t count) const
{
    // A commit is not a protection change for write watches: no notification.
    REQUIRE(mprotect(page_ptr(first), count * WW_PAGE_SIZE, PROT_READ | PROT_WRITE) == 0);
}

} // namespace test
