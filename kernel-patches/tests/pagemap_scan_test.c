/* Kernel-level test of async userfaultfd write-protect and PAGEMAP_SCAN.
 *
 * Runs on any kernel with UFFD_FEATURE_WP_ASYNC, UFFD_FEATURE_WP_UNPOPULATED
 * and PAGEMAP_SCAN (mainline 6.7+, or 6.1 with the writewatch series). With
 * --expect-unsupported it instead checks that a kernel without them (stock
 * 6.1) refuses them cleanly, which is what the project's fallback relies on.
 *
 * Prints one line per check and a final "N passed, N failed" line; exits 0
 * only if nothing failed.
 *
 * Page-size independent: offsets are counted in pages of the running kernel
 * (sysconf), THP sizes come from hpage_pmd_size.
 *
 * Build: cc -O2 -static -pthread -I../../src/writewatch -o pagemap_scan_test pagemap_scan_test.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ABI values: the project's own copies (src/writewatch/uapi), which Debian
 * 12's 6.1 headers lack. */
#include "uapi/pagemap_scan.h"
#include "uapi/userfaultfd_wp.h"
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif

/* The page size and the PMD (THP) size of the running kernel, set in main():
 * 4 KiB and 2 MiB on x86_64 and 4K arm64, 16 KiB and 32 MiB on 16K arm64.
 * HPN is the number of pages in a PMD-sized huge page. */
static unsigned long PS, HPS, HPN;

static int npass, nfail, nskip;
static int pagemap_fd = -1;

static void check(int ok, const char *name, const char *fmt, ...)
{
	if (ok) {
		npass++;
		printf("PASS %s\n", name);
	} else {
		va_list ap;
		nfail++;
		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

static void skip(const char *name, const char *why)
{
	nskip++;
	printf("SKIP %s: %s\n", name, why);
	fflush(stdout);
}

/* ---- helpers ---------------------------------------------------------- */

static int uffd_open(uint64_t features, uint64_t *got)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	if (ioctl(fd, UFFDIO_API, &api)) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (got)
		*got = api.features;
	return fd;
}

static int uffd_register_wp(int fd, void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	return ioctl(fd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

struct scan {
	uint64_t flags, max_pages, inv, mask, anyof, ret;
	struct page_region *vec;
	uint64_t vec_len;
	uint64_t walk_end;
	int err;
};

/* Returns the ioctl result (regions) or -1 with s->err set. */
static long do_scan(void *start, void *end, struct scan *s)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = s->flags,
		.start = (uintptr_t)start,
		.end = (uintptr_t)end,
		.vec = (uintptr_t)s->vec,
		.vec_len = s->vec_len,
		.max_pages = s->max_pages,
		.category_inverted = s->inv,
		.category_mask = s->mask,
		.category_anyof_mask = s->anyof,
		.return_mask = s->ret,
	};
	long r = ioctl(pagemap_fd, PAGEMAP_SCAN, &a);
	s->err = r < 0 ? errno : 0;
	s->walk_end = a.walk_end;
	return r;
}

static long raw_scan(struct pm_scan_arg *a)
{
	long r = ioctl(pagemap_fd, PAGEMAP_SCAN, a);
	return r < 0 ? -errno : r;
}

/* Write-protect (reset) a whole range: WP-only mode, no output vector. */
static long wp_all(void *start, size_t len)
{
	struct scan s = { .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			  .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN };
	long r = do_scan(start, (char *)start + len, &s);
	return r < 0 ? -s.err : r;
}

static char *map_anon(size_t len, size_t align)
{
	size_t total = len + align;
	char *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (align > PS) {
		char *a = (char *)(((uintptr_t)p + align - 1) & ~(align - 1));
		if (a > p)
			munmap(p, a - p);
		if (a + len < p + total)
			munmap(a + len, p + total - (a + len));
		return a;
	}
	return p;
}

static const char *fmt_regions(struct page_region *v, long n, char *base)
{
	static char buf[512];
	size_t o = 0;
	buf[0] = 0;
	for (long i = 0; i < n && o < sizeof(buf) - 64; i++)
		o += snprintf(buf + o, sizeof(buf) - o, "[%ld,%ld)#%llx ",
			      (long)((v[i].start - (uintptr_t)base) / PS),
			      (long)((v[i].end - (uintptr_t)base) / PS),
			      (unsigned long long)v[i].categories);
	return buf;
}

static int region_is(struct page_region *r, char *base, long from, long to)
{
	return r->start == (uintptr_t)base + from * PS && r->end == (uintptr_t)base + to * PS;
}

/* ---- checks ------------------------------------------------------------ */

static int uffd;

static void test_args(void)
{
	/* 16-page aligned, so inside one page table; a write and a zap make
	 * sure that page table exists (see test_unregistered_hole for a range
	 * without one). */
	char *m = map_anon(16 * PS, 16 * PS);
	m[0] = 1;
	madvise(m, PS, MADV_DONTNEED);
	struct page_region vec[4];
	struct pm_scan_arg a, base = { .size = sizeof(a), .start = (uintptr_t)m,
				       .end = (uintptr_t)m + 16 * PS,
				       .vec = (uintptr_t)vec, .vec_len = 4,
				       .category_mask = PAGE_IS_WRITTEN,
				       .return_mask = PAGE_IS_WRITTEN };
	long r;

	/* Not write-protected means written, even where nothing is mapped in. */
	a = base;
	r = raw_scan(&a);
	check(r == 1 && vec[0].start == (uintptr_t)m && vec[0].end == (uintptr_t)m + 16 * PS &&
	      a.walk_end == a.end, "args.valid_call_unprotected_is_written", "got %ld", r);

	a = base; a.size = sizeof(a) - 8;
	r = raw_scan(&a);
	check(r == -EINVAL, "args.short_size", "got %ld", r);
	a = base; a.size = sizeof(a) + 8;
	r = raw_scan(&a);
	check(r == -EINVAL, "args.long_size", "got %ld", r);
	a = base; a.flags = 1ULL << 2;
	r = raw_scan(&a);
	check(r == -EINVAL, "args.unknown_flag", "got %ld", r);
	a = base; a.category_mask = 1ULL << 40;
	r = raw_scan(&a);
	check(r == -EINVAL, "args.unknown_category_mask", "got %ld", r);
	a = base; a.category_inverted = 1ULL << 63;
	r = raw_scan(&a);
	check(r == -EINVAL, "args.unknown_category_inverted", "got %ld", r);
	a = base; a.category_anyof_mask = 1ULL << 50;
	r = raw_scan(&a);
	check(r == -EINVAL, "args.unknown_anyof", "got %ld", r);
	a = base; a.return_mask = 1ULL << 33;
	r = raw_scan(&a);
	check(r == -EINVAL, "args.unknown_return_mask", "got %ld", r);
	a = base; a.start += 1;
	r = raw_scan(&a);
	check(r == -EINVAL, "args.unaligned_start", "got %ld", r);
	a = base; a.vec = 0;
	r = raw_scan(&a);
	check(r == -EINVAL, "args.null_vec_nonzero_len", "got %ld", r);
	a = base; a.vec = 0xffff888000000000ULL;
	r = raw_scan(&a);
	check(r == -EFAULT, "args.kernel_vec", "got %ld", r);
	r = ioctl(pagemap_fd, PAGEMAP_SCAN, (void *)0x10) < 0 ? -errno : 0;
	check(r == -EFAULT, "args.bad_arg_pointer", "got %ld", r);
	a = base; a.start = 0xffff888000000000ULL; a.end = a.start + PS;
	r = raw_scan(&a);
	check(r == -EFAULT, "args.kernel_range", "got %ld", r);

	/* Unregistered memory: CHECK_WPASYNC refuses, WP_MATCHING skips. */
	m[0] = 1;
	a = base; a.flags = PM_SCAN_CHECK_WPASYNC;
	r = raw_scan(&a);
	check(r == -EPERM, "args.check_wpasync_unregistered", "got %ld", r);
	a = base; a.flags = PM_SCAN_WP_MATCHING;
	r = raw_scan(&a);
	check(r == 0, "args.wp_matching_skips_unregistered", "got %ld", r);
	a = base; a.return_mask = PAGE_IS_PRESENT | PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED | PAGE_IS_FILE;
	r = raw_scan(&a);
	check(r == 2 && vec[0].categories == (PAGE_IS_PRESENT | PAGE_IS_WRITTEN) &&
	      vec[0].end == (uintptr_t)m + PS && vec[1].categories == PAGE_IS_WRITTEN &&
	      vec[1].end == (uintptr_t)m + 16 * PS,
	      "args.unregistered_categories", "got %ld cat %llx", r,
	      (unsigned long long)vec[0].categories);

	/* Unaligned end is rounded up. */
	a = base; a.end = (uintptr_t)m + 1;
	r = raw_scan(&a);
	check(r == 1 && a.walk_end == (uintptr_t)m + PS && vec[0].end == (uintptr_t)m + PS,
	      "args.unaligned_end_rounded", "got %ld walk_end +%llx", r,
	      (unsigned long long)(a.walk_end - (uintptr_t)m));
	/* Empty range. */
	a = base; a.end = a.start;
	r = raw_scan(&a);
	check(r == 0, "args.empty_range", "got %ld", r);
	/* size bigger than the struct never matches: also an unknown ioctl. */
	r = ioctl(pagemap_fd, _IOWR('f', 17, struct pm_scan_arg), &a) < 0 ? -errno : 0;
	check(r < 0, "args.unknown_ioctl_fails", "got %ld", r);
	munmap(m, 16 * PS);
}

/* An unregistered range with no page table at all (a fresh, PMD-aligned
 * mapping): the 6.1 series reports it WRITTEN like an empty pte; mainline
 * (6.12, 6.18) reports holes as WRITTEN only in uffd-wp vmas, so nothing
 * here. The engine never scans unregistered memory, so this is only
 * printed; the fast path (WRITTEN masks only) and the generic path must
 * agree, though. */
static void test_unregistered_hole(void)
{
	char *m = map_anon(HPS, HPS);
	struct page_region vec[4];
	if (!m) {
		check(0, "args.unregistered_hole_not_written", "mmap failed");
		return;
	}
	madvise(m, HPS, MADV_NOHUGEPAGE);
	struct scan fast = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 4 };
	long rf = do_scan(m, m + 16 * PS, &fast);
	int fast_written = rf == 1 && region_is(&vec[0], m, 0, 16);
	struct scan generic = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN | PAGE_IS_PRESENT,
				.vec = vec, .vec_len = 4 };
	long rg = do_scan(m, m + 16 * PS, &generic);
	int generic_written = rg == 1 && region_is(&vec[0], m, 0, 16);
	/* Mainline (and the 6.1 series since its hugetlb patch): a range with no
	 * page table outside uffd-wp vmas is not written, on both paths. */
	check(rf == 0 && rg == 0 && !fast_written && !generic_written,
	      "args.unregistered_hole_not_written", "fast %ld generic %ld %s", rf, rg,
	      fmt_regions(vec, rg > 0 ? rg : 0, m));
	munmap(m, HPS);
}

