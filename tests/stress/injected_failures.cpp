// Kernel calls failing on purpose (WRITEWATCH_FAIL, in a build made with
// -Dfault_injection=true; see src/writewatch/fault_injection.h). Random
// operations on a watched allocation (NT-level calls) and on a host range (the
// range tracker) are checked against a model that knows what a failure may
// leave uncertain, then writer threads race a draining reader. Checked:
//   - every call succeeds with the exact answer or returns an error status;
//   - a failed get-and-reset stores only written pages, in order, and cleans
//     exactly those: every page written and not reported stays reported;
//   - a failed allocation, commit, protection change or decommit leaves the
//     layout as VirtualQuery showed it (and the memory usable as it says);
//   - no write is lost over the whole run; the process neither crashes nor
//     exits early.
// Prints one line with the calls made and failed per injected kind of call.
#include "stress_common.h"

#include <sys/mman.h>

#include <algorithm>
#include <string>
#include <thread>

extern "C" int ww_injected_failures(const char *name, uint64_t *calls, uint64_t *failed);

using namespace stress;

namespace {

enum class Bit : uint8_t { no, yes, maybe };

struct PageModel {
    Bit live = Bit::no, latched = Bit::no;
    bool committed = true, writable = true;
    bool must() const { return live == Bit::yes || latched == Bit::yes; }
    bool may() const { return live != Bit::no || latched != Bit::no; }
    void clean() { live = latched = Bit::no; }
};

struct Tally {
    uint64_t ops = 0, failed_ops = 0, checks = 0, losses = 0, wrong = 0;
};

Tally tally;

void wrong(const char *what, size_t page, unsigned status)
{
    if (tally.wrong++ < 10)
        std::fprintf(stderr, "injected-failures: %s (page %zu, status 0x%x)\n", what, page, status);
}

// What the model drives: the NT-level calls on an allocation, or the range
// tracker on memory mapped here. Page indices are relative to the base.
class Target {
public:
    virtual ~Target() = default;
    virtual char *base() const = 0;
    virtual ww_status get(size_t first, size_t count, bool reset, void **out, uintptr_t *stored) = 0;
    virtual ww_status reset(size_t first, size_t count) = 0;
    virtual ww_status protect(size_t first, size_t count, bool writable) = 0;
    virtual ww_status decommit(size_t first, size_t count) = 0;
    virtual ww_status commit(size_t first, size_t count) = 0;
    virtual ww_status discard(size_t first, size_t count) = 0;
    // The layout the target reports for a page matches the model (NT only).
    virtual bool layout_matches(size_t, const PageModel &) const { return true; }
};

class NtTarget final : public Target {
public:
    explicit NtTarget(char *base) : base_(base) {}
    char *base() const override { return base_; }
    ww_status get(size_t first, size_t count, bool reset, void **out, uintptr_t *stored) override
    {
        uint32_t granularity = 0;
        return ww_get_write_watch(WW_CURRENT_PROCESS, reset ? WW_WRITE_WATCH_FLAG_RESET : 0, at(first),
                                  count * page, out, stored, &granularity);
    }
    ww_status reset(size_t first, size_t count) override
    {
        return ww_reset_write_watch(WW_CURRENT_PROCESS, at(first), count * page);
    }
    ww_status protect(size_t first, size_t count, bool writable) override
    {
        void *address = at(first);
        size_t size = count * page;
        uint32_t old;
        return ww_protect_virtual_memory(WW_CURRENT_PROCESS, &address, &size,
                                         writable ? WW_PAGE_READWRITE : WW_PAGE_READONLY, &old);
    }
    ww_status decommit(size_t first, size_t count) override
    {
        void *address = at(first);
        size_t size = count * page;
        return ww_free_virtual_memory(WW_CURRENT_PROCESS, &address, &size, WW_MEM_DECOMMIT);
    }
    ww_status commit(size_t first, size_t count) override
    {
        void *address = at(first);
        size_t size = count * page;
        return ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &address, &size, WW_MEM_COMMIT, WW_PAGE_READWRITE);
    }
    ww_status discard(size_t first, size_t count) override
    {
        void *address = at(first);
        size_t size = count * page;
        return ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &address, &size, WW_MEM_RESET, WW_PAGE_READWRITE);
    }
    bool layout_matches(size_t index, const PageModel &model) const override
    {
        ww_memory_basic_information info{};
        if (ww_query_virtual_memory(WW_CURRENT_PROCESS, at(index), &info) != WW_STATUS_SUCCESS)
            return false;
        if (!model.committed)
            return info.state == WW_MEM_RESERVE;
        return info.state == WW_MEM_COMMIT &&
               info.protect == (model.writable ? WW_PAGE_READWRITE : WW_PAGE_READONLY);
    }

