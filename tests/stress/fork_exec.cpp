// fork and exec:
//  - the parent's tracking is unaffected by a fork and by what the child does;
//  - in the child, inherited watches behave as the README says (kernel
//    backend: calls fail with STATUS_NOT_SUPPORTED; fault backend: the page
//    states and protections are inherited, so they keep working), and new
//    allocations work;
//  - every descriptor the library opens is close-on-exec: checked with
//    fcntl and by exec'ing this program, which lists the descriptors it got.
#include "stress_common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>

using namespace stress;

namespace {

std::vector<size_t> written(char *base, size_t pages, ww_status *status_out = nullptr, uint32_t flags = 0)
{
    std::vector<void *> buffer(pages);
    uintptr_t count = pages;
    uint32_t granularity = 0;
    ww_status status = ww_get_write_watch(WW_CURRENT_PROCESS, flags, base, pages * page, buffer.data(), &count,
                                          &granularity);
    if (status_out)
        *status_out = status;
    std::vector<size_t> result;
    if (status != WW_STATUS_SUCCESS) {
        if (!status_out)
            CHECK_MSG(false, "ww_get_write_watch: 0x%x", (unsigned)status);
        return result;
    }
    for (uintptr_t i = 0; i < count; ++i)
        result.push_back((static_cast<char *>(buffer[i]) - base) / page);
    return result;
}

std::string fd_target(int fd)
{
    char path[64], target[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    return n > 0 ? std::string(target, n) : std::string("?");
}

std::set<int> open_fds()
{
    std::set<int> fds;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return fds;
    int own = dirfd(dir);
    while (dirent *entry = readdir(dir))
        if (entry->d_name[0] != '.' && atoi(entry->d_name) != own)
            fds.insert(atoi(entry->d_name));
    closedir(dir);
    return fds;
}

// The exec'd helper: prints every descriptor above 2 it has.
int list_fds()
{
    for (int fd : open_fds())
        if (fd > 2)
            std::printf("%d %s\n", fd, fd_target(fd).c_str());
    return 0;
}

struct ChildReport {
    ww_status inherited_get;
    ww_status inherited_reset;
    int inherited_pages_ok;   // fault: pages {1, 3} reported
    int inherited_write_ok;   // a write to an inherited page did not crash
    ww_status new_alloc;
    int new_pages_ok;         // new allocation tracks exactly
    ww_backend_kind backend;
};

} // namespace

int main(int argc, char **argv)
{
    if (argc > 1 && std::strcmp(argv[1], "--list-fds") == 0)
        return list_fds();
    std::set<int> before = open_fds(); // before the library opens anything
    ww_backend_kind backend = backend_or_skip("fork-exec");
    const size_t pages = 64;
    char *base = static_cast<char *>(
        VirtualAlloc(nullptr, pages * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
    if (!base) {
        std::printf("fork-exec: VirtualAlloc failed\n");
        return 1;
    }
    base[1 * page] = 1;
    base[3 * page] = 1;

    auto *report = static_cast<ChildReport *>(
        mmap(nullptr, sizeof(ChildReport), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(30);
        ChildReport r{};
        r.backend = ww_allocation_backend(base);
        std::vector<size_t> got = written(base, pages, &r.inherited_get);
        r.inherited_pages_ok = got == std::vector<size_t>{1, 3};
        base[5 * page] = 1; // the child's own write to inherited memory
        base[1 * page] = 2;
        r.inherited_write_ok = 1;
        r.inherited_reset = ww_reset_write_watch(WW_CURRENT_PROCESS, base, pages * page);
        char *mine = static_cast<char *>(
            VirtualAlloc(nullptr, 16 * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
        r.new_alloc = mine ? WW_STATUS_SUCCESS : WW_STATUS_UNSUCCESSFUL;
        if (mine) {
            mine[2 * page] = 1;
            mine[9 * page + 5] = 1;
            ww_status status;
            bool first = written(mine, 16, &status, WW_WRITE_WATCH_FLAG_RESET) == std::vector<size_t>{2, 9};
            mine[4 * page] = 1;
            bool second = written(mine, 16, &status) == std::vector<size_t>{4};
            r.new_pages_ok = first && second && status == WW_STATUS_SUCCESS;
            VirtualFree(mine, 0, MEM_RELEASE);
        }
        *report = r;
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ended with status 0x%x", status);

    // The parent: exactly its own writes, before and after the fork.
    base[7 * page] = 1;
    std::vector<size_t> got = written(base, pages, nullptr, WW_WRITE_WATCH_FLAG_RESET);
    CHECK_MSG((got == std::vector<size_t>{1, 3, 7}), "parent after fork: %zu pages reported", got.size());
    base[9 * page] = 1;
    got = written(base, pages);
    CHECK_MSG((got == std::vector<size_t>{9}), "parent after reset: %zu pages reported", got.size());

    std::printf("fork-exec [%s]: child: inherited allocation backend %s, GetWriteWatch 0x%x (pages as "
                "before fork: %s), ResetWriteWatch 0x%x, write to inherited page ok: %s; new allocation 0x%x, "
                "tracks exactly: %s; parent after fork: exact\n",
                ww_backend_name(backend), ww_backend_name(report->backend), (unsigned)report->inherited_get,
                report->inherited_pages_ok ? "yes" : "no", (unsigned)report->inherited_reset,
                report->inherited_write_ok ? "yes" : "no", (unsigned)report->new_alloc,
                report->new_pages_ok ? "yes" : "no");
    CHECK_MSG(report->inherited_write_ok, "child could not write inherited memory");
    CHECK_MSG(report->new_alloc == WW_STATUS_SUCCESS && report->new_pages_ok, "child's new allocation");
    if (backend == WW_BACKEND_KERNEL) {
        // README: inherited kernel-backend watches fail with STATUS_NOT_SUPPORTED.
        CHECK_MSG(report->inherited_get == WW_STATUS_NOT_SUPPORTED, "child GetWriteWatch 0x%x",
                  (unsigned)report->inherited_get);
        CHECK_MSG(report->inherited_reset == WW_STATUS_NOT_SUPPORTED, "child ResetWriteWatch 0x%x",
                  (unsigned)report->inherited_reset);
    } else {
        CHECK_MSG(report->inherited_get == WW_STATUS_SUCCESS && report->inherited_pages_ok,
                  "fault backend child: inherited watch 0x%x", (unsigned)report->inherited_get);
        CHECK_MSG(report->inherited_reset == WW_STATUS_SUCCESS, "fault child reset 0x%x",
                  (unsigned)report->inherited_reset);
    }

    // Forks while other threads are inside the library: the child must be able
    // to use it (no lock left held by a thread that does not exist there).
    {
        std::atomic<bool> stop{false};
        std::vector<std::thread> busy;
        for (int t = 0; t < 2; ++t)
            busy.emplace_back([&, t] {
                std::vector<void *> out(pages);
                while (!stop.load()) {
                    uintptr_t count = pages;
                    uint32_t granularity;
                    ww_get_write_watch(WW_CURRENT_PROCESS, t, base, pages * page, out.data(), &count, &granularity);
                    void *p = VirtualAlloc(nullptr, page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
                    if (p)
                        VirtualFree(p, 0, MEM_RELEASE);
                }
            });
        int forks = 0, stuck = 0, bad = 0;
        auto start = std::chrono::steady_clock::now();
        while (seconds_since(start) < budget(1.0)) {
            pid_t child = fork();
            if (child == 0) {
                alarm(5);
                char *mine = static_cast<char *>(
                    VirtualAlloc(nullptr, 4 * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
                if (!mine)
                    _exit(3);
                mine[page] = 1;
                ww_status st;
                bool ok = written(mine, 4, &st) == std::vector<size_t>{1};
                _exit(ok ? 0 : 4);
            }
            int child_status = 0;
            waitpid(child, &child_status, 0);
            ++forks;
            if (WIFSIGNALED(child_status) && WTERMSIG(child_status) == SIGALRM)
                ++stuck;
            else if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0)
                ++bad;
        }
        stop = true;
        for (auto &thread : busy)
            thread.join();
        std::printf("fork-exec [%s]: %d forks during library calls in other threads: %d children stuck, %d failed\n",
                    ww_backend_name(backend), forks, stuck, bad);
        CHECK_MSG(stuck == 0 && bad == 0, "children after a fork during library calls: %d stuck, %d failed", stuck, bad);
    }

    // Descriptors: everything opened since start is close-on-exec...
    std::set<int> after = open_fds();
    int library_fds = 0;
    for (int fd : after) {
        if (before.count(fd))
            continue;
        ++library_fds;
        int flags = fcntl(fd, F_GETFD);
        CHECK_MSG(flags >= 0 && (flags & FD_CLOEXEC), "fd %d (%s) is not close-on-exec", fd, fd_target(fd).c_str());
        std::printf("  library fd %d -> %s: %s\n", fd, fd_target(fd).c_str(),
                    (flags & FD_CLOEXEC) ? "close-on-exec" : "INHERITED BY EXEC");
    }
    // ...and an exec'd program sees none of them.
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) == 0) {
        std::fflush(stdout);
        pid_t lister = fork();
        if (lister == 0) {
            dup2(pipe_fds[1], 1);
            execl("/proc/self/exe", argv[0], "--list-fds", static_cast<char *>(nullptr));
            _exit(127);
        }
        close(pipe_fds[1]);
        std::string output;
        char chunk[512];
        ssize_t n;
        while ((n = read(pipe_fds[0], chunk, sizeof chunk)) > 0)
            output.append(chunk, n);
        close(pipe_fds[0]);
        waitpid(lister, &status, 0);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exec'd lister failed");
        for (int fd : after)
            if (!before.count(fd))
                CHECK_MSG(output.find(fd_target(fd)) == std::string::npos, "exec'd program inherited %s",
                          fd_target(fd).c_str());
        std::printf("  exec'd program's descriptors above 2: %s\n", output.empty() ? "none" : output.c_str());
    }
    std::printf("fork-exec [%s]: %d descriptors opened by the library\n", ww_backend_name(backend), library_fds);
    if (backend == WW_BACKEND_KERNEL)
        CHECK_MSG(library_fds >= 2, "expected the userfaultfd and pagemap descriptors");
    VirtualFree(base, 0, MEM_RELEASE);
    return finish("fork-exec");
}