static void test_basic(void)
{
	enum { N = 64 };
	char *m = map_anon(N * PS, PS);
	struct page_region vec[64];
	long r;
	int e = uffd_register_wp(uffd, m, N * PS);
	check(e == 0, "basic.register", "errno %d", -e);
	if (e)
		return;
	r = wp_all(m, N * PS);
	check(r == 0, "basic.wp_unpopulated", "got %ld", r);

	struct scan s = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + N * PS, &s);
	check(r == 0 && s.walk_end == (uintptr_t)m + N * PS, "basic.clean_after_wp",
	      "got %ld %s", r, r > 0 ? fmt_regions(vec, r, m) : "");

	/* Reading unpopulated protected memory is not a write. */
	volatile char sink = m[20 * PS];
	(void)sink;
	r = do_scan(m, m + N * PS, &s);
	check(r == 0, "basic.read_is_not_write", "got %ld %s", r, r > 0 ? fmt_regions(vec, r, m) : "");

	m[3 * PS] = 1;
	m[10 * PS + 5] = 1;
	m[11 * PS] = 1;
	m[12 * PS + PS - 1] = 1;
	m[40 * PS] = 1;
	m[20 * PS] = 1; /* after the read above */
	r = do_scan(m, m + N * PS, &s);
	check(r == 4 && region_is(&vec[0], m, 3, 4) && region_is(&vec[1], m, 10, 13) &&
	      region_is(&vec[2], m, 20, 21) && region_is(&vec[3], m, 40, 41) &&
	      vec[0].categories == PAGE_IS_WRITTEN,
	      "basic.written_regions", "got %ld %s", r, r > 0 ? fmt_regions(vec, r, m) : "");

	s.ret = ~0ULL & 0x7f;
	r = do_scan(m, m + 4 * PS, &s);
	check(r == 1 && vec[0].categories == (PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN | PAGE_IS_PRESENT),
	      "basic.categories_written_page", "got %ld %s", r, fmt_regions(vec, r, m));
	s.ret = PAGE_IS_WRITTEN;

	/* category_inverted: unwritten pages among the first 16. */
	struct scan si = { .inv = PAGE_IS_WRITTEN, .mask = PAGE_IS_WRITTEN,
			   .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + 16 * PS, &si);
	check(r == 3 && region_is(&vec[0], m, 0, 3) && region_is(&vec[1], m, 4, 10) &&
	      region_is(&vec[2], m, 13, 16) && vec[0].categories == 0,
	      "basic.category_inverted", "got %ld %s", r, fmt_regions(vec, r, m));

	/* anyof: PRESENT or WRITTEN matches written pages and the read one. */
	struct scan sa = { .anyof = PAGE_IS_WRITTEN | PAGE_IS_PRESENT,
			   .ret = PAGE_IS_WRITTEN | PAGE_IS_PRESENT, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + 16 * PS, &sa);
	check(r == 2 && region_is(&vec[0], m, 3, 4) && region_is(&vec[1], m, 10, 13),
	      "basic.anyof", "got %ld %s", r, fmt_regions(vec, r, m));

	/* Regions split by differing return categories. */
	struct scan sp = { .mask = PAGE_IS_WPALLOWED, .ret = PAGE_IS_WRITTEN,
			   .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + 16 * PS, &sp);
	check(r == 5 && region_is(&vec[0], m, 0, 3) && region_is(&vec[1], m, 3, 4) &&
	      region_is(&vec[4], m, 13, 16) && vec[1].categories == PAGE_IS_WRITTEN &&
	      vec[0].categories == 0,
	      "basic.regions_split_by_category", "got %ld %s", r, fmt_regions(vec, r, m));

	/* Get and reset. */
	struct scan sw = { .flags = PM_SCAN_WP_MATCHING, .mask = PAGE_IS_WRITTEN,
			   .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + N * PS, &sw);
	check(r == 4, "basic.get_and_reset_returns", "got %ld", r);
	r = do_scan(m, m + N * PS, &s);
	check(r == 0, "basic.clean_after_reset", "got %ld %s", r, r > 0 ? fmt_regions(vec, r, m) : "");
	m[11 * PS] = 2;
	r = do_scan(m, m + N * PS, &s);
	check(r == 1 && region_is(&vec[0], m, 11, 12), "basic.rewrite_after_reset",
	      "got %ld %s", r, fmt_regions(vec, r, m));

	/* A kernel write (read(2) into protected memory) counts. */
	wp_all(m, N * PS);
	int pfd[2];
	if (pipe(pfd) == 0) {
		char b[8] = "abcdefg";
		ssize_t w = write(pfd[1], b, sizeof(b));
		ssize_t rd = read(pfd[0], m + 30 * PS + PS - 4, sizeof(b)); /* straddles 30/31 */
		close(pfd[0]);
		close(pfd[1]);
		r = do_scan(m, m + N * PS, &s);
		check(w == 8 && rd == 8 && r == 1 && region_is(&vec[0], m, 30, 32),
		      "basic.kernel_write_straddling", "rd %zd got %ld %s", rd, r,
		      fmt_regions(vec, r, m));
	}

	/* MADV_DONTNEED drops the protection: reported written (mainline). */
	wp_all(m, N * PS);
	m[50 * PS] = 1;
	wp_all(m, N * PS);
	madvise(m + 50 * PS, PS, MADV_DONTNEED);
	r = do_scan(m, m + N * PS, &s);
	check(r == 1 && region_is(&vec[0], m, 50, 51), "basic.dontneed_reports_written",
	      "got %ld %s", r, fmt_regions(vec, r, m));

	/* UFFDIO_WRITEPROTECT also protects in async mode, and unprotect. */
	wp_all(m, N * PS);
	m[5 * PS] = 1;
	struct uffdio_writeprotect wp = { .range = { (uintptr_t)m, N * PS },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int we = ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
	r = do_scan(m, m + N * PS, &s);
	check(we == 0 && r == 0, "basic.uffdio_writeprotect", "rc %d got %ld", we, r);
	wp.mode = 0;
	we = ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
	r = do_scan(m, m + N * PS, &s);
	check(we == 0 && r == 1 && region_is(&vec[0], m, 0, N), "basic.uffdio_unprotect",
	      "rc %d got %ld %s", we, r, fmt_regions(vec, r, m));

	/* UFFDIO_WRITEPROTECT over a range that mprotect split into 3 vmas. */
	m[2 * PS] = 1;
	m[30 * PS] = 1;
	int pe = mprotect(m + 10 * PS, 10 * PS, PROT_READ);
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	we = ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) ? errno : 0;
	r = do_scan(m, m + N * PS, &s);
	check(pe == 0 && we == 0 && r == 0, "basic.uffdio_writeprotect_across_vmas",
	      "mprotect %d errno %d got %ld %s", pe, we, r, fmt_regions(vec, r, m));
	mprotect(m + 10 * PS, 10 * PS, PROT_READ | PROT_WRITE);
	/* Still tracked after the protection change: */
	m[15 * PS] = 1;
	r = do_scan(m, m + N * PS, &s);
	check(r == 1 && region_is(&vec[0], m, 15, 16), "basic.tracked_after_mprotect",
	      "got %ld %s", r, fmt_regions(vec, r, m));
	munmap(m, N * PS);
}

