/* What one GetWriteWatch costs under Wine before any write-watch work: Wine's
 * system call entry, its uninterrupted section (signals blocked, virtual_mutex)
 * and the view lookup. A Windows program, built with mingw:
 *
 *   x86_64-w64-mingw32-gcc -O2 -o ww_wine_entry.exe bench/ww_wine_entry.c
 *   WINEPREFIX=$(mktemp -d) WINEDEBUG=-all LOADER ww_wine_entry.exe
 *
 * Per round, ns per call (mean of CALLS): GetWriteWatch on an unwatched region
 * (fails after the lookup: the entry cost alone), then GetWriteWatch with and
 * without WRITE_WATCH_FLAG_RESET on 16 clean watched pages. Run it under stock
 * Wine and under the patched one: the first figure is the part of a call that
 * no write-watch implementation inside Wine's ntdll can remove. */
#include <windows.h>
#include <stdio.h>

enum { CALLS = 200000, ROUNDS = 3, REGION = 65536, PAGES = 16 };

static double now_ns(void)
{
    LARGE_INTEGER counter, frequency;
    QueryPerformanceCounter(&counter);
    QueryPerformanceFrequency(&frequency);
    return (double)counter.QuadPart * 1e9 / (double)frequency.QuadPart;
}

/* Mean ns per GetWriteWatch(flags, base) over CALLS calls. */
static double time_calls(DWORD flags, void *base)
{
    void *addresses[PAGES];
    ULONG_PTR count;
    ULONG granularity;
    double start = now_ns();
    for (int i = 0; i < CALLS; i++) {
        count = PAGES;
        GetWriteWatch(flags, base, REGION, addresses, &count, &granularity);
    }
    return (now_ns() - start) / CALLS;
}

int main(void)
{
    void *plain = VirtualAlloc(NULL, REGION, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    void *watched = VirtualAlloc(NULL, REGION, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    if (!plain || !watched) {
        printf("VirtualAlloc failed: %lu\n", GetLastError());
        return 1;
    }
    for (int round = 0; round < ROUNDS; round++) {
        double unwatched = time_calls(0, plain);
        double get_reset = time_calls(WRITE_WATCH_FLAG_RESET, watched);
        double get = time_calls(0, watched);
        printf("round %d: unwatched region (fails) %.0f ns/call; GetWriteWatch+RESET 16 clean pages %.0f ns/call; "
               "GetWriteWatch 16 clean pages %.0f ns/call\n", round, unwatched, get_reset, get);
    }
    return 0;
}
