// SPDX-License-Identifier: GPL-2.0
/*
 * An unsharing fault must not drop userfaultfd write protection from a
 * private hugetlb page.
 *
 * After fork() the parent's private hugetlb page is shared with the child.
 * A read-only pin (FOLL_PIN without FOLL_WRITE) of a shared anonymous page
 * makes the kernel give the pinning process an exclusive copy first
 * (FAULT_FLAG_UNSHARE). Nothing is written, so a page write-protected
 * through userfaultfd must stay so in that copy. 6.1 built the copy
 * without the bit (mainline fixed it in 6.4; the 6.1 series' patch 0011):
 * in async mode the page then reads as written, in sync mode its next
 * write is not reported.
 *
 * mainline's check of it (uffd-unit-tests wp-fork-pin) pins through
 * gup_test's PIN_LONGTERM_TEST_START, which 6.1 lacks; this test pins
 * with PIN_BASIC_TEST, which every kernel with CONFIG_GUP_TEST has. Sync
 * uffd-wp is enough: the pin is no write, so no fault reaches userfaultfd,
 * and pagemap's bit 57 says whether the protection is there.
 *
 * Built from the writewatch tree against tools/testing/selftests/mm of a
 * kernel source, like the other mm selftests; needs root (gup_test in
 * debugfs, page frame numbers in pagemap) and one free huge page beyond
 * the one it maps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>

#include "../kselftest.h"
#include "vm_util.h"
#include "../../../../mm/gup_test.h"

#define FILL 0x33

/* A sync write-protect userfaultfd over [addr, addr + len), or -1. */
static int protect(char *addr, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) || !(api.features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM) ||
	    uffd_register(fd, addr, len, false, true, false) || ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A read-only FOLL_PIN of the range, released at once. */
static int pin_read_only(int gup_fd, char *addr, size_t len)
{
	struct gup_test gup = {
		.addr = (uintptr_t)addr,
		.size = len,
		.nr_pages_per_call = len / getpagesize(),
		.gup_flags = 0,
	};

	return ioctl(gup_fd, PIN_BASIC_TEST, &gup);
}

int main(void)
{
	unsigned long pfn_before, pfn_after;
	int gup_fd, pagemap_fd, uffd, go[2], pinned;
	bool wp, kept;
	size_t hpage;
	char *addr;
	pid_t child;

	ksft_print_header();
	ksft_set_plan(1);
	hpage = default_huge_page_size();
	if (!hpage)
		ksft_exit_skip("no hugetlb page size in /proc/meminfo\n");
	gup_fd = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (gup_fd < 0)
		ksft_exit_skip("no /sys/kernel/debug/gup_test (CONFIG_GUP_TEST, debugfs, root)\n");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		ksft_exit_skip("no /proc/self/pagemap\n");
	addr = mmap(NULL, hpage, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (addr == MAP_FAILED)
		ksft_exit_skip("no huge page to map (vm.nr_hugepages)\n");
	memset(addr, FILL, hpage);
	uffd = protect(addr, hpage);
	if (uffd < 0)
		ksft_exit_skip("userfaultfd write-protect of hugetlb memory: %s\n", strerror(errno));
	if (!(pagemap_get_entry(pagemap_fd, addr) & PM_UFFD_WP))
		ksft_exit_fail_msg("the page is not write-protected before the fork\n");

	/* The child only holds its share of the page until the pin is done. */
	if (pipe(go))
		ksft_exit_fail_perror("pipe");
	child = fork();
	if (child < 0)
		ksft_exit_fail_perror("fork");
	if (!child) {
		char c;

		close(go[1]);
		_exit(read(go[0], &c, 1) < 0);
	}
	close(go[0]);
	pfn_before = pagemap_get_pfn(pagemap_fd, addr);
	pinned = pin_read_only(gup_fd, addr, hpage);
	pfn_after = pagemap_get_pfn(pagemap_fd, addr);
	wp = pagemap_get_entry(pagemap_fd, addr) & PM_UFFD_WP;
	kept = addr[0] == FILL && addr[hpage - 1] == FILL;
	close(go[1]);
	waitpid(child, NULL, 0);

	if (pinned)
		ksft_exit_fail_msg("PIN_BASIC_TEST: %s\n", strerror(errno));
	ksft_print_msg("pfn %#lx before the pin, %#lx after; uffd-wp after: %s\n",
		       pfn_before, pfn_after, wp ? "set" : "clear");
	if (pfn_before == pfn_after) {
		ksft_test_result_skip("the pin did not unshare the page (its frame did not change)\n");
	} else {
		ksft_test_result(wp && kept, "an unsharing read-only pin keeps the page write-protected\n");
	}
	close(uffd);
	munmap(addr, hpage);
	ksft_finished();
}