/* MADV_DONTNEED on anonymous memory registered for async uffd-wp with
 * WP_UNPOPULATED. An anonymous zap drops the pte together with its uffd-wp
 * bit or marker, so the page is no longer write-protected and PAGEMAP_SCAN
 * reports it WRITTEN: on the PAGE_IS_WRITTEN-only fast path and on the
 * generic path (any other masks) alike, whether the page was protected and
 * populated, protected and never populated (a marker), or already written.
 * The writewatch engine's MEM_RESET and decommit code relies on this. The
 * categories each kernel gives are also printed as INFO. */
static void test_zap(void)
{
	enum { N = 16 };
	const uint64_t all_cats = PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN | PAGE_IS_FILE |
				  PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO | PAGE_IS_HUGE;
	char *m = map_anon(N * PS, PS);
	struct page_region vec[N];
	long r;
	madvise(m, N * PS, MADV_NOHUGEPAGE);
	if (uffd_register_wp(uffd, m, N * PS)) {
		check(0, "zap.register", "errno %d", errno);
		return;
	}
	m[2 * PS] = 1; /* page 2: populated, then protected */
	r = wp_all(m, N * PS);
	m[8 * PS] = 1; /* page 8: written after the protection */
	/* page 5: never touched, protected through its marker alone */
	int e = madvise(m + 2 * PS, PS, MADV_DONTNEED) | madvise(m + 5 * PS, PS, MADV_DONTNEED) |
		madvise(m + 8 * PS, PS, MADV_DONTNEED);
	check(r == 0 && e == 0, "zap.setup", "wp %ld madvise %d", r, e);

	struct scan all = { .ret = all_cats, .vec = vec, .vec_len = N };
	r = do_scan(m, m + N * PS, &all);
	printf("INFO zap: categories after MADV_DONTNEED of pages 2 (protected), 5 (marker), "
	       "8 (written): %s\n", r >= 0 ? fmt_regions(vec, r, m) : strerror(all.err));

	struct scan fast = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = N };
	r = do_scan(m, m + N * PS, &fast);
	check(r == 3 && region_is(&vec[0], m, 2, 3) && region_is(&vec[1], m, 5, 6) &&
	      region_is(&vec[2], m, 8, 9),
	      "zap.written_fast_path", "got %ld %s", r, fmt_regions(vec, r, m));
	struct scan generic = { .mask = PAGE_IS_WRITTEN, .ret = all_cats, .vec = vec, .vec_len = N };
	r = do_scan(m, m + N * PS, &generic);
	int cats_ok = r == 3;
	for (long i = 0; i < r && i < 3; i++)
		cats_ok &= vec[i].categories == (PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN);
	check(cats_ok && region_is(&vec[0], m, 2, 3) && region_is(&vec[1], m, 5, 6) &&
	      region_is(&vec[2], m, 8, 9),
	      "zap.written_generic_path", "got %ld %s", r, fmt_regions(vec, r, m));

	/* A get-and-reset returns and re-protects them; contents are gone. */
	struct scan sw = { .flags = PM_SCAN_WP_MATCHING, .mask = PAGE_IS_WRITTEN,
			   .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = N };
	r = do_scan(m, m + N * PS, &sw);
	long r2 = do_scan(m, m + N * PS, &fast);
	check(r == 3 && r2 == 0 && m[2 * PS] == 0 && m[8 * PS] == 0, "zap.reset_protects_again",
	      "got %ld then %ld, contents %d %d", r, r2, m[2 * PS], m[8 * PS]);
	m[5 * PS] = 1;
	r = do_scan(m, m + N * PS, &fast);
	check(r == 1 && region_is(&vec[0], m, 5, 6), "zap.write_after_reset", "got %ld %s", r,
	      fmt_regions(vec, r, m));
	munmap(m, N * PS);
}

