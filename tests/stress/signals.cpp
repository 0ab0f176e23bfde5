// Signals and the fault backend's SIGSEGV handler:
//  - an application handler installed before the library gets the faults the
//    library does not own;
//  - one installed after it calls ww_handle_fault first;
//  - a real crash at an unwatched address still ends the process by SIGSEGV;
//  - writes to watched memory from a signal handler are tracked (both
//    backends), also while the interrupted thread is inside GetWriteWatch.
// The coexistence cases force the fault backend with ww_set_backend; each case
// runs in its own child process.
#include "stress_common.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

using namespace stress;

namespace {

char *app_page;                       // PROT_NONE page the application handler fixes
std::atomic<int> app_faults{0};    // faults seen by the application handler
sigjmp_buf escape;                    // for faults the application handler cannot fix
std::atomic<int> escapes{0};

void app_action(siginfo_t *info)
{
    ++app_faults;
    char *address = static_cast<char *>(info->si_addr);
    if (address >= app_page && address < app_page + page) {
        mprotect(app_page, page, PROT_READ | PROT_WRITE);
        return;
    }
    ++escapes;
    siglongjmp(escape, 1);
}

void app_handler_first(int, siginfo_t *info, void *) { app_action(info); }

void app_handler_after(int signal, siginfo_t *info, void *context)
{
    if (ww_handle_fault(signal, info, context))
        return;
    app_action(info);
}

void install(void (*handler)(int, siginfo_t *, void *))
{
    struct sigaction action {};
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &action, nullptr);
}

std::vector<size_t> written(char *base, size_t pages, uint32_t flags = 0)
{
    std::vector<void *> buffer(pages);
    uintptr_t count = pages;
    uint32_t granularity = 0;
    ww_status status = ww_get_write_watch(WW_CURRENT_PROCESS, flags, base, pages * page, buffer.data(), &count,
                                          &granularity);
    std::vector<size_t> result;
    if (status != WW_STATUS_SUCCESS) {
        CHECK_MSG(false, "ww_get_write_watch: 0x%x", (unsigned)status);
        return result;
    }
    for (uintptr_t i = 0; i < count; ++i)
        result.push_back((static_cast<char *>(buffer[i]) - base) / page);
    return result;
}

