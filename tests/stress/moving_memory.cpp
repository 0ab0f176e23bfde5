// Memory that moves: a watched region stays exact while the kernel swaps it
// out and in, compacts and migrates it, forks the process (copy-on-write in
// parent and child), is asked to collapse or split huge pages, and KSM merges
// identical pages. Three promises, each checked and printed:
//   lost     every page written since its last report is reported later;
//   clean    no page that nobody wrote is reported (single-threaded rounds,
//            where the written set is known exactly);
//   changed  no page's contents change (a shadow copy of the region).
// The kernel's own counters (/proc/vmstat, KSM's) say which events really
// happened; an event whose preconditions are here (swap on, KSM running,
// two NUMA nodes, root for compaction) but which left no trace fails the run,
// so a run where nothing moved cannot pass as one that held.
//
//   stress-moving-memory [--front win32|tracker] [--seconds S] [--rounds N]
//                        [--expect-clean-reports]
// --front tracker watches memory the program maps itself through the range
// tracker (kernel backend only), the way Wine's ntdll or a GC does;
// --expect-clean-reports inverts the clean check for a run that shows the
// kernel's KSM defect (WRITEWATCH_KSM_DEFENCE=off on a kernel without the
// fix): it fails when no clean page was reported.
#include "stress_common.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>

using namespace stress;