private:
    char *at(size_t index) const { return base_ + index * page; }
    char *base_;
};

// The host side of the tracker: the test maps, protects and decommits with
// plain system calls (never failing on purpose) and tells the tracker.
class TrackerTarget final : public Target {
public:
    explicit TrackerTarget(char *base) : base_(base) {}
    char *base() const override { return base_; }
    ww_status get(size_t first, size_t count, bool reset, void **out, uintptr_t *stored) override
    {
        return ww_range_get_written(at(first), count * page, reset ? WW_WRITE_WATCH_FLAG_RESET : 0, out, stored);
    }
    ww_status reset(size_t first, size_t count) override { return ww_range_reset(at(first), count * page); }
    ww_status protect(size_t first, size_t count, bool writable) override
    {
        // As a host would: tell the tracker first, change nothing if it fails.
        ww_status status = ww_range_protection_changed(at(first), count * page);
        if (status == WW_STATUS_SUCCESS)
            mprotect(at(first), count * page, writable ? PROT_READ | PROT_WRITE : PROT_READ);
        return status;
    }
    ww_status decommit(size_t first, size_t count) override
    {
        // The host decommits for good; a failed notification is told again.
        mprotect(at(first), count * page, PROT_NONE);
        madvise(at(first), count * page, MADV_DONTNEED);
        ww_status status;
        for (int attempt = 0; (status = ww_range_decommitted(at(first), count * page)) != WW_STATUS_SUCCESS &&
                              attempt < 50;
             ++attempt) {
        }
        return status;
    }
    ww_status commit(size_t first, size_t count) override
    {
        mprotect(at(first), count * page, PROT_READ | PROT_WRITE);
        return WW_STATUS_SUCCESS;
    }
    ww_status discard(size_t first, size_t count) override { return ww_range_discard(at(first), count * page); }

private:
    char *at(size_t index) const { return base_ + index * page; }
    char *base_;
};

// The answer of a get: stored entries are written pages of the range, in
// order; on success every page that must be reported before the cut is there.
void check_get(std::vector<PageModel> &model, size_t first, size_t count, bool reset, uintptr_t limit,
               ww_status status, void **out, uintptr_t stored, char *base)
{
    ++tally.checks;
    if (stored > limit) {
        wrong("more entries stored than asked for", 0, status);
        return;
    }
    std::vector<size_t> got;
    for (uintptr_t i = 0; i < stored; ++i) {
        auto offset = reinterpret_cast<char *>(out[i]) - base;
        size_t index = static_cast<size_t>(offset) / page;
        if (offset < 0 || offset % page || index < first || index >= first + count ||
            (!got.empty() && index <= got.back())) {
            wrong("entry out of range or order", index, status);
            return;
        }
        if (!model[index].may())
            wrong("an unwritten page reported", index, status);
        got.push_back(index);
    }
    if (status == WW_STATUS_SUCCESS) {
        size_t cut = stored == limit && stored ? got.back() : first + count;
        for (size_t i = first, k = 0; i < cut; ++i) {
            bool reported = k < got.size() && got[k] == i;
            if (reported)
                ++k;
            else if (model[i].must()) {
                ++tally.losses;
                wrong("a written page not reported", i, status);
            } else
                model[i].clean(); // not reported: whatever was uncertain is clean
        }
    }
    if (reset)
        for (size_t index : got)
            model[index].clean();
}

