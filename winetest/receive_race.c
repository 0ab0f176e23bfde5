/*
 * No write lost while a socket receive fills the same page.
 *
 * A program queues an overlapped WSARecv into the first half of a watched
 * page, resets the watch, then the data is sent while another thread stores
 * once into the second half of the same page. The store must be reported,
 * whatever the receive does meanwhile: a garbage collector that receives
 * into a pinned buffer of its heap while other threads write objects on the
 * same page frees a live object when that write is not reported.
 *
 * Each trial: a 2-buffer WSARecv (the first half of the "race" page, and the
 * first bytes of a "receive-only" page nobody else writes), pending;
 * ResetWriteWatch over the region; the sender publishes "sending", the store
 * thread (spinning on a trial counter) waits a random time and stores the
 * trial's number into the second half of the race page; send(); wait for the
 * receive and for the store; GetWriteWatch without reset over the region.
 * A trial whose race page is not reported lost a write.
 *
 * Where the store landed is known from the store thread itself: it reads
 * the "sending" flag and the receive buffer just before its store and the
 * overlapped status just after it. A store made after the send began and
 * before the receive completed (the status still STATUS_PENDING after the
 * store) landed inside the receive: that is where a receive path that
 * resets the pages it filled can lose it. The random delay adapts so that
 * the stores straddle the moment the data lands (half before the data is in
 * the buffer, half after); the run fails when too few landed inside a
 * receive (a run in which nothing raced proves nothing).
 *
 * Also counted, not judged: how often the receive-only page was reported.
 * Windows does not report the pages a queued receive's data lands in; a
 * Linux path whose kernel tracks writes reports them (the data is a write
 * by the kernel on the program's behalf).
 *
 * Output: "receive-race: ..." with the figures, then the usual summary.
 * WINETEST_RECEIVE_RACE_TRIALS sets the number of trials (default 3000).
 * Windows only (Winsock): built with mingw, run under Wine or Windows.
 */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wtest.h"

#define PAGE 4096u
#define RACE_PAGES 32u          /* the race pages, then as many receive-only pages */
#define REGION_PAGES (2 * RACE_PAGES)
#define DATA_BYTES (PAGE / 2)   /* what the receive writes into the race page */
#define ONLY_BYTES 64u          /* ... and into the receive-only page */
#define STORE_OFFSET (PAGE / 2 + 128)
#define MIN_INSIDE_FRACTION 10  /* percent of the stores that must land inside a receive */

enum landing { LANDED_BEFORE_SEND, LANDED_INSIDE, LANDED_INSIDE_NO_DATA, LANDED_AFTER, LANDINGS };

struct race
{
    volatile LONG trial;        /* the store thread's go: the trial number, -1 to quit */
    volatile LONG stored;       /* the last trial the store thread finished */
    volatile LONG sending;      /* set just before send() */
    volatile LONG delay_ticks;  /* upper bound of the random delay */
    volatile DWORD *target;     /* where the store goes */
    volatile const char *data;  /* the first byte the receive writes */
    char marker;                /* that byte's value once the data is there */
    OVERLAPPED *ov;
    enum landing landing;
};

static DWORD WINAPI store_thread(void *arg)
{
    struct race *race = arg;
    LONG last = 0, trial;
    unsigned int seed = 12345;
    LARGE_INTEGER start, now;

    for (;;)
    {
        while ((trial = race->trial) == last) YieldProcessor();
        if (trial < 0) return 0;
        last = trial;
        seed = seed * 1103515245u + 12345u;
        LONG delay = race->delay_ticks ? (LONG)((seed >> 8) % (unsigned int)race->delay_ticks) : 0;
        while (!race->sending) YieldProcessor();
        QueryPerformanceCounter(&start);
        do QueryPerformanceCounter(&now); while (now.QuadPart - start.QuadPart < delay);

        LONG sending = race->sending;
        int data_there = *race->data == race->marker;
        *race->target = (DWORD)trial;
        MemoryBarrier();
        int pending = race->ov->Internal == STATUS_PENDING;
        if (!sending) race->landing = LANDED_BEFORE_SEND;
        else if (!pending) race->landing = LANDED_AFTER;
        else race->landing = data_there ? LANDED_INSIDE : LANDED_INSIDE_NO_DATA;
        InterlockedExchange(&race->stored, trial);
    }
}

