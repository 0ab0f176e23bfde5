/* Anonymous read-write memory placed where the library places its
 * reservations: bottom-up from a random 2 MiB boundary above 4 GiB, from
 * 2 MiB on at a 2 MiB boundary, smaller ones inside one 2 MiB block
 * (src/writewatch/placement.h). Where a region starts within its page table
 * decides how a write-protecting scan flushes the TLB (page by page or
 * whole), and where it lies in the address space what merging its mappings
 * costs, so the bare kernel contestants place their memory the same way: the
 * comparison is then of code paths, not of placements
 * (bench/results/percall-profile.md, bench/results/README.md "Placement").
 * Simpler than the library: only the last region's space is reused, and a
 * taken candidate falls back to mmap's own place. Release with
 * unmap_placed(p, bytes). */
#pragma once

#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>

static uintptr_t placed_cursor; /* where the next region goes, 0 before the first */

/* 'at', or the next 2 MiB block's start if a region smaller than a block
 * would cross into it. */
static inline uintptr_t placed_within_block(uintptr_t at, size_t bytes)
{
	const uintptr_t block = 2u << 20;
	uintptr_t block_end = (at & ~(block - 1)) + block;
	return bytes < block && at + bytes > block_end ? block_end : at;
}

static inline char *map_placed(size_t bytes)
{
	const uintptr_t block = 2u << 20;
	uintptr_t cursor = placed_cursor;
	int large = bytes >= block;
	if (!cursor) {
		uint64_t bits = 0;
		if (getrandom(&bits, sizeof(bits), GRND_NONBLOCK) != sizeof(bits))
			bits = (uintptr_t)&bits;
		cursor = ((uintptr_t)1 << 32) + ((bits % ((uintptr_t)1 << 40)) & ~(block - 1));
	}
	uintptr_t want = placed_within_block(
		(cursor + (large ? block : 0x10000) - 1) & ~(large ? block - 1 : (uintptr_t)0xffff), bytes);
	char *fixed = mmap((void *)want, bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	placed_cursor = want + bytes;
	if (fixed == (char *)want)
		return fixed;
	if (fixed != MAP_FAILED)
		munmap(fixed, bytes);
	size_t padded = bytes + (large ? block : 0x10000 + bytes);
	char *raw = mmap(NULL, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uintptr_t r = (uintptr_t)raw;
	uintptr_t at = large ? (r + block - 1) & ~(block - 1) : (r + 0xffff) & ~(uintptr_t)0xffff;
	uintptr_t moved = placed_within_block(at, bytes);
	if (moved + bytes <= r + padded)
		at = moved;
	if (at > r)
		munmap(raw, at - r);
	if (r + padded > at + bytes)
		munmap((char *)(at + bytes), r + padded - (at + bytes));
	return (char *)at;
}

static inline void unmap_placed(void *p, size_t bytes)
{
	munmap(p, bytes);
	if ((uintptr_t)p + bytes == placed_cursor)
		placed_cursor = (uintptr_t)p;
}
