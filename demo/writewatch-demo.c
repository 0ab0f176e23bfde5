/* The main job's demonstration: what the kernel offers, then for each usable
 * backend a watched region written in a known pattern and drained in chunks
 * with GetWriteWatch(WRITE_WATCH_FLAG_RESET), every answer checked. */
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "writewatch/writewatch.h"

#define REGION_PAGES 16384
#define CHUNK 1000
#define PAGE 4096

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *addresses[CHUNK];

/* Returns the number of wrong answers. */
static int demonstrate(ww_backend_kind backend)
{
    if (ww_set_backend(backend) != WW_STATUS_SUCCESS) {
        printf("  %-6s backend: not usable here\n", ww_backend_name(backend));
        return 0;
    }
    char *base = VirtualAlloc(NULL, REGION_PAGES * PAGE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    if (!base) {
        printf("  %-6s backend: VirtualAlloc failed, error %u\n", ww_backend_name(backend), GetLastError());
        return 1;
    }
    double start = now_us();
    size_t written = 0;
    for (size_t page = 0; page < REGION_PAGES; page += 3, ++written)
        base[page * PAGE + page % PAGE] = 1;
    double write_time = now_us() - start;

    int wrong = 0, chunks = 0;
    size_t next = 0, drained = 0;
    start = now_us();
    for (;;) {
        ULONG_PTR count = CHUNK;
        ULONG granularity = 0;
        if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, base, REGION_PAGES * PAGE, addresses, &count, &granularity)) {
            printf("  GetWriteWatch failed, error %u\n", GetLastError());
            ++wrong;
            break;
        }
        if (!count)
            break;
        ++chunks;
        wrong += granularity != PAGE;
        for (ULONG_PTR i = 0; i < count; ++i, next += 3)
            wrong += addresses[i] != base + next * PAGE;
        drained += count;
    }
    double drain_time = now_us() - start;
    wrong += drained != written;
    printf("  %-6s backend: %zu of %d pages written in %.0f us (%.0f ns/page), drained in %d chunks of <= %d in %.0f us: %s\n",
           ww_backend_name(backend), written, REGION_PAGES, write_time, write_time * 1000 / written, chunks, CHUNK,
           drain_time, wrong ? "WRONG ANSWERS" : "every answer checked and correct");
    VirtualFree(base, 0, MEM_RELEASE);
    return wrong;
}

int main(void)
{
    struct ww_kernel_features f;
    ww_get_kernel_features(&f);
    printf("writewatch demonstration\n");
    printf("kernel: userfaultfd %s%s, features %#llx, WP_ASYNC %s, WP_UNPOPULATED %s, PAGEMAP_SCAN %s, page %ld\n",
           f.userfaultfd ? "yes" : "no", f.user_mode_only ? " (user-mode-only)" : "",
           (unsigned long long)f.uffd_features, f.wp_async ? "yes" : "no", f.wp_unpopulated ? "yes" : "no",
           f.pagemap_scan ? "yes" : "no", f.host_page_size);
    printf("kernel backend: %s%s%s\n", f.kernel_backend_usable ? "usable" : "not usable",
           f.kernel_backend_usable ? "" : ": ", f.why_not);
    int wrong = demonstrate(WW_BACKEND_KERNEL) + demonstrate(WW_BACKEND_FAULT);
    printf("demonstration %s\n", wrong ? "FAILED" : "passed");
    return wrong ? 1 : 0;
}