static void tcp_pair(SOCKET *src, SOCKET *dst)
{
    struct sockaddr_in addr = { 0 };
    int len = sizeof(addr);
    SOCKET server = socket(AF_INET, SOCK_STREAM, 0);
    BOOL nodelay = TRUE;

    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok(!bind(server, (struct sockaddr *)&addr, sizeof(addr)), "bind: %d\n", WSAGetLastError());
    ok(!listen(server, 1), "listen: %d\n", WSAGetLastError());
    ok(!getsockname(server, (struct sockaddr *)&addr, &len), "getsockname: %d\n", WSAGetLastError());
    *src = socket(AF_INET, SOCK_STREAM, 0);
    ok(!connect(*src, (struct sockaddr *)&addr, sizeof(addr)), "connect: %d\n", WSAGetLastError());
    *dst = accept(server, NULL, NULL);
    ok(*dst != INVALID_SOCKET, "accept: %d\n", WSAGetLastError());
    setsockopt(*src, IPPROTO_TCP, TCP_NODELAY, (const char *)&nodelay, sizeof(nodelay));
    closesocket(server);
}

static BOOL page_listed(void **pages, ULONG_PTR count, const char *page)
{
    for (ULONG_PTR i = 0; i < count; i++)
        if (pages[i] == page) return TRUE;
    return FALSE;
}