namespace {

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#endif
constexpr int mpol_mf_move = 1 << 1;
constexpr size_t huge_page = 2u << 20;
const char zeros[page] = {};

// ---- what the kernel says happened -------------------------------------------

using Counters = std::map<std::string, long long>;

Counters read_vmstat()
{
    Counters counters;
    if (FILE *file = std::fopen("/proc/vmstat", "r")) {
        char name[128];
        long long value;
        while (std::fscanf(file, "%127s %lld", name, &value) == 2)
            counters[name] = value;
        std::fclose(file);
    }
    return counters;
}

long long read_number(const char *path)
{
    long long value = -1;
    if (FILE *file = std::fopen(path, "r")) {
        if (std::fscanf(file, "%lld", &value) != 1)
            value = -1;
        std::fclose(file);
    }
    return value;
}

bool write_text(const char *path, const char *text)
{
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = ::write(fd, text, std::strlen(text)) == static_cast<ssize_t>(std::strlen(text));
    ::close(fd);
    return ok;
}

bool swap_on()
{
    FILE *file = std::fopen("/proc/swaps", "r");
    if (!file)
        return false;
    int lines = 0;
    for (int c; (c = std::fgetc(file)) != EOF;)
        lines += c == '\n';
    std::fclose(file);
    return lines > 1;
}

int numa_nodes()
{
    // "0" or "0-1": the highest online node plus one.
    FILE *file = std::fopen("/sys/devices/system/node/online", "r");
    if (!file)
        return 1;
    char text[64] = {};
    size_t n = std::fread(text, 1, sizeof text - 1, file);
    std::fclose(file);
    text[n] = '\0';
    const char *last = std::strrchr(text, '-');
    return last ? std::atoi(last + 1) + 1 : 1;
}

// The kernel's cgroup v2 reclaim interface of this process's cgroup, or "".
std::string memcg_reclaim_file()
{
    FILE *file = std::fopen("/proc/self/cgroup", "r");
    if (!file)
        return {};
    char line[512];
    std::string path;
    while (std::fgets(line, sizeof line, file))
        if (std::strncmp(line, "0::", 3) == 0) {
            path = line + 3;
            path.erase(path.find_last_not_of('\n') + 1);
        }
    std::fclose(file);
    for (const char *root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
        std::string file_path = std::string(root) + path + "/memory.reclaim";
        if (::access(file_path.c_str(), W_OK) == 0)
            return file_path;
    }
    return {};
}

// ---- the watched region, through one of the two front doors -------------------

class Watched {
public:
    virtual ~Watched() = default;
    char *base() const { return base_; }
    size_t pages() const { return pages_; }
    virtual const char *name() const = 0;
    // A count-limited get (and reset): at most *count addresses.
    virtual bool get(bool reset, void **addresses, ULONG_PTR *count) = 0;
    virtual bool reset_all() = 0;
    // MEM_RESET: contents may go, written state stays.
    virtual bool discard(size_t first, size_t count) = 0;
    // Read-only and back: written state stays.
    virtual bool protect_round_trip(size_t first, size_t count) = 0;

protected:
    char *base_ = nullptr;
    size_t pages_ = 0;
};

class Win32Watched : public Watched {
public:
    explicit Win32Watched(size_t pages)
    {
        base_ = static_cast<char *>(
            VirtualAlloc(nullptr, pages * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
        pages_ = base_ ? pages : 0;
    }
    ~Win32Watched() override
    {
        if (base_)
            VirtualFree(base_, 0, MEM_RELEASE);
    }
    const char *name() const override { return "win32"; }
    bool get(bool reset, void **addresses, ULONG_PTR *count) override
    {
        ULONG granularity = 0;
        if (GetWriteWatch(reset ? WRITE_WATCH_FLAG_RESET : 0, base_, pages_ * page, addresses, count,
                          &granularity) != 0) {
            CHECK_MSG(false, "GetWriteWatch failed, error %u", (unsigned)GetLastError());
            return false;
        }
        return true;
    }
    bool reset_all() override { return ResetWriteWatch(base_, pages_ * page) == 0; }
    bool discard(size_t first, size_t count) override
    {
        return VirtualAlloc(base_ + first * page, count * page, MEM_RESET, PAGE_READWRITE) != nullptr;
    }
    bool protect_round_trip(size_t first, size_t count) override
    {
        DWORD old = 0;
        return VirtualProtect(base_ + first * page, count * page, PAGE_READONLY, &old) &&
               VirtualProtect(base_ + first * page, count * page, PAGE_READWRITE, &old);
    }
};

// Memory the program maps itself, as a host does: 2 MiB aligned, made
// mergeable and backed by huge pages where the kernel gives them *before* it
// is registered, so that registration meets huge pages and merged pages.
class TrackerWatched : public Watched {
public:
    explicit TrackerWatched(size_t pages)
    {
        mapped_size_ = pages * page + huge_page;
        void *mapped = mmap(nullptr, mapped_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapped == MAP_FAILED)
            return;
        mapped_ = static_cast<char *>(mapped);
        auto aligned = (reinterpret_cast<uintptr_t>(mapped_) + huge_page - 1) & ~(huge_page - 1);
        base_ = reinterpret_cast<char *>(aligned);
        pages_ = pages;
        madvise(base_, pages * page, MADV_HUGEPAGE);
        madvise(base_, pages * page, MADV_MERGEABLE);
    }
    ~TrackerWatched() override
    {
        if (registered_)
            ww_range_unregister(base_, pages_ * page);
        if (mapped_)
            munmap(mapped_, mapped_size_);
    }
    // After the program filled the region.
    ww_status start()
    {
        ww_status status = ww_range_register(base_, pages_ * page);
        registered_ = status == WW_STATUS_SUCCESS;
        return status;
    }
    const char *name() const override { return "tracker"; }
    bool get(bool reset, void **addresses, ULONG_PTR *count) override
    {
        uintptr_t n = *count;
        ww_status status =
            ww_range_get_written(base_, pages_ * page, reset ? WW_WRITE_WATCH_FLAG_RESET : 0, addresses, &n);
        *count = n;
        CHECK_MSG(status == WW_STATUS_SUCCESS, "ww_range_get_written: 0x%x", (unsigned)status);
        return status == WW_STATUS_SUCCESS;
    }
    bool reset_all() override { return ww_range_reset(base_, pages_ * page) == WW_STATUS_SUCCESS; }
    bool discard(size_t first, size_t count) override
    {
        return ww_range_discard(base_ + first * page, count * page) == WW_STATUS_SUCCESS;
    }
    bool protect_round_trip(size_t first, size_t count) override
    {
        char *start = base_ + first * page;
        return mprotect(start, count * page, PROT_READ) == 0 &&
               ww_range_protection_changed(start, count * page) == WW_STATUS_SUCCESS &&
               mprotect(start, count * page, PROT_READ | PROT_WRITE) == 0 &&
               ww_range_protection_changed(start, count * page) == WW_STATUS_SUCCESS;
    }

private:
    char *mapped_ = nullptr;
    size_t mapped_size_ = 0;
    bool registered_ = false;
};

// ---- the events -------------------------------------------------------------

// What was done, how often, and the refusals; the kernel's counters are read
// around the whole run.
struct EventLog {
    std::atomic<long> pageouts{0}, colds{0}, compactions{0}, migrations_asked{0}, pages_moved{0}, forks{0},
        child_failures{0}, collapses_tried{0}, collapses_done{0}, frees{0}, discards{0}, protects{0},
        reclaims{0};
    std::atomic<int> collapse_errno{0};
};

class Mover {
public:
    Mover(Watched &region, EventLog &log) : region_(region), log_(log)
    {
        nodes_ = numa_nodes();
        can_compact_ = ::access("/proc/sys/vm/compact_memory", W_OK) == 0;
        reclaim_file_ = memcg_reclaim_file();
    }
    int nodes() const { return nodes_; }
    bool can_compact() const { return can_compact_; }
    const std::string &reclaim_file() const { return reclaim_file_; }

    char *at(size_t first) const { return region_.base() + first * page; }

    void page_out(size_t first, size_t count)
    {
        if (madvise(at(first), count * page, MADV_PAGEOUT) == 0)
            ++log_.pageouts;
    }
    void cool(size_t first, size_t count)
    {
        if (madvise(at(first), count * page, MADV_COLD) == 0)
            ++log_.colds;
    }
    void compact()
    {
        if (can_compact_ && write_text("/proc/sys/vm/compact_memory", "1"))
            ++log_.compactions;
    }
    // memory.reclaim fails (EAGAIN) unless it frees all it is asked for:
    // ask for little, from a cgroup holding this process's region.
    void reclaim()
    {
        if (!reclaim_file_.empty() && write_text(reclaim_file_.c_str(), "1M"))
            ++log_.reclaims;
    }
    // Every page of the range to the next node (there is one only with two).
    void migrate(size_t first, size_t count)
    {
        if (nodes_ < 2)
            return;
        std::vector<void *> addresses(count);
        std::vector<int> targets(count), status(count, -1);
        static int next = 0;
        next = (next + 1) % nodes_;
        for (size_t i = 0; i < count; ++i) {
            addresses[i] = at(first + i);
            targets[i] = next;
        }
        ++log_.migrations_asked;
        if (syscall(SYS_move_pages, 0, count, addresses.data(), targets.data(), status.data(), mpol_mf_move) >= 0)
            log_.pages_moved += std::count(status.begin(), status.end(), next);
    }
    // A huge page's worth, aligned: refused under the kernel backend and the
    // range tracker (uffd-wp PTEs, MADV_NOHUGEPAGE); counted, not required,
    // under the fault backend.
    void collapse()
    {
        auto start = (reinterpret_cast<uintptr_t>(region_.base()) + huge_page - 1) & ~(huge_page - 1);
        if (start + huge_page > reinterpret_cast<uintptr_t>(region_.base()) + region_.pages() * page)
            return;
        ++log_.collapses_tried;
        if (madvise(reinterpret_cast<void *>(start), huge_page, MADV_COLLAPSE) == 0)
            ++log_.collapses_done;
        else
            log_.collapse_errno = errno;
    }
    // fork(): the child writes its copy of some pages and checks that it sees
    // the parent's contents as they were (its shadow is the parent's shadow
    // at the fork); the parent then writes the same pages (copy-on-write on
    // its side). The child does only async-signal-safe work.
    bool fork_and_write(const char *shadow, size_t first, size_t count, bool check_contents)
    {
        pid_t child = fork();
        if (child < 0)
            return false;
        if (child == 0) {
            int bad = 0;
            for (size_t i = 0; i < count; ++i) {
                char *p = at(first + i);
                if (check_contents && std::memcmp(p, shadow + (first + i) * page, page) != 0)
                    ++bad;
                p[page / 2] ^= 0x5a;
            }
            _exit(bad ? 1 : 0);
        }
        int status = 0;
        waitpid(child, &status, 0);
        ++log_.forks;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ++log_.child_failures;
        return true;
    }

private:
    Watched &region_;
    EventLog &log_;
    int nodes_ = 1;
    bool can_compact_ = false;
    std::string reclaim_file_;
};

// ---- KSM's side ---------------------------------------------------------------

bool ksm_running() { return read_number("/sys/kernel/mm/ksm/run") == 1; }

// Pages of this process KSM has merged (-1: the kernel does not say).
long long ksm_merging_pages() { return read_number("/proc/self/ksm_merging_pages"); }

// Windows pages per system page: 1 on 4 KiB kernels, 4 on 16 KiB ones. The
// kernel keeps one written bit per system page, so a write to one Windows page
// reports the others of its system page too (allowed: SEMANTICS.md).
size_t pages_per_system_page()
{
    long size = sysconf(_SC_PAGESIZE);
    return size > long(page) ? size_t(size) / page : 1;
}

// Pages of [base, base + pages) that are present, mapped more than once
// (pagemap bit 63 set, bit 56 "exclusively mapped" clear) and not zero (the
// shared zero page backs freed pages read since). With no child alive that
// is what KSM leaves: one page for many identical ones.
long long shared_pages(const char *base, size_t pages)
{
    int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    // pagemap has one entry per system page
    const size_t per_system_page = pages_per_system_page();
    std::vector<uint64_t> entries((pages + per_system_page - 1) / per_system_page);
    ssize_t want = static_cast<ssize_t>(entries.size() * sizeof(uint64_t));
    off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(base) / (page * per_system_page) * sizeof(uint64_t));
    ssize_t got = ::pread(fd, entries.data(), want, at);
    ::close(fd);
    if (got != want)
        return -1;
    long long shared = 0;
    for (size_t i = 0; i < pages; ++i) {
        uint64_t entry = entries[i / per_system_page];
        shared += (entry >> 63 & 1) && !(entry >> 56 & 1) && std::memcmp(base + i * page, zeros, page) != 0;
    }
    return shared;
}

// An unwatched region of identical pages: proof that KSM works on this
// process while the watched region is kept out of it.
struct KsmControl {
    char *base = nullptr;
    size_t size = 0;
    explicit KsmControl(size_t pages) : size(pages * page)
    {
        void *mapped = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapped == MAP_FAILED)
            return;
        base = static_cast<char *>(mapped);
        madvise(base, size, MADV_NOHUGEPAGE);
        madvise(base, size, MADV_MERGEABLE); // for kernels before PR_SET_MEMORY_MERGE
        for (size_t i = 0; i < pages; ++i)
            std::memset(base + i * page, 0x33, page);
        // Locked in memory: written once, these pages are the coldest of the
        // process, and the memory cgroup's reclaim would swap them out before
        // KSM's two scans (it merges only pages in memory). KSM merges
        // locked pages.
        mlock(base, size);
    }
    // A read of every page. NUMA balancing makes cold PTEs PROT_NONE, and
    // 6.1's KSM does not look through those (its follow_page() refuses them)
    // until a fault restores them: reading them is that fault.
    void touch() const
    {
        for (size_t at = 0; base && at < size; at += page)
            (void)*static_cast<volatile const char *>(base + at);
    }
    ~KsmControl()
    {
        if (base)
            munmap(base, size);
    }
};

// ---- the checks -------------------------------------------------------------

// The region's content that no one wrote since: one byte pattern, the same on
// every such page, so KSM has identical clean pages to merge.
constexpr unsigned char same_byte = 0xa7;

void fill_unique(char *page_start, uint64_t seed)
{
    for (size_t offset = 0; offset < page; offset += sizeof(uint64_t)) {
        uint64_t value = seed * 0x9E3779B97F4A7C15ull + offset;
        std::memcpy(page_start + offset, &value, sizeof value);
    }
}

// Every page reported written, drained with reset in calls of 16.
bool drain_in_chunks(Watched &region, std::set<size_t> &reported)
{
    std::vector<void *> buffer(16);
    for (;;) {
        ULONG_PTR count = buffer.size();
        if (!region.get(true, buffer.data(), &count))
            return false;
        for (ULONG_PTR i = 0; i < count; ++i)
            reported.insert((static_cast<char *>(buffer[i]) - region.base()) / page);
        if (count < buffer.size())
            return true;
    }
}

struct Totals {
    uint64_t written = 0, lost = 0, clean_reported = 0, changed = 0, freed_zeroed = 0, freed_clean_reported = 0;
    uint64_t system_page_neighbours = 0;
};


// Rounds with one thread: reset, write a known set, move the memory, compare.
void exact_rounds(Watched &region, Mover &mover, EventLog &log, std::vector<char> &shadow, int rounds,
                  bool ksm, const KsmControl &control, Totals &totals)
{
    const size_t pages = region.pages();
    const size_t per_system_page = pages_per_system_page();
    Rng rng(7);
    for (int round = 0; round < rounds; ++round) {
        CHECK_MSG(region.reset_all(), "reset failed in round %d", round);
        std::set<size_t> written;
        // An eighth of the pages, half of them written with the shared
        // pattern (identical to the clean pages around them). KSM merges
        // system pages: a shared-pattern write fills the whole system page,
        // so that on 16 KiB kernels too there are identical pages to merge.
        for (size_t n = 0; n < pages / 8; ++n) {
            size_t index = rng.below(pages);
            if (rng.below(2)) {
                size_t first = index / per_system_page * per_system_page;
                for (size_t i = first; i < first + per_system_page; ++i) {
                    std::memset(region.base() + i * page, same_byte, page);
                    std::memset(&shadow[i * page], same_byte, page);
                    written.insert(i);
                }
            } else {
                char *p = region.base() + index * page;
                fill_unique(p, (uint64_t(round) << 32) | index);
                std::memcpy(&shadow[index * page], p, page);
                written.insert(index);
            }
        }
        const size_t chunk = 128;
        auto random_chunk = [&] { return rng.below(pages / chunk) * chunk; };
        mover.page_out(random_chunk(), chunk);
        mover.page_out(random_chunk(), chunk);
        mover.cool(random_chunk(), chunk);
        mover.migrate(random_chunk(), chunk);
        if (round % 4 == 0)
            mover.compact();
        mover.reclaim();
        mover.collapse();
        // Copy-on-write on both sides: the child writes its copy, then the
        // parent writes the same pages.
        size_t fork_first = rng.below(pages - 8);
        mover.fork_and_write(shadow.data(), fork_first, 8, true);
        for (size_t i = fork_first; i < fork_first + 8; ++i) {
            char *p = region.base() + i * page;
            p[16] ^= 0x11;
            shadow[i * page + 16] ^= 0x11;
            written.insert(i);
        }
        // MEM_RESET and the program's own MADV_FREE: the contents may go (to
        // zeros). MEM_RESET keeps the written state exactly. A page the kernel
        // drops after MADV_FREE keeps no write-protect state at all (its PTE
        // is gone), so on the kernel backend such a page may read as written:
        // allowed for the pages the program freed itself, nowhere else.
        std::set<size_t> may_be_zero, freed_by_program;
        size_t freed = random_chunk(), reset = random_chunk();
        if (madvise(region.base() + freed * page, 16 * page, MADV_FREE) == 0)
            ++log.frees;
        if (region.discard(reset, 16))
            ++log.discards;
        for (size_t i = 0; i < 16; ++i) {
            freed_by_program.insert(freed + i);
            may_be_zero.insert(freed + i);
            may_be_zero.insert(reset + i);
        }
        mover.page_out(freed, 16); // lazily freed pages are dropped on reclaim
        if (region.protect_round_trip(random_chunk(), chunk))
            ++log.protects;
        if (ksm) {
            control.touch();
            std::this_thread::sleep_for(std::chrono::milliseconds(150)); // KSM scans and merges
        }
        mover.page_out(random_chunk(), chunk);

        // Half the rounds read the written state while pages are out, half
        // after reading the contents brought them back in.
        std::set<size_t> reported;
        bool read_first = round % 2 == 0;
        if (read_first)
            CHECK_MSG(drain_in_chunks(region, reported), "drain failed in round %d", round);
        for (size_t i = 0; i < pages; ++i) {
            char *p = region.base() + i * page;
            char *expected = &shadow[i * page];
            if (std::memcmp(p, expected, page) == 0)
                continue;
            if (may_be_zero.count(i) && std::memcmp(p, zeros, page) == 0) {
                ++totals.freed_zeroed;
                std::memcpy(expected, p, page);
                continue;
            }
            if (totals.changed < 5)
                std::fprintf(stderr, "round %d: page %zu changed\n", round, i);
            ++totals.changed;
            std::memcpy(expected, p, page);
        }
        if (!read_first)
            CHECK_MSG(drain_in_chunks(region, reported), "drain failed in round %d", round);
        size_t lost = 0, clean = 0;
        std::set<size_t> written_system_pages;
        for (size_t index : written) {
            lost += !reported.count(index);
            written_system_pages.insert(index / per_system_page);
        }
        for (size_t index : reported) {
            if (written.count(index))
                continue;
            if (written_system_pages.count(index / per_system_page))
                ++totals.system_page_neighbours;
            else if (freed_by_program.count(index))
                ++totals.freed_clean_reported;
            else
                ++clean;
        }
        if (lost || clean)
            std::fprintf(stderr, "round %d: %zu written, %zu reported, %zu lost, %zu clean reported\n", round,
                         written.size(), reported.size(), lost, clean);
        totals.written += written.size();
        totals.lost += lost;
        totals.clean_reported += clean;
    }
}

struct ConcurrentResult {
    uint64_t writes = 0, drains = 0, losses = 0, ambiguous = 0;
    bool balanced = true;
    uint64_t changed = 0;
    double seconds = 0;
};

constexpr uint64_t min_concurrent_writes = 1000;

// Writers and a reader draining in calls of 16 while the mover moves pages.
ConcurrentResult concurrent_phase(Watched &region, Mover &mover, std::vector<char> &shadow, double seconds)
{
    const size_t pages = region.pages();
    WriteChecker checker(pages);
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 3; ++t)
        threads.emplace_back(
            [&, t] { windowed_writes(checker, region.base(), pages, t + 11, stop, shadow.data()); });
    threads.emplace_back([&] {
        Rng rng(5);
        const size_t chunk = 128;
        for (unsigned n = 0; !stop.load(std::memory_order_relaxed); ++n) {
            size_t first = rng.below(pages / chunk) * chunk;
            switch (n % 6) {
            case 0: mover.page_out(first, chunk); break;
            case 1: mover.cool(first, chunk); break;
            case 2: mover.migrate(first, chunk); break;
            case 3: mover.fork_and_write(shadow.data(), first, 4, false); break;
            case 4: mover.collapse(); break;
            case 5: if (n % 24 == 5) mover.compact(); break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    std::vector<void *> buffer(pages);
    auto get_and_reset = [&](void **addresses, ULONG_PTR *count) { return region.get(true, addresses, count); };
    ConcurrentResult result;
    auto start = std::chrono::steady_clock::now();
    // Under software emulation on a loaded host the writers can crawl (the
    // fault backend's first writes are signals): go on until enough writes
    // mean something, at most ten times as long.
    auto more = [&] {
        double elapsed = seconds_since(start);
        return elapsed < seconds || (checker.writes() <= min_concurrent_writes && elapsed < 10 * seconds);
    };
    while (more()) {
        if (drain_once_with(checker, region.base(), pages, buffer, 16, get_and_reset) < 0)
            break;
        ++result.drains;
    }
    result.seconds = seconds_since(start);
    stop = true;
    for (auto &thread : threads)
        thread.join();
    for (;;) {
        long count = drain_once_with(checker, region.base(), pages, buffer, pages, get_and_reset);
        if (count < 0 || static_cast<size_t>(count) < pages)
            break;
    }
    checker.settle();
    result.writes = checker.writes();
    result.losses = checker.losses();
    result.ambiguous = checker.ambiguous();
    result.balanced = checker.balanced();
    for (size_t i = 0; i < pages; ++i)
        result.changed += std::memcmp(region.base() + i * page, &shadow[i * page], page) != 0;
    return result;
}

struct Options {
    std::string front = "win32";
    double seconds = 4.0;
    int rounds = 16;
    bool expect_clean_reports = false;
};

Options parse(int argc, char **argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--front" && i + 1 < argc)
            options.front = argv[++i];
        else if (arg == "--seconds" && i + 1 < argc)
            options.seconds = std::atof(argv[++i]);
        else if (arg == "--rounds" && i + 1 < argc)
            options.rounds = std::atoi(argv[++i]);
        else if (arg == "--expect-clean-reports")
            options.expect_clean_reports = true;
        else {
            std::fprintf(stderr, "usage: %s [--front win32|tracker] [--seconds S] [--rounds N] "
                                 "[--expect-clean-reports]\n", argv[0]);
            std::exit(2);
        }
    }
    if (options.front != "win32" && options.front != "tracker") {
        std::fprintf(stderr, "--front: win32 or tracker\n");
        std::exit(2);
    }
    return options;
}

// One line per event: what was done, what the kernel counted, and whether
// that is enough. Returns false for an event that should have happened and
// left no trace.
bool report_event(const char *event, bool available, const char *unavailable_reason, bool happened,
                  const std::string &evidence)
{
    const char *verdict = !available ? "not here" : happened ? "happened" : "NO TRACE";
    std::printf("  %-14s %-9s %s%s\n", event, verdict, available ? "" : unavailable_reason, evidence.c_str());
    return !available || happened;
}

long long delta(const Counters &before, const Counters &after, const char *key)
{
    auto b = before.find(key), a = after.find(key);
    return a == after.end() ? 0 : a->second - (b == before.end() ? 0 : b->second);
}

// " key +N" for each counter the kernel has.
std::string counted(const Counters &before, const Counters &after, std::initializer_list<const char *> keys)
{
    std::string text;
    for (const char *key : keys) {
        if (!after.count(key))
            continue;
        char item[96];
        std::snprintf(item, sizeof item, " %s +%lld", key, delta(before, after, key));
        text += item;
    }
    return text;
}

std::string said(const char *format, long long a, long long b = 0)
{
    char text[160];
    std::snprintf(text, sizeof text, format, a, b);
    return text;
}

} // namespace

int main(int argc, char **argv)
{
    const Options options = parse(argc, argv);
    ww_backend_kind backend = backend_or_skip("moving-memory");
    const bool tracker = options.front == "tracker";
    // The range tracker is the kernel backend's core: it has no fault side.
    if (tracker && (backend != WW_BACKEND_KERNEL || ww_range_tracker_status() != WW_STATUS_SUCCESS)) {
        std::printf("moving-memory [%s, tracker]: SKIP: the range tracker runs on the kernel backend only\n",
                    ww_backend_name(backend));
        return 77;
    }
    // KSM for every mapping of the process, as some distributions' daemons
    // ask for: the library must keep watched memory out all the same.
    const bool merge_any = prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) == 0;
    const size_t pages = 2048;
    const Counters before = read_vmstat();

    std::unique_ptr<Watched> region;
    ww_status registered = WW_STATUS_SUCCESS;
    if (tracker) {
        auto mapped = std::make_unique<TrackerWatched>(pages);
        if (mapped->base()) {
            std::memset(mapped->base(), same_byte, pages * page); // huge pages where the kernel gives them
            registered = mapped->start();
        }
        region = std::move(mapped);
    } else {
        region = std::make_unique<Win32Watched>(pages);
        if (region->base())
            std::memset(region->base(), same_byte, pages * page);
    }
    if (!region->base() || registered != WW_STATUS_SUCCESS) {
        std::printf("moving-memory: could not make the watched region (error %u, status 0x%x)\n",
                    (unsigned)GetLastError(), (unsigned)registered);
        return 1;
    }
    // Whether the library keeps watched pages out of KSM here: the kernel
    // backend does, unless its defence is off (WRITEWATCH_KSM_DEFENCE=off).
    const char *defence = std::getenv("WRITEWATCH_KSM_DEFENCE");
    const bool kept_out = backend == WW_BACKEND_KERNEL && !(defence && std::strcmp(defence, "off") == 0);
    // Before PR_SET_MEMORY_MERGE (kernels before 6.4) nothing made the
    // VirtualAlloc'd region mergeable; where the library leaves it to KSM,
    // the program asks for it itself, as merge-any would have.
    if (!merge_any && !kept_out && !tracker)
        madvise(region->base(), pages * page, MADV_MERGEABLE);
    const Counters after_fill = read_vmstat();
    std::vector<char> shadow(pages * page, static_cast<char>(same_byte));
    CHECK_MSG(region->reset_all(), "the first reset failed");
    KsmControl control(1024);
    const bool ksm = ksm_running();
    EventLog log;
    Mover mover(*region, log);

    const double seconds = budget(options.seconds);
    ConcurrentResult concurrent = concurrent_phase(*region, mover, shadow, seconds);
    Totals totals;
    exact_rounds(*region, mover, log, shadow, options.rounds, ksm, control, totals);
    const long long merging = ksm_merging_pages();
    const long long watched_merged = shared_pages(region->base(), pages);
    const Counters after = read_vmstat();

    const char *name = ww_backend_name(backend);
    const char *front = region->name();
    std::printf("moving-memory [%s, %s]: concurrent %.1f s: %llu writes by 3 threads, %llu drains of 16, "
                "lost %llu (ambiguous %llu), changed %llu\n",
                name, front, concurrent.seconds, (unsigned long long)concurrent.writes, (unsigned long long)concurrent.drains,
                (unsigned long long)concurrent.losses, (unsigned long long)concurrent.ambiguous,
                (unsigned long long)concurrent.changed);
    std::printf("moving-memory [%s, %s]: exact rounds %d: written %llu, lost %llu, clean reported %llu, "
                "changed %llu (pages found zeroed after MEM_RESET or MADV_FREE %llu; clean pages the program "
                "freed itself reported %llu; unwritten pages reported with a written one of their %zu KiB system "
                "page %llu)\n",
                name, front, options.rounds, (unsigned long long)totals.written, (unsigned long long)totals.lost,
                (unsigned long long)totals.clean_reported, (unsigned long long)totals.changed,
                (unsigned long long)totals.freed_zeroed, (unsigned long long)totals.freed_clean_reported,
                pages_per_system_page() * page / 1024, (unsigned long long)totals.system_page_neighbours);

    std::printf("moving-memory [%s, %s]: events (kernel counters over the run)\n", name, front);
    bool traced = true;
    const bool swap = swap_on();
    traced &= report_event("swap-out", swap, "no swap is on", delta(before, after, "pswpout") > 0,
                           said(" MADV_PAGEOUT x%lld;", log.pageouts) + counted(before, after, {"pswpout"}));
    traced &= report_event("swap-in", swap, "no swap is on", delta(before, after, "pswpin") > 0,
                           counted(before, after, {"pswpin"}));
    traced &= report_event("cold", true, "", log.colds > 0, said(" MADV_COLD x%lld;", log.colds) +
                           counted(before, after, {"pgdeactivate"}));
    traced &= report_event("memcg-reclaim", !mover.reclaim_file().empty(), "no cgroup v2 memory.reclaim",
                           log.reclaims > 0, said(" memory.reclaim x%lld;", log.reclaims) +
                           counted(before, after, {"pgsteal_proactive", "pgscan_proactive"}));
    traced &= report_event("compaction", mover.can_compact(), "compact_memory not writable (not root)",
                           delta(before, after, "compact_migrate_scanned") + delta(before, after, "compact_isolated") > 0,
                           said(" compact_memory x%lld;", log.compactions) +
                           counted(before, after, {"compact_migrate_scanned", "compact_isolated", "pgmigrate_success"}));
    traced &= report_event("numa-migrate", mover.nodes() >= 2, "one NUMA node",
                           log.pages_moved > 0 && delta(before, after, "pgmigrate_success") > 0,
                           said(" move_pages x%lld, %lld pages moved;", log.migrations_asked, log.pages_moved) +
                           counted(before, after, {"pgmigrate_success", "numa_pages_migrated"}));
    const bool balancing = mover.nodes() >= 2 && read_number("/proc/sys/kernel/numa_balancing") == 1;
    traced &= report_event("numa-balance", balancing, "one NUMA node or balancing off",
                           delta(before, after, "numa_hint_faults") > 0,
                           counted(before, after, {"numa_hint_faults", "numa_pages_migrated"}));
    traced &= report_event("fork-cow", true, "", log.forks > 0,
                           said(" fork x%lld, children that saw other contents %lld;", log.forks, log.child_failures));
    CHECK_MSG(log.child_failures == 0, "%ld children saw contents other than the parent's", log.child_failures.load());
    const bool thp_formed = delta(before, after_fill, "thp_fault_alloc") > 0;
    traced &= report_event("thp-split", tracker && thp_formed, "no huge page under the region (kept out before it was filled)",
                           delta(before, after, "thp_split_pmd") > 0,
                           counted(before, after, {"thp_fault_alloc", "thp_split_pmd", "thp_split_page"}));
    // The kernel backend keeps watched memory out of THP: there a collapse
    // must be refused. The fault backend protects 4K pages one by one, which
    // splits any huge page it meets, so a collapse is harmless there.
    std::printf("  %-14s %-9s MADV_COLLAPSE x%ld, done %ld (last refusal: %s);%s\n", "thp-collapse",
                log.collapses_done ? "happened" : "refused", log.collapses_tried.load(), log.collapses_done.load(),
                log.collapse_errno ? std::strerror(log.collapse_errno) : "none",
                counted(before, after, {"thp_collapse_alloc"}).c_str());
    if (backend == WW_BACKEND_KERNEL)
        CHECK_MSG(log.collapses_done == 0, "a huge page was collapsed under kernel-tracked memory");
    traced &= report_event("madv-free", true, "", log.frees > 0 && delta(before, after, "pglazyfree") > 0,
                           said(" MADV_FREE x%lld;", log.frees) + counted(before, after, {"pglazyfree", "pglazyfreed"}));
    traced &= report_event("mem-reset", true, "", log.discards > 0, said(" x%lld", log.discards));
    traced &= report_event("protect", true, "", log.protects > 0, said(" read-only and back x%lld", log.protects));
    // KSM must have merged on this process. The fault backend lets it merge
    // watched pages too (a merged clean page stays read-only, so exact); the
    // kernel backend keeps watched pages out unless the defence is off.
    const bool ksm_reached = kept_out ? merging > 0 && watched_merged == 0 : merging > 0 && watched_merged > 0;
    traced &= report_event("ksm", ksm, "KSM is not running (/sys/kernel/mm/ksm/run)", ksm_reached,
                           said(" merge-any %lld, pages of this process merged %lld (1024 of them unwatched, identical);",
                                merge_any, merging) +
                               said(kept_out ? " watched pages merged at the end %lld (kept out: must be 0);"
                                             : " watched pages merged at the end %lld;", watched_merged) +
                               counted(before, after, {"cow_ksm"}));

    const char *program = tracker ? "moving-memory (tracker)" : "moving-memory";
    CHECK_MSG(traced, "an event that should have happened left no trace in the kernel's counters");
    CHECK_MSG(concurrent.losses == 0, "%llu writes lost while memory moved", (unsigned long long)concurrent.losses);
    CHECK_MSG(concurrent.balanced, "the write checker's accounts do not balance");
    CHECK_MSG(concurrent.writes > min_concurrent_writes, "too few writes (%llu) to mean anything",
              (unsigned long long)concurrent.writes);
    CHECK_MSG(concurrent.changed == 0, "%llu pages changed in the concurrent phase", (unsigned long long)concurrent.changed);
    CHECK_MSG(totals.lost == 0, "%llu writes lost in the exact rounds", (unsigned long long)totals.lost);
    CHECK_MSG(totals.changed == 0, "%llu pages changed in the exact rounds", (unsigned long long)totals.changed);
    if (options.expect_clean_reports)
        CHECK_MSG(totals.clean_reported > 0, "no clean page reported: this kernel did not show the KSM defect");
    else
        CHECK_MSG(totals.clean_reported == 0, "%llu clean pages reported written",
                  (unsigned long long)totals.clean_reported);
    return finish(program);
}
