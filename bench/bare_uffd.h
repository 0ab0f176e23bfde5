/* The bare kernel calls every floor measures: userfaultfd async write-protect
 * and PAGEMAP_SCAN in the simplest form that still returns an address list,
 * no library. One copy for ww_floor, ww_percall and page_touches/ww_one_call,
 * so that every comparison is against the same floor. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../src/writewatch/uapi/pagemap_scan.h"
#include "../src/writewatch/uapi/userfaultfd_wp.h"
#include "placed_map.h"

#define BARE_UFFD_PAGE 4096u

static int bare_uffd = -1, bare_pagemap = -1;

/* Opens the descriptors. Returns NULL, or the step that failed (errno set). */
static inline const char *bare_uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	bare_uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (bare_uffd < 0)
		return "userfaultfd";
	if (ioctl(bare_uffd, UFFDIO_API, &api))
		return "UFFDIO_API (async write-protect)";
	bare_pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	return bare_pagemap < 0 ? "/proc/self/pagemap" : NULL;
}

/* Write-protects every written page of the range: one PAGEMAP_SCAN in its
 * write-protect-only mode (no output vector). 0, or -1 and errno. */
static inline int bare_uffd_reset(void *base, size_t bytes)
{
	struct pm_scan_arg a = { .size = sizeof(a), .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				 .start = (uintptr_t)base, .end = (uintptr_t)base + bytes,
				 .category_mask = PAGE_IS_WRITTEN };
	return ioctl(bare_pagemap, PAGEMAP_SCAN, &a) < 0 ? -1 : 0;
}

/* Tracked read-write memory, placed as the library places its own, all of
 * it clean; NULL and errno on failure. Release with bare_uffd_release. */
static inline char *bare_uffd_alloc(size_t bytes)
{
	char *p = map_placed(bytes);
	if (!p)
		return NULL;
	madvise(p, bytes, MADV_NOHUGEPAGE);
	struct uffdio_register reg = { .range = { (uintptr_t)p, bytes }, .mode = UFFDIO_REGISTER_MODE_WP };
	if (ioctl(bare_uffd, UFFDIO_REGISTER, &reg) || bare_uffd_reset(p, bytes)) {
		int error = errno;
		unmap_placed(p, bytes);
		errno = error;
		return NULL;
	}
	return p;
}

static inline void bare_uffd_release(void *base, size_t bytes)
{
	struct uffdio_range r = { (uintptr_t)base, bytes };
	ioctl(bare_uffd, UFFDIO_UNREGISTER, &r);
	unmap_placed(base, bytes);
}

/* Up to max written pages of the range into addrs (with reset, those become
 * clean): a 256-region vector on the stack, max_pages = room left, resuming
 * from walk_end while the vector came back full. The page count, or -1 and
 * errno. */
static inline long bare_uffd_get(void *base, size_t bytes, int reset, void **addrs, uint64_t max)
{
	struct page_region vec[256];
	uint64_t start = (uintptr_t)base, end = start + bytes, n = 0;
	while (start < end && n < max) {
		struct pm_scan_arg a = { .size = sizeof(a), .flags = reset ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : 0,
					 .start = start, .end = end, .vec = (uintptr_t)vec, .vec_len = 256,
					 .max_pages = max - n, .category_mask = PAGE_IS_WRITTEN,
					 .return_mask = PAGE_IS_WRITTEN };
		long r = ioctl(bare_pagemap, PAGEMAP_SCAN, &a);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (long i = 0; i < r; i++)
			for (uint64_t p = vec[i].start; p < vec[i].end; p += BARE_UFFD_PAGE)
				addrs[n++] = (void *)(uintptr_t)p;
		if (a.walk_end >= end || r < 256)
			break;
		start = a.walk_end;
	}
	return (long)n;
}
