// No lost writes under load: writer threads write random pages of a watched
// region while a drainer empties it with count-limited
// GetWriteWatch(WRITE_WATCH_FLAG_RESET). Every write must be reported by the
// call that was running when it happened or by a later one (see WriteChecker).
#include "stress_common.h"

#include <thread>

using namespace stress;

int main()
{
    ww_backend_kind backend = backend_or_skip("lost-writes");
    const size_t pages = 4096; // 16 MiB
    const unsigned writers = 3;
    const double seconds = budget(3.0);

    char *base = static_cast<char *>(
        VirtualAlloc(nullptr, pages * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
    if (!base) {
        std::printf("lost-writes: VirtualAlloc failed, error %u\n", (unsigned)GetLastError());
        return 1;
    }
    WriteChecker checker(pages);
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < writers; ++t)
        threads.emplace_back([&, t] { windowed_writes(checker, base, pages, t + 1, stop); });

    std::vector<void *> buffer(pages);
    Rng rng(99);
    uint64_t calls = 0, reported = 0;
    auto start = std::chrono::steady_clock::now();
    // Past the budget until the writers made enough writes to mean something (bounded).
    double elapsed;
    while ((elapsed = seconds_since(start)) < seconds || (checker.writes() < 2000 && elapsed < 60)) {
        // Mostly small limits (the exact max_pages rule), sometimes everything.
        ULONG_PTR limit = rng.below(8) == 0 ? pages : 1 + rng.below(rng.below(2) ? 16 : 256);
        long count = drain_once(checker, base, pages, buffer, limit);
        if (count < 0)
            break;
        reported += count;
        ++calls;
    }
    stop = true;
    for (auto &thread : threads)
        thread.join();
    drain_all(checker, base, pages, buffer);
    checker.settle();

    std::printf("lost-writes [%s]: %u writers, %zu pages, %.1f s: %llu writes, %llu drain calls, "
                "%llu pages reported; writes checked %llu, duplicates %llu, reports during a write %llu, "
                "ambiguous %llu, losses %llu\n",
                ww_backend_name(backend), writers, pages, seconds, (unsigned long long)checker.writes(),
                (unsigned long long)calls, (unsigned long long)reported, (unsigned long long)checker.checked(),
                (unsigned long long)checker.duplicates(), (unsigned long long)checker.in_flight_reports(),
                (unsigned long long)checker.ambiguous(), (unsigned long long)checker.losses());
    CHECK_MSG(checker.losses() == 0, "%llu writes lost", (unsigned long long)checker.losses());
    CHECK_MSG(checker.balanced(), "checker accounts do not balance");
    CHECK_MSG(checker.checked() + checker.ambiguous() == checker.writes(), "writes %llu != checked %llu + ambiguous %llu",
              (unsigned long long)checker.writes(), (unsigned long long)checker.checked(),
              (unsigned long long)checker.ambiguous());
    CHECK_MSG(checker.writes() > 1000, "too few writes to mean anything");
    VirtualFree(base, 0, MEM_RELEASE);
    return finish("lost-writes");
}
