/* Does the place of a watched region change what a reset costs?
 *
 * One region per process, placed by default (bottom-up in this project, see
 * src/writewatch/placement.h) or with MEM_TOP_DOWN (where mmap puts memory:
 * right below the shared libraries). Each round writes one page in every
 * 'step', then times ResetWriteWatch. With the fault backend (or Wine 8) a
 * reset re-protects pages that the writes split into separate mappings, so
 * the kernel's merging of mappings is most of the time. Prints the median.
 *
 * Only one region per process: with two, both resets cost the same wherever
 * the regions are. Run the placements as separate processes, alternating:
 *
 *   for i in 1 2 3; do
 *     WRITEWATCH_BACKEND=fault build/bench/ww_placement default
 *     WRITEWATCH_BACKEND=fault build/bench/ww_placement top-down
 *     WINEPREFIX=... wine build/bench/ww_placement.exe default
 *   done
 */
#include <windows.h>

#include "driver.h"

#define ROUNDS 41

static void write_every(char *base, size_t pages, size_t step)
{
	for (size_t i = 0; i < pages; i += step)
		((volatile char *)base)[i * BENCH_PAGE] = 1;
}

static int measure(const char *placement, size_t pages, size_t step)
{
	SIZE_T size = pages * BENCH_PAGE;
	DWORD type = MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH;
	char *base = VirtualAlloc(NULL, size, type | (strcmp(placement, "top-down") ? 0 : MEM_TOP_DOWN),
				  PAGE_READWRITE);
	double us[ROUNDS];
	if (!base) {
		fprintf(stderr, "VirtualAlloc of %zu pages failed: %lu\n", pages, (unsigned long)GetLastError());
		return 0;
	}
	write_every(base, pages, 1);
	for (int r = 0; r < ROUNDS; r++) {
		write_every(base, pages, step);
		uint64_t t0 = bench_now_ns();
		ResetWriteWatch(base, size);
		us[r] = (double)(bench_now_ns() - t0) / 1000;
	}
	printf("%-8s %p %6zu pages, 1 in %-3zu written: reset %8.1f us\n", placement, (void *)base, pages, step,
	       bench_median(us, ROUNDS));
	VirtualFree(base, 0, MEM_RELEASE);
	return 1;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1024, 16384 };
	static const size_t steps[] = { 100, 10, 1 };
	const char *placement = argc > 1 ? argv[1] : "default";
	int ok = 1;
	if (strcmp(placement, "default") && strcmp(placement, "top-down")) {
		fprintf(stderr, "usage: %s [default|top-down]\n", argv[0]);
		return 2;
	}
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
		for (size_t d = 0; d < sizeof(steps) / sizeof(*steps); d++)
			ok &= measure(placement, sizes[s], steps[d]);
	return ok ? 0 : 1;
}