static void test_receive_race(void)
{
    const char *env = getenv("WINETEST_RECEIVE_RACE_TRIALS");
    LONG trials = env ? atol(env) : 3000;
    LONG landed[LANDINGS] = { 0 }, lost = 0, lost_inside = 0, only_reported = 0, only_counted = 0, bad_data = 0, failed_calls = 0;
    static char payload[DATA_BYTES + ONLY_BYTES];
    LARGE_INTEGER freq, sent, done;
    struct race race = { 0 };
    OVERLAPPED ov = { 0 };
    SOCKET src, dst;
    WSADATA wsa;
    HANDLE thread;
    char *region;

    ok(!WSAStartup(MAKEWORD(2, 2), &wsa), "WSAStartup failed\n");
    tcp_pair(&src, &dst);
    region = VirtualAlloc(NULL, REGION_PAGES * PAGE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    ok(region != NULL, "VirtualAlloc failed: %lu\n", GetLastError());
    if (!region) return;
    ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    race.ov = &ov;
    QueryPerformanceFrequency(&freq);
    race.delay_ticks = (LONG)(freq.QuadPart / 10000); /* 100 us to start with */
    thread = CreateThread(NULL, 0, store_thread, &race, 0, NULL);

    double window_ticks = 0;
    LONG recent[LANDINGS] = { 0 };
    for (LONG t = 1; t <= trials; t++)
    {
        char *race_page = region + ((t - 1) % RACE_PAGES) * PAGE;
        char *only_page = region + (RACE_PAGES + (t - 1) % RACE_PAGES) * PAGE;
        WSABUF bufs[2] = { { DATA_BYTES, race_page }, { ONLY_BYTES, only_page } };
        DWORD flags = 0, bytes = 0;
        char marker = (char)(t % 251 + 1);
        void *pages[REGION_PAGES];
        ULONG_PTR count = REGION_PAGES;
        ULONG granularity;

        memset(payload, marker, sizeof(payload));
        ResetEvent(ov.hEvent);
        race.sending = 0;
        race.target = (volatile DWORD *)(race_page + STORE_OFFSET);
        race.data = race_page;
        race.marker = marker;
        if (WSARecv(dst, bufs, 2, NULL, &flags, &ov, NULL) != SOCKET_ERROR || WSAGetLastError() != WSA_IO_PENDING)
        {
            failed_calls++;
            break;
        }
        if (ResetWriteWatch(region, REGION_PAGES * PAGE)) failed_calls++;
        InterlockedExchange(&race.trial, t);
        QueryPerformanceCounter(&sent);
        InterlockedExchange(&race.sending, 1);
        if (send(src, payload, sizeof(payload), 0) != (int)sizeof(payload)) failed_calls++;
        if (!GetOverlappedResult((HANDLE)dst, &ov, &bytes, TRUE)) failed_calls++;
        QueryPerformanceCounter(&done);
        window_ticks += (double)(done.QuadPart - sent.QuadPart);
        while (race.stored != t) YieldProcessor();
        if (bytes < sizeof(payload))
        {
            /* the rest arrived late: take it out of the socket, outside the region */
            char rest[sizeof(payload)];
            DWORD left = sizeof(payload) - bytes;
            while (left)
            {
                int n = recv(dst, rest, left, 0);
                if (n <= 0) { failed_calls++; break; }
                left -= n;
            }
        }

        if (GetWriteWatch(0, region, REGION_PAGES * PAGE, pages, &count, &granularity))
        {
            failed_calls++;
            continue;
        }
        landed[race.landing]++;
        if (!page_listed(pages, count, race_page))
        {
            lost++;
            if (race.landing == LANDED_INSIDE || race.landing == LANDED_INSIDE_NO_DATA) lost_inside++;
        }
        if (bytes == sizeof(payload))
        {
            only_counted++;
            if (page_listed(pages, count, only_page)) only_reported++;
        }
        if (*(DWORD *)(race_page + STORE_OFFSET) != (DWORD)t || race_page[0] != marker ||
            race_page[DATA_BYTES - 1] != marker)
            bad_data++;

        /* Aim the stores at the moment the data lands (where a receive path
         * that hides the pages it fills has its window): about half before
         * it, half after, over the last 50 trials. */
        recent[race.landing]++;
        if (t % 50 == 0)
        {
            LONG early = recent[LANDED_BEFORE_SEND] + recent[LANDED_INSIDE_NO_DATA];
            LONG late = recent[LANDED_INSIDE] + recent[LANDED_AFTER];
            LONG delay = race.delay_ticks;
            if (late > 30) delay = delay * 4 / 5;
            else if (early > 30) delay = delay * 5 / 4 + 1;
            race.delay_ticks = delay > 0 ? delay : 1;
            memset(recent, 0, sizeof(recent));
        }
    }
    InterlockedExchange(&race.trial, -1);
    InterlockedExchange(&race.sending, 1);
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);

    LONG made = landed[LANDED_BEFORE_SEND] + landed[LANDED_INSIDE] + landed[LANDED_INSIDE_NO_DATA] + landed[LANDED_AFTER];
    LONG inside = landed[LANDED_INSIDE] + landed[LANDED_INSIDE_NO_DATA];
    printf("receive-race: stores %ld, inside a receive %ld (the data not yet in the buffer %ld), before the send %ld, "
           "after the completion %ld; lost %ld (inside a receive %ld); receive-only pages reported %ld of %ld; mean send-to-completion %.1f us\n",
           made, inside, landed[LANDED_INSIDE_NO_DATA], landed[LANDED_BEFORE_SEND], landed[LANDED_AFTER], lost, lost_inside,
           only_reported, only_counted, trials ? window_ticks * 1e6 / (double)freq.QuadPart / trials : 0.0);
    ok(!failed_calls, "%ld calls failed\n", failed_calls);
    ok(made == trials, "%ld of %ld trials made\n", made, trials);
    ok(!lost, "%ld of %ld stores never reported (%ld of them inside a receive)\n", lost, made, lost_inside);
    ok(!bad_data, "%ld trials with wrong contents\n", bad_data);
    ok(inside * 100 >= (LONG)MIN_INSIDE_FRACTION * made,
       "only %ld of %ld stores landed inside a receive: the run did not race\n", inside, made);

    CloseHandle(ov.hEvent);
    closesocket(src);
    closesocket(dst);
    VirtualFree(region, 0, MEM_RELEASE);
    WSACleanup();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    wtest_init();
    run_test(test_receive_race);
    wtest.test_name = "receive_race";
    return wtest_summary();
}
