// The range tracker's C API (ww_range_*) on memory the test maps itself, the
// way a host that owns its mappings uses it. Pages are counted in units of one
// host page (page_units.h), so every case holds on any host page size.
#include "host_range.h"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

using namespace test;

namespace {

using Pages = std::vector<size_t>;

// 4096-byte pages per host page.
size_t hp()
{
    return unit();
}

} // namespace

TEST_CASE("the range tracker runs exactly where the kernel backend can", "[tracker]")
{
    ww_kernel_features features;
    ww_get_kernel_features(&features);
    ww_status status = ww_range_tracker_status();
    CHECK(status == (features.kernel_backend_usable ? WW_STATUS_SUCCESS : WW_STATUS_NOT_SUPPORTED));
    if (status == WW_STATUS_SUCCESS)
        return;
    // Unsupported: every call says so, whatever the arguments.
    HostRange range(4, false);
    uintptr_t count = 4;
    void *addresses[4];
    CHECK(ww_range_register(range.base(), range.size()) == WW_STATUS_NOT_SUPPORTED);
    CHECK(ww_range_get_written(range.base(), range.size(), 0, addresses, &count) == WW_STATUS_NOT_SUPPORTED);
    CHECK(ww_range_reset(range.base(), range.size()) == WW_STATUS_NOT_SUPPORTED);
    CHECK(ww_range_unregister(range.base(), range.size()) == WW_STATUS_NOT_SUPPORTED);
}

TEST_CASE("tracker: writes reported in order, exact count limit, reset of exactly what was returned", "[tracker]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t u = unit();
    HostRange range(32 * u);
    CHECK(range.written().empty());
    for (size_t i : {3, 4, 9, 17, 30})
        range.write(i * u);
    CHECK(range.written() == units({3, 4, 9, 17, 30}));
    CHECK(range.written(WW_WRITE_WATCH_FLAG_RESET, 2 * u) == units({3, 4}));
    CHECK(range.written() == units({9, 17, 30}));
    CHECK(range.written_in(8 * u, 16 * u) == units({1, 9})); // a sub-range: 9 and 17
    REQUIRE(ww_range_reset(range.page_ptr(8 * u), 16 * u * WW_PAGE_SIZE) == WW_STATUS_SUCCESS);
    CHECK(range.written() == units({30}));
    range.write(4 * u);
    CHECK(range.written(WW_WRITE_WATCH_FLAG_RESET) == units({4, 30}));
    CHECK(range.written().empty());
    // A limit that cuts a host page returns (and cleans) only what fits.
    range.write(6 * u);
    const std::vector<size_t> six = units({6});
    CHECK(range.written(WW_WRITE_WATCH_FLAG_RESET, 1) == first_of(six, 1));
    CHECK(range.written() == std::vector<size_t>(six.begin() + 1, six.end()));
    REQUIRE(ww_range_reset(range.base(), range.size()) == WW_STATUS_SUCCESS);
    // *count == 0 asks for nothing and changes nothing.
    range.write(5 * u);
    uintptr_t count = 0;
    CHECK(ww_range_get_written(range.base(), range.size(), WW_WRITE_WATCH_FLAG_RESET, nullptr, &count) ==
          WW_STATUS_SUCCESS);
    CHECK(count == 0);
    CHECK(range.written() == units({5}));
}

