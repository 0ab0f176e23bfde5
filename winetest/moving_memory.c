/*
 * Write watches while the kernel moves memory behind the program's back:
 * KSM merging identical pages (docs/SEMANTICS.md: "What the kernel does to
 * memory behind the program's back is invisible to write watches").
 *
 * The kernel drops the uffd-wp bit of a page that KSM merges (mm/ksm.c,
 * replace_page()), so on a write-tracking path built on userfaultfd a clean
 * page that KSM merged reads as written. This program gives KSM clean
 * identical pages to merge in a watched region and checks that exactly the
 * pages it wrote are reported:
 *
 *   - a watched region (MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, 2048
 *     pages) and an unwatched control region of identical pages, which shows
 *     that KSM merges this process's memory at all;
 *   - per round: (odd rounds: decommit and recommit a chunk of the watched
 *     region), write a quarter of the pages with one content ("prepared":
 *     identical, not merged yet), ResetWriteWatch, write another quarter
 *     (half with the identical content, half distinct), wait until KSM has
 *     made two full passes, GetWriteWatch: every written page must be
 *     reported (lost) and no other page (clean reported); the contents of
 *     every page are checked;
 *   - KSM's view: the process's /proc/PID/ksm_stat and, per region, the
 *     pages that are KSM pages (/proc/PID/pagemap and /proc/kpageflags,
 *     root only).
 *
 * KSM must merge this process's memory: the whole process made mergeable
 * before it starts (tools/with-memory-merge, prctl(PR_SET_MEMORY_MERGE)),
 * and KSM running (scripts/lib/moving-memory.sh). When KSM is off
 * (/sys/kernel/mm/ksm/run is not 1), or the process is not mergeable and
 * WINETEST_MOVING_MEMORY_KSM is not "require", the KSM part is skipped
 * (loudly) and the rounds only check that the answers are exact. With
 * WINETEST_MOVING_MEMORY_KSM=require (wine-patches/run-wine-tests.sh's ksm
 * suite) a process that is not mergeable, or whose control pages never
 * merge, fails.
 *
 * Under Wine the Linux files are read through the Z: drive. Wine's server
 * opens files for its clients, so Z:\proc\self is the wineserver: the
 * program finds its own Linux process (its comm is the executable's name,
 * and it maps the control region) and reads /proc/PID/ instead.
 *
 * The same source builds natively against dlls/kernelbase (winetest/
 * meson.build) and as a Windows executable (mingw) for Wine.
 */
#include <windows.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#endif

#include "wtest.h"

#define PAGE 4096u
#define PAGES 2048u
#define CONTROL_PAGES 512u
#define ROUNDS 6u
#define DECOMMIT_FIRST 1536u /* odd rounds decommit and recommit this chunk */
#define DECOMMIT_PAGES 128u
#define KSM_PASSES 3         /* full_scans to wait for: two whole passes */
#define KSM_WAIT_MS 6000u    /* at most, per round */

#define SAME_WORD 0x5a17a5e15a17a5e1ull
#define CONTROL_WORD 0xc0c0c0c0c0c0c0c0ull
#define DISTINCT_TAG 0xd15c000000000000ull

/* ---- Linux files, natively or through Wine's Z: drive ------------------------ */

#ifdef _WIN32
typedef HANDLE file_t;
#define NO_FILE INVALID_HANDLE_VALUE
static file_t file_open(const char *linux_path)
{
    char path[MAX_PATH];
    char *p;
    snprintf(path, sizeof(path), "Z:%s", linux_path);
    for (p = path; *p; p++) if (*p == '/') *p = '\\';
    return CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                       NULL, OPEN_EXISTING, 0, NULL);
}
static long file_pread(file_t f, void *buf, unsigned long size, unsigned long long offset)
{
    OVERLAPPED ov;
    DWORD got = 0;
    memset(&ov, 0, sizeof(ov));
    ov.Offset = (DWORD)offset;
    ov.OffsetHigh = (DWORD)(offset >> 32);
    if (!ReadFile(f, buf, size, &got, &ov)) return -1;
    return (long)got;
}
static long file_read(file_t f, void *buf, unsigned long size)
{
    DWORD got = 0;
    if (!ReadFile(f, buf, size, &got, NULL)) return -1;
    return (long)got;
}
static void file_close(file_t f) { CloseHandle(f); }
static void sleep_ms(unsigned ms) { Sleep(ms); }
static unsigned long long now_ms(void) { return GetTickCount64(); }
#else
typedef int file_t;
#define NO_FILE (-1)
static file_t file_open(const char *linux_path) { return open(linux_path, O_RDONLY | O_CLOEXEC); }
static long file_pread(file_t f, void *buf, unsigned long size, unsigned long long offset)
{
    return pread(f, buf, size, (off_t)offset);
}
static long file_read(file_t f, void *buf, unsigned long size) { return read(f, buf, size); }
static void file_close(file_t f) { close(f); }
static void sleep_ms(unsigned ms) { usleep(ms * 1000); }
static unsigned long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}
#endif

