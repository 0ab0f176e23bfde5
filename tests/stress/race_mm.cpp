// Write watches racing with memory management. One watched region, in zones:
//   A  written by writer threads while a thread flips its protection between
//      writable protections and a drainer empties it (lost-write checker);
//   C  never written, while it is decommitted, recommitted, MEM_RESET, made
//      read-only / no-access and read: must never be reported;
//   D  written once at the start and latched by a VirtualProtect, then the
//      same treatment: must always be reported (a latched page survives
//      decommit; MEM_RESET and protection changes keep watch state);
// while another thread allocates and frees watched memory right after the
// region and others call GetWriteWatch / ResetWriteWatch on that neighbour
// (success or ERROR_INVALID_PARAMETER only) and across the boundary (always
// ERROR_INVALID_PARAMETER). Finally the region is released while calls run:
// success or ERROR_INVALID_PARAMETER, and ERROR_INVALID_PARAMETER once freed.
//
// Every racing operation is made to happen: the address after the region is
// held by a placeholder mapping whenever no neighbour lives there, and a
// fence mapping after that slot stays for the whole run, so the slot is a
// hole no bigger than a neighbour while it is free: an mmap elsewhere in the
// process (the sanitizers' allocators, an allocation at NULL, which asks for
// twice that) does not fit in it. A neighbour stays until a call on it has
// succeeded, and the run goes on past its time budget until each operation
// ran min_runs times (within a generous bound).
#include "stress_common.h"

#include <sys/mman.h>

#include <algorithm>
#include <thread>

using namespace stress;

