// Memory a test maps itself and registers with the range tracker, the way a
// host such as Wine's ntdll would; unregistered and unmapped at scope exit.
#pragma once

#include "page_units.h"
#include "writewatch/writewatch.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace test {

// The tests that need the tracker skip when the kernel cannot run it (the
// "status" test case checks that every call then says so).
#define REQUIRE_RANGE_TRACKER()                                                                    \
    do {                                                                                           \
        if (ww_range_tracker_status() != WW_STATUS_SUCCESS) {                                      \
            WARN("skipped: the range tracker is not supported by this kernel");                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

inline size_t host_page_size()
{
    return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

class HostRange {
public:
    // 'pages' 4096-byte pages, rounded up to whole host pages, read-write.
    explicit HostRange(size_t pages, bool register_it = true);
    ~HostRange();
    HostRange(const HostRange &) = delete;
    HostRange &operator=(const HostRange &) = delete;

    char *base() const { return base_; }
    size_t size() const { return size_; }
    size_t pages() const { return size_ / WW_PAGE_SIZE; }
    char *page_ptr(size_t index) const { return base_ + index * WW_PAGE_SIZE; }
    void write(size_t index, char value = 1) const { page_ptr(index)[0] = value; }

    // ww_range_get_written over pages [first, first + count) as page indices
    // relative to first; fails the test on an error status.
    std::vector<size_t> written_in(size_t first, size_t count, uint32_t flags = 0, uintptr_t limit = SIZE_MAX) const;
    std::vector<size_t> written(uint32_t flags = 0, uintptr_t limit = SIZE_MAX) const
    {
        return written_in(0, pages(), flags, limit);
    }

    // Host-side memory events, each followed by the tracker notification.
    void protect(size_t first, size_t count, int prot) const;
    void decommit_by_remap(size_t first, size_t count) const; // Wine's way: mmap PROT_NONE over
    void decommit_by_madvise(size_t first, size_t count) const;
    void recommit(size_t first, size_t count) const;

private:
    char *base_ = nullptr;
    size_t size_ = 0;
    bool registered_ = false;
};

} // namespace test
