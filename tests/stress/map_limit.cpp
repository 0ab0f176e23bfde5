// Resource limits: what happens when the fault backend's mappings approach
// vm.max_map_count. Every first write to a clean page changes the protection
// of that page alone, so writes to alternate pages split the allocation into
// one mapping per page. Without care the handler's mprotect fails with ENOMEM
// and the write faults forever. The library must keep the process running and
// lose no write (it may report extra pages), and calls that cannot be done
// must fail with an error.
//
// Runs in a child with a deadline, so a livelock or a crash is reported rather
// than hanging the suite. Kernel backend: the same writes never split mappings.
#include "stress_common.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

using namespace stress;

namespace {

long read_long(const char *path)
{
    std::ifstream in(path);
    long value = -1;
    in >> value;
    return value;
}

long count_mappings()
{
    std::ifstream in("/proc/self/maps");
    std::string line;
    long lines = 0;
    while (std::getline(in, line))
        ++lines;
    return lines;
}

struct Shared {
    std::atomic<long> writes_done;
    std::atomic<long> maps_before;
    std::atomic<long> maps_after_writes;
    std::atomic<long> maps_after_reset;
    std::atomic<long> reported;
    std::atomic<long> missing;
    std::atomic<long> extra;
    std::atomic<long> protect_failures;
    std::atomic<unsigned> protect_error;
    std::atomic<long> protect_ok;
};

int child(Shared *shared, size_t pages)
{
    char *base = static_cast<char *>(
        VirtualAlloc(nullptr, pages * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
    if (!base)
        return 10;
    shared->maps_before = count_mappings();
    for (size_t i = 0; i < pages; i += 2) {
        base[i * page] = 1;
        shared->writes_done.fetch_add(1, std::memory_order_relaxed);
    }
    shared->maps_after_writes = count_mappings();

    // Every written page must be reported; extra pages are allowed here.
    std::vector<void *> buffer(pages);
    ULONG_PTR count = pages;
    ULONG granularity = 0;
    if (GetWriteWatch(0, base, pages * page, buffer.data(), &count, &granularity) != 0)
        return 11;
    std::vector<char> seen(pages, 0);
    for (ULONG_PTR i = 0; i < count; ++i)
        seen[(static_cast<char *>(buffer[i]) - base) / page] = 1;
    long missing = 0, extra = 0;
    for (size_t i = 0; i < pages; ++i) {
        if (i % 2 == 0 && !seen[i])
            ++missing;
        if (i % 2 == 1 && seen[i])
            ++extra;
    }
    shared->reported = static_cast<long>(count);
    shared->missing = missing;
    shared->extra = extra;

    // Splitting by VirtualProtect at the limit: each call either works or
    // fails with an error; nothing crashes.
    long failures = 0, ok = 0;
    unsigned error = 0;
    for (size_t i = 1; i < pages; i += 4) {
        DWORD old = 0;
        if (VirtualProtect(base + i * page, page, PAGE_READONLY, &old))
            ++ok;
        else {
            ++failures, error = GetLastError();
            // A failed call changes nothing: the page is still read-write.
            MEMORY_BASIC_INFORMATION info{};
            if (VirtualQuery(base + i * page, &info, sizeof(info)) != sizeof(info) ||
                info.Protect != PAGE_READWRITE)
                return 16;
            base[i * page + 1] = 3; // and writable (a crash here fails the test)
        }
    }
    shared->protect_failures = failures;
    shared->protect_ok = ok;
    shared->protect_error = error;

    // A full reset joins everything again (it may itself fail at the limit).
    count = pages;
    if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, base, pages * page, buffer.data(), &count, &granularity) != 0)
        return 12;
    shared->maps_after_reset = count_mappings();
    // Tracking still exact afterwards on a page that is not read-only.
    base[2 * page] = 2;
    count = pages;
    if (GetWriteWatch(0, base, pages * page, buffer.data(), &count, &granularity) != 0)
        return 13;
    if (count != 1 || buffer[0] != base + 2 * page)
        return 14;
    return VirtualFree(base, 0, MEM_RELEASE) ? 0 : 15;
}

} // namespace

int main()
{
    ww_backend_kind backend = backend_or_skip("map-limit");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // The sanitizer runtimes need mappings of their own: at the limit their
    // mmap fails and they abort, whatever the library does.
    std::printf("map-limit: SKIP under a sanitizer runtime\n");
    return 77;
#endif
    long max_map_count = read_long("/proc/sys/vm/max_map_count");
    // Enough alternate pages to need about 1.2 times the limit in mappings.
    size_t pages = static_cast<size_t>(max_map_count > 0 ? max_map_count : 65530) * 6 / 5;
    auto *shared = static_cast<Shared *>(
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    new (shared) Shared{};
    auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
        alarm(static_cast<unsigned>(budget(60)));
        _exit(child(shared, pages));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    double took = seconds_since(start);
    std::printf("map-limit [%s]: vm.max_map_count %ld, region %zu pages, writes to alternate pages done %ld "
                "in %.1f s; mappings before %ld, after writes %ld, after reset %ld; reported %ld "
                "(missing %ld, extra %ld); VirtualProtect of single pages: %ld ok, %ld failed (last error %u)\n",
                ww_backend_name(backend), max_map_count, pages, shared->writes_done.load(), took,
                shared->maps_before.load(), shared->maps_after_writes.load(), shared->maps_after_reset.load(),
                shared->reported.load(), shared->missing.load(), shared->extra.load(), shared->protect_ok.load(),
                shared->protect_failures.load(), shared->protect_error.load());
    if (WIFSIGNALED(status))
        CHECK_MSG(false, "child killed by signal %d (%s)", WTERMSIG(status),
                  WTERMSIG(status) == SIGALRM ? "deadline: livelock" : strsignal(WTERMSIG(status)));
    else
        CHECK_MSG(WEXITSTATUS(status) == 0, "child exit status %d", WEXITSTATUS(status));
    CHECK_MSG(shared->missing.load() == 0, "%ld written pages not reported", shared->missing.load());
    if (backend == WW_BACKEND_KERNEL)
        CHECK_MSG(shared->extra.load() == 0, "kernel backend reported %ld unwritten pages", shared->extra.load());
    return finish("map-limit");
}