TEST_CASE("tracker: bad input gets a clear status", "[tracker][errors]")
{
    REQUIRE_RANGE_TRACKER();
    HostRange range(16);
    char *base = range.base();
    const size_t size = range.size();
    void *addresses[16];
    uintptr_t count = 16;
    // Alignment, size, wrap-around.
    CHECK(ww_range_get_written(base + 1, WW_PAGE_SIZE, 0, addresses, &count) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_get_written(base, WW_PAGE_SIZE + 1, 0, addresses, &count) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_get_written(base, 0, 0, addresses, &count) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_reset(reinterpret_cast<void *>(UINTPTR_MAX & ~uintptr_t(4095)), 2 * WW_PAGE_SIZE) ==
          WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_register(base + WW_PAGE_SIZE / 2, size) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_register(nullptr, 0) == WW_STATUS_INVALID_PARAMETER);
    // Outputs and flags.
    CHECK(ww_range_get_written(base, size, 0, addresses, nullptr) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_get_written(base, size, 0, nullptr, &count) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_get_written(base, size, 2, addresses, &count) == WW_STATUS_INVALID_PARAMETER);
    CHECK(count == 16);
    // Unregistered memory, a range past the end, overlapping registrations.
    HostRange other(16, false);
    CHECK(ww_range_get_written(other.base(), other.size(), 0, addresses, &count) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_reset(base, size + WW_PAGE_SIZE) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_protection_changed(other.base(), WW_PAGE_SIZE) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_register(base, size) == WW_STATUS_CONFLICTING_ADDRESSES);
    CHECK(ww_range_register(base + host_page_size(), host_page_size()) == WW_STATUS_CONFLICTING_ADDRESSES);
    CHECK(ww_range_unregister(base, size - host_page_size()) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_unregister(other.base(), other.size()) == WW_STATUS_INVALID_PARAMETER);
    // Host-page alignment for the events that change mappings.
    if (hp() > 1) {
        CHECK(ww_range_decommitted(base + WW_PAGE_SIZE, WW_PAGE_SIZE) == WW_STATUS_INVALID_PARAMETER);
        CHECK(ww_range_discard(base, WW_PAGE_SIZE) == WW_STATUS_INVALID_PARAMETER);
    }
    // The range still works after all that.
    range.write(2 * hp());
    CHECK(range.written() == units({2}));
}

TEST_CASE("tracker: an unregistered range is not found again, a new one answers for itself", "[tracker][errors]")
{
    // The range table remembers the range it found last (last_found.h).
    REQUIRE_RANGE_TRACKER();
    HostRange memory(16, false);
    char *base = memory.base();
    void *addresses[16];
    uintptr_t count = 16;
    REQUIRE(ww_range_register(base, memory.size()) == WW_STATUS_SUCCESS);
    base[2 * hp() * WW_PAGE_SIZE] = 1;
    CHECK(ww_range_get_written(base, memory.size(), 0, addresses, &count) == WW_STATUS_SUCCESS);
    CHECK(count == hp());
    REQUIRE(ww_range_unregister(base, memory.size()) == WW_STATUS_SUCCESS);
    count = 16;
    CHECK(ww_range_get_written(base, memory.size(), 0, addresses, &count) == WW_STATUS_INVALID_PARAMETER);
    CHECK(ww_range_reset(base, memory.size()) == WW_STATUS_INVALID_PARAMETER);
    REQUIRE(ww_range_register(base, memory.size()) == WW_STATUS_SUCCESS);
    count = 16;
    CHECK(ww_range_get_written(base, memory.size(), 0, addresses, &count) == WW_STATUS_SUCCESS);
    CHECK(count == 0);
    CHECK(ww_range_unregister(base, memory.size()) == WW_STATUS_SUCCESS);
}

TEST_CASE("tracker: decommit forgets writes unless a protection change latched them", "[tracker][latch]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t h = hp();
    HostRange range(8 * h);
    // Written before the protection change: latched. After it: live only.
    range.write(1 * h);
    range.protect(0, 8 * h, PROT_READ | PROT_WRITE);
    range.write(3 * h);
    CHECK(range.written() == units({1, 3}));
    range.decommit_by_remap(0, 4 * h);
    CHECK(range.written() == units({1}));
    range.recommit(0, 4 * h);
    CHECK(range.written() == units({1}));
    // The fresh mapping is tracked again (and without huge pages).
    range.write(2 * h);
    range.write(5 * h);
    CHECK(range.written() == units({1, 2, 5}));
    // A decommit that keeps the mapping (no access + MADV_DONTNEED).
    range.decommit_by_madvise(4 * h, 4 * h);
    CHECK(range.written() == units({1, 2}));
    range.recommit(4 * h, 4 * h);
    range.write(6 * h);
    CHECK(range.written(WW_WRITE_WATCH_FLAG_RESET) == units({1, 2, 6}));
    range.decommit_by_remap(0, 8 * h); // a reset cleared the latch too
    CHECK(range.written().empty());
}