/* The whole (small) file, NUL-terminated; -1 when it cannot be read. */
static long read_text(const char *linux_path, char *buf, unsigned long size)
{
    file_t f = file_open(linux_path);
    long got, total = 0;
    if (f == NO_FILE) return -1;
    while (total < (long)size - 1 && (got = file_read(f, buf + total, size - 1 - total)) > 0) total += got;
    file_close(f);
    buf[total] = 0;
    return total;
}

/* A number from a one-number file (/sys/kernel/mm/ksm/...); -1 if none. */
static long long read_number(const char *linux_path)
{
    char buf[64];
    if (read_text(linux_path, buf, sizeof(buf)) <= 0) return -1;
    return strtoll(buf, NULL, 10);
}

/* ---- which Linux process we are --------------------------------------------- */

/* "/proc/self" natively; "/proc/PID" under Wine, found by name and mapping. */
static char proc_dir[64] = "/proc/self";
static char proc_note[256] = "";

#ifdef _WIN32
/* Does /proc/PID/maps have a mapping that covers addr? */
static int maps_cover(const char *pid, uintptr_t addr)
{
    static char buf[1 << 20];
    char path[64];
    const char *line;
    long len;
    snprintf(path, sizeof(path), "/proc/%s/maps", pid);
    if ((len = read_text(path, buf, sizeof(buf))) <= 0) return 0;
    for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    {
        unsigned long long start, end;
        if (sscanf(line, "%llx-%llx", &start, &end) == 2 && start <= addr && addr < end) return 1;
    }
    return 0;
}

static int find_own_process(const void *mapped)
{
    char exe[MAX_PATH], comm[64], want[16], path[64], found[32] = "";
    const char *base;
    WIN32_FIND_DATAA fd;
    HANDLE find;
    int matches = 0, named = 0;
    size_t n;

    if (!GetModuleFileNameA(NULL, exe, sizeof(exe))) return 0;
    base = wtest_basename(exe);
    snprintf(want, sizeof(want), "%s", base); /* comm holds 15 characters */
    if ((find = FindFirstFileA("Z:\\proc\\*", &fd)) == INVALID_HANDLE_VALUE)
    {
        snprintf(proc_note, sizeof(proc_note), "cannot list Z:\\proc (error %lu)", (unsigned long)GetLastError());
        return 0;
    }
    do
    {
        if (fd.cFileName[0] < '0' || fd.cFileName[0] > '9') continue;
        snprintf(path, sizeof(path), "/proc/%s/comm", fd.cFileName);
        if (read_text(path, comm, sizeof(comm)) <= 0) continue;
        if ((n = strcspn(comm, "\n")) < sizeof(comm)) comm[n] = 0;
        if (_stricmp(comm, want)) continue;
        named++;
        if (!maps_cover(fd.cFileName, (uintptr_t)mapped)) continue;
        matches++;
        snprintf(found, sizeof(found), "%s", fd.cFileName);
    } while (FindNextFileA(find, &fd));
    FindClose(find);
    if (matches != 1)
    {
        snprintf(proc_note, sizeof(proc_note),
                 "%d Linux processes named '%s', %d of them map %p: cannot tell which is this one",
                 named, want, matches, mapped);
        return 0;
    }
    snprintf(proc_dir, sizeof(proc_dir), "/proc/%s", found);
    snprintf(proc_note, sizeof(proc_note), "this process is Linux process %s (%s)", found, want);
    return 1;
}
#else
static int find_own_process(const void *mapped)
{
    (void)mapped;
    snprintf(proc_note, sizeof(proc_note), "this process is Linux process %ld", (long)getpid());
    return 1;
}
#endif

/* ---- KSM's view ---------------------------------------------------------------- */