void run_model(Target &target, size_t pages, uint64_t seed, bool writes_may_spread)
{
    Rng rng(seed);
    std::vector<PageModel> model(pages);
    std::vector<void *> out(pages);
    for (int step = 0; step < 3000; ++step) {
        size_t first = rng.below(pages), count = 1 + rng.below(std::min<size_t>(pages - first, 16));
        ww_status status = WW_STATUS_SUCCESS;
        ++tally.ops;
        switch (rng.below(9)) {
        case 0:
        case 1: // writes
            for (size_t i = first; i < first + count; ++i)
                if (model[i].committed && model[i].writable && rng.below(2)) {
                    target.base()[i * page + rng.below(page)] = 1;
                    model[i].live = Bit::yes;
                }
            if (writes_may_spread) // past a failed mprotect the fault handler marks a larger run
                for (PageModel &p : model)
                    if (p.live == Bit::no && p.committed)
                        p.live = Bit::maybe;
            break;
        case 2:
        case 3: { // get, maybe reset, with a limit
            bool reset = rng.below(2);
            uintptr_t limit = 1 + rng.below(count + 1);
            uintptr_t stored = limit;
            status = target.get(first, count, reset, out.data(), &stored);
            check_get(model, first, count, reset, limit, status, out.data(), stored, target.base());
            break;
        }
        case 4: // reset: a failed one may have cleaned some pages
            status = target.reset(first, count);
            for (size_t i = first; i < first + count; ++i) {
                if (status == WW_STATUS_SUCCESS)
                    model[i].clean();
                else {
                    if (model[i].live == Bit::yes)
                        model[i].live = Bit::maybe;
                    if (model[i].latched == Bit::yes)
                        model[i].latched = Bit::maybe;
                }
            }
            break;
        case 5: { // protection change of committed pages: latches; a failure changes nothing
            bool all = true;
            for (size_t i = first; i < first + count; ++i)
                all = all && model[i].committed;
            if (!all)
                break;
            bool writable = rng.below(3) != 0;
            status = target.protect(first, count, writable);
            if (status == WW_STATUS_SUCCESS)
                for (size_t i = first; i < first + count; ++i) {
                    model[i].writable = writable;
                    if (model[i].live == Bit::yes)
                        model[i].latched = Bit::yes;
                    else if (model[i].live == Bit::maybe && model[i].latched == Bit::no)
                        model[i].latched = Bit::maybe;
                }
            break;
        }
        case 6: // decommit: on failure written pages stay written, others may look written
            status = target.decommit(first, count);
            for (size_t i = first; i < first + count; ++i) {
                if (status == WW_STATUS_SUCCESS) {
                    model[i].committed = false;
                    model[i].live = Bit::no;
                } else if (model[i].live == Bit::no) {
                    model[i].live = Bit::maybe;
                }
            }
            break;
        case 7: // commit
            status = target.commit(first, count);
            if (status == WW_STATUS_SUCCESS)
                for (size_t i = first; i < first + count; ++i)
                    model[i].committed = model[i].writable = true;
            break;
        case 8: { // MEM_RESET of committed pages: a failure may over-report, never lose
            bool all = true;
            for (size_t i = first; i < first + count; ++i)
                all = all && model[i].committed;
            if (!all)
                break;
            status = target.discard(first, count);
            if (status != WW_STATUS_SUCCESS)
                for (size_t i = first; i < first + count; ++i)
                    if (model[i].live == Bit::no)
                        model[i].live = Bit::maybe;
            break;
        }
        }
        if (status != WW_STATUS_SUCCESS)
            ++tally.failed_ops;
        for (size_t i = first; i < first + count; ++i)
            if (!target.layout_matches(i, model[i]))
                wrong("the layout changed under a failed call, or did not change", i, status);
    }
    // Drain everything (retrying failures): every page that must be there is.
    for (int attempt = 0; attempt < 1000; ++attempt) {
        uintptr_t stored = pages;
        ww_status status = target.get(0, pages, true, out.data(), &stored);
        check_get(model, 0, pages, true, pages, status, out.data(), stored, target.base());
        if (status == WW_STATUS_SUCCESS)
            break;
    }
    for (size_t i = 0; i < pages; ++i)
        if (model[i].must()) {
            ++tally.losses;
            wrong("a written page never reported", i, 0);
        }
}

// Writers race a reader draining in chunks; failed drains report what they stored.
uint64_t lost_writes_phase(char *base, size_t pages, double seconds)
{
    WriteChecker checker(pages);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (unsigned t = 0; t < 3; ++t)
        writers.emplace_back([&, t] {
            Rng rng(t + 1);
            while (!stop.load(std::memory_order_relaxed))
                checker.write(base, rng.below(pages), rng.next());
        });
    std::vector<void *> buffer(pages);
    Rng rng(77);
    auto drain = [&](uintptr_t limit) {
        uint64_t call = checker.begin_drain();
        uintptr_t count = limit;
        uint32_t granularity;
        ww_status status = ww_get_write_watch(WW_CURRENT_PROCESS, WW_WRITE_WATCH_FLAG_RESET, base, pages * page,
                                              buffer.data(), &count, &granularity);
        for (uintptr_t i = 0; i < count && i < limit; ++i)
            checker.reported((reinterpret_cast<char *>(buffer[i]) - base) / page, call);
        return status == WW_STATUS_SUCCESS && count < limit;
    };
    auto start = std::chrono::steady_clock::now();
    while (seconds_since(start) < seconds)
        drain(1 + rng.below(16));
    stop = true;
    for (auto &thread : writers)
        thread.join();
    for (int attempt = 0; attempt < 10000 && !drain(pages); ++attempt) {
    }
    checker.settle();
    CHECK_MSG(checker.balanced(), "checker accounts do not balance");
    return checker.losses();
}

