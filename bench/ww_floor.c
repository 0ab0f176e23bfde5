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
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../src/writewatch/uapi/pagemap_scan.h"
#include "../src/writewatch/uapi/userfaultfd_wp.h"

#include "driver.h"
#include "placed_map.h"

static int uffd = -1, pagemap = -1;

static int floor_open(void)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (uffd < 0) {
		perror("userfaultfd");
		return -1;
	}
	if (ioctl(uffd, UFFDIO_API, &api)) {
		perror("UFFDIO_API (async write-protect)");
		return -1;
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0) {
		perror("/proc/self/pagemap");
		return -1;
	}
	return 0;
}

/* Write-protect every written page of the range: one PAGEMAP_SCAN in its
 * write-protect-only mode (no output vector). */
static int floor_reset(void *base, size_t bytes)
{
	struct pm_scan_arg a = { 0 };
	a.size = sizeof(a);
	a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	a.start = (uintptr_t)base;
	a.end = (uintptr_t)base + bytes;
	a.category_mask = PAGE_IS_WRITTEN;
	if (ioctl(pagemap, PAGEMAP_SCAN, &a) < 0) {
		perror("PAGEMAP_SCAN reset");
		return -1;
	}
	return 0;
}

static void *floor_alloc(size_t bytes)
{
	void *p = map_placed(bytes);
	if (!p)
		return NULL;
	madvise(p, bytes, MADV_NOHUGEPAGE);
	struct uffdio_register reg = { .range = { (uintptr_t)p, bytes },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) || floor_reset(p, bytes)) {
		perror("UFFDIO_REGISTER");
		munmap(p, bytes);
		return NULL;
	}
	return p;
}

static void floor_release(void *base, size_t bytes)
{
	struct uffdio_range r = { (uintptr_t)base, bytes };
	ioctl(uffd, UFFDIO_UNREGISTER, &r);
	munmap(base, bytes);
}

/* Written pages as an address list: a 256-region vector on the stack,
 * max_pages = room left, resume from walk_end while the vector came back full. */
static int floor_get(void *base, size_t bytes, int reset, void **addrs, uintptr_t *count)
{
	struct page_region vec[256];
	uint64_t start = (uintptr_t)base, end = start + bytes, n = 0, max = *count;

	while (start < end && n < max) {
		struct pm_scan_arg a = { 0 };
		a.size = sizeof(a);
		a.flags = reset ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : 0;
		a.start = start;
		a.end = end;
		a.vec = (uintptr_t)vec;
		a.vec_len = 256;
		a.max_pages = max - n;
		a.category_mask = PAGE_IS_WRITTEN;
		a.return_mask = PAGE_IS_WRITTEN;
		long r = ioctl(pagemap, PAGEMAP_SCAN, &a);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("PAGEMAP_SCAN");
			return -1;
		}
		for (long i = 0; i < r; i++)
			for (uint64_t p = vec[i].start; p < vec[i].end; p += BENCH_PAGE)
				addrs[n++] = (void *)(uintptr_t)p;
		if (a.walk_end >= end || r < 256)
			break;
		start = a.walk_end;
	}
	*count = n;
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

static void plain_release(void *base, size_t bytes) { munmap(base, bytes); }

int main(int argc, char **argv)
{
	struct bench_ops ops = { 0 };

	if (argc < 2) {
		fprintf(stderr, "usage: %s uffd|untracked [--short|--long | wine ...]\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "uffd")) {
		if (floor_open())
			return 77; /* kernel lacks async write-protect: skip */
		ops.name = "floor-uffd";
		ops.alloc = floor_alloc;
		ops.release = floor_release;
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