struct ksm_stat
{
    long long merging_pages; /* ksm_merging_pages, -1 if unknown */
    int merge_any;           /* ksm_merge_any: 1 yes, 0 no, -1 no such line */
};

static int read_ksm_stat(struct ksm_stat *stat)
{
    char buf[1024], path[96];
    const char *p;
    stat->merging_pages = -1;
    stat->merge_any = -1;
    snprintf(path, sizeof(path), "%s/ksm_stat", proc_dir);
    if (read_text(path, buf, sizeof(buf)) <= 0)
    {
        snprintf(path, sizeof(path), "%s/ksm_merging_pages", proc_dir);
        stat->merging_pages = read_number(path);
        return stat->merging_pages >= 0;
    }
    if ((p = strstr(buf, "ksm_merging_pages "))) stat->merging_pages = strtoll(p + 18, NULL, 10);
    if ((p = strstr(buf, "ksm_merge_any: "))) stat->merge_any = !strncmp(p + 15, "yes", 3);
    return 1;
}

/* pagemap and kpageflags: how many pages of a range are KSM pages; -1 when
 * the files cannot be read or show no page frames (not root). */
static file_t pagemap = NO_FILE, kpageflags = NO_FILE;
#define PM_PRESENT (1ull << 63)
#define PM_PFN_MASK ((1ull << 55) - 1)
#define KPF_KSM (1ull << 21)

static long count_ksm_pages(const char *base, unsigned pages)
{
    static unsigned long long entries[PAGES];
    unsigned i, present = 0, framed = 0;
    long merged = 0;

    if (pagemap == NO_FILE || kpageflags == NO_FILE || pages > PAGES) return -1;
    if (file_pread(pagemap, entries, pages * 8ul, (uintptr_t)base / PAGE * 8ull) != (long)(pages * 8ul)) return -1;
    for (i = 0; i < pages; i++)
    {
        unsigned long long flags, pfn = entries[i] & PM_PFN_MASK;
        if (!(entries[i] & PM_PRESENT)) continue;
        present++;
        if (!pfn) continue;
        framed++;
        if (file_pread(kpageflags, &flags, 8, pfn * 8ull) == 8 && (flags & KPF_KSM)) merged++;
    }
    if (present && !framed) return -1;
    return merged;
}

/* ---- the region's pages ------------------------------------------------------- */

enum content { ZERO, SAME, DISTINCT };
static unsigned char expected[PAGES];
static unsigned expected_round[PAGES];

static void fill_page(char *page, enum content what, unsigned index, unsigned round)
{
    volatile unsigned long long *w = (volatile unsigned long long *)page;
    unsigned i;
    for (i = 0; i < PAGE / 8; i++) w[i] = what == ZERO ? 0 : SAME_WORD;
    if (what == DISTINCT) w[0] = DISTINCT_TAG | ((unsigned long long)round << 16) | index;
}

static int page_intact(const char *page, unsigned index)
{
    const unsigned long long *w = (const unsigned long long *)page;
    unsigned long long word = expected[index] == ZERO ? 0 : SAME_WORD;
    unsigned i;
    if (expected[index] == DISTINCT)
    {
        if (w[0] != (DISTINCT_TAG | ((unsigned long long)expected_round[index] << 16) | index)) return 0;
    }
    else if (w[0] != word) return 0;
    for (i = 1; i < PAGE / 8; i++) if (w[i] != word) return 0;
    return 1;
}

static void write_page(char *region, unsigned index, enum content what, unsigned round)
{
    fill_page(region + (SIZE_T)index * PAGE, what, index, round);
    expected[index] = (unsigned char)what;
    expected_round[index] = round;
}

/* ---- waiting for KSM ----------------------------------------------------------- */

/* Until ksmd has finished KSM_PASSES more full scans (every page it
 * considers seen twice since now), at most KSM_WAIT_MS; the time waited. */
static unsigned long long wait_for_ksm(int ksm_on, long long *scans_done)
{
    unsigned long long start = now_ms();
    long long first = ksm_on ? read_number("/sys/kernel/mm/ksm/full_scans") : -1, now = first;
    if (first < 0)
    {
        sleep_ms(20);
        *scans_done = 0;
        return now_ms() - start;
    }
    while (now - first < KSM_PASSES && now_ms() - start < KSM_WAIT_MS)
    {
        sleep_ms(20);
        now = read_number("/sys/kernel/mm/ksm/full_scans");
    }
    *scans_done = now - first;
    return now_ms() - start;
}

