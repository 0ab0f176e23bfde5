// Shared helpers for the standalone reliability programs in tests/stress/.
// Each program exits 0 (pass), 1 (fail) or 77 (skip, for meson) and prints its
// figures on stdout. The backend comes from WRITEWATCH_BACKEND like the Catch2
// suite; meson runs each program once per backend.
#pragma once

#define NOMINMAX
#define WIN32_NO_STATUS
#include <windows.h>
#undef WIN32_NO_STATUS

#include "writewatch/writewatch.h"

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace stress {

constexpr size_t page = 4096;

inline std::atomic<int> failures{0};

[[gnu::format(printf, 3, 4)]] inline void fail_at(const char *file, int line, const char *format, ...)
{
    std::fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
    failures.fetch_add(1);
}

#define CHECK_MSG(cond, ...)                                                                     \
    do {                                                                                          \
        if (!(cond))                                                                              \
            ::stress::fail_at(__FILE__, __LINE__, __VA_ARGS__);                                   \
    } while (0)

// The backend under test, or exits 77 when the environment asks for one that
// cannot run here.
inline ww_backend_kind backend_or_skip(const char *program)
{
    ww_backend_kind backend = ww_get_backend();
    if (backend == WW_BACKEND_NONE) {
        std::printf("%s: SKIP: %s\n", program, ww_backend_problem());
        std::exit(77);
    }
    return backend;
}

inline int finish(const char *program)
{
    int failed = failures.load();
    std::printf("%s: %s (%d failed checks)\n", program, failed ? "FAILED" : "passed", failed);
    std::fflush(stdout);
    return failed ? 1 : 0;
}

inline double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Seconds a timed phase runs: the default, scaled by WRITEWATCH_STRESS_SCALE.
inline double budget(double seconds)
{
    const char *scale = std::getenv("WRITEWATCH_STRESS_SCALE");
    return scale ? seconds * std::atof(scale) : seconds;
}

// xorshift64*: cheap, per-thread, async-signal-safe.
struct Rng {
    uint64_t state;
    explicit Rng(uint64_t seed) : state(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next()
    {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545F4914F6CDD1Dull;
    }
    uint64_t below(uint64_t n) { return next() % n; }
};

// Checks that no write is lost by a draining get-and-reset.
//
// Writers claim a page (one outstanding write per page), write it, and mark the
// claim done. The claim stores the drain epoch read *before* the write: drain
// call k stores epoch k before it starts, so a write that read epoch e can only
// be seen by calls >= e, and every call > e started after the write began.
// The drainer, for each page a call k reports: a done claim with epoch <= k is
// satisfied and released; a page with no claim is a duplicate (allowed); a
// claim not yet done is "in flight" (the report may or may not be this write:
// remembered in last_report). After the writers stop, a final full drain runs;
// a claim left then is a lost write unless a report arrived while it was in
// flight (counted separately as ambiguous).
class WriteChecker {
public:
    explicit WriteChecker(size_t pages)
        : pages_(pages), slots_(new std::atomic<uint64_t>[pages]), last_report_(new std::atomic<uint64_t>[pages])
    {
        for (size_t i = 0; i < pages; ++i) {
            slots_[i].store(0);
            last_report_[i].store(0);
        }
    }

    // Writer side (async-signal-safe). Returns false when the page already has
    // an outstanding write.
    // With a shadow copy, the same store goes there too, inside the claim.
    bool write(char *base, size_t index, uint64_t value, char *shadow = nullptr)
    {
        uint64_t epoch = epoch_.load(std::memory_order_seq_cst);
        uint64_t expected = 0;
        if (!slots_[index].compare_exchange_strong(expected, epoch << 1, std::memory_order_seq_cst))
            return false;
        // Somewhere in the page, not always at its start.
        size_t offset = (value * 8) % page;
        if (shadow)
            reinterpret_cast<uint64_t *>(shadow + index * page + (offset & ~size_t(7)))[0] = value;
        reinterpret_cast<volatile uint64_t *>(base + index * page + (offset & ~size_t(7)))[0] = value;
        slots_[index].store((epoch << 1) | 1, std::memory_order_seq_cst);
        writes_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }

    // Drainer side: call before each drain call; returns its epoch.
    uint64_t begin_drain() { return epoch_.fetch_add(1, std::memory_order_seq_cst) + 1; }

    // Drainer side: page 'index' was reported by drain call 'call'.
    void reported(size_t index, uint64_t call)
    {
        last_report_[index].store(call, std::memory_order_relaxed);
        uint64_t slot = slots_[index].load(std::memory_order_seq_cst);
        if (slot == 0) {
            ++duplicates_;
        } else if (!(slot & 1)) {
            ++in_flight_reports_;
        } else if ((slot >> 1) <= call) {
            slots_[index].store(0, std::memory_order_seq_cst);
            ++checked_;
        } else {
            std::fprintf(stderr, "checker: claim epoch %llu after call %llu\n",
                         (unsigned long long)(slot >> 1), (unsigned long long)call);
            ++impossible_;
        }
    }

    // After the writers stopped and a final complete drain was reported.
    void settle()
    {
        for (size_t i = 0; i < pages_; ++i) {
            uint64_t slot = slots_[i].load();
            if (!slot)
                continue;
            if (last_report_[i].load() >= (slot >> 1)) {
                ++ambiguous_;
            } else {
                if (losses_ < 10)
                    std::fprintf(stderr, "lost write: page %zu, claimed at epoch %llu, last reported in call %llu\n",
                                 i, (unsigned long long)(slot >> 1), (unsigned long long)last_report_[i].load());
                ++losses_;
            }
            slots_[i].store(0);
        }
    }

    // Every write is accounted for once settled.
    bool balanced() const { return checked_ + ambiguous_ + losses_ == writes_.load() && impossible_ == 0; }
    uint64_t writes() const { return writes_.load(); }
    uint64_t checked() const { return checked_; }
    uint64_t duplicates() const { return duplicates_; }
    uint64_t in_flight_reports() const { return in_flight_reports_; }
    uint64_t ambiguous() const { return ambiguous_; }
    uint64_t losses() const { return losses_; }
    uint64_t impossible() const { return impossible_; }
    uint64_t epoch() const { return epoch_.load(); }

private:
    size_t pages_;
    std::unique_ptr<std::atomic<uint64_t>[]> slots_;
    std::unique_ptr<std::atomic<uint64_t>[]> last_report_;
    std::atomic<uint64_t> epoch_{1}; // never 0: a claim must be non-zero
    std::atomic<uint64_t> writes_{0};
    uint64_t checked_ = 0, duplicates_ = 0, in_flight_reports_ = 0, ambiguous_ = 0, losses_ = 0, impossible_ = 0;
};

// A writer thread's loop: it sticks to a moving window of 64 pages for a
// while, so that pages get rewritten soon after being drained (the racy
// case), then jumps; until stop is set.
inline void windowed_writes(WriteChecker &checker, char *base, size_t pages, uint64_t seed,
                            const std::atomic<bool> &stop, char *shadow = nullptr)
{
    Rng rng(seed);
    size_t window = 0;
    for (uint64_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        if (n % 256 == 0)
            window = rng.below(pages);
        checker.write(base, (window + rng.below(64)) % pages, rng.next(), shadow);
    }
}

// One count-limited get-and-reset of a watched region: stores at most *count
// addresses and sets *count; false (having said why) on failure.
template <typename GetAndReset>
long drain_once_with(WriteChecker &checker, char *base, size_t pages, std::vector<void *> &buffer, ULONG_PTR limit,
                     GetAndReset &&get_and_reset)
{
    uint64_t call = checker.begin_drain();
    ULONG_PTR count = limit;
    if (!get_and_reset(buffer.data(), &count))
        return -1;
    CHECK_MSG(count <= limit, "count %lu > limit %lu", (unsigned long)count, (unsigned long)limit);
    uintptr_t previous = 0;
    for (ULONG_PTR i = 0; i < count; ++i) {
        auto address = reinterpret_cast<uintptr_t>(buffer[i]);
        uintptr_t offset = address - reinterpret_cast<uintptr_t>(base);
        if (address < reinterpret_cast<uintptr_t>(base) || offset >= pages * page || offset % page ||
            (i && address <= previous)) {
            CHECK_MSG(false, "bad address %p at %lu (base %p)", buffer[i], (unsigned long)i, (void *)base);
            continue;
        }
        previous = address;
        checker.reported(offset / page, call);
    }
    return static_cast<long>(count);
}

// drain_once_with through GetWriteWatch(WRITE_WATCH_FLAG_RESET).
inline long drain_once(WriteChecker &checker, char *base, size_t pages, std::vector<void *> &buffer,
                       ULONG_PTR limit)
{
    return drain_once_with(checker, base, pages, buffer, limit, [&](void **addresses, ULONG_PTR *count) {
        ULONG granularity = 0;
        if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, base, pages * page, addresses, count, &granularity) != 0) {
            CHECK_MSG(false, "GetWriteWatch failed, error %u", (unsigned)GetLastError());
            return false;
        }
        CHECK_MSG(granularity == page, "granularity %u", (unsigned)granularity);
        return true;
    });
}

// Drains until a call returns fewer pages than asked for (everything reported).
inline void drain_all(WriteChecker &checker, char *base, size_t pages, std::vector<void *> &buffer)
{
    for (;;) {
        long count = drain_once(checker, base, pages, buffer, buffer.size());
        if (count < 0 || static_cast<size_t>(count) < buffer.size())
            return;
    }
}

} // namespace stress