static void test_max_pages_and_resume(void)
{
	enum { N = 64 };
	char *m = map_anon(N * PS, PS);
	struct page_region vec[64];
	long r;
	if (uffd_register_wp(uffd, m, N * PS)) {
		check(0, "max.register", "errno %d", errno);
		return;
	}
	wp_all(m, N * PS);
	for (int i = 0; i < 10; i++)
		m[i * PS] = 1;

	struct scan s = { .flags = PM_SCAN_WP_MATCHING, .max_pages = 4,
			  .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN,
			  .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + N * PS, &s);
	check(r == 1 && region_is(&vec[0], m, 0, 4) && s.walk_end == (uintptr_t)m + 4 * PS,
	      "max.truncates_region", "got %ld %s walk_end %ld", r, fmt_regions(vec, r, m),
	      (long)((s.walk_end - (uintptr_t)m) / PS));
	struct scan s2 = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + N * PS, &s2);
	check(r == 1 && region_is(&vec[0], m, 4, 10), "max.only_returned_pages_protected",
	      "got %ld %s", r, fmt_regions(vec, r, m));

	/* Two runs, max_pages cutting the second. */
	wp_all(m, N * PS);
	for (int i = 0; i < 5; i++)
		m[i * PS] = 1, m[(10 + i) * PS] = 1;
	s.max_pages = 7;
	r = do_scan(m, m + N * PS, &s);
	check(r == 2 && region_is(&vec[0], m, 0, 5) && region_is(&vec[1], m, 10, 12) &&
	      s.walk_end == (uintptr_t)m + 12 * PS,
	      "max.cuts_last_region", "got %ld %s", r, fmt_regions(vec, r, m));
	s.max_pages = 0;
	r = do_scan(m, m + N * PS, &s);
	check(r == 1 && region_is(&vec[0], m, 12, 15), "max.resume_rest",
	      "got %ld %s", r, fmt_regions(vec, r, m));

	/* max_pages exactly used up by a run. */
	wp_all(m, N * PS);
	for (int i = 0; i < 3; i++)
		m[(2 + i) * PS] = 1, m[(20 + i) * PS] = 1;
	s.max_pages = 3;
	r = do_scan(m, m + N * PS, &s);
	check(r == 1 && region_is(&vec[0], m, 2, 5) && s.walk_end > (uintptr_t)m + 4 * PS &&
	      s.walk_end <= (uintptr_t)m + 20 * PS,
	      "max.exact_fit", "got %ld %s walk_end %ld", r, fmt_regions(vec, r, m),
	      (long)((s.walk_end - (uintptr_t)m) / PS));
	s.max_pages = 0;
	r = do_scan(m, m + N * PS, &s);
	check(r == 1 && region_is(&vec[0], m, 20, 23), "max.exact_fit_rest", "got %ld %s", r,
	      fmt_regions(vec, r, m));

	/* vec_len smaller than the number of runs: walk_end resumption. */
	wp_all(m, N * PS);
	for (int i = 0; i < N; i += 2)
		m[i * PS] = 1;
	int got[N] = { 0 }, calls = 0, order_ok = 1;
	uint64_t cur = (uintptr_t)m, last_end = 0;
	while (cur < (uintptr_t)m + N * PS && calls < 100) {
		struct scan sr = { .flags = PM_SCAN_WP_MATCHING, .mask = PAGE_IS_WRITTEN,
				   .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 5 };
		r = do_scan((void *)cur, m + N * PS, &sr);
		calls++;
		if (r < 0 || r > 5)
			break;
		for (long i = 0; i < r; i++) {
			if (vec[i].start < last_end || vec[i].end - vec[i].start != PS)
				order_ok = 0;
			last_end = vec[i].end;
			got[(vec[i].start - (uintptr_t)m) / PS]++;
		}
		if (r == 5 && sr.walk_end != vec[4].end + PS && sr.walk_end != vec[4].end)
			order_ok = 0;
		if (sr.walk_end <= cur)
			break;
		cur = sr.walk_end;
	}
	int all = 1;
	for (int i = 0; i < N; i++)
		if (got[i] != (i % 2 == 0))
			all = 0;
	check(all && order_ok && calls == 7, "resume.small_vec_len",
	      "all %d order %d calls %d", all, order_ok, calls);
	struct scan s3 = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + N * PS, &s3);
	check(r == 0, "resume.all_reset", "got %ld", r);

	/* vec_len 1 + max_pages together. */
	for (int i = 0; i < 8; i++)
		m[(30 + i) * PS] = 1;
	struct scan s4 = { .flags = PM_SCAN_WP_MATCHING, .mask = PAGE_IS_WRITTEN, .max_pages = 3,
			   .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 1 };
	long total = 0;
	cur = (uintptr_t)m;
	for (int k = 0; k < 10 && cur < (uintptr_t)m + N * PS; k++) {
		r = do_scan((void *)cur, m + N * PS, &s4);
		if (r < 0)
			break;
		if (r == 1)
			total += (vec[0].end - vec[0].start) / PS;
		cur = s4.walk_end;
	}
	check(total == 8, "resume.vec1_max3", "total %ld", total);

	/* WP-only mode (vec NULL) ignores max_pages and protects everything. */
	for (int i = 0; i < 8; i++)
		m[(30 + i) * PS] = 1;
	struct scan s5 = { .flags = PM_SCAN_WP_MATCHING, .mask = PAGE_IS_WRITTEN, .max_pages = 2,
			   .ret = PAGE_IS_WRITTEN };
	r = do_scan(m, m + N * PS, &s5);
	long r2 = do_scan(m, m + N * PS, &s3);
	check(r == 0 && r2 == 0 && s5.walk_end == (uintptr_t)m + N * PS, "resume.wp_only_mode",
	      "got %ld then %ld", r, r2);
	munmap(m, N * PS);
}

static int thp_usable(void)
{
	char b[64] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	return n > 0 && !strstr(b, "[never]");
}

