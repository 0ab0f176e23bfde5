/* The report's GetWriteWatch cell in one process: batches of back-to-back
 * GetWriteWatch calls (no reset) on one region, the library's and the bare
 * PAGEMAP_SCAN's taking turns batch by batch; the best batch of each, in ns
 * per call, and their ratio.
 *
 *   ww_batch [PAGES [WRITTEN_PAGES [BATCHES]]]     defaults: 128 0 5000
 *
 * The cell the kernel backend misses most often is the clean 128-page one,
 * where the ioctl itself costs about 450 ns: a few tens of nanoseconds of
 * library work are the whole difference. Running this program against
 * builds that differ in one place (LD_LIBRARY_PATH=OTHER_BUILD/src/writewatch)
 * measures what that place costs; bench/results/percall-profile.md has the
 * figures. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "writewatch/writewatch.h"
#include "bare_uffd.h"

#define PAGE 4096u
#define CALLS_PER_BATCH 64 /* as in the report's cell for regions up to 256 pages */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Writes 'written' pages spread evenly over the region. */
static void write_pages(char *base, uint64_t pages, uint64_t written)
{
	for (uint64_t i = 0; i < written; i++)
		*(volatile uint64_t *)(base + (i * pages / written) * PAGE) = i + 1;
}

int main(int argc, char **argv)
{
	uint64_t pages = argc > 1 ? strtoull(argv[1], NULL, 0) : 128;
	uint64_t written = argc > 2 ? strtoull(argv[2], NULL, 0) : 0;
	long batches = argc > 3 ? atol(argv[3]) : 5000;
	size_t bytes = pages * PAGE;
	if (pages == 0 || written > pages || batches <= 0) {
		fprintf(stderr, "usage: %s [PAGES [WRITTEN_PAGES [BATCHES]]]\n", argv[0]);
		return 2;
	}
	const char *failed = bare_uffd_open();
	if (failed) {
		fprintf(stderr, "ww_batch: %s: %s\n", failed, strerror(errno));
		return 1;
	}
	void *lib = NULL;
	size_t size = bytes;
	if (ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &lib, &size, WW_MEM_RESERVE | WW_MEM_COMMIT | WW_MEM_WRITE_WATCH,
				       WW_PAGE_READWRITE)) {
		fprintf(stderr, "ww_batch: ww_allocate_virtual_memory failed\n");
		return 1;
	}
	char *bare = bare_uffd_alloc(bytes);
	void **addrs = malloc(pages * sizeof(*addrs));
	if (!bare || !addrs) {
		fprintf(stderr, "ww_batch: allocation failed\n");
		return 1;
	}
	/* Resident and clean, then the written pages. */
	memset(lib, 1, bytes);
	memset(bare, 1, bytes);
	if (ww_reset_write_watch(WW_CURRENT_PROCESS, lib, bytes) || bare_uffd_reset(bare, bytes)) {
		fprintf(stderr, "ww_batch: reset failed\n");
		return 1;
	}
	write_pages(lib, pages, written);
	write_pages(bare, pages, written);

	double best_lib = 1e300, best_bare = 1e300;
	int wrong = 0;
	for (long b = 0; b < batches; b++) {
		uintptr_t count = 0;
		uint32_t granularity;
		uint64_t t0 = now_ns();
		for (int i = 0; i < CALLS_PER_BATCH; i++) {
			count = pages;
			if (ww_get_write_watch(WW_CURRENT_PROCESS, 0, lib, bytes, addrs, &count, &granularity))
				wrong = 1;
		}
		uint64_t t1 = now_ns();
		wrong |= count != written;
		long found = 0;
		for (int i = 0; i < CALLS_PER_BATCH; i++)
			found = bare_uffd_get(bare, bytes, 0, addrs, pages);
		uint64_t t2 = now_ns();
		wrong |= found != (long)written;
		double lib_ns = (double)(t1 - t0) / CALLS_PER_BATCH, bare_ns = (double)(t2 - t1) / CALLS_PER_BATCH;
		if (lib_ns < best_lib)
			best_lib = lib_ns;
		if (bare_ns < best_bare)
			best_bare = bare_ns;
	}
	printf("%llu pages, %llu written: library %.0f ns, bare ioctl %.0f ns per call (x%.3f), best of %ld batches of %d%s\n",
	       (unsigned long long)pages, (unsigned long long)written, best_lib, best_bare, best_lib / best_bare, batches,
	       CALLS_PER_BATCH, wrong ? "  WRONG ANSWERS" : "");
	return wrong;
}
