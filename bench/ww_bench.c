/* Write-watch benchmark written against the Win32 API.
 *
 * The same source is built twice:
 *  - natively, against this project's kernelbase layer (Wine's headers for the
 *    types); the backend is chosen with WRITEWATCH_BACKEND=kernel|fault;
 *  - as a Windows executable with mingw-w64, run under real Wine.
 * Only VirtualAlloc, VirtualFree, GetWriteWatch, ResetWriteWatch and
 * GetLastError are used for memory; the workloads live in driver.h.
 */
#include <windows.h>

#include "driver.h"

#if !BENCH_WIN32
#include <malloc.h>
#include <unistd.h>
#include <writewatch/writewatch.h> /* ww_tracking_memory_bytes */
#endif

static const char *contestant = "win32";

static void *w32_alloc(size_t bytes)
{
	void *p = VirtualAlloc(NULL, bytes, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
			       PAGE_READWRITE);
	if (!p)
		fprintf(stderr, "[%s] VirtualAlloc(%zu) failed: error %u\n", contestant, bytes,
			(unsigned)GetLastError());
	return p;
}

static void w32_release(void *base, size_t bytes)
{
	(void)bytes;
	if (!VirtualFree(base, 0, MEM_RELEASE))
		fprintf(stderr, "[%s] VirtualFree failed: error %u\n", contestant,
			(unsigned)GetLastError());
}

static int w32_get(void *base, size_t bytes, int reset, void **addrs, uintptr_t *count)
{
	ULONG_PTR n = *count;
	ULONG gran = 0;
	UINT r = GetWriteWatch(reset ? WRITE_WATCH_FLAG_RESET : 0, base, bytes, addrs, &n, &gran);
	if (r != 0) {
		fprintf(stderr, "[%s] GetWriteWatch failed: error %u\n", contestant,
			(unsigned)GetLastError());
		return -1;
	}
	*count = n;
	return gran == BENCH_PAGE ? 0 : -1;
}

static int w32_reset(void *base, size_t bytes)
{
	if (ResetWriteWatch(base, bytes) != 0) {
		fprintf(stderr, "[%s] ResetWriteWatch failed: error %u\n", contestant,
			(unsigned)GetLastError());
		return -1;
	}
	return 0;
}

#if !BENCH_WIN32
/* Resident set size in bytes, from /proc/self/statm. */
static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t heap_bytes(void)
{
#ifdef HAVE_MALLINFO2
	struct mallinfo2 mi = mallinfo2();
#else /* glibc before 2.33 (Debian 11, Proton's runtime): int fields */
	struct mallinfo mi = mallinfo();
#endif
	return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}

/* The library's own memory for a watched GiB: glibc heap growth caused by
 * VirtualAlloc of 1 GiB (untouched) and again after pages were written and
 * collected with GetWriteWatch(RESET); resident-set growth after the
 * allocation; and what the library itself reports. Kernel page tables and
 * uffd-wp markers are not counted. */
static void measure_memory(const struct bench_ops *ops, int long_mode)
{
	const uint64_t pages = 262144;
	const size_t bytes = pages * BENCH_PAGE;
	uint64_t step = long_mode ? 1 : 64;
	void **addrs = (void **)malloc(sizeof(void *) * pages);
	char extra[256];

	fprintf(stderr, "[%s] memory per watched GiB\n", ops->name);
	memset(addrs, 0, sizeof(void *) * pages); /* resident before the baseline */
	uint64_t h0 = heap_bytes(), r0 = rss_bytes(), l0 = ww_tracking_memory_bytes();
	char *base = (char *)ops->alloc(bytes);
	if (!base) {
		free(addrs);
		return;
	}
	uint64_t h1 = heap_bytes(), r1 = rss_bytes(), l1 = ww_tracking_memory_bytes();
	/* Short mode writes every 64th page; long mode every page. */
	uint64_t written = 0;
	for (uint64_t i = 0; i < pages; i += step, written++)
		bench_touch(base, i, i);
	uintptr_t count = pages;
	int ok = ops->get(base, bytes, 1, addrs, &count) == 0 && count == written;
	uint64_t h2 = heap_bytes(), r2 = rss_bytes(), l2 = ww_tracking_memory_bytes();
	double alloc_bpp = (double)(int64_t)(h1 - h0) / (double)pages;
	double used_bpp = (double)(int64_t)(h2 - h0) / (double)pages;
	double rss_bpp = (double)(int64_t)(r1 - r0) / (double)pages;
	snprintf(extra, sizeof(extra),
		 "\"heap_alloc\":%lld,\"rss_alloc\":%lld,\"heap_used\":%lld,\"rss_used\":%lld,"
		 "\"lib_alloc\":%lld,\"lib_used\":%lld,\"pages_written\":%llu",
		 (long long)(h1 - h0), (long long)(r1 - r0), (long long)(h2 - h0),
		 (long long)(r2 - r0), (long long)(l1 - l0), (long long)(l2 - l0),
		 (unsigned long long)written);
	bench_emit("mem_alloc", pages, 0, alloc_bpp, "B/page", 1, extra);
	bench_emit("mem_used", pages, (double)written / (double)pages, used_bpp, "B/page", ok,
		   extra);
	/* Resident growth right after VirtualAlloc: heap pages touched plus anything
	 * else the library mapped and touched. */
	bench_emit("mem_rss", pages, 0, rss_bpp, "B/page", 1, extra);
	/* What the library says it holds (ww_tracking_memory_bytes). */
	bench_emit("mem_lib", pages, 0, (double)(int64_t)(l1 - l0) / (double)pages, "B/page", 1,
		   extra);
	ops->release(base, bytes);
	free(addrs);
}
#endif

int main(int argc, char **argv)
{
	struct bench_ops ops = { 0 };
#if BENCH_WIN32
	contestant = "wine";
#else
	const char *b = getenv("WRITEWATCH_BACKEND");
	static char name[64];
	snprintf(name, sizeof(name), "writewatch-%s", b && *b ? b : "auto");
	contestant = name;
#endif
	{
		const char *n = getenv("BENCH_CONTESTANT");
		if (n && *n)
			contestant = n;
	}
	ops.name = contestant;
	ops.alloc = w32_alloc;
	ops.release = w32_release;
	ops.get = w32_get;
	ops.reset = w32_reset;
#if BENCH_WIN32
	return bench_main(&ops, argc, argv, NULL);
#else
	return bench_main(&ops, argc, argv, measure_memory);
#endif
}
