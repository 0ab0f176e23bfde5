// Two threads, each with its own watched region, each calling
// GetWriteWatch(WRITE_WATCH_FLAG_RESET) on the whole of its region with the
// output array inside the other thread's region. Each reset re-protects the
// other thread's output page, so storing the answer faults (on the fault
// backend) while the other thread's call is in progress on that region.
// The calls must not wait for each other forever, and each answer must hold
// the first written pages of its region in ascending order, the first page
// among them when the other thread's answer landed there.
#include "stress_common.h"

#include <thread>

using namespace stress;

namespace {

constexpr size_t region_pages = 64;
// Each round writes every third page from 8 on and asks for fewer than that,
// so that written pages carry over from call to call.
constexpr size_t first_written = 8, written_step = 3;
constexpr ULONG_PTR asked = 8;

struct Worker {
    char *own = nullptr;
    void **output = nullptr; // the first page of the other worker's region
    std::atomic<uint64_t> calls{0};
};

// The answer against the pages known to be written, which lose what was
// reported. The first page may be written by the other worker's answer.
bool check_answer(const Worker &w, bool written[region_pages], ULONG_PTR count)
{
    // The first page comes first when the other worker's answer wrote it.
    size_t expected = count > 0 && w.output[0] == w.own ? 1 : 0;
    for (size_t page_index = first_written; page_index < region_pages && expected < count; ++page_index) {
        if (!written[page_index])
            continue;
        if (w.output[expected] != w.own + page_index * page) {
            CHECK_MSG(false, "entry %zu: %p, expected page %zu", expected, w.output[expected], page_index);
            return false;
        }
        written[page_index] = false;
        ++expected;
    }
    size_t pending = 0;
    for (size_t page_index = first_written; page_index < region_pages; ++page_index)
        pending += written[page_index];
    // Fewer than asked only when nothing else was written.
    CHECK_MSG(count == expected && (count == asked || pending == 0),
              "%lu pages reported, %zu matched, %zu written pages left", static_cast<unsigned long>(count),
              expected, pending);
    return count == expected;
}

void run(Worker &w, const std::atomic<bool> &stop)
{
    bool written[region_pages] = {};
    while (!stop.load(std::memory_order_relaxed)) {
        for (size_t i = first_written; i < region_pages; i += written_step) {
            w.own[i * page] = 1;
            written[i] = true;
        }
        ULONG_PTR count = asked;
        ULONG granularity = 0;
        UINT result = GetWriteWatch(WRITE_WATCH_FLAG_RESET, w.own, region_pages * page, w.output, &count,
                                    &granularity);
        CHECK_MSG(result == 0, "GetWriteWatch failed: error %u", static_cast<unsigned>(GetLastError()));
        if (result != 0 || !check_answer(w, written, count))
            return;
        w.calls.fetch_add(1, std::memory_order_relaxed);
    }
}

} // namespace

int main()
{
    const char *program = "stress-cross-output";
    ww_backend_kind backend = backend_or_skip(program);
    Worker workers[2];
    for (Worker &w : workers) {
        w.own = static_cast<char *>(
            VirtualAlloc(nullptr, region_pages * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
        if (!w.own) {
            std::printf("%s: FAIL: VirtualAlloc: error %u\n", program, static_cast<unsigned>(GetLastError()));
            return 1;
        }
    }
    workers[0].output = reinterpret_cast<void **>(workers[1].own);
    workers[1].output = reinterpret_cast<void **>(workers[0].own);

    std::atomic<bool> stop{false};
    std::thread threads[2] = {std::thread(run, std::ref(workers[0]), std::cref(stop)),
                              std::thread(run, std::ref(workers[1]), std::cref(stop))};
    // A call stuck waiting for the other thread's never ends: watch the
    // counters, and leave without joining when they stop moving.
    auto start = std::chrono::steady_clock::now();
    uint64_t seen[2] = {0, 0};
    auto last_progress = start;
    // Each call has a small chance to meet the other in the wrong order: run
    // until both made enough of them (a few seconds on the fault backend).
    const uint64_t enough = static_cast<uint64_t>(budget(40000));
    while ((workers[0].calls.load() < enough || workers[1].calls.load() < enough) &&
           seconds_since(start) < budget(30.0) && failures.load() == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        uint64_t now[2] = {workers[0].calls.load(), workers[1].calls.load()};
        if (now[0] != seen[0] || now[1] != seen[1]) {
            seen[0] = now[0];
            seen[1] = now[1];
            last_progress = std::chrono::steady_clock::now();
        } else if (seconds_since(last_progress) > 5.0) {
            std::printf("%s: FAIL (%s backend): no progress for 5 s after %llu and %llu calls: the two calls "
                        "wait for each other\n",
                        program, backend == WW_BACKEND_KERNEL ? "kernel" : "fault",
                        static_cast<unsigned long long>(now[0]), static_cast<unsigned long long>(now[1]));
            std::fflush(stdout);
            std::_Exit(1);
        }
    }
    stop.store(true);
    for (std::thread &t : threads)
        t.join();
    CHECK_MSG(workers[0].calls.load() > 0 && workers[1].calls.load() > 0, "a thread made no call");
    std::printf("%s: %llu and %llu calls, each storing into the other's region\n", program,
                static_cast<unsigned long long>(workers[0].calls.load()),
                static_cast<unsigned long long>(workers[1].calls.load()));
    return finish(program);
}
