// SPDX-License-Identifier: GPL-2.0
/*
 * KSM must not drop userfaultfd write protection.
 *
 * A page write-protected with UFFDIO_WRITEPROTECT that KSM merges (into a
 * KSM page, or into the shared zero page when use_zero_pages is on) has to
 * stay write-protected for userfaultfd: with UFFD_FEATURE_WP_ASYNC a page
 * without the bit reads as written (/proc/PID/pagemap bit 57 clear,
 * PAGEMAP_SCAN's PAGE_IS_WRITTEN set), so merging identical, untouched
 * pages made them look written; in synchronous mode the next write to them
 * would not be reported to the monitor.
 *
 * For each kind of merge: fill anonymous pages with one value, protect
 * them, let KSM merge them, then read pagemap. With UFFD_FEATURE_WP_ASYNC
 * (6.7+, or 6.1 with the writewatch series) two more cases: a write to one
 * merged page must unprotect that page alone, and MADV_UNMERGEABLE must
 * give the pages back without unprotecting any (before 6.2 KSM broke the
 * sharing with a fake write fault, which the async mode took for a write:
 * mainline's "mm/ksm: fix KSM COW breaking with userfaultfd-wp via
 * FAULT_FLAG_UNSHARE", the 6.1 series' patch 0010).
 *
 * Built from the writewatch tree against tools/testing/selftests/mm of a
 * kernel source (kselftest.h, vm_util.c), like the other mm selftests; needs
 * root (the KSM knobs, page frame numbers in pagemap) and restores every
 * KSM knob it changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "../kselftest.h"
#include "vm_util.h"

#define NR_PAGES	32
#define MERGE_TIMEOUT_S	120	/* KSM under qemu's software emulation is slow */

static size_t pagesize;
static int pagemap_fd;
static bool wp_async;

/* The KSM knobs this test sets, with the values found, put back at exit. */
static const char *const knobs[] = { "run", "pages_to_scan", "sleep_millisecs", "use_zero_pages" };
static char saved[4][32];

static int knob_open(const char *name, int flags)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	return open(path, flags);
}

static int knob_read(const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd = knob_open(name, O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int knob_write(const char *name, const char *value)
{
	ssize_t n;
	int fd = knob_open(name, O_WRONLY);

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n < 0 ? -errno : 0;
}

static long knob_number(const char *name)
{
	char buf[32];

	return knob_read(name, buf, sizeof(buf)) ? -1 : atol(buf);
}

static void restore_knobs(void)
{
	/* run goes last: the others cannot all change while KSM runs */
	for (int i = 3; i >= 0; i--)
		if (saved[i][0])
			knob_write(knobs[i], saved[i]);
}

/*
 * KSM compares a page with the unstable tree in one full scan and merges it
 * in a later one: three full scans from now, every candidate has been seen
 * twice.
 */
static bool ksm_wait_scans(void)
{
	long start = knob_number("full_scans");
	time_t deadline = time(NULL) + MERGE_TIMEOUT_S;

	if (start < 0)
		return false;
	while (knob_number("full_scans") < start + 3) {
		if (time(NULL) > deadline)
			return false;
		usleep(10000);
	}
	return true;
}

/* A userfaultfd with write-protect (asynchronous when the kernel has it). */
static int uffd_open_wp(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd;

	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (wp_async)
		api.features = UFFD_FEATURE_WP_ASYNC;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool uffd_wp_async_supported(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	bool ok;

	if (fd < 0)
		return false;
	ok = !ioctl(fd, UFFDIO_API, &api) && (api.features & UFFD_FEATURE_WP_ASYNC);
	close(fd);
	return ok;
}

static int uffd_protect(int uffd, char *addr, size_t len)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (uffd_register(uffd, addr, len, false, true, false))
		return -1;
	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
}

static unsigned int pages_without_wp(char *addr, unsigned int nr)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr; i++)
		n += !(pagemap_get_entry(pagemap_fd, addr + i * pagesize) & PM_UFFD_WP);
	return n;
}