/* ---- the test ------------------------------------------------------------------ */

static void test_ksm_merging(void)
{
    static void *addresses[PAGES];
    static unsigned char written[PAGES];
    const char *require = getenv("WINETEST_MOVING_MEMORY_KSM");
    int required = require && !strcmp(require, "require");
    char *region, *control;
    long long run, scans;
    struct ksm_stat stat;
    unsigned round, i;
    unsigned long total_written = 0, lost = 0, clean_reported = 0, damaged = 0, call_failures = 0;
    unsigned long decommit_failures = 0;
    long control_max = -1, watched_max = -1;
    long long process_max = -1;
    int ksm_on, found, mergeable;
    unsigned long long waited_total = 0;
    char why[512];

    region = VirtualAlloc(NULL, (SIZE_T)PAGES * PAGE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    ok(region != NULL, "VirtualAlloc(watched, %u pages) failed: %lu\n", PAGES, (unsigned long)GetLastError());
    control = VirtualAlloc(NULL, (SIZE_T)CONTROL_PAGES * PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ok(control != NULL, "VirtualAlloc(control, %u pages) failed: %lu\n", CONTROL_PAGES, (unsigned long)GetLastError());
    if (!region || !control) return;

    /* Every page present, with identical contents; the control region too. */
    for (i = 0; i < PAGES; i++) write_page(region, i, SAME, 0);
    for (i = 0; i < CONTROL_PAGES * PAGE / 8; i++) ((volatile unsigned long long *)control)[i] = CONTROL_WORD;

    /* What KSM can do here. */
    run = read_number("/sys/kernel/mm/ksm/run");
    found = find_own_process(control);
    trace("%s\n", proc_note);
    ok(found, "cannot find this process's /proc directory: %s\n", proc_note);
    mergeable = found && read_ksm_stat(&stat) && stat.merge_any != 0;
    if (found)
    {
        char path[96];
        snprintf(path, sizeof(path), "%s/pagemap", proc_dir);
        pagemap = file_open(path);
        kpageflags = file_open("/proc/kpageflags");
    }
    ksm_on = run == 1 && mergeable;
    if (run != 1)
    {
        snprintf(why, sizeof(why), "KSM is off here (/sys/kernel/mm/ksm/run: %lld): nothing merges; the rounds only check exact answers", run);
        skip("%s\n", why);
    }
    else if (!mergeable)
    {
        snprintf(why, sizeof(why), "this process's memory is not mergeable (%s/ksm_stat: %s; start it through tools/with-memory-merge)",
                 proc_dir, !found ? "not found" : stat.merge_any == 0 ? "ksm_merge_any: no" : "unreadable");
        if (required) ok(0, "%s\n", why);
        else skip("%s\n", why);
    }
    else trace("KSM on, ksm_merge_any: %s\n", stat.merge_any == 1 ? "yes" : "(no such line before Linux 6.8)");
#ifdef _WIN32
    {
        /* Z:\proc\self is the process that opens the file: the wineserver. */
        char buf[1024];
        const char *p;
        if (read_text("/proc/self/ksm_stat", buf, sizeof(buf)) > 0 && (p = strstr(buf, "ksm_merge_any: ")))
            trace("wineserver ksm_merge_any: %.3s\n", p + 15);
    }
#endif
    if (ResetWriteWatch(region, (SIZE_T)PAGES * PAGE) != 0) call_failures++;

    for (round = 0; round < ROUNDS; round++)
    {
        ULONG_PTR count = PAGES;
        ULONG granularity = 0;
        unsigned long round_written = 0, round_lost = 0, round_clean = 0, round_damaged = 0;
        unsigned long long waited;
        long control_merged, watched_merged;

        /* Odd rounds: a chunk decommitted and recommitted (a fresh mapping
         * under the watched region), zero-filled, clean. */
        if (round % 2)
        {
            if (!VirtualFree(region + (SIZE_T)DECOMMIT_FIRST * PAGE, (SIZE_T)DECOMMIT_PAGES * PAGE, MEM_DECOMMIT) ||
                !VirtualAlloc(region + (SIZE_T)DECOMMIT_FIRST * PAGE, (SIZE_T)DECOMMIT_PAGES * PAGE, MEM_COMMIT, PAGE_READWRITE))
                decommit_failures++;
            for (i = DECOMMIT_FIRST; i < DECOMMIT_FIRST + DECOMMIT_PAGES; i++) expected[i] = ZERO;
        }
        /* A quarter prepared: identical contents written just before the
         * reset, so that KSM merges them while they are clean. */
        for (i = 0; i < PAGES; i++)
            if ((i + round) % 4 == 0) write_page(region, i, SAME, round);
        if (ResetWriteWatch(region, (SIZE_T)PAGES * PAGE) != 0) call_failures++;
        /* Another quarter written: half identical, half distinct. */
        memset(written, 0, sizeof(written));
        for (i = 0; i < PAGES; i++)
        {
            if ((i + round) % 4 != 2) continue;
            write_page(region, i, (i / 4) % 2 ? DISTINCT : SAME, round);
            written[i] = 1;
            round_written++;
        }
        waited = wait_for_ksm(ksm_on, &scans);
        waited_total += waited;
        watched_merged = count_ksm_pages(region, PAGES);
        control_merged = count_ksm_pages(control, CONTROL_PAGES);
        if (found && read_ksm_stat(&stat) && stat.merging_pages > process_max) process_max = stat.merging_pages;
        if (watched_merged > watched_max) watched_max = watched_merged;
        if (control_merged > control_max) control_max = control_merged;

        if (GetWriteWatch(0, region, (SIZE_T)PAGES * PAGE, addresses, &count, &granularity) != 0)
        {
            call_failures++;
            trace("round %u: GetWriteWatch failed: %lu\n", round, (unsigned long)GetLastError());
            continue;
        }
        for (i = 0; i < count; i++)
        {
            uintptr_t off = (uintptr_t)((char *)addresses[i] - region);
            if (off % PAGE || off / PAGE >= PAGES) { round_clean++; continue; }
            if (written[off / PAGE] == 1) written[off / PAGE] = 2;
            else round_clean++;
        }
        for (i = 0; i < PAGES; i++)
        {
            if (written[i] == 1) round_lost++;
            if (!page_intact(region + (SIZE_T)i * PAGE, i)) round_damaged++;
        }
        trace("round %u: written %lu, reported %lu, lost %lu, clean reported %lu, contents damaged %lu; "
              "KSM pages: watched %ld, control %ld, process %lld; waited %llu ms (full scans +%lld)\n",
              round, round_written, (unsigned long)count, round_lost, round_clean, round_damaged,
              watched_merged, control_merged, found ? stat.merging_pages : -1LL, waited, scans);
        total_written += round_written;
        lost += round_lost;
        clean_reported += round_clean;
        damaged += round_damaged;
    }
    for (i = 0; i < CONTROL_PAGES * PAGE / 8; i++)
        if (((unsigned long long *)control)[i] != CONTROL_WORD) { damaged++; break; }

    trace("moving-memory: rounds %u, written %lu, lost %lu, clean reported %lu, ksm merging pages (control) %ld, "
          "watched %ld, process %lld; KSM %s; waited %llu ms\n",
          ROUNDS, total_written, lost, clean_reported, control_max, watched_max, process_max,
          ksm_on ? "on, process mergeable" : run != 1 ? "off" : "on, process not mergeable", waited_total);
    ok(call_failures == 0, "%lu ResetWriteWatch/GetWriteWatch calls failed\n", call_failures);
    ok(decommit_failures == 0, "%lu decommit/recommit of the chunk failed\n", decommit_failures);
    ok(lost == 0, "%lu written pages not reported (lost writes)\n", lost);
    ok(clean_reported == 0, "%lu clean pages reported written (of %u pages x %u rounds; KSM pages in the watched region: up to %ld)\n",
       clean_reported, PAGES, ROUNDS, watched_max);
    ok(damaged == 0, "%lu pages with changed contents\n", damaged);
    if (ksm_on)
    {
        /* KSM really merged this process's memory: the control region's pages
         * (per page, when pagemap shows frames), or the process's count. */
        long long seen = control_max >= 0 ? control_max : process_max;
        ok(seen > 0, "KSM merged nothing in this process (control region %ld, ksm_merging_pages %lld): "
           "the check proved nothing\n", control_max, process_max);
    }

    if (pagemap != NO_FILE) file_close(pagemap);
    if (kpageflags != NO_FILE) file_close(kpageflags);
    VirtualFree(region, 0, MEM_RELEASE);
    VirtualFree(control, 0, MEM_RELEASE);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    wtest_init();
    run_test(test_ksm_merging);
    wtest.test_name = "moving_memory";
    return wtest_summary();
}