static void test_thp(void)
{
	if (!thp_usable()) {
		skip("thp", "THP disabled");
		return;
	}
	char *m = map_anon(2 * HPS, HPS);
	struct page_region vec[64];
	long r;
	madvise(m, 2 * HPS, MADV_HUGEPAGE);
	memset(m, 1, HPS); /* first 2M: expected THP */
	struct scan sh = { .ret = PAGE_IS_HUGE | PAGE_IS_WRITTEN | PAGE_IS_PRESENT,
			   .mask = PAGE_IS_PRESENT, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + HPS, &sh);
	if (!(r == 1 && (vec[0].categories & PAGE_IS_HUGE))) {
		skip("thp", "no huge page allocated");
		munmap(m, 2 * HPS);
		return;
	}
	check(region_is(&vec[0], m, 0, HPN), "thp.reported_as_one_region", "%s",
	      fmt_regions(vec, r, m));
	if (uffd_register_wp(uffd, m, 2 * HPS)) {
		check(0, "thp.register", "errno %d", errno);
		return;
	}
	r = do_scan(m, m + HPS, &sh);
	check(r == 1 && vec[0].categories == (PAGE_IS_HUGE | PAGE_IS_WRITTEN | PAGE_IS_PRESENT),
	      "thp.written_huge", "got %ld %s", r, fmt_regions(vec, r, m));

	wp_all(m + HPS, HPS); /* second half: unpopulated, protected */
	/* Partial get-and-reset with max_pages splits and protects exactly. */
	struct scan sw = { .flags = PM_SCAN_WP_MATCHING, .max_pages = 10,
			   .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + 2 * HPS, &sw);
	check(r == 1 && region_is(&vec[0], m, 0, 10), "thp.partial_reset_returns",
	      "got %ld %s", r, fmt_regions(vec, r, m));
	struct scan s = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + 2 * HPS, &s);
	check(r == 1 && region_is(&vec[0], m, 10, HPN), "thp.partial_reset_exact",
	      "got %ld %s", r, fmt_regions(vec, r, m));

	/* Partial range on a second THP (range ends mid-huge-page). */
	memset(m + HPS, 2, HPS);
	struct scan sh2 = sh;
	r = do_scan(m + HPS, m + 2 * HPS, &sh2);
	int second_huge = r == 1 && (vec[0].categories & PAGE_IS_HUGE);
	sw.max_pages = 0;
	r = do_scan(m + HPS, m + HPS + 100 * PS, &sw);
	check(r == 1 && region_is(&vec[0], m, HPN, HPN + 100), "thp.subrange_reset_returns",
	      "got %ld %s (second huge: %d)", r, fmt_regions(vec, r, m), second_huge);
	r = do_scan(m + HPS, m + 2 * HPS, &s);
	check(r == 1 && region_is(&vec[0], m, HPN + 100, 2 * HPN), "thp.subrange_reset_exact",
	      "got %ld %s", r, fmt_regions(vec, r, m));

	/* Whole reset, then single writes are page-exact. */
	r = wp_all(m, 2 * HPS);
	check(r == 0, "thp.wp_all", "got %ld", r);
	m[100 * PS] = 3;
	m[(HPN + 188) * PS] = 3;
	r = do_scan(m, m + 2 * HPS, &s);
	check(r == 2 && region_is(&vec[0], m, 100, 101) &&
	      region_is(&vec[1], m, HPN + 188, HPN + 189),
	      "thp.write_after_reset_page_exact", "got %ld %s", r, fmt_regions(vec, r, m));

	/* A fresh, fully covered THP protected by WP-only mode stays huge until written. */
	char *n = map_anon(HPS, HPS);
	madvise(n, HPS, MADV_HUGEPAGE);
	memset(n, 1, HPS);
	r = do_scan(n, n + HPS, &sh);
	if (r == 1 && (vec[0].categories & PAGE_IS_HUGE) && !uffd_register_wp(uffd, n, HPS)) {
		r = wp_all(n, HPS);
		struct scan sh3 = { .ret = PAGE_IS_HUGE | PAGE_IS_WRITTEN | PAGE_IS_PRESENT,
				    .mask = PAGE_IS_PRESENT, .vec = vec, .vec_len = 64 };
		long r3 = do_scan(n, n + HPS, &sh3);
		check(r == 0 && r3 == 1 && vec[0].categories == (PAGE_IS_HUGE | PAGE_IS_PRESENT),
		      "thp.full_wp_keeps_huge", "got %ld/%ld %s", r, r3, fmt_regions(vec, r3, n));
		n[5 * PS] = 1;
		r = do_scan(n, n + HPS, &s);
		check(r == 1 && region_is(&vec[0], n, 5, 6), "thp.write_to_wp_huge_page_exact",
		      "got %ld %s", r, fmt_regions(vec, r, n));
		/* get-and-reset with vec over a whole written THP */
		memset(n, 4, HPS);
		r = do_scan(n, n + HPS, &sw);
		long r4 = do_scan(n, n + HPS, &s);
		check(r == 1 && region_is(&vec[0], n, 0, HPN) && r4 == 0, "thp.whole_get_and_reset",
		      "got %ld then %ld", r, r4);
		/* MADV_DONTNEED of the whole protected THP leaves an empty pmd
		 * (a hole in the walk): reported WRITTEN too, on both paths. */
		int e = madvise(n, HPS, MADV_DONTNEED);
		r = do_scan(n, n + HPS, &s);
		check(e == 0 && r == 1 && region_is(&vec[0], n, 0, HPN), "zap.thp_pmd_hole_fast_path",
		      "madvise %d got %ld %s", e, r, fmt_regions(vec, r, n));
		struct scan sg = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED |
					   PAGE_IS_PRESENT | PAGE_IS_HUGE, .vec = vec, .vec_len = 64 };
		r = do_scan(n, n + HPS, &sg);
		printf("INFO zap: zapped THP: %s\n", r >= 0 ? fmt_regions(vec, r, n) : strerror(sg.err));
		check(r == 1 && region_is(&vec[0], n, 0, HPN) &&
		      vec[0].categories == (PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED),
		      "zap.thp_pmd_hole_generic_path", "got %ld %s", r, fmt_regions(vec, r, n));
	} else {
		skip("thp.full_wp_keeps_huge", "second THP not allocated");
	}
	munmap(n, HPS);
	munmap(m, 2 * HPS);
}

