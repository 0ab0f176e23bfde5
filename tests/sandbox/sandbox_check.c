/* Which backend the library chooses by itself, and whether its answers are
 * exact there: run as a normal user, or under refuse-kernel-calls (a
 * sandbox's seccomp filter).
 *
 *   sandbox-check kernel|fault
 *
 * The argument is the backend the automatic choice must give. The program
 * says what the kernel offered, then on a watched allocation: three stores,
 * a read(2) the kernel makes into a fourth page, GetWriteWatch with reset
 * (exactly those four pages), a second call (none), a decommit of one page.
 * Where the kernel backend is refused, asking for it must fail with
 * WW_STATUS_NOT_SUPPORTED and change nothing. Exit 0 when all held, 1 when
 * one did not, 2 on bad usage. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "writewatch/writewatch.h"

#define PAGES 64

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    if (!ok)
        failures++;
}

/* A read(2) from a pipe: the kernel, not the program, writes the page. */
static int kernel_writes(char *destination)
{
    int fds[2];
    ssize_t got;

    if (pipe(fds) != 0)
        return 0;
    got = write(fds[1], "received", 8) == 8 && ww_prepare_kernel_write(destination, 8) == WW_STATUS_SUCCESS
              ? read(fds[0], destination, 8)
              : -1;
    close(fds[0]);
    close(fds[1]);
    return got == 8;
}

static int written_pages_are(char *base, const unsigned *expected, unsigned count)
{
    void *addresses[PAGES];
    uintptr_t found = PAGES;
    uint32_t granularity = 0;
    unsigned i;

    if (ww_get_write_watch(WW_CURRENT_PROCESS, WW_WRITE_WATCH_FLAG_RESET, base, PAGES * WW_PAGE_SIZE, addresses, &found,
                           &granularity) != WW_STATUS_SUCCESS ||
        found != count || granularity != WW_PAGE_SIZE)
        return 0;
    for (i = 0; i < count; i++)
        if (addresses[i] != base + expected[i] * WW_PAGE_SIZE)
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    static const unsigned stored[] = {3, 17, 40, 41};
    struct ww_kernel_features features;
    ww_backend_kind expected;
    void *base = NULL;
    size_t size = PAGES * WW_PAGE_SIZE;
    ww_status status;
    char *memory;

    if (argc != 2 || (strcmp(argv[1], "kernel") != 0 && strcmp(argv[1], "fault") != 0)) {
        fprintf(stderr, "usage: %s kernel|fault\n", argv[0]);
        return 2;
    }
    expected = strcmp(argv[1], "kernel") == 0 ? WW_BACKEND_KERNEL : WW_BACKEND_FAULT;

    ww_get_kernel_features(&features);
    printf("uid %u; userfaultfd %s%s, PAGEMAP_SCAN %s, kernel backend %s%s%s\n", (unsigned)getuid(),
           features.userfaultfd ? "yes" : "no", features.user_mode_only ? " (UFFD_USER_MODE_ONLY)" : "",
           features.pagemap_scan ? "yes" : "no", features.kernel_backend_usable ? "usable" : "not usable",
           features.why_not[0] ? ": " : "", features.why_not);
    printf("chosen backend: %s\n", ww_backend_name(ww_get_backend()));
    check(ww_get_backend() == expected, "the automatic choice is the expected backend");
    if (expected == WW_BACKEND_FAULT) {
        check(ww_set_backend(WW_BACKEND_KERNEL) == WW_STATUS_NOT_SUPPORTED,
              "asking for the kernel backend fails with WW_STATUS_NOT_SUPPORTED");
        check(ww_get_backend() == WW_BACKEND_FAULT, "and the fault backend stays chosen");
    }

    status = ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &size, WW_MEM_RESERVE | WW_MEM_COMMIT | WW_MEM_WRITE_WATCH,
                                        WW_PAGE_READWRITE);
    check(status == WW_STATUS_SUCCESS, "a watched allocation succeeds");
    if (status != WW_STATUS_SUCCESS) {
        printf("status %#x\n", (unsigned)status);
        return 1;
    }
    memory = base;
    check(ww_allocation_backend(memory) == expected, "the allocation is tracked by the expected backend");
    check(ww_reset_write_watch(WW_CURRENT_PROCESS, memory, size) == WW_STATUS_SUCCESS, "ResetWriteWatch succeeds");
    memory[stored[0] * WW_PAGE_SIZE] = 1;
    memory[stored[1] * WW_PAGE_SIZE + 100] = 2;
    memory[stored[2] * WW_PAGE_SIZE + WW_PAGE_SIZE - 1] = 3;
    check(kernel_writes(memory + stored[3] * WW_PAGE_SIZE + 16), "a read(2) into the fourth page succeeds");
    check(written_pages_are(memory, stored, 4), "GetWriteWatch with reset reports exactly the four pages");
    check(written_pages_are(memory, stored, 0), "a second call reports none");

    {
        /* A sandbox that refuses madvise(2) refuses the discard a decommit
         * makes: the call may fail, but then it must change nothing. */
        void *page = memory + 8 * WW_PAGE_SIZE;
        size_t one = WW_PAGE_SIZE;
        struct ww_memory_basic_information info;
        status = ww_free_virtual_memory(WW_CURRENT_PROCESS, &page, &one, WW_MEM_DECOMMIT);
        printf("decommit of one page: status %#x\n", (unsigned)status);
        check(ww_query_virtual_memory(WW_CURRENT_PROCESS, memory + 8 * WW_PAGE_SIZE, &info) == WW_STATUS_SUCCESS &&
                  info.state == (status == WW_STATUS_SUCCESS ? WW_MEM_RESERVE : WW_MEM_COMMIT),
              "the decommitted page is reserved, or committed as before when the decommit failed");
    }
    size = 0;
    check(ww_free_virtual_memory(WW_CURRENT_PROCESS, &base, &size, WW_MEM_RELEASE) == WW_STATUS_SUCCESS, "the release succeeds");
    printf("%s\n", failures ? "sandbox-check: FAILED" : "sandbox-check: all held");
    return failures ? 1 : 0;
}