std::string injection_report()
{
    static const char *names[] = {"pagemap_scan", "uffd_api",     "uffd_register", "uffd_unregister",
                                  "uffd_writeprotect", "userfaultfd", "pagemap_open", "mprotect",
                                  "madvise",      "mmap"};
    std::string report;
    for (const char *name : names) {
        uint64_t calls = 0, failed = 0;
        if (ww_injected_failures(name, &calls, &failed) && failed) {
            char part[96];
            std::snprintf(part, sizeof part, " %s %llu/%llu failed;", name, (unsigned long long)failed,
                          (unsigned long long)calls);
            report += part;
        }
    }
    return report.empty() ? " nothing failed" : report;
}

// A watched allocation, retried while the injected failures refuse it.
char *allocate(size_t pages)
{
    for (int attempt = 0; attempt < 200; ++attempt) {
        void *base = nullptr;
        size_t size = pages * page;
        ww_status status = ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &size,
                                                      WW_MEM_RESERVE | WW_MEM_COMMIT | WW_MEM_WRITE_WATCH,
                                                      WW_PAGE_READWRITE);
        if (status == WW_STATUS_SUCCESS)
            return static_cast<char *>(base);
        ++tally.failed_ops;
    }
    return nullptr;
}

void release(char *base)
{
    void *address = base;
    size_t size = 0;
    CHECK_MSG(ww_free_virtual_memory(WW_CURRENT_PROCESS, &address, &size, WW_MEM_RELEASE) == WW_STATUS_SUCCESS,
              "release");
}

} // namespace

int main()
{
    const char *rules = std::getenv("WRITEWATCH_FAIL");
    ww_backend_kind backend = ww_get_backend();
    if (backend == WW_BACKEND_NONE) {
        // Kernel tracking could not start (its userfaultfd or pagemap failed):
        // the refusal must be clean, everywhere.
        void *base = nullptr;
        size_t size = 4 * page;
        CHECK_MSG(ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &size,
                                             WW_MEM_RESERVE | WW_MEM_COMMIT | WW_MEM_WRITE_WATCH,
                                             WW_PAGE_READWRITE) == WW_STATUS_NOT_SUPPORTED,
                  "watched allocation without a backend");
        CHECK_MSG(ww_range_tracker_status() == WW_STATUS_NOT_SUPPORTED, "tracker status without kernel tracking");
        std::printf("injected-failures [%s] (%s): the kernel backend could not start (%s); refused cleanly;%s\n",
                    std::getenv("WRITEWATCH_BACKEND"), rules ? rules : "-", ww_backend_problem(),
                    injection_report().c_str());
        return finish("injected-failures");
    }
    const size_t pages = 96;
    bool spread = backend == WW_BACKEND_FAULT && rules && std::strstr(rules, "mprotect");

    // Each model run starts from a fresh allocation (or mapping): all clean.
    for (uint64_t seed = 1; seed <= 4; ++seed) {
        char *base = allocate(pages);
        CHECK_MSG(base != nullptr, "no watched allocation in 200 attempts");
        if (!base)
            break;
        NtTarget nt(base);
        run_model(nt, pages, seed, spread);
        release(base);
    }
    for (uint64_t seed = 11; seed <= 14 && ww_range_tracker_status() == WW_STATUS_SUCCESS; ++seed) {
        void *mapped = mmap(nullptr, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ww_status status = WW_STATUS_UNSUCCESSFUL;
        for (int attempt = 0; attempt < 200 && status != WW_STATUS_SUCCESS; ++attempt)
            status = ww_range_register(mapped, pages * page);
        CHECK_MSG(status == WW_STATUS_SUCCESS, "no tracker registration in 200 attempts");
        if (status == WW_STATUS_SUCCESS) {
            TrackerTarget tracker(static_cast<char *>(mapped));
            run_model(tracker, pages, seed, false);
            ww_range_unregister(mapped, pages * page);
        }
        munmap(mapped, pages * page);
    }

    uint64_t racing_losses = 0;
    if (char *racing = allocate(256)) {
        racing_losses = lost_writes_phase(racing, 256, budget(1.5));
        release(racing);
    }

    std::printf("injected-failures [%s] (%s): %llu operations, %llu failed, %llu answers checked, %llu losses, "
                "%llu wrong answers; racing writers: %llu losses;%s\n",
                ww_backend_name(backend), rules ? rules : "-", (unsigned long long)tally.ops,
                (unsigned long long)tally.failed_ops, (unsigned long long)tally.checks,
                (unsigned long long)tally.losses, (unsigned long long)tally.wrong,
                (unsigned long long)racing_losses, injection_report().c_str());
    CHECK_MSG(tally.losses == 0 && racing_losses == 0, "writes were lost");
    CHECK_MSG(tally.wrong == 0, "wrong answers");
    return finish("injected-failures");
}
