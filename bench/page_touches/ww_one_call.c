/* One GetWriteWatch-shaped call between two markers, for page_touches.py.
 *
 *   ww_one_call tracker|library|bare
 *
 * Sets up a 128-page region (the range tracker's, an NT-level allocation of
 * the library, or bare userfaultfd memory), writes one page, and makes the
 * get-and-reset call three times; the third lies between mark_begin() and
 * mark_end(), warm, as in a loop. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../src/writewatch/uapi/pagemap_scan.h"
#include "../../src/writewatch/uapi/userfaultfd_wp.h"
#include "../placed_map.h"
#include "writewatch/writewatch.h"

#define PAGES 128

__attribute__((noinline)) void mark_begin(void) { __asm__ volatile(""); }
__attribute__((noinline)) void mark_end(void) { __asm__ volatile(""); }

static int pagemap = -1;

static long bare_get_reset(char *base, void **addrs)
{
	struct page_region vec[256];
	struct pm_scan_arg a = { .size = sizeof(a), .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				 .start = (uintptr_t)base, .end = (uintptr_t)base + PAGES * 4096,
				 .vec = (uintptr_t)vec, .vec_len = 256, .max_pages = PAGES,
				 .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN };
	long r = ioctl(pagemap, PAGEMAP_SCAN, &a), n = 0;
	for (long i = 0; i < r; i++)
		for (uint64_t p = vec[i].start; p < vec[i].end; p += 4096)
			addrs[n++] = (void *)(uintptr_t)p;
	return r < 0 ? -1 : n;
}

static char *bare_region(size_t bytes)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	char *p = map_placed(bytes);
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || !p || pagemap < 0)
		return NULL;
	struct uffdio_register reg = { .range = { (uintptr_t)p, bytes }, .mode = UFFDIO_REGISTER_MODE_WP };
	return ioctl(uffd, UFFDIO_REGISTER, &reg) ? NULL : p;
}

int main(int argc, char **argv)
{
	const char *who = argc > 1 ? argv[1] : "tracker";
	size_t bytes = PAGES * 4096;
	void *addrs[PAGES], *base = NULL;
	size_t size = bytes;
	uint32_t granularity;
	char *p = NULL;

	if (!strcmp(who, "library")) {
		if (ww_set_backend(WW_BACKEND_KERNEL) ||
		    ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &size,
					       WW_MEM_RESERVE | WW_MEM_COMMIT | WW_MEM_WRITE_WATCH, WW_PAGE_READWRITE))
			return 77;
		p = base;
	} else if (!strcmp(who, "tracker")) {
		p = map_placed(bytes);
		if (!p || ww_range_register(p, bytes))
			return 77;
	} else {
		p = bare_region(bytes);
		if (!p)
			return 77;
	}
	memset(p, 1, bytes);
	for (int i = 0; i < 3; i++) {
		uintptr_t count = PAGES;
		long got;
		p[5 * 4096] = 2;
		if (i == 2)
			mark_begin();
		if (!strcmp(who, "library"))
			got = ww_get_write_watch(WW_CURRENT_PROCESS, WW_WRITE_WATCH_FLAG_RESET, p, bytes, addrs, &count,
						 &granularity) ? -1 : (long)count;
		else if (!strcmp(who, "tracker"))
			got = ww_range_get_written(p, bytes, WW_WRITE_WATCH_FLAG_RESET, addrs, &count) ? -1 : (long)count;
		else
			got = bare_get_reset(p, addrs);
		if (i == 2)
			mark_end();
		if (i > 0 && got != 1)
			return 1;
	}
	return 0;
}
