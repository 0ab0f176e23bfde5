// Resource limits: thousands of watched regions, and large ones (1 GiB and
// more committed, 16 GiB reserved), with exact answers and bounded tracking
// memory (README: one byte per page plus a fixed record per allocation).
#include "stress_common.h"

#include <algorithm>

using namespace stress;

namespace {

std::vector<size_t> written(char *base, size_t pages, uint32_t flags, uintptr_t limit, ww_status *status)
{
    std::vector<void *> buffer(std::min<size_t>(pages, limit));
    uintptr_t count = buffer.size();
    uint32_t granularity = 0;
    *status = ww_get_write_watch(WW_CURRENT_PROCESS, flags, base, pages * page, buffer.data(), &count, &granularity);
    std::vector<size_t> result;
    if (*status == WW_STATUS_SUCCESS)
        for (uintptr_t i = 0; i < count; ++i)
            result.push_back((static_cast<char *>(buffer[i]) - base) / page);
    return result;
}

void many_regions(const char *backend)
{
    const size_t regions = 4000, pages = 16;
    size_t tracking_before = ww_tracking_memory_bytes();
    std::vector<char *> bases;
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < regions; ++i) {
        char *base = static_cast<char *>(
            VirtualAlloc(nullptr, pages * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
        if (!base) {
            CHECK_MSG(false, "allocation %zu failed, error %u", i, (unsigned)GetLastError());
            break;
        }
        bases.push_back(base);
        base[(i % pages) * page + i % 7] = 1;
    }
    double allocate_seconds = seconds_since(start);
    size_t per_region = (ww_tracking_memory_bytes() - tracking_before) / std::max<size_t>(bases.size(), 1);
    start = std::chrono::steady_clock::now();
    size_t exact = 0;
    for (size_t i = 0; i < bases.size(); ++i) {
        ww_status status;
        std::vector<size_t> got = written(bases[i], pages, WW_WRITE_WATCH_FLAG_RESET, pages, &status);
        if (status == WW_STATUS_SUCCESS && got == std::vector<size_t>{i % pages})
            ++exact;
    }
    double query_seconds = seconds_since(start);
    for (char *base : bases)
        CHECK_MSG(VirtualFree(base, 0, MEM_RELEASE), "free");
    std::printf("limits [%s]: %zu watched regions of %zu pages: allocated+written in %.2f s, %zu/%zu exact "
                "(get-and-reset of all in %.3f s), tracking %zu bytes per region\n",
                backend, bases.size(), pages, allocate_seconds, exact, bases.size(), query_seconds, per_region);
    CHECK_MSG(exact == regions, "%zu of %zu regions answered exactly", exact, regions);
    CHECK_MSG(per_region <= 1024 + pages, "tracking memory %zu bytes per 16-page region", per_region);
    CHECK_MSG(ww_tracking_memory_bytes() == tracking_before, "tracking memory not returned");
}

void large_region(const char *backend, size_t gib)
{
    const size_t pages = gib << 18; // 4 KiB pages per GiB = 2^18
    size_t tracking_before = ww_tracking_memory_bytes();
    char *base = static_cast<char *>(
        VirtualAlloc(nullptr, pages * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
    if (!base) {
        CHECK_MSG(false, "%zu GiB watched allocation failed, error %u", gib, (unsigned)GetLastError());
        return;
    }
    size_t tracking = ww_tracking_memory_bytes() - tracking_before;
    // One page every MiB and a dense 4 MiB block in the middle.
    std::vector<size_t> expected;
    for (size_t i = 0; i < pages; i += 256) {
        if (i >= pages / 2 && i < pages / 2 + 1024)
            continue;
        expected.push_back(i);
    }
    for (size_t i = pages / 2; i < pages / 2 + 1024; ++i)
        expected.push_back(i);
    std::sort(expected.begin(), expected.end());
    for (size_t i : expected)
        base[i * page + 8] = 1;
    ww_status status;
    auto start = std::chrono::steady_clock::now();
    std::vector<size_t> got = written(base, pages, 0, pages, &status);
    double full = seconds_since(start);
    CHECK_MSG(status == WW_STATUS_SUCCESS && got == expected, "%zu GiB: full scan not exact (%zu of %zu)", gib,
              got.size(), expected.size());
    // Drain in chunks of 1000: exactly the expected pages, in order.
    start = std::chrono::steady_clock::now();
    std::vector<size_t> drained;
    size_t calls = 0;
    for (;;) {
        std::vector<size_t> chunk = written(base, pages, WW_WRITE_WATCH_FLAG_RESET, 1000, &status);
        ++calls;
        if (status != WW_STATUS_SUCCESS) {
            CHECK_MSG(false, "drain failed 0x%x", (unsigned)status);
            break;
        }
        drained.insert(drained.end(), chunk.begin(), chunk.end());
        if (chunk.size() < 1000)
            break;
    }
    double drain = seconds_since(start);
    CHECK_MSG(drained == expected, "%zu GiB: chunked drain not exact (%zu of %zu)", gib, drained.size(),
              expected.size());
    start = std::chrono::steady_clock::now();
    got = written(base, pages, 0, pages, &status);
    double empty = seconds_since(start);
    CHECK_MSG(status == WW_STATUS_SUCCESS && got.empty(), "%zu GiB: pages left after the drain", gib);
    CHECK_MSG(VirtualFree(base, 0, MEM_RELEASE), "free");
    std::printf("limits [%s]: %zu GiB committed: %zu pages written; full scan %.3f s, drain in %zu calls of 1000 "
                "%.3f s, clean scan %.3f s; tracking %zu bytes (%zu KiB per GiB)\n",
                backend, gib, expected.size(), full, calls, drain, empty, tracking, tracking / 1024 / gib);
    CHECK_MSG(tracking <= gib * 256 * 1024 + 1024, "tracking memory %zu bytes for %zu GiB", tracking, gib);
}

void huge_reservation(const char *backend)
{
    const size_t gib = 16, pages = gib << 18;
    char *base = static_cast<char *>(VirtualAlloc(nullptr, pages * page, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE));
    if (!base) {
        CHECK_MSG(false, "16 GiB reservation failed, error %u", (unsigned)GetLastError());
        return;
    }
    // Commit and write a few pages at both ends.
    CHECK_MSG(VirtualAlloc(base, 16 * page, MEM_COMMIT, PAGE_READWRITE) == base, "commit low");
    char *high = base + (pages - 16) * page;
    CHECK_MSG(VirtualAlloc(high, 16 * page, MEM_COMMIT, PAGE_READWRITE) == high, "commit high");
    base[3 * page] = 1;
    high[15 * page] = 1;
    ww_status status;
    auto start = std::chrono::steady_clock::now();
    std::vector<size_t> got = written(base, pages, WW_WRITE_WATCH_FLAG_RESET, 16, &status);
    double took = seconds_since(start);
    CHECK_MSG(status == WW_STATUS_SUCCESS && (got == std::vector<size_t>{3, pages - 1}), "16 GiB reservation: %zu pages",
              got.size());
    // Past the end of the reservation: refused.
    uintptr_t count = 1;
    uint32_t granularity;
    void *out;
    CHECK_MSG(ww_get_write_watch(WW_CURRENT_PROCESS, 0, base, pages * page + 1, &out, &count, &granularity) ==
                  WW_STATUS_INVALID_PARAMETER,
              "range one byte past the end accepted");
    CHECK_MSG(VirtualFree(base, 0, MEM_RELEASE), "free");
    std::printf("limits [%s]: 16 GiB reserved, 2 x 16 pages committed: get-and-reset over all of it %.3f s\n", backend,
                took);
}

} // namespace

int main()
{
    ww_backend_kind backend = backend_or_skip("limits");
    const char *name = ww_backend_name(backend);
    many_regions(name);
    large_region(name, 1);
    if (backend == WW_BACKEND_KERNEL)
        large_region(name, 4);
    huge_reservation(name);
    return finish("limits");
}
