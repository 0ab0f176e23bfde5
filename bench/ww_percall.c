/* Per-call A/B: one GetWriteWatch-shaped call through the library against the
 * same call as bare PAGEMAP_SCAN ioctls, alternating in one process so that
 * both see the same machine, the same kernel and the same cache weather.
 *
 *   ww_percall [PAGES [DIRTY_PERCENT [CALLS]]]     defaults: all cells below
 *
 * For each region size (128, 1024, 16384 pages) and dirty fraction (1%, 10%):
 * write the pattern, then one call, timed; the library's kernel backend
 * (ww_get_write_watch), the range tracker (ww_range_get_written, Wine's path)
 * and the bare ioctls take turns. "cold": 4 MiB of other memory is walked
 * between calls (what a program does between two GetWriteWatch calls);
 * "warm": nothing in between. Prints ns per call (median of CALLS) and the
 * ratios to the bare call, for get-and-reset, get and reset.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "writewatch/writewatch.h"
#include "bare_uffd.h"
#include "placed_map.h"

#define PAGE 4096u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* ---- one cell ---- */

enum { LIB, TRACKER, BARE, CONTESTANTS };
enum { GET_RESET, GET, RESET, OPS };
static const char *op_names[OPS] = { "get+reset", "get", "reset" };

static char *cold_buffer;
#define COLD_BYTES (4u << 20)

static void other_work(void)
{
	for (size_t i = 0; i < COLD_BYTES; i += 64)
		cold_buffer[i]++;
}

static void dirty(char *base, uint64_t pages, uint64_t k, uint64_t value)
{
	for (uint64_t i = 0; i < k; i++)
		*(volatile uint64_t *)(base + (i * pages / k) * PAGE) = value;
}

/* One timed call of contestant c; returns the pages it reported (or -1). */
static long call(int c, int op, char *base, size_t bytes, void **addrs, uintptr_t max)
{
	uintptr_t count = max;
	uint32_t granularity;
	switch (c) {
	case LIB:
		if (op == RESET)
			return ww_reset_write_watch(WW_CURRENT_PROCESS, base, bytes) ? -1 : 0;
		return ww_get_write_watch(WW_CURRENT_PROCESS, op == GET_RESET ? WW_WRITE_WATCH_FLAG_RESET : 0, base, bytes,
					  addrs, &count, &granularity) ? -1 : (long)count;
	case TRACKER:
		if (op == RESET)
			return ww_range_reset(base, bytes) ? -1 : 0;
		return ww_range_get_written(base, bytes, op == GET_RESET ? WW_WRITE_WATCH_FLAG_RESET : 0, addrs, &count)
			       ? -1 : (long)count;
	default:
		if (op == RESET)
			return bare_uffd_reset(base, bytes);
		return bare_uffd_get(base, bytes, op == GET_RESET, addrs, max);
	}
}

static int cell(uint64_t pages, unsigned percent, int calls, int cold)
{
	size_t bytes = pages * PAGE;
	uint64_t k = pages * percent / 100 ? pages * percent / 100 : 1;
	char *region[CONTESTANTS];
	void **addrs = malloc(pages * sizeof(*addrs));
	uint64_t *t = malloc(sizeof(*t) * (size_t)calls * CONTESTANTS * OPS);
	int ok = 1;

	void *base = NULL;
	size_t size = bytes;
	if (ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &size, WW_MEM_RESERVE | WW_MEM_COMMIT | WW_MEM_WRITE_WATCH,
				       WW_PAGE_READWRITE))
		return 0;
	region[LIB] = base;
	region[TRACKER] = map_placed(bytes);
	if (!region[TRACKER] || ww_range_register(region[TRACKER], bytes))
		return 0;
	region[BARE] = bare_uffd_alloc(bytes);
	if (!region[BARE])
		return 0;
	for (int c = 0; c < CONTESTANTS; c++) { /* resident and clean */
		memset(region[c], 1, bytes);
		call(c, RESET, region[c], bytes, addrs, pages);
	}
	for (int i = 0; i < calls; i++)
		for (int op = 0; op < OPS; op++)
			for (int c = 0; c < CONTESTANTS; c++) {
				dirty(region[c], pages, k, (uint64_t)i);
				if (cold)
					other_work();
				uint64_t t0 = now_ns();
				long got = call(c, op, region[c], bytes, addrs, pages);
				uint64_t t1 = now_ns();
				if (op != RESET && got != (long)k)
					ok = 0;
				if (op == GET)
					call(c, RESET, region[c], bytes, addrs, pages);
				t[((size_t)op * CONTESTANTS + c) * calls + i] = t1 - t0;
			}
	printf("%6llu pages %3u%% %s:", (unsigned long long)pages, percent, cold ? "cold" : "warm");
	for (int op = 0; op < OPS; op++) {
		uint64_t m[CONTESTANTS];
		for (int c = 0; c < CONTESTANTS; c++)
			m[c] = median(t + ((size_t)op * CONTESTANTS + c) * calls, calls);
		printf("  %s %llu/%llu/%llu ns (x%.2f, x%.2f)", op_names[op], (unsigned long long)m[LIB],
		       (unsigned long long)m[TRACKER], (unsigned long long)m[BARE], (double)m[LIB] / (double)m[BARE],
		       (double)m[TRACKER] / (double)m[BARE]);
	}
	printf("%s\n", ok ? "" : "  WRONG ANSWERS");
	size = 0;
	ww_free_virtual_memory(WW_CURRENT_PROCESS, &base, &size, WW_MEM_RELEASE);
	ww_range_unregister(region[TRACKER], bytes);
	unmap_placed(region[TRACKER], bytes);
	bare_uffd_release(region[BARE], bytes);
	free(addrs);
	free(t);
	return ok;
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = { 128, 1024, 16384 };
	static const unsigned percents[] = { 1, 10 };
	int calls = argc > 3 ? atoi(argv[3]) : 400;
	int ok = 1;

	if (ww_set_backend(WW_BACKEND_KERNEL) || ww_range_tracker_status() || bare_uffd_open()) {
		fprintf(stderr, "ww_percall: needs async userfaultfd write-protect and PAGEMAP_SCAN\n");
		return 77;
	}
	cold_buffer = malloc(COLD_BYTES);
	memset(cold_buffer, 0, COLD_BYTES);
	printf("ns per call, median of %d: library (ww_get_write_watch) / tracker (ww_range_get_written) / bare ioctl "
	       "(x library/bare, x tracker/bare)\n", calls);
	for (int cold = 1; cold >= 0; cold--)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
			for (size_t p = 0; p < sizeof(percents) / sizeof(*percents); p++) {
				if (argc > 1 && strtoull(argv[1], NULL, 0) != sizes[s])
					continue;
				if (argc > 2 && (unsigned)atoi(argv[2]) != percents[p])
					continue;
				ok &= cell(sizes[s], percents[p], calls, cold);
			}
	return ok ? 0 : 1;
}