TEST_CASE("tracker: the worked example of SEMANTICS.md", "[tracker][latch]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t h = hp();
    HostRange range(8 * h);
    range.write(3 * h);
    range.write(5 * h);
    range.decommit_by_remap(0, 8 * h);
    CHECK(range.written().empty());
    range.recommit(0, 8 * h);
    CHECK(range.written().empty());
    range.write(3 * h);
    range.protect(0, 6 * h, PROT_READ | PROT_WRITE);
    range.write(5 * h);
    CHECK(range.written() == units({3, 5}));
    range.decommit_by_remap(0, 8 * h);
    CHECK(range.written() == units({3}));
    range.recommit(0, 8 * h);
    CHECK(range.written() == units({3}));
    for (size_t i : {2, 4, 6})
        range.write(i * h);
    CHECK(range.written() == units({2, 3, 4, 6}));
}

TEST_CASE("tracker: latched and live pages interleaved under a count limit", "[tracker][latch][limit]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t h = hp();
    HostRange range(16 * h);
    for (size_t i : {1, 4, 9})
        range.write(i * h);
    range.protect(0, 16 * h, PROT_READ | PROT_WRITE);
    for (size_t i : {1, 4, 9}) { // latched only
        range.decommit_by_remap(i * h, h);
        range.recommit(i * h, h);
    }
    for (size_t i : {2, 7, 12, 4})
        range.write(i * h);
    CHECK(range.written() == units({1, 2, 4, 7, 9, 12}));
    CHECK(range.written(WW_WRITE_WATCH_FLAG_RESET, 3 * h) == units({1, 2, 4}));
    CHECK(range.written() == units({7, 9, 12}));
    CHECK(range.written(WW_WRITE_WATCH_FLAG_RESET, 2 * h) == units({7, 9}));
    CHECK(range.written() == units({12}));
}

TEST_CASE("tracker: MEM_RESET drops contents and keeps the written state", "[tracker][reset_memory]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t h = hp();
    HostRange range(8 * h);
    range.write(1 * h, 42);
    range.protect(0, 8 * h, PROT_READ | PROT_WRITE); // 1 latched
    range.write(5 * h, 42);
    REQUIRE(ww_range_discard(range.base(), range.size()) == WW_STATUS_SUCCESS);
    CHECK(range.page_ptr(1 * h)[0] == 0);
    CHECK(range.page_ptr(5 * h)[0] == 0);
    CHECK(range.written() == units({1, 5}));
    // Reading the dropped pages is no write; a new write is.
    volatile char sink = range.page_ptr(3 * h)[0];
    (void)sink;
    range.write(6 * h);
    CHECK(range.written() == units({1, 5, 6}));
    range.decommit_by_remap(0, 8 * h);
    CHECK(range.written() == units({1}));
}