namespace {

constexpr size_t zone_a = 0, zone_a_pages = 128;
constexpr size_t zone_c = 128, zone_c_pages = 64;
constexpr size_t zone_d = 192, zone_d_pages = 64;
constexpr size_t region_pages = 256;
constexpr size_t neighbour_pages = 16;
constexpr size_t fence_pages = 256;
constexpr uint64_t min_runs = 100;

// PROT_NONE address space at 'at', or false when something else holds it.
bool hold_place(char *at, size_t size)
{
    void *got = mmap(at, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (got == MAP_FAILED)
        return false;
    if (got != at) { // kernels before 4.17 take the flag as a hint
        munmap(got, size);
        return false;
    }
    return true;
}

std::atomic<uint64_t> unexpected_errors{0};

void expect(bool ok, const char *what)
{
    if (!ok) {
        if (unexpected_errors.fetch_add(1) < 10)
            std::fprintf(stderr, "race-mm: %s (error %u)\n", what, (unsigned)GetLastError());
        failures.fetch_add(1);
    }
}

} // namespace

int main()
{
    ww_backend_kind backend = backend_or_skip("race-mm");
    const double seconds = budget(2.5);
    // Place the region so that the 64K after it are free for the neighbour.
    const size_t hole_size = (region_pages + neighbour_pages + fence_pages) * page + 0x10000;
    void *hole = mmap(nullptr, hole_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (hole == MAP_FAILED)
        return 1;
    munmap(hole, hole_size);
    auto *wanted = reinterpret_cast<char *>((reinterpret_cast<uintptr_t>(hole) + 0xffff) & ~uintptr_t(0xffff));
    char *base = static_cast<char *>(
        VirtualAlloc(wanted, region_pages * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
    if (!base) {
        std::printf("race-mm: VirtualAlloc at %p failed, error %u\n", (void *)wanted, (unsigned)GetLastError());
        return 1;
    }
    char *neighbour = base + region_pages * page; // 64K-aligned: a reservation may start here
    if (!hold_place(neighbour, neighbour_pages * page) ||
        !hold_place(neighbour + neighbour_pages * page, fence_pages * page)) {
        std::printf("race-mm: the addresses after the region (%p) are taken\n", (void *)neighbour);
        return 1;
    }
    for (size_t i = 0; i < zone_d_pages; ++i)
        base[(zone_d + i) * page] = 1;
    DWORD old_protection;
    if (!VirtualProtect(base + zone_d * page, zone_d_pages * page, PAGE_READWRITE, &old_protection)) {
        std::printf("race-mm: VirtualProtect of zone D failed, error %u\n", (unsigned)GetLastError());
        return 1;
    }
    ResetWriteWatch(base, zone_d * page); // zones A and C start clean

    WriteChecker checker(zone_a_pages);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> protect_flips{0}, mm_ops{0}, c_checks{0}, d_checks{0}, neighbour_allocs{0},
        neighbour_calls_ok{0}, neighbour_calls_invalid{0}, straddle_calls{0}, neighbour_at_end{0},
        neighbour_place_lost{0};
    std::vector<std::thread> threads;

    for (unsigned t = 0; t < 2; ++t) // zone A writers
        threads.emplace_back([&, t] {
            Rng rng(t + 7);
            while (!stop.load(std::memory_order_relaxed))
                checker.write(base + zone_a * page, rng.below(zone_a_pages), rng.next());
        });
    threads.emplace_back([&] { // zone A protection flips (always writable)
        Rng rng(3);
        // (The write-copy protections are refused for private memory, as on Windows.)
        const DWORD writable[] = {PAGE_READWRITE, PAGE_EXECUTE_READWRITE, PAGE_READWRITE | PAGE_NOCACHE,
                                  PAGE_EXECUTE_READWRITE | PAGE_WRITECOMBINE};
        while (!stop.load(std::memory_order_relaxed)) {
            size_t first = rng.below(zone_a_pages), count = 1 + rng.below(zone_a_pages - first);
            DWORD old;
            expect(VirtualProtect(base + (zone_a + first) * page, count * page, writable[rng.below(4)], &old),
                   "VirtualProtect in zone A");
            protect_flips.fetch_add(1, std::memory_order_relaxed);
        }
    });
    threads.emplace_back([&] { // zones C and D: memory management
        Rng rng(4);
        std::vector<char> committed(region_pages, 1);
        while (!stop.load(std::memory_order_relaxed)) {
            size_t zone = rng.below(2) ? zone_c : zone_d;
            size_t first = zone + rng.below(zone_c_pages);
            size_t count = 1 + rng.below(zone + zone_c_pages - first);
            char *at = base + first * page;
            bool all_committed = true;
            for (size_t i = first; i < first + count; ++i)
                all_committed &= committed[i] != 0;
            DWORD old;
            switch (rng.below(6)) {
            case 0:
                expect(VirtualFree(at, count * page, MEM_DECOMMIT), "decommit");
                for (size_t i = first; i < first + count; ++i)
                    committed[i] = 0;
                break;
            case 1:
                expect(VirtualAlloc(at, count * page, MEM_COMMIT, PAGE_READWRITE) == at, "recommit");
                for (size_t i = first; i < first + count; ++i)
                    committed[i] = 1;
                break;
            case 2:
                if (all_committed)
                    expect(VirtualAlloc(at, count * page, MEM_RESET, PAGE_READWRITE) == at, "MEM_RESET");
                else
                    expect(!VirtualAlloc(at, count * page, MEM_RESET, PAGE_READWRITE), "MEM_RESET of decommitted");
                break;
            case 3:
                if (all_committed)
                    expect(VirtualProtect(at, count * page, rng.below(2) ? PAGE_READONLY : PAGE_NOACCESS, &old),
                           "protect read-only/no-access");
                break;
            case 4:
                if (all_committed)
                    expect(VirtualProtect(at, count * page, PAGE_READWRITE, &old), "protect read-write");
                break;
            case 5: { // read committed, readable pages
                MEMORY_BASIC_INFORMATION info{};
                if (VirtualQuery(at, &info, sizeof info) == sizeof info && info.State == MEM_COMMIT &&
                    (info.Protect == PAGE_READWRITE || info.Protect == PAGE_READONLY))
                    (void)*(volatile char *)at;
                break;
            }
            }
            mm_ops.fetch_add(1, std::memory_order_relaxed);
        }
    });
    threads.emplace_back([&] { // zones C and D: answers never wrong
        std::vector<void *> buffer(region_pages);
        while (!stop.load(std::memory_order_relaxed)) {
            ULONG_PTR count = zone_c_pages;
            ULONG granularity;
            expect(GetWriteWatch(0, base + zone_c * page, zone_c_pages * page, buffer.data(), &count,
                                 &granularity) == 0 && count == 0,
                   "zone C (never written) reported written");
            expect(ResetWriteWatch(base + zone_c * page, zone_c_pages * page) == 0, "ResetWriteWatch zone C");
            c_checks.fetch_add(1, std::memory_order_relaxed);
            count = zone_d_pages;
            expect(GetWriteWatch(0, base + zone_d * page, zone_d_pages * page, buffer.data(), &count,
                                 &granularity) == 0 && count == zone_d_pages,
                   "zone D (written) not reported whole");
            d_checks.fetch_add(1, std::memory_order_relaxed);
        }
    });
    threads.emplace_back([&] { // neighbour allocations, at the region's end and anywhere
        Rng rng(5);
        bool place_held = true;
        while (!stop.load(std::memory_order_relaxed)) {
            bool at_end = rng.below(2);
            DWORD type = MEM_RESERVE | MEM_COMMIT | (rng.below(4) ? MEM_WRITE_WATCH : 0);
            if (at_end && place_held) {
                munmap(neighbour, neighbour_pages * page);
                place_held = false;
            }
            char *made = static_cast<char *>(
                VirtualAlloc(at_end ? neighbour : nullptr, neighbour_pages * page, type, PAGE_READWRITE));
            if (made == neighbour) {
                neighbour_at_end.fetch_add(1, std::memory_order_relaxed);
                // Stay until a call on the neighbour got through (bounded).
                uint64_t ok_before = neighbour_calls_ok.load();
                auto since = std::chrono::steady_clock::now();
                while ((type & MEM_WRITE_WATCH) && neighbour_calls_ok.load() == ok_before &&
                       seconds_since(since) < 0.01)
                    std::this_thread::yield();
            }
            if (made) {
                made[rng.below(neighbour_pages) * page] = 1;
                expect(VirtualFree(made, 0, MEM_RELEASE), "free neighbour");
                neighbour_allocs.fetch_add(1, std::memory_order_relaxed);
            }
            if (!place_held && !(place_held = hold_place(neighbour, neighbour_pages * page)))
                neighbour_place_lost.fetch_add(1, std::memory_order_relaxed);
        }
    });
    threads.emplace_back([&] { // calls on the neighbour and across the boundary
        Rng rng(6);
        std::vector<void *> buffer(64);
        while (!stop.load(std::memory_order_relaxed)) {
            ULONG_PTR count = 64;
            ULONG granularity;
            SetLastError(0);
            UINT result = rng.below(2)
                              ? GetWriteWatch(rng.below(2), neighbour, neighbour_pages * page, buffer.data(), &count,
                                              &granularity)
                              : ResetWriteWatch(neighbour, neighbour_pages * page);
            if (result == 0)
                neighbour_calls_ok.fetch_add(1, std::memory_order_relaxed);
            else {
                expect(GetLastError() == ERROR_INVALID_PARAMETER, "neighbour call: not ERROR_INVALID_PARAMETER");
                neighbour_calls_invalid.fetch_add(1, std::memory_order_relaxed);
            }
            count = 64;
            SetLastError(0);
            expect(GetWriteWatch(0, neighbour - page, 2 * page, buffer.data(), &count, &granularity) != 0 &&
                       GetLastError() == ERROR_INVALID_PARAMETER,
                   "call across the region's end succeeded");
            SetLastError(0);
            expect(ResetWriteWatch(neighbour - page, 2 * page) != 0 && GetLastError() == ERROR_INVALID_PARAMETER,
                   "reset across the region's end succeeded");
            straddle_calls.fetch_add(1, std::memory_order_relaxed);
        }
    });

    std::vector<void *> buffer(zone_a_pages);
    Rng rng(8);
    uint64_t drains = 0;
    auto all_ran = [&] {
        return drains >= min_runs && protect_flips.load() >= min_runs && mm_ops.load() >= min_runs &&
               c_checks.load() >= min_runs && neighbour_at_end.load() >= min_runs &&
               neighbour_calls_ok.load() >= min_runs && straddle_calls.load() >= min_runs;
    };
    const double bound = std::max(60.0, 10 * seconds);
    auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    while ((elapsed = seconds_since(start)) < seconds || (!all_ran() && elapsed < bound)) {
        drain_once(checker, base + zone_a * page, zone_a_pages, buffer, 1 + rng.below(24));
        ++drains;
    }
    stop = true;
    for (auto &thread : threads)
        thread.join();
    drain_all(checker, base + zone_a * page, zone_a_pages, buffer);
    checker.settle();

    // Release racing with calls on the region.
    std::atomic<bool> released{false}, stop_callers{false};
    std::atomic<uint64_t> during_ok{0}, during_invalid{0}, after_invalid{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 2; ++t)
        callers.emplace_back([&, t] {
            std::vector<void *> out(region_pages);
            while (!stop_callers.load()) {
                bool was_released = released.load();
                ULONG_PTR count = region_pages;
                ULONG granularity;
                SetLastError(0);
                UINT result = t ? ResetWriteWatch(base, region_pages * page)
                                : GetWriteWatch(0, base, region_pages * page, out.data(), &count, &granularity);
                if (result == 0) {
                    expect(!was_released, "call on released memory succeeded");
                    during_ok.fetch_add(1);
                } else {
                    expect(GetLastError() == ERROR_INVALID_PARAMETER, "call racing release: wrong error");
                    (was_released ? after_invalid : during_invalid).fetch_add(1);
                }
            }
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    expect(VirtualFree(base, 0, MEM_RELEASE), "release");
    released = true;
    // Until both callers were seen failing on the freed range (bounded).
    auto freed_at = std::chrono::steady_clock::now();
    while (after_invalid.load() < 2 && seconds_since(freed_at) < 5)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop_callers = true;
    for (auto &thread : callers)
        thread.join();

    std::printf("race-mm [%s] %.1f s (budget %.1f): zone A: %llu writes, %llu drains, checked %llu, duplicates %llu, ambiguous "
                "%llu, losses %llu, %llu protection flips; zones C/D: %llu memory operations, %llu + %llu checks; "
                "neighbour: %llu allocations (%llu at the region's end, place lost %llu times), calls %llu ok / %llu ERROR_INVALID_PARAMETER, %llu straddling "
                "checks; release race: %llu ok, %llu invalid before, %llu invalid after; unexpected %llu\n",
                ww_backend_name(backend), elapsed, seconds, (unsigned long long)checker.writes(), (unsigned long long)drains,
                (unsigned long long)checker.checked(), (unsigned long long)checker.duplicates(),
                (unsigned long long)checker.ambiguous(), (unsigned long long)checker.losses(),
                (unsigned long long)protect_flips.load(), (unsigned long long)mm_ops.load(),
                (unsigned long long)c_checks.load(), (unsigned long long)d_checks.load(),
                (unsigned long long)neighbour_allocs.load(), (unsigned long long)neighbour_at_end.load(),
                (unsigned long long)neighbour_place_lost.load(),
                (unsigned long long)neighbour_calls_ok.load(),
                (unsigned long long)neighbour_calls_invalid.load(), (unsigned long long)straddle_calls.load(),
                (unsigned long long)during_ok.load(), (unsigned long long)during_invalid.load(),
                (unsigned long long)after_invalid.load(), (unsigned long long)unexpected_errors.load());
    CHECK_MSG(checker.losses() == 0 && checker.impossible() == 0, "zone A lost writes");
    CHECK_MSG(checker.balanced(), "checker accounts do not balance");
    CHECK_MSG(after_invalid.load() > 0, "no call after the release was observed");
    CHECK_MSG(all_ran(), "some racing operation ran fewer than %llu times in %.0f s", (unsigned long long)min_runs,
              bound);
    return finish("race-mm");
}