/* The pfn read-only anonymous memory maps: the shared zero page. */
static unsigned long zero_pfn(void)
{
	char *p = mmap(NULL, pagesize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long pfn;

	if (p == MAP_FAILED)
		return 0;
	(void)*(volatile char *)p;
	pfn = pagemap_get_pfn(pagemap_fd, p);
	munmap(p, pagesize);
	return pfn;
}

/* How many pages map the pfn most of them share: the merged ones. */
static unsigned int pages_merged(char *addr, unsigned int nr, unsigned long *shared_pfn)
{
	unsigned long pfn[NR_PAGES];
	unsigned int best = 0;

	for (unsigned int i = 0; i < nr; i++)
		pfn[i] = pagemap_get_pfn(pagemap_fd, addr + i * pagesize);
	*shared_pfn = 0;
	for (unsigned int i = 0; i < nr; i++) {
		unsigned int same = 0;

		for (unsigned int j = 0; j < nr; j++)
			same += pfn[j] == pfn[i];
		if (same > best && pfn[i]) {
			best = same;
			*shared_pfn = pfn[i];
		}
	}
	return best > 1 ? best : 0;
}

/*
 * MADV_UNMERGEABLE after test_merge()'s write to page 5: no other page may
 * read as written, and every page keeps its contents. KSM pages must be
 * unshared; zero pages KSM placed stay where the kernel does not unshare
 * them (before 6.7), which is no write either.
 */
static void test_unmerge(const char *kind, char *addr, char value, bool zero_pages)
{
	unsigned int still_merged, written = 0;
	unsigned long pfn;
	bool right = true;

	if (madvise(addr, NR_PAGES * pagesize, MADV_UNMERGEABLE)) {
		ksft_test_result_fail("%s: MADV_UNMERGEABLE: %s\n", kind, strerror(errno));
		return;
	}
	for (unsigned int i = 0; i < NR_PAGES; i++) {
		bool wp = pagemap_get_entry(pagemap_fd, addr + i * pagesize) & PM_UFFD_WP;

		written += i != 5 && !wp;
		right &= i == 5 ? !wp && addr[i * pagesize] == value + 1 : wp && addr[i * pagesize] == value;
	}
	still_merged = pages_merged(addr, NR_PAGES, &pfn);
	ksft_print_msg("%s: after MADV_UNMERGEABLE %u pages still share a frame, %u unwritten pages read as written\n",
		       kind, still_merged, written);
	ksft_test_result(right && (zero_pages || !still_merged),
			 "%s: unmerging unprotects no page\n", kind);
}

/*
 * One kind of merge: NR_PAGES pages of 'value', protected, merged. Reports
 * whether the merged pages kept the bit, then (asynchronous mode) whether a
 * write to one of them is seen on that page alone.
 */
static void test_merge(const char *kind, char value, bool zero_pages)
{
	size_t len = NR_PAGES * pagesize;
	unsigned long pfn, zpfn = 0;
	unsigned int merged, lost;
	char *addr;
	int uffd;

	if (knob_write("use_zero_pages", zero_pages ? "1" : "0")) {
		ksft_test_result_skip("%s: use_zero_pages cannot be set\n", kind);
		if (wp_async) {
			ksft_test_result_skip("%s: write after merge\n", kind);
			ksft_test_result_skip("%s: unmerge\n", kind);
		}
		return;
	}
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr == MAP_FAILED)
		ksft_exit_fail_perror("mmap");
	/* 4K pages only: KSM would have to split a THP first */
	madvise(addr, len, MADV_NOHUGEPAGE);
	memset(addr, value, len);

	uffd = uffd_open_wp();
	if (uffd < 0 || uffd_protect(uffd, addr, len))
		ksft_exit_fail_perror("userfaultfd write-protect");
	if (pages_without_wp(addr, NR_PAGES))
		ksft_exit_fail_msg("%s: pages not write-protected before the merge\n", kind);

	if (madvise(addr, len, MADV_MERGEABLE))
		ksft_exit_fail_perror("MADV_MERGEABLE");
	if (!ksm_wait_scans())
		ksft_exit_fail_msg("KSM did not finish three full scans in %d s\n", MERGE_TIMEOUT_S);
	merged = pages_merged(addr, NR_PAGES, &pfn);
	if (zero_pages)
		zpfn = zero_pfn();
	if (!merged || (zero_pages && pfn != zpfn)) {
		ksft_test_result_skip("%s: KSM merged none of the %d pages\n", kind, NR_PAGES);
		if (wp_async) {
			ksft_test_result_skip("%s: write after merge\n", kind);
			ksft_test_result_skip("%s: unmerge\n", kind);
		}
		goto out;
	}
	lost = pages_without_wp(addr, NR_PAGES);
	ksft_print_msg("%s: %u of %d pages merged, %u of them without uffd-wp\n",
		       kind, merged, NR_PAGES, lost);
	ksft_test_result(lost == 0, "%s: merged pages stay write-protected\n", kind);

	if (wp_async) {
		/* The async fault unprotects and copies the one page written. */
		bool right = true;

		addr[5 * pagesize] = value + 1;
		for (unsigned int i = 0; i < NR_PAGES; i++) {
			bool written = !(pagemap_get_entry(pagemap_fd, addr + i * pagesize) & PM_UFFD_WP);

			if (i == 5)
				right &= written && addr[i * pagesize] == value + 1 &&
					 addr[i * pagesize + 1] == value;
			else
				right &= !written && addr[i * pagesize] == value;
		}
		ksft_test_result(right, "%s: a write to a merged page is seen on that page alone\n", kind);
		test_unmerge(kind, addr, value, zero_pages);
	}
out:
	close(uffd);
	munmap(addr, len);
}

int main(void)
{
	int tests;

	ksft_print_header();
	pagesize = getpagesize();
	if (access("/sys/kernel/mm/ksm/run", W_OK))
		ksft_exit_skip("no writable /sys/kernel/mm/ksm/run (KSM not built in, or not root)\n");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		ksft_exit_skip("no /proc/self/pagemap\n");
	{
		int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

		if (fd < 0)
			ksft_exit_skip("userfaultfd: %s\n", strerror(errno));
		close(fd);
	}
	wp_async = uffd_wp_async_supported();
	ksft_print_msg("UFFD_FEATURE_WP_ASYNC: %s\n", wp_async ? "yes" : "no (synchronous mode, pagemap bit only)");

	for (int i = 0; i < 4; i++)
		if (knob_read(knobs[i], saved[i], sizeof(saved[i])))
			saved[i][0] = '\0';
	atexit(restore_knobs);
	if (knob_write("run", "0") || knob_write("pages_to_scan", "1000") ||
	    knob_write("sleep_millisecs", "0") || knob_write("run", "1"))
		ksft_exit_skip("the KSM knobs cannot be set\n");

	tests = wp_async ? 6 : 2;
	ksft_set_plan(tests);
	test_merge("KSM page", 0x5a, false);
	test_merge("zero page", 0, true);
	ksft_finished();
}