TEST_CASE("tracker: a remapped range counts as written until reset", "[tracker]")
{
    REQUIRE_RANGE_TRACKER();
    HostRange range(8 * hp());
    void *at = mmap(range.base(), range.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    REQUIRE(at == range.base());
    REQUIRE(ww_range_remapped(range.base(), range.size()) == WW_STATUS_SUCCESS);
    CHECK(range.written().size() == range.pages());
    REQUIRE(ww_range_reset(range.base(), range.size()) == WW_STATUS_SUCCESS);
    CHECK(range.written().empty());
    range.write(2 * hp());
    CHECK(range.written() == units({2}));
}

TEST_CASE("tracker: writes by the kernel count, without any preparation", "[tracker][kernel_write]")
{
    REQUIRE_RANGE_TRACKER();
    HostRange range(8 * hp());
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const char message[] = "written by read(2)";
    REQUIRE(write(fds[1], message, sizeof(message)) == (ssize_t)sizeof(message));
    CHECK(read(fds[0], range.page_ptr(3 * hp()) + 100, sizeof(message)) == (ssize_t)sizeof(message));
    CHECK(std::memcmp(range.page_ptr(3 * hp()) + 100, message, sizeof(message)) == 0);
    CHECK(range.written() == units({3}));
    close(fds[0]);
    close(fds[1]);
}

TEST_CASE("tracker: one write reports one page, even where a huge page could map", "[tracker]")
{
    REQUIRE_RANGE_TRACKER();
    // 4 MiB with a 2 MiB-aligned half inside: transparent huge pages would
    // report 512 pages for one write. The tracker turns them off.
    const size_t pages = 1024;
    HostRange range(pages);
    uintptr_t aligned = (reinterpret_cast<uintptr_t>(range.base()) + (2 << 20) - 1) & ~uintptr_t((2 << 20) - 1);
    size_t index = (aligned - reinterpret_cast<uintptr_t>(range.base())) / WW_PAGE_SIZE + 7;
    REQUIRE(index < pages);
    range.write(index);
    Pages got = range.written();
    REQUIRE(got.size() == hp());
    CHECK(got[0] == index / hp() * hp());
}

TEST_CASE("tracker: more written runs than one scan vector holds", "[tracker][limit]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t h = hp();
    const size_t runs = 700; // every other host page: one region each, 256 per scan
    HostRange range(2 * runs * h);
    Pages expected;
    for (size_t i = 0; i < runs; ++i) {
        range.write(2 * i * h);
        for (size_t k = 0; k < h; ++k)
            expected.push_back(2 * i * h + k);
    }
    CHECK(range.written() == expected);
    // Drained in chunks that end inside and across vectors: nothing lost, nothing twice.
    Pages drained;
    for (uintptr_t chunk : {1u, 255u, 256u, 257u, 3u, 1000u}) {
        Pages part = range.written(WW_WRITE_WATCH_FLAG_RESET, chunk);
        drained.insert(drained.end(), part.begin(), part.end());
    }
    for (Pages part; !(part = range.written(WW_WRITE_WATCH_FLAG_RESET, 512)).empty();)
        drained.insert(drained.end(), part.begin(), part.end());
    CHECK(drained == expected);
}

TEST_CASE("tracker: an answer stored inside the range leaves its pages written", "[tracker][limit]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t h = hp();
    const size_t runs = 600; // more separate runs than one scan takes (256)
    const size_t array_first = 2 * runs * h, array_pages = 8 * h;
    HostRange range(array_first + array_pages);
    for (size_t i = 0; i < runs; ++i)
        range.write(2 * i * h);
    // The first entries fill the array's first page long before the scan
    // reaches it; with reset the scan would clean it after they were stored.
    auto **array = reinterpret_cast<void **>(range.page_ptr(array_first));
    uintptr_t count = runs * h + array_pages;
    REQUIRE(ww_range_get_written(range.base(), range.size(), WW_WRITE_WATCH_FLAG_RESET, array, &count) ==
            WW_STATUS_SUCCESS);
    REQUIRE(count >= runs * h);
    bool runs_first = true;
    for (size_t i = 0; i < runs * h; ++i)
        runs_first = runs_first && array[i] == range.page_ptr(2 * (i / h) * h + i % h);
    CHECK(runs_first);
    // Every page that holds an entry reads as written, as after Windows'
    // copy-out; the rest of the array was reset.
    const size_t holding = (count * sizeof(void *) + WW_PAGE_SIZE - 1) / WW_PAGE_SIZE;
    Pages expected;
    for (size_t k = 0; k < (holding + h - 1) / h * h; ++k)
        expected.push_back(array_first + k);
    CHECK(range.written() == expected);
}

TEST_CASE("tracker: after fork the child's calls say not supported", "[tracker][fork]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t u = hp();
    HostRange range(8 * u);
    range.write(1 * u);
    pid_t child = fork();
    if (child == 0) {
        void *addresses[64];
        uintptr_t count = 64;
        int bad = 0;
        bad |= ww_range_get_written(range.base(), range.size(), 0, addresses, &count) != WW_STATUS_NOT_SUPPORTED;
        bad |= (ww_range_reset(range.base(), range.size()) != WW_STATUS_NOT_SUPPORTED) << 1;
        bad |= (ww_range_protection_changed(range.base(), range.size()) != WW_STATUS_NOT_SUPPORTED) << 2;
        bad |= (ww_range_unregister(range.base(), range.size()) != WW_STATUS_SUCCESS) << 3;
        // A range registered in the child is tracked there.
        size_t size = 4 * u * WW_PAGE_SIZE;
        std::vector<void *> mine_addresses(4 * u);
        void *mine = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        bad |= (ww_range_register(mine, size) != WW_STATUS_SUCCESS) << 4;
        static_cast<char *>(mine)[0] = 1;
        count = mine_addresses.size();
        bad |= (ww_range_get_written(mine, size, 0, mine_addresses.data(), &count) != WW_STATUS_SUCCESS ||
                count != u)
               << 5;
        _exit(bad);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // The parent's tracking is untouched.
    range.write(5 * u);
    CHECK(range.written() == units({1, 5}));
}

TEST_CASE("tracker: concurrent writers and a draining reader lose nothing", "[tracker][threads]")
{
    REQUIRE_RANGE_TRACKER();
    const size_t pages = 256;
    HostRange range(pages);
    // Each writer bumps a per-page sequence number; the drainer records, for
    // every page it is given, the sequence it saw. At the end every page whose
    // last write came after its last report must still be reported.
    std::vector<std::atomic<uint32_t>> sequence(pages);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 2; ++t)
        writers.emplace_back([&, t] {
            uint64_t x = 0x9e3779b97f4a7c15ull * (t + 1);
            while (!stop.load(std::memory_order_relaxed)) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                size_t index = x % pages;
                uint32_t value = sequence[index].fetch_add(1) + 1;
                // Atomic (relaxed) only so that the threads' stores to one
                // page do not race in the language's sense.
                __atomic_store_n(reinterpret_cast<uint32_t *>(range.page_ptr(index)), value, __ATOMIC_RELAXED);
            }
        });
    std::vector<uint32_t> seen(pages, 0);
    std::vector<void *> buffer(pages);
    auto drain = [&](uintptr_t limit) {
        uintptr_t count = limit;
        REQUIRE(ww_range_get_written(range.base(), range.size(), WW_WRITE_WATCH_FLAG_RESET, buffer.data(), &count) ==
                WW_STATUS_SUCCESS);
        for (uintptr_t i = 0; i < count; ++i) {
            size_t index = (static_cast<char *>(buffer[i]) - range.base()) / WW_PAGE_SIZE;
            seen[index] = __atomic_load_n(reinterpret_cast<uint32_t *>(range.page_ptr(index)), __ATOMIC_RELAXED);
        }
    };
    for (int round = 0; round < 20000; ++round)
        drain(1 + round % 37);
    stop = true;
    for (auto &thread : writers)
        thread.join();
    drain(pages);
    // No writes happen now: whatever was written after its last report was reported just now.
    for (size_t i = 0; i < pages; ++i)
        CHECK(seen[i] == *reinterpret_cast<volatile uint32_t *>(range.page_ptr(i)));
}