// Fault-backend coexistence with an application handler. 'before': installed
// before the library's; else after it, calling ww_handle_fault.
int coexist(bool before)
{
    app_page = static_cast<char *>(mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (before)
        install(app_handler_first);
    if (ww_set_backend(WW_BACKEND_FAULT) != WW_STATUS_SUCCESS)
        return 20;
    char *base = static_cast<char *>(VirtualAlloc(nullptr, 16 * page, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_NOACCESS));
    if (!base || !VirtualAlloc(base, 8 * page, MEM_COMMIT, PAGE_READWRITE))
        return 21;
    if (!before)
        install(app_handler_after);
    base[3 * page] = 1; // watched: the library's, invisible to the application
    base[5 * page + 100] = 1;
    if (app_faults != 0)
        return 22;
    app_page[7] = 1; // unwatched: the application's handler fixes it
    if (app_faults != 1 || app_page[7] != 1)
        return 23;
    // A write to an uncommitted page of the watched allocation is not the
    // library's to resolve: it reaches the application.
    if (sigsetjmp(escape, 1) == 0)
        base[12 * page] = 1;
    if (escapes != 1 || app_faults != 2)
        return 24;
    // So does a read of a no-access page.
    DWORD old;
    if (!VirtualProtect(base + 6 * page, page, PAGE_NOACCESS, &old))
        return 25;
    if (sigsetjmp(escape, 1) == 0)
        (void)*(volatile char *)(base + 6 * page);
    if (escapes != 2 || app_faults != 3)
        return 26;
    std::vector<size_t> pages = written(base, 16);
    if (pages != std::vector<size_t>{3, 5})
        return 27;
    return 0;
}

// A real crash with the library's handler installed: 'what' selects the address.
int crash(int what)
{
    if (ww_set_backend(WW_BACKEND_FAULT) != WW_STATUS_SUCCESS)
        return 20;
    char *base = static_cast<char *>(VirtualAlloc(nullptr, 16 * page, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                                                  PAGE_READWRITE));
    if (!base)
        return 21;
    base[0] = 1;
    char *unwatched = static_cast<char *>(mmap(nullptr, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    DWORD old;
    switch (what) {
    case 0:
        *(volatile char *)unwatched = 1; // read-only unwatched page
        break;
    case 1: { // just above NULL (UBSan reports a store to NULL itself instead of letting it fault)
        volatile uintptr_t near_null = 16;
        *reinterpret_cast<volatile char *>(near_null) = 1;
        break;
    }
    case 2: // read-only watched page: an access violation on Windows too
        VirtualProtect(base + page, page, PAGE_READONLY, &old);
        *(volatile char *)(base + page) = 1;
        break;
    }
    return 0; // survived: wrong
}

// Signal handlers writing to watched memory (backend from the environment).
WriteChecker *checker;
char *signal_base;
size_t signal_pages;
uint64_t signal_rng = 12345;
std::atomic<int> handler_runs{0};

void write_from_handler(int)
{
    int saved = errno;
    ++handler_runs;
    // xorshift, inline: async-signal-safe.
    for (int attempt = 0; attempt < 4; ++attempt) {
        signal_rng ^= signal_rng << 13, signal_rng ^= signal_rng >> 7, signal_rng ^= signal_rng << 17;
        if (checker->write(signal_base, signal_rng % signal_pages, signal_rng))
            break;
    }
    errno = saved;
}

int handler_writes(const char *backend_name)
{
    signal_pages = 512;
    signal_base = static_cast<char *>(VirtualAlloc(nullptr, signal_pages * page,
                                                   MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE));
    if (!signal_base)
        return 30;
    checker = new WriteChecker(signal_pages);
    struct sigaction action {};
    action.sa_handler = write_from_handler;
    action.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &action, nullptr);
    sigaction(SIGALRM, &action, nullptr);
    std::vector<void *> buffer(signal_pages);
    // raise(): the handler runs synchronously; each write is checked.
    for (int i = 0; i < 200; ++i) {
        raise(SIGUSR1);
        if (i % 7 == 0)
            drain_once(*checker, signal_base, signal_pages, buffer, 1 + i % 5);
    }
    // A fast timer interrupts the drainer, also inside GetWriteWatch.
    // (ualarm, not setitimer: Wine's windows.h brings its own struct timeval.)
    ualarm(100, 100);
    Rng rng(5);
    uint64_t calls = 0;
    auto start = std::chrono::steady_clock::now();
    // Past the budget until the timer has fired often enough (bounded).
    double elapsed;
    while ((elapsed = seconds_since(start)) < budget(1.5) || (handler_runs < 1200 && elapsed < 60)) {
        drain_once(*checker, signal_base, signal_pages, buffer, 1 + rng.below(32));
        ++calls;
    }
    ualarm(0, 0);
    drain_all(*checker, signal_base, signal_pages, buffer);
    checker->settle();
    std::printf("signals [%s]: handler runs %d, writes from handlers %llu, drain calls %llu, writes checked %llu, "
                "duplicates %llu, ambiguous %llu, losses %llu\n",
                backend_name, (int)handler_runs, (unsigned long long)checker->writes(), (unsigned long long)calls,
                (unsigned long long)checker->checked(), (unsigned long long)checker->duplicates(),
                (unsigned long long)checker->ambiguous(), (unsigned long long)checker->losses());
    std::fflush(stdout);
    if (checker->losses() || !checker->balanced() || handler_runs < 1000)
        return 31;
    return 0;
}

int run_child(const char *what, const std::function<int()> &body, int expect_signal = 0)
{
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(60);
        _exit(body());
    }
    int status = 0;
    waitpid(pid, &status, 0);
    bool ok = expect_signal ? (WIFSIGNALED(status) && WTERMSIG(status) == expect_signal)
                            : (WIFEXITED(status) && WEXITSTATUS(status) == 0);
    std::printf("  %-58s %s (%s %d)\n", what, ok ? "ok" : "FAILED", WIFSIGNALED(status) ? "signal" : "exit",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    CHECK_MSG(ok, "%s", what);
    return ok;
}

} // namespace

int main()
{
    ww_backend_kind backend = backend_or_skip("signals");
    std::printf("signals [%s]:\n", ww_backend_name(backend));
    run_child("app SIGSEGV handler installed before the library", [] { return coexist(true); });
    run_child("app SIGSEGV handler installed after, calls ww_handle_fault", [] { return coexist(false); });
    run_child("crash: write to an unwatched read-only page -> SIGSEGV", [] { return crash(0); }, SIGSEGV);
    run_child("crash: write to NULL + 16 -> SIGSEGV", [] { return crash(1); }, SIGSEGV);
    run_child("crash: write to a read-only watched page -> SIGSEGV", [] { return crash(2); }, SIGSEGV);
    const char *name = ww_backend_name(backend);
#if defined(__SANITIZE_THREAD__)
    // ThreadSanitizer runs asynchronous signal handlers deferred, from its own
    // wrapper; a fault-backend fault taken there kills the process.
    if (backend == WW_BACKEND_FAULT) {
        std::printf("  writes from signal handlers: skipped (ThreadSanitizer, fault backend)\n");
        return finish("signals");
    }
#endif
    run_child("writes from SIGUSR1/SIGALRM handlers are tracked", [name] { return handler_writes(name); });
    return finish("signals");
}