static void test_shmem(void)
{
	enum { N = 32 };
	char *m = mmap(NULL, N * PS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct page_region vec[64];
	long r;
	if (m == MAP_FAILED) {
		skip("shmem", "mmap failed");
		return;
	}
	int e = uffd_register_wp(uffd, m, N * PS);
	if (e) {
		skip("shmem", "register failed");
		munmap(m, N * PS);
		return;
	}
	m[0] = 1; /* populate one page before protecting */
	r = wp_all(m, N * PS);
	struct scan s = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	long r0 = do_scan(m, m + N * PS, &s);
	check(r == 0 && r0 == 0, "shmem.clean_after_wp", "got %ld/%ld %s", r, r0, fmt_regions(vec, r0, m));
	m[0] = 2;
	m[7 * PS] = 2;
	m[8 * PS] = 2;
	r = do_scan(m, m + N * PS, &s);
	check(r == 2 && region_is(&vec[0], m, 0, 1) && region_is(&vec[1], m, 7, 9),
	      "shmem.written", "got %ld %s", r, fmt_regions(vec, r, m));
	struct scan sr = { .ret = PAGE_IS_WRITTEN | PAGE_IS_FILE | PAGE_IS_PRESENT,
			   .mask = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + PS, &sr);
	check(r == 1 && vec[0].categories == (PAGE_IS_WRITTEN | PAGE_IS_FILE | PAGE_IS_PRESENT),
	      "shmem.categories", "got %ld %s", r, fmt_regions(vec, r, m));
	struct scan sw = { .flags = PM_SCAN_WP_MATCHING, .max_pages = 2, .mask = PAGE_IS_WRITTEN,
			   .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
	r = do_scan(m, m + N * PS, &sw);
	long r2 = do_scan(m, m + N * PS, &s);
	check(r == 2 && r2 == 1 && region_is(&vec[0], m, 8, 9), "shmem.max_pages_reset",
	      "got %ld then %ld %s", r, r2, fmt_regions(vec, r2, m));
	/* zap of a shmem page keeps the protection (marker) */
	wp_all(m, N * PS);
	madvise(m + 7 * PS, PS, MADV_DONTNEED);
	r = do_scan(m, m + N * PS, &s);
	volatile char c = m[7 * PS];
	(void)c;
	check(r == 0 && c == 2, "shmem.zap_keeps_protection", "got %ld %s", r, fmt_regions(vec, r, m));
	munmap(m, N * PS);
}

/* Async write-protect alone tracks any memory (mainline 6.7, the admin
 * guide's "applied to all kinds of memory"): a regular file, mapped shared
 * and private. The file lives in $PAGEMAP_TEST_FILE_DIR (default /var/tmp;
 * the VMs mount ramfs there, so that it is not shmem). */
static void test_file(void)
{
	enum { N = 16 };
	const char *dir = getenv("PAGEMAP_TEST_FILE_DIR") ? getenv("PAGEMAP_TEST_FILE_DIR") : "/var/tmp";
	char path[512], name[64];
	struct page_region vec[64];
	struct statfs fs;
	snprintf(path, sizeof(path), "%s/pagemap_scan_test.XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0) {
		skip("file", "cannot create a file in $PAGEMAP_TEST_FILE_DIR or /var/tmp");
		return;
	}
	unlink(path);
	if (fstatfs(fd, &fs) == 0)
		printf("INFO file test in %s: file system magic 0x%lx%s\n", dir, (unsigned long)fs.f_type,
		       fs.f_type == TMPFS_MAGIC ? " (tmpfs, i.e. shmem: not a regular-file test)" : "");
	for (long i = 0; i < N; i++) {
		char page[PS];
		memset(page, 'a' + (int)i, PS);
		if (pwrite(fd, page, PS, i * PS) != (ssize_t)PS) {
			check(0, "file.setup", "pwrite errno %d", errno);
			close(fd);
			return;
		}
	}
	for (int shared = 1; shared >= 0; shared--) {
		const char *kind = shared ? "file.shared" : "file.private";
		char *m = mmap(NULL, N * PS, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			snprintf(name, sizeof(name), "%s.mmap", kind);
			check(0, name, "errno %d", errno);
			continue;
		}
		int e = uffd_register_wp(uffd, m, N * PS);
		snprintf(name, sizeof(name), "%s.register", kind);
		check(e == 0, name, "UFFDIO_REGISTER errno %d", -e);
		if (e) {
			munmap(m, N * PS);
			continue;
		}
		volatile char c = m[2 * PS]; /* one page mapped before protecting */
		(void)c;
		long r = wp_all(m, N * PS);
		struct scan s = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
		long r0 = do_scan(m, m + N * PS, &s);
		snprintf(name, sizeof(name), "%s.clean_after_wp", kind);
		check(r == 0 && r0 == 0, name, "got %ld/%ld %s", r, r0, fmt_regions(vec, r0, m));
		m[2 * PS] = 1;
		m[9 * PS] = 1;
		m[10 * PS] = 1;
		r = do_scan(m, m + N * PS, &s);
		snprintf(name, sizeof(name), "%s.written", kind);
		check(r == 2 && region_is(&vec[0], m, 2, 3) && region_is(&vec[1], m, 9, 11), name,
		      "got %ld %s", r, fmt_regions(vec, r, m));
		struct scan sw = { .flags = PM_SCAN_WP_MATCHING, .max_pages = 2, .mask = PAGE_IS_WRITTEN,
				   .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = 64 };
		r = do_scan(m, m + N * PS, &sw);
		long r2 = do_scan(m, m + N * PS, &s);
		snprintf(name, sizeof(name), "%s.max_pages_reset", kind);
		check(r == 2 && r2 == 1 && region_is(&vec[0], m, 10, 11), name, "got %ld then %ld %s", r, r2,
		      fmt_regions(vec, r2, m));
		munmap(m, N * PS);
	}
	close(fd);
}

/* Writers store increasing counters into random pages while the main thread
 * drains with get-and-reset; after they stop, every page's last value must
 * have been seen right after a scan that returned it. */
enum { CN = 512, CW = 2 };
static char *cmem;
static volatile int cstop;
static unsigned long cwrites[CW];

static void *writer(void *arg)
{
	long id = (long)arg;
	unsigned int seed = 12345 + id;
	unsigned long n = 0;
	while (!cstop) {
		unsigned p = rand_r(&seed) % CN;
		/* Pages are split between writers so counters stay monotonic per page. */
		p = (p / CW) * CW + id;
		if (p >= CN)
			continue;
		volatile uint64_t *slot = (volatile uint64_t *)(cmem + p * PS + (rand_r(&seed) % 8) * 512);
		uint64_t *ctr = (uint64_t *)(cmem + p * PS);
		uint64_t v = __atomic_load_n(ctr, __ATOMIC_RELAXED) + 1;
		*slot = v;
		__atomic_store_n(ctr, v, __ATOMIC_RELEASE);
		n++;
	}
	cwrites[id] = n;
	return NULL;
}

static long drain(uint64_t *seen, struct page_region *vec, size_t vlen, uint64_t max_pages)
{
	uint64_t cur = (uintptr_t)cmem, end = (uintptr_t)cmem + CN * PS;
	long pages = 0;
	while (cur < end) {
		struct scan s = { .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				  .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN,
				  .vec = vec, .vec_len = vlen, .max_pages = max_pages };
		long r = do_scan((void *)cur, (void *)end, &s);
		if (r < 0)
			return -s.err;
		for (long i = 0; i < r; i++)
			for (uint64_t a = vec[i].start; a < vec[i].end; a += PS) {
				/* The scan returned (and re-protected) this page: its
				 * content now includes every write before the reset. */
				seen[(a - (uintptr_t)cmem) / PS] =
					__atomic_load_n((uint64_t *)a, __ATOMIC_ACQUIRE);
				pages++;
			}
		cur = s.walk_end;
	}
	return pages;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- what mainline fixed after 6.7 -----------------------------------------
 * One check per fix that user space can see (REFERENCES.md, "Known kernel
 * fixes"), so that the 6.1 series is held to them too:
 *   fix.swapped_*     6.9 "uffd-wp confusion in pagemap_scan_pmd_entry": the
 *                     fast path read a swap entry's uffd-wp bit with the
 *                     present-pte accessor, so a swapped-out page could be
 *                     taken for written or for protected (needs swap);
 *   fix.close_*       6.9 (CVE-2024-36881): closing the userfaultfd must
 *                     take its write protection (markers included) away;
 *   fix.vec_len_wrap  6.12: vec_len * sizeof(struct page_region) wrapped in
 *                     the argument check, so a huge vec_len passed it;
 *   fix.huge_zero_*   6.16: the huge zero page is PAGE_IS_PFNZERO too.
 * Not checkable from user space: the young/dirty bits the 6.9 fast path
 * could lose while write-protecting (a race with the MMU setting them). */
static int swap_is_on(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[256];
	int lines = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	return lines > 1;
}

static uint64_t pagemap_entry(void *p)
{
	uint64_t e = 0;
	if (pread(pagemap_fd, &e, sizeof(e), (uintptr_t)p / PS * sizeof(e)) != sizeof(e))
		return 0;
	return e;
}
#define PM_ENTRY_UFFD_WP (1ULL << 57)
#define PM_ENTRY_SWAP (1ULL << 62)

static void test_fix_swapped(void)
{
	if (!swap_is_on()) {
		skip("fix.swapped_protected_not_written", "no swap is on");
		return;
	}
	enum { N = 8 };
	char *m = map_anon(N * PS, 16 * PS);
	struct page_region vec[N];
	if (!m || uffd_register_wp(uffd, m, N * PS)) {
		check(0, "fix.swapped_register", "errno %d", errno);
		return;
	}
	memset(m, 7, N * PS);
	wp_all(m, N * PS);
	m[3 * PS] = 8; /* page 3 written after the reset */
	if (madvise(m, N * PS, MADV_PAGEOUT) ||
	    !(pagemap_entry(m) & PM_ENTRY_SWAP) || !(pagemap_entry(m + 3 * PS) & PM_ENTRY_SWAP)) {
		skip("fix.swapped_protected_not_written", "MADV_PAGEOUT did not swap the pages out");
		munmap(m, N * PS);
		return;
	}
	struct scan fast = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = N };
	long r = do_scan(m, m + N * PS, &fast);
	check(r == 1 && region_is(&vec[0], m, 3, 4), "fix.swapped_fast_path_exact",
	      "got %ld %s", r, fmt_regions(vec, r, m));
	struct scan generic = { .mask = PAGE_IS_WRITTEN, .ret = PAGE_IS_WRITTEN | PAGE_IS_SWAPPED,
				.vec = vec, .vec_len = N };
	r = do_scan(m, m + N * PS, &generic);
	check(r == 1 && region_is(&vec[0], m, 3, 4) &&
	      vec[0].categories == (PAGE_IS_WRITTEN | PAGE_IS_SWAPPED),
	      "fix.swapped_generic_path_exact", "got %ld %s", r, fmt_regions(vec, r, m));
	/* Get-and-reset on the swapped pages, then a write: exactly that page. */
	struct scan reset = { .flags = PM_SCAN_WP_MATCHING, .mask = PAGE_IS_WRITTEN,
			      .ret = PAGE_IS_WRITTEN, .vec = vec, .vec_len = N };
	r = do_scan(m, m + N * PS, &reset);
	long r2 = do_scan(m, m + N * PS, &fast);
	check(r == 1 && region_is(&vec[0], m, 3, 4) && r2 == 0, "fix.swapped_get_and_reset",
	      "got %ld then %ld", r, r2);
	m[5 * PS] = 9; /* swaps page 5 in and writes it */
	r = do_scan(m, m + N * PS, &fast);
	check(r == 1 && region_is(&vec[0], m, 5, 6) && m[3 * PS] == 8 && m[0] == 7,
	      "fix.swapped_then_written_exact", "got %ld %s", r, fmt_regions(vec, r, m));
	munmap(m, N * PS);
}

static void test_fix_close(void)
{
	enum { N = 16 };
	char *m = map_anon(N * PS, 16 * PS);
	int fd = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, NULL);
	if (!m || fd < 0 || uffd_register_wp(fd, m, N * PS)) {
		check(0, "fix.close_setup", "fd %d errno %d", fd, errno);
		if (fd >= 0)
			close(fd);
		return;
	}
	m[0] = 1; /* one present page; the others stay unpopulated (markers) */
	struct pm_scan_arg a = { .size = sizeof(a), .flags = PM_SCAN_WP_MATCHING,
				 .start = (uintptr_t)m, .end = (uintptr_t)m + N * PS,
				 .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN };
	long r = raw_scan(&a);
	int protected = (pagemap_entry(m) & PM_ENTRY_UFFD_WP) && (pagemap_entry(m + 9 * PS) & PM_ENTRY_UFFD_WP);
	close(fd);
	int left = 0;
	for (int i = 0; i < N; i++)
		left += !!(pagemap_entry(m + i * PS) & PM_ENTRY_UFFD_WP);
	check(r >= 0 && protected && left == 0, "fix.close_unprotects",
	      "scan %ld, protected before %d, pages still uffd-wp after close %d", r, protected, left);
	/* Writing the pages must just work (a child: a stale marker may SIGBUS). */
	pid_t child = fork();
	if (child == 0) {
		for (int i = 0; i < N; i++)
			m[i * PS] = 2;
		_exit(0);
	}
	int status = -1;
	waitpid(child, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fix.close_pages_writable",
	      "child status 0x%x", status);
	munmap(m, N * PS);
}

static void test_fix_vec_len_wrap(void)
{
	char *m = map_anon(16 * PS, 16 * PS);
	struct page_region vec[4];
	m[0] = 1;
	/* 2^61 entries of 24 bytes: the byte count wraps to 0. */
	struct pm_scan_arg a = { .size = sizeof(a), .start = (uintptr_t)m, .end = (uintptr_t)m + 16 * PS,
				 .vec = (uintptr_t)vec, .vec_len = 1ULL << 61,
				 .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN };
	long r = raw_scan(&a);
	check(r == -EFAULT || r == -EINVAL, "fix.vec_len_wrap_refused", "got %ld", r);
	/* An end that rounds up past the top of the address space. */
	struct pm_scan_arg b = { .size = sizeof(b), .start = (uintptr_t)m, .end = ~0ULL - 5,
				 .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN };
	r = raw_scan(&b);
	check(r == -EFAULT || r == -EINVAL, "fix.end_wrap_refused", "got %ld", r);
	munmap(m, 16 * PS);
}

static void test_fix_huge_zero(void)
{
	if (!thp_usable()) {
		skip("fix.huge_zero_pfnzero", "THP disabled");
		return;
	}
	char *m = map_anon(HPS, HPS);
	struct page_region vec[4];
	madvise(m, HPS, MADV_HUGEPAGE);
	volatile char c = m[0]; /* a read fault: the huge zero page, where the kernel uses it */
	(void)c;
	struct scan s = { .mask = PAGE_IS_PRESENT, .ret = PAGE_IS_PRESENT | PAGE_IS_HUGE | PAGE_IS_PFNZERO,
			  .vec = vec, .vec_len = 4 };
	long r = do_scan(m, m + HPS, &s);
	if (!(r == 1 && (vec[0].categories & PAGE_IS_HUGE))) {
		skip("fix.huge_zero_pfnzero", "no huge zero page mapped (use_zero_page off?)");
	} else {
		check(region_is(&vec[0], m, 0, HPN) && (vec[0].categories & PAGE_IS_PFNZERO),
		      "fix.huge_zero_pfnzero", "got %s", fmt_regions(vec, r, m));
	}
	munmap(m, HPS);
}

static void test_mainline_fixes(void)
{
	test_fix_swapped();
	test_fix_close();
	test_fix_vec_len_wrap();
	test_fix_huge_zero();
}

/* Informational: cost of first writes to protected and to fresh pages. */
static void time_faults(void)
{
	enum { N = 256 };
	char *a = map_anon(N * PS, PS), *b = map_anon(N * PS, PS);
	madvise(a, N * PS, MADV_NOHUGEPAGE);
	madvise(b, N * PS, MADV_NOHUGEPAGE);
	if (uffd_register_wp(uffd, a, N * PS))
		return;
	wp_all(a, N * PS);
	double t0 = now();
	for (int i = 0; i < N; i++)
		a[i * PS] = 1;
	double t1 = now();
	wp_all(a, N * PS);
	double t2 = now();
	for (int i = 0; i < N; i++)
		a[i * PS] = 2;
	double t3 = now();
	for (int i = 0; i < N; i++)
		b[i * PS] = 1;
	double t4 = now();
	printf("INFO per-page write fault: unpopulated+protected %.1f us, populated+protected %.1f us, "
	       "fresh unregistered %.1f us; reset of %d pages %.1f us\n",
	       (t1 - t0) * 1e6 / N, (t3 - t2) * 1e6 / N, (t4 - t3) * 1e6 / N, N, (t2 - t1) * 1e6);
	munmap(a, N * PS);
	munmap(b, N * PS);
}

static void test_concurrent(double seconds)
{
	cmem = map_anon(CN * PS, PS);
	madvise(cmem, CN * PS, MADV_NOHUGEPAGE);
	if (uffd_register_wp(uffd, cmem, CN * PS)) {
		check(0, "concurrent.register", "errno %d", errno);
		return;
	}
	wp_all(cmem, CN * PS);
	static uint64_t seen[CN];
	struct page_region vec[16];
	pthread_t t[CW];
	struct timespec t0, t1;

	/* Baselines: how fast the writers go on plain memory, and on watched
	 * memory with nobody resetting. */
	char *watched = cmem;
	cmem = map_anon(CN * PS, PS);
	cstop = 0;
	for (long i = 0; i < CW; i++)
		pthread_create(&t[i], NULL, writer, (void *)i);
	usleep(200 * 1000);
	cstop = 1;
	for (int i = 0; i < CW; i++)
		pthread_join(t[i], NULL);
	printf("INFO concurrent baseline: %lu+%lu writes in 0.2 s to unwatched memory\n",
	       cwrites[0], cwrites[1]);
	munmap(cmem, CN * PS);
	cmem = watched;
	cstop = 0;
	for (long i = 0; i < CW; i++)
		pthread_create(&t[i], NULL, writer, (void *)i);
	usleep(200 * 1000);
	cstop = 1;
	for (int i = 0; i < CW; i++)
		pthread_join(t[i], NULL);
	printf("INFO concurrent baseline: %lu+%lu writes in 0.2 s without draining\n",
	       cwrites[0], cwrites[1]);
	drain(seen, vec, 16, 0);
	cstop = 0;
	for (long i = 0; i < CW; i++)
		pthread_create(&t[i], NULL, writer, (void *)i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long drains = 0, pages = 0, err = 0;
	double elapsed = 0;
	do {
		long r = drain(seen, vec, 1 + drains % 16, drains % 3 ? 0 : 7 + drains % 50);
		if (r < 0) {
			err = r;
			break;
		}
		pages += r;
		drains++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		elapsed = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		/* Under emulation on a loaded host one drain can take seconds:
		 * go on (up to ten times as long) until a few drains are done. */
	} while (elapsed < seconds || (drains < 5 && elapsed < 10 * seconds));
	cstop = 1;
	for (int i = 0; i < CW; i++)
		pthread_join(t[i], NULL);
	long r = drain(seen, vec, 16, 0);
	if (r < 0)
		err = r;
	long lost = 0, first = -1;
	for (int p = 0; p < CN; p++) {
		uint64_t v = *(uint64_t *)(cmem + p * PS);
		if (v != seen[p]) {
			lost++;
			if (first < 0)
				first = p;
		}
	}
	printf("INFO concurrent: %ld drains in %.1f s, %ld pages returned, %lu+%lu writes\n", drains,
	       elapsed, pages, cwrites[0], cwrites[1]);
	check(err == 0 && lost == 0 && drains > 1 && cwrites[0] > 0,
	      "concurrent.no_lost_write", "err %ld lost %ld (first page %ld) drains %ld", err, lost,
	      first, drains);
	/* After everything stopped: all clean. */
	r = drain(seen, vec, 16, 0);
	check(r == 0, "concurrent.clean_at_end", "got %ld", r);
	munmap(cmem, CN * PS);
}

static void test_unsupported(void)
{
	uint64_t got = 0;
	int fd = uffd_open(0, &got);
	check(fd >= 0, "stock.uffd_api_plain", "err %d", -fd);
	if (fd >= 0) {
		printf("INFO features 0x%llx\n", (unsigned long long)got);
		check(!(got & (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)),
		      "stock.no_async_features_reported", "features %llx", (unsigned long long)got);
		close(fd);
	}
	fd = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, NULL);
	check(fd == -EINVAL, "stock.async_api_einval", "got %d", fd);
	if (fd >= 0)
		close(fd);
	struct pm_scan_arg a = { .size = sizeof(a) };
	long r = ioctl(pagemap_fd, PAGEMAP_SCAN, &a) < 0 ? -errno : 0;
	check(r == -ENOTTY || r == -EINVAL, "stock.pagemap_scan_unsupported", "got %ld", r);
}

int main(int argc, char **argv)
{
	int expect_unsupported = argc > 1 && !strcmp(argv[1], "--expect-unsupported");
	double secs = getenv("CONCURRENT_SECONDS") ? atof(getenv("CONCURRENT_SECONDS")) : 2.0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	PS = sysconf(_SC_PAGESIZE);
	HPS = PS * (PS / 8); /* one page table's worth; hpage_pmd_size says for sure */
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	if (f) {
		if (fscanf(f, "%lu", &HPS) != 1)
			HPS = PS * (PS / 8);
		fclose(f);
	}
	HPN = HPS / PS;
	printf("INFO page size %lu, PMD huge page %lu (%lu pages)\n", PS, HPS, HPN);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0) {
		perror("open /proc/self/pagemap");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	if (expect_unsupported) {
		test_unsupported();
	} else {
		uint64_t got = 0;
		uffd = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED |
					 UFFD_FEATURE_WP_HUGETLBFS_SHMEM, &got);
		if (uffd < 0)
			uffd = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, &got);
		check(uffd >= 0, "api.async_features", "UFFDIO_API errno %d", -uffd);
		if (uffd >= 0) {
			printf("INFO features 0x%llx\n", (unsigned long long)got);
			check((got & UFFD_FEATURE_WP_ASYNC) && (got & UFFD_FEATURE_WP_UNPOPULATED),
			      "api.features_reported", "features %llx", (unsigned long long)got);
			test_args();
			test_unregistered_hole();
			test_basic();
			test_zap();
			test_max_pages_and_resume();
			test_thp();
			test_shmem();
			test_file();
			test_mainline_fixes();
			time_faults();
			test_concurrent(secs);
		}
	}
	printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
	return nfail ? 1 : 0;
}
