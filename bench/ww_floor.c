/* The floor: the benchmark's workloads with no library in between.
 *
 *   ww_floor uffd [--short|--long]       bare userfaultfd async write-protect +
 *                                        PAGEMAP_SCAN, in the simplest loop that
 *                                        still returns a page address list
 *   ww_floor untracked [--short|--long]  plain anonymous memory, nothing tracked
 *                                        (write measures only)
 *
 * Same driver.h loops as ww_bench, so the figures compare one to one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <sys/mman.h>

#include "bare_uffd.h"
#include "driver.h"
#include "placed_map.h"

/* The bench_ops of the uffd floor: bare_uffd.h, with errors printed. */
static int floor_reset(void *base, size_t bytes)
{
	if (bare_uffd_reset(base, bytes) == 0)
		return 0;
	perror("PAGEMAP_SCAN reset");
	return -1;
}

static void *floor_alloc(size_t bytes)
{
	void *p = bare_uffd_alloc(bytes);
	if (!p)
		perror("tracked region (UFFDIO_REGISTER)");
	return p;
}

static int floor_get(void *base, size_t bytes, int reset, void **addrs, uintptr_t *count)
{
	long n = bare_uffd_get(base, bytes, reset, addrs, *count);
	if (n < 0) {
		perror("PAGEMAP_SCAN");
		return -1;
	}
	*count = (uintptr_t)n;
	return 0;
}

static void *plain_alloc(size_t bytes)
{
	void *p = map_placed(bytes);
	if (!p)
		return NULL;
	madvise(p, bytes, MADV_NOHUGEPAGE);
	return p;
}

static void plain_release(void *base, size_t bytes) { unmap_placed(base, bytes); }

int main(int argc, char **argv)
{
	struct bench_ops ops = { 0 };

	if (argc < 2) {
		fprintf(stderr, "usage: %s uffd|untracked [--short|--long | wine ...]\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "uffd")) {
		const char *failed = bare_uffd_open();
		if (failed) {
			perror(failed);
			return 77; /* kernel lacks async write-protect: skip */
		}
		ops.name = "floor-uffd";
		ops.alloc = floor_alloc;
		ops.release = bare_uffd_release;
		ops.get = floor_get;
		ops.reset = floor_reset;
	} else if (!strcmp(argv[1], "untracked")) {
		ops.name = "floor-untracked";
		ops.alloc = plain_alloc;
		ops.release = plain_release;
	} else {
		fprintf(stderr, "unknown floor '%s'\n", argv[1]);
		return 2;
	}
	return bench_main(&ops, argc - 1, argv + 1, NULL);
}
