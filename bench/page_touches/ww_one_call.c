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
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../bare_uffd.h"
#include "../placed_map.h"
#include "writewatch/writewatch.h"

#define PAGES 128

__attribute__((noinline)) void mark_begin(void) { __asm__ volatile(""); }
__attribute__((noinline)) void mark_end(void) { __asm__ volatile(""); }

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
		if (bare_uffd_open() || !(p = bare_uffd_alloc(bytes)))
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
			got = bare_uffd_get(p, bytes, 1, addrs, PAGES);
		if (i == 2)
			mark_end();
		if (i > 0 && got != 1)
			return 1;
	}
	return 0;
}
