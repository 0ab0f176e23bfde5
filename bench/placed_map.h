/* Anonymous read-write memory placed where the library places its
 * reservations: from 2 MiB on at a 2 MiB boundary, smaller ones inside one
 * 2 MiB block. Where a region starts within its page table decides how a
 * write-protecting scan flushes the TLB (page by page or whole), so the bare
 * kernel contestants place their memory the same way: the comparison is then
 * of code paths, not of placements (bench/results/percall-profile.md).
 * Release with munmap(p, bytes). */
#pragma once

#include <stdint.h>
#include <sys/mman.h>

static inline char *map_placed(size_t bytes)
{
	const uintptr_t block = 2u << 20;
	int large = bytes >= block;
	size_t padded = bytes + (large ? block : 0x10000 + bytes);
	char *raw = mmap(NULL, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uintptr_t r = (uintptr_t)raw;
	uintptr_t at = large ? (r + block - 1) & ~(block - 1) : (r + 0xffff) & ~(uintptr_t)0xffff;
	uintptr_t block_end = (at & ~(block - 1)) + block;
	if (!large && at + bytes > block_end && block_end + bytes <= r + padded)
		at = block_end;
	if (at > r)
		munmap(raw, at - r);
	if (r + padded > at + bytes)
		munmap((char *)(at + bytes), r + padded - (at + bytes));
	return (char *)at;
}

