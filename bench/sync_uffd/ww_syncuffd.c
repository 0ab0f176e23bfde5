/* ww_syncuffd: synchronous userfaultfd write-protect (Linux 5.7+) measured
 * against the library's mprotect + SIGSEGV fault backend, side by side in one
 * process, for kernels without UFFD_FEATURE_WP_ASYNC (Debian 12's 6.1).
 *
 *   ww_syncuffd [options] [part...]
 *     parts: selftest firstwrite getreset scattered wine   (default: all)
 *     --rounds N       rounds of firstwrite, scattered, wine (default 5)
 *     --calls N        timed calls per getreset cell (default 31)
 *     --seconds S      length of one wine-format run (default 1)
 *     --contestants L  comma list (default sync1,sync1-dw,sync2,sync2-ex,
 *                      sync4,sync4-ex,fault,kernel):
 *                        syncN[-dw][-gG]  synchronous uffd-wp with N handler
 *                                         threads; -dw: un-protect with
 *                                         DONTWAKE + one UFFDIO_WAKE per batch;
 *                                         -gG: a reset write-protects runs
 *                                         of returned pages joined across
 *                                         gaps of at most G clean pages
 *                                         (default 16; 0: exact runs)
 *                        fault            the library, WW_BACKEND_FAULT
 *                        kernel           the library, WW_BACKEND_KERNEL
 *                                         (async uffd-wp; left out where
 *                                         the kernel lacks it)
 *     --quick          fewer rounds and calls (for software-emulated VMs)
 *
 * The synchronous technique here is the simplest one that keeps the
 * library's rules (bench/sync_uffd/README.md has the argument):
 *   - one userfaultfd per contestant, registered UFFDIO_REGISTER_MODE_WP on
 *     populated anonymous memory (6.1 cannot protect empty anonymous ptes);
 *     every clean page is write-protected, every written page has its bit
 *     set in a bitmap and is writable;
 *   - N handler threads take up to 64 fault messages per read() of the
 *     (non-blocking) uffd, and wait in poll() when it is empty; a batch is
 *     read and resolved under the context's lock taken shared: set the
 *     pages' bits, then UFFDIO_WRITEPROTECT mode 0 on each run of pages
 *     (which wakes the faulting threads; -dw: DONTWAKE, then one UFFDIO_WAKE);
 *   - a get-and-reset takes the lock exclusive, returns the first `limit`
 *     set bits in order, clears exactly those and write-protects them;
 *   - reading and resolving under one shared hold means no reset falls
 *     between them: a message read before a reset and resolved after it
 *     could be stale (its thread already woken by an earlier resolution of
 *     the same page, the page re-protected since), and resolving it would
 *     undo the reset and lose every later write to the page.
 *
 * Every answer is checked; a wrong one marks its figure "WRONG" and makes the
 * exit status 1. Output: tables on stdout, progress on stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "writewatch/writewatch.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define PAGE 4096u
#define BATCH 64

static int failures;

static void die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;
	va_start(ap, fmt);
	fprintf(stderr, "ww_syncuffd: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (errno %d: %s)\n", e, strerror(e));
	va_end(ap);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* median, min and max of v[0..n) (sorts v) */
struct stat3 { double med, min, max; };
static struct stat3 stats(double *v, int n)
{
	struct stat3 s = { 0, 0, 0 };
	if (n <= 0)
		return s;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static inline void touch(char *base, uint64_t page, uint64_t value)
{
	*(volatile uint64_t *)(base + page * PAGE) = value;
}

/* =============================================== synchronous uffd-wp */

#define MAX_REGIONS 8

struct sregion {
	char *base;
	size_t pages;
	uint64_t *bits; /* written bit per page; atomics */
};

struct sctx {
	int uffd;
	int handlers;
	int dontwake;
	int exclusive; /* wait in epoll with EPOLLEXCLUSIVE: one handler woken per fault */
	size_t gap; /* clean pages a reset's protection run may span */
	pthread_rwlock_t lock; /* shared: a handler's batch; exclusive: reset, region list */
	struct sregion *regions[MAX_REGIONS];
	/* statistics, atomics */
	uint64_t msgs, batches, polls, unprotects;
};

static int uffd_user_mode_only; /* the last context needed UFFD_USER_MODE_ONLY */

static void uffd_writeprotect(int uffd, uint64_t start, uint64_t len, uint64_t mode)
{
	struct uffdio_writeprotect wp;
	for (;;) {
		wp.range.start = start;
		wp.range.len = len;
		wp.mode = mode;
		if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) == 0)
			return;
		if (errno != EAGAIN && errno != EINTR)
			die("UFFDIO_WRITEPROTECT %#llx+%#llx mode %llu", (unsigned long long)start,
			    (unsigned long long)len, (unsigned long long)mode);
	}
}

static void uffd_wake(int uffd, uint64_t start, uint64_t len)
{
	struct uffdio_range r = { start, len };
	while (ioctl(uffd, UFFDIO_WAKE, &r))
		if (errno != EAGAIN && errno != EINTR)
			die("UFFDIO_WAKE");
}

static struct sregion *sctx_find(struct sctx *c, uint64_t addr)
{
	for (int i = 0; i < MAX_REGIONS; i++) {
		struct sregion *r = c->regions[i];
		if (r && addr >= (uintptr_t)r->base && addr < (uintptr_t)r->base + r->pages * PAGE)
			return r;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void *sctx_handler(void *arg)
{
	struct sctx *c = arg;
	struct uffd_msg msg[BATCH];
	uint64_t addr[BATCH];
	int ep = -1;

	if (c->exclusive) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->uffd, &ev))
			die("epoll with EPOLLEXCLUSIVE");
	}
	for (;;) {
		/* Messages are taken off the queue and resolved under the lock held
		 * shared, so no reset falls between reading a message and resolving
		 * it. (A message read before a reset and resolved after it could be
		 * stale: its thread woken by an earlier resolution of the page, the
		 * page re-protected since; resolving it would undo the reset.) The
		 * read does not block: when the queue is empty, poll() outside the
		 * lock. */
		pthread_rwlock_rdlock(&c->lock);
		ssize_t got = read(c->uffd, msg, sizeof(msg));
		if (got < 0) {
			int e = errno;
			pthread_rwlock_unlock(&c->lock);
			if (e == EAGAIN) {
				__atomic_fetch_add(&c->polls, 1, __ATOMIC_RELAXED);
				if (ep >= 0) {
					struct epoll_event ev;
					if (epoll_wait(ep, &ev, 1, -1) < 0 && errno != EINTR)
						die("epoll_wait");
				} else {
					struct pollfd pfd = { .fd = c->uffd, .events = POLLIN };
					if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
						die("poll of the userfaultfd");
				}
				continue;
			}
			if (e == EINTR)
				continue;
			errno = e;
			die("read of the userfaultfd");
		}
		size_t n = (size_t)got / sizeof(msg[0]);
		for (size_t i = 0; i < n; i++) {
			if (msg[i].event != UFFD_EVENT_PAGEFAULT || !(msg[i].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
				errno = 0;
				die("unexpected uffd message: event %u flags %#llx", msg[i].event,
				    (unsigned long long)msg[i].arg.pagefault.flags);
			}
			addr[i] = msg[i].arg.pagefault.address & ~(uint64_t)(PAGE - 1);
		}
		if (n > 1)
			qsort(addr, n, sizeof(addr[0]), cmp_u64);
		size_t u = 0; /* dedupe: several threads may fault on one page */
		for (size_t i = 0; i < n; i++)
			if (u == 0 || addr[i] != addr[u - 1])
				addr[u++] = addr[i];
		__atomic_fetch_add(&c->msgs, n, __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->batches, 1, __ATOMIC_RELAXED);
		for (size_t i = 0; i < u;) {
			size_t j = i + 1;
			while (j < u && addr[j] == addr[j - 1] + PAGE)
				j++;
			struct sregion *r = sctx_find(c, addr[i]);
			if (!r) {
				errno = 0;
				die("fault at %#llx outside every region", (unsigned long long)addr[i]);
			}
			/* a run of consecutive pages stays inside its region */
			uint64_t end = (uintptr_t)r->base + r->pages * PAGE;
			size_t k = i;
			for (; k < j && addr[k] < end; k++) {
				size_t p = (addr[k] - (uintptr_t)r->base) / PAGE;
				__atomic_fetch_or(&r->bits[p / 64], 1ull << (p % 64), __ATOMIC_RELEASE);
			}
			/* bits first, then write access: the lock keeps resets out of
			 * the window either way */
			uffd_writeprotect(c->uffd, addr[i], (k - i) * PAGE,
					  c->dontwake ? UFFDIO_WRITEPROTECT_MODE_DONTWAKE : 0);
			__atomic_fetch_add(&c->unprotects, 1, __ATOMIC_RELAXED);
			i = k;
		}
		if (c->dontwake)
			uffd_wake(c->uffd, addr[0], addr[u - 1] + PAGE - addr[0]);
		pthread_rwlock_unlock(&c->lock);
	}
	return NULL;
}

static struct sctx *sctx_open(int handlers, int dontwake, int exclusive, size_t gap)
{
	struct sctx *c = calloc(1, sizeof(*c));
	/* Without UFFD_USER_MODE_ONLY the kernel's own writes (read(2) into a
	 * clean page) fault into the handler too, as Windows needs; that takes
	 * privilege (or vm.unprivileged_userfaultfd=1 or /dev/userfaultfd). */
	c->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	uffd_user_mode_only = 0;
	if (c->uffd < 0) {
		c->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
		uffd_user_mode_only = 1;
	}
	if (c->uffd < 0)
		die("userfaultfd");
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	if (ioctl(c->uffd, UFFDIO_API, &api))
		die("UFFDIO_API");
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		errno = 0;
		die("this kernel's userfaultfd has no write-protect (features %#llx)",
		    (unsigned long long)api.features);
	}
	c->handlers = handlers;
	c->dontwake = dontwake;
	c->exclusive = exclusive;
	c->gap = gap;
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* A steady stream of handler batches must not starve a reset. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c->lock, &attr);
	for (int i = 0; i < handlers; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, sctx_handler, c))
			die("pthread_create");
		pthread_detach(t); /* they wait in poll() for the life of the process */
	}
	return c;
}

static void *sync_alloc(struct sctx *c, size_t bytes)
{
	size_t pages = bytes / PAGE;
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_NOHUGEPAGE);
	/* 6.1 keeps no uffd-wp marker in an empty anonymous pte (that is
	 * WP_UNPOPULATED, 6.4): every page must be mapped before protecting. */
	for (size_t i = 0; i < pages; i++)
		touch(p, i, i);
	struct uffdio_register reg = { .range = { (uintptr_t)p, bytes }, .mode = UFFDIO_REGISTER_MODE_WP };
	if (ioctl(c->uffd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER (WP)");
	if (!(reg.ioctls & (1ull << _UFFDIO_WRITEPROTECT))) {
		errno = 0;
		die("UFFDIO_WRITEPROTECT not offered on the range");
	}
	struct sregion *r = calloc(1, sizeof(*r));
	r->base = p;
	r->pages = pages;
	r->bits = calloc((pages + 63) / 64, sizeof(uint64_t));
	uffd_writeprotect(c->uffd, (uintptr_t)p, bytes, UFFDIO_WRITEPROTECT_MODE_WP);
	pthread_rwlock_wrlock(&c->lock);
	int i = 0;
	while (i < MAX_REGIONS && c->regions[i])
		i++;
	if (i == MAX_REGIONS) {
		errno = 0;
		die("too many regions");
	}
	c->regions[i] = r;
	pthread_rwlock_unlock(&c->lock);
	return p;
}

static void sync_release(struct sctx *c, void *base, size_t bytes)
{
	struct sregion *r = NULL;
	pthread_rwlock_wrlock(&c->lock);
	for (int i = 0; i < MAX_REGIONS; i++)
		if (c->regions[i] && c->regions[i]->base == base) {
			r = c->regions[i];
			c->regions[i] = NULL;
		}
	pthread_rwlock_unlock(&c->lock);
	struct uffdio_range range = { (uintptr_t)base, bytes };
	if (ioctl(c->uffd, UFFDIO_UNREGISTER, &range))
		die("UFFDIO_UNREGISTER");
	munmap(base, bytes);
	if (r) {
		free(r->bits);
		free(r);
	}
}

/* Written pages of the region (the whole region: the benchmark always asks
 * for whole regions), at most *count; with reset, exactly those become clean. */
static int sync_get(struct sctx *c, void *base, size_t bytes, int reset, void **addrs, uintptr_t *count)
{
	struct sregion *r = sctx_find(c, (uintptr_t)base);
	uintptr_t limit = *count, n = 0;
	if (!r || r->base != base || r->pages * PAGE != bytes)
		return -1;
	size_t words = (r->pages + 63) / 64;
	if (!reset) {
		for (size_t w = 0; w < words && n < limit; w++) {
			uint64_t bits = __atomic_load_n(&r->bits[w], __ATOMIC_ACQUIRE);
			while (bits && n < limit) {
				size_t p = w * 64 + (size_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				addrs[n++] = r->base + p * PAGE;
			}
		}
		*count = n;
		return 0;
	}
	pthread_rwlock_wrlock(&c->lock);
	uint64_t run_start = 0, run_end = 0; /* page indices, [start, end) */
	int have_run = 0;
	for (size_t w = 0; w < words && n < limit; w++) {
		uint64_t bits = __atomic_load_n(&r->bits[w], __ATOMIC_ACQUIRE), taken = 0;
		while (bits && n < limit) {
			uint64_t b = bits & -bits;
			size_t p = w * 64 + (size_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			taken |= b;
			addrs[n++] = r->base + p * PAGE;
			/* The clean pages between two returned ones are protected
			 * already (handlers are excluded, so none turns writable): a run
			 * may cover up to `gap` of them to save ioctls. */
			if (have_run && p - run_end <= c->gap) {
				run_end = p + 1;
			} else {
				if (have_run)
					uffd_writeprotect(c->uffd, (uintptr_t)r->base + run_start * PAGE,
							  (run_end - run_start) * PAGE, UFFDIO_WRITEPROTECT_MODE_WP);
				run_start = p;
				run_end = p + 1;
				have_run = 1;
			}
		}
		/* cleared before the run's protection lands: a write in between goes
		 * through unrecorded, but this call returns its page */
		if (taken)
			__atomic_fetch_and(&r->bits[w], ~taken, __ATOMIC_RELEASE);
	}
	if (have_run)
		uffd_writeprotect(c->uffd, (uintptr_t)r->base + run_start * PAGE, (run_end - run_start) * PAGE,
				  UFFDIO_WRITEPROTECT_MODE_WP);
	pthread_rwlock_unlock(&c->lock);
	*count = n;
	return 0;
}

/* =============================================== contestants */

enum kind { K_SYNC, K_FAULT, K_KERNEL };

struct contestant {
	char name[32];
	enum kind kind;
	struct sctx *ctx;
	void **scratch; /* reset's throwaway output for the sync kind */
	size_t scratch_pages;
};

static struct contestant cont[16];
static int ncont;

static void *c_alloc(struct contestant *c, size_t bytes)
{
	if (c->kind == K_SYNC)
		return sync_alloc(c->ctx, bytes);
	if (ww_set_backend(c->kind == K_FAULT ? WW_BACKEND_FAULT : WW_BACKEND_KERNEL))
		return NULL;
	void *base = NULL;
	size_t size = bytes;
	if (ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &size,
				       WW_MEM_RESERVE | WW_MEM_COMMIT | WW_MEM_WRITE_WATCH, WW_PAGE_READWRITE))
		return NULL;
	if (ww_allocation_backend(base) != (c->kind == K_FAULT ? WW_BACKEND_FAULT : WW_BACKEND_KERNEL))
		return NULL;
	/* resident and clean, as the sync kind */
	for (size_t i = 0; i < bytes / PAGE; i++)
		touch(base, i, i);
	if (ww_reset_write_watch(WW_CURRENT_PROCESS, base, bytes))
		return NULL;
	return base;
}

static void c_release(struct contestant *c, void *base, size_t bytes)
{
	if (c->kind == K_SYNC) {
		sync_release(c->ctx, base, bytes);
		return;
	}
	size_t size = 0;
	if (ww_free_virtual_memory(WW_CURRENT_PROCESS, &base, &size, WW_MEM_RELEASE))
		fprintf(stderr, "ww_free_virtual_memory failed\n");
}

static int c_get(struct contestant *c, void *base, size_t bytes, int reset, void **addrs, uintptr_t *count)
{
	if (c->kind == K_SYNC)
		return sync_get(c->ctx, base, bytes, reset, addrs, count);
	uint32_t gran = 0;
	ww_status s = ww_get_write_watch(WW_CURRENT_PROCESS, reset ? WW_WRITE_WATCH_FLAG_RESET : 0, base, bytes, addrs,
					 count, &gran);
	if (s) {
		fprintf(stderr, "[%s] ww_get_write_watch: status %#x\n", c->name, (unsigned)s);
		return -1;
	}
	return gran == PAGE ? 0 : -1;
}

static int c_reset(struct contestant *c, void *base, size_t bytes)
{
	if (c->kind == K_SYNC) {
		size_t pages = bytes / PAGE;
		if (c->scratch_pages < pages) {
			free(c->scratch);
			c->scratch = malloc(pages * sizeof(void *));
			c->scratch_pages = pages;
		}
		uintptr_t n = pages;
		return sync_get(c->ctx, base, bytes, 1, c->scratch, &n);
	}
	return ww_reset_write_watch(WW_CURRENT_PROCESS, base, bytes) ? -1 : 0;
}

static int parse_contestants(const char *list)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct contestant *c = &cont[ncont];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%s", tok);
		if (!strcmp(tok, "fault")) {
			c->kind = K_FAULT;
		} else if (!strcmp(tok, "kernel")) {
			c->kind = K_KERNEL;
			if (ww_set_backend(WW_BACKEND_KERNEL)) {
				struct ww_kernel_features f;
				ww_get_kernel_features(&f);
				printf("(contestant 'kernel' left out: %s)\n", f.why_not);
				continue;
			}
		} else if (!strncmp(tok, "sync", 4)) {
			char *p = tok + 4;
			int handlers = (int)strtol(p, &p, 10), dontwake = 0, exclusive = 0;
			size_t gap = 16;
			while (*p == '-') {
				if (!strncmp(p, "-dw", 3)) {
					dontwake = 1;
					p += 3;
				} else if (!strncmp(p, "-ex", 3)) {
					exclusive = 1;
					p += 3;
				} else if (p[1] == 'g') {
					gap = strtoul(p + 2, &p, 10);
				} else {
					break;
				}
			}
			if (handlers < 1 || handlers > 16 || *p) {
				fprintf(stderr, "bad contestant '%s'\n", tok);
				return -1;
			}
			c->kind = K_SYNC;
			c->ctx = sctx_open(handlers, dontwake, exclusive, gap);
		} else {
			fprintf(stderr, "unknown contestant '%s'\n", tok);
			return -1;
		}
		ncont++;
	}
	return ncont ? 0 : -1;
}

/* Round r visits the contestants starting at r % ncont, so that none always
 * runs first (right after the untimed setup) or last. */
#define FOR_ROUND_ORDER(r, i, ci) \
	for (int i = 0, ci = (int)((r) % ncont); i < ncont; i++, ci = (int)(((r) + i) % ncont))

static const char *sync_details(struct contestant *c, char *buf, size_t len)
{
	buf[0] = 0;
	if (c->kind == K_SYNC) {
		struct sctx *x = c->ctx;
		snprintf(buf, len, "handlers %d%s, wake %s, gap %zu", x->handlers,
			 x->exclusive ? " (epoll exclusive)" : "", x->dontwake ? "dontwake+wake" : "plain", x->gap);
	}
	return buf;
}

static void print_row(const char *what, struct contestant *c, double *v, int n, const char *unit, int ok,
		      const char *extra)
{
	double copy[512];
	int m = n < 512 ? n : 512;
	memcpy(copy, v, sizeof(double) * (size_t)m);
	struct stat3 s = stats(copy, m);
	printf("%-36s %-9s %12.1f [%.1f..%.1f] %-3s %s", what, c->name, s.med, s.min, s.max, unit,
	       ok ? "ok" : "WRONG");
	if (extra && *extra)
		printf("  %s", extra);
	printf("  values:");
	for (int i = 0; i < n; i++)
		printf(" %.1f", v[i]);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

/* Checks an answer against the expected ascending page list. Returns 1 if
 * equal; counts what is missing and what is extra. */
static int check_list(char *base, void **addrs, uintptr_t n, const uint64_t *expect, uint64_t k,
		      uint64_t *missing, uint64_t *extra)
{
	uint64_t i = 0, j = 0, miss = 0, ext = 0;
	int ok = 1;
	for (uintptr_t a = 1; a < n; a++)
		if ((char *)addrs[a] <= (char *)addrs[a - 1])
			ok = 0; /* not ascending or duplicate */
	while (i < n || j < k) {
		uint64_t got = i < n ? (uint64_t)((char *)addrs[i] - base) / PAGE : UINT64_MAX;
		if (i < n && ((uint64_t)((char *)addrs[i] - base) % PAGE))
			ok = 0;
		uint64_t want = j < k ? expect[j] : UINT64_MAX;
		if (got == want) {
			i++;
			j++;
		} else if (got < want) {
			ext++;
			i++;
		} else {
			miss++;
			j++;
		}
	}
	if (missing)
		*missing = miss;
	if (extra)
		*extra = ext;
	return ok && !miss && !ext;
}

/* =============================================== options */

static int rounds = 5, calls = 31;
static double wine_seconds = 1.0;

/* =============================================== selftest */

/* Exactness rules on each contestant, untimed: count limit, reset exactness,
 * concurrent-free basics, a write by the kernel (read(2) from a pipe). */
static void part_selftest(void)
{
	const uint64_t pages = 1024;
	void **addrs = malloc(pages * sizeof(void *));
	uint64_t *expect = malloc(pages * sizeof(uint64_t));
	printf("\n== selftest: count limit, reset, kernel write (read(2) into a clean page)\n");
	for (int ci = 0; ci < ncont; ci++) {
		struct contestant *c = &cont[ci];
		char *base = c_alloc(c, pages * PAGE);
		int ok = base != NULL;
		const char *why = base ? "" : "alloc failed";
		uint64_t k = 0;
		if (ok) {
			for (uint64_t p = 3; p < pages; p += 7)
				touch(base, p, p), expect[k++] = p;
			uintptr_t n = pages;
			ok = !c_get(c, base, pages * PAGE, 0, addrs, &n) && check_list(base, addrs, n, expect, k, 0, 0);
			if (!ok)
				why = "plain get";
		}
		if (ok) { /* limit: first k/3 returned and cleaned, exactly */
			uintptr_t lim = k / 3, n = lim;
			ok = !c_get(c, base, pages * PAGE, 1, addrs, &n) && check_list(base, addrs, n, expect, lim, 0, 0);
			n = pages;
			ok = ok && !c_get(c, base, pages * PAGE, 0, addrs, &n) &&
			     check_list(base, addrs, n, expect + lim, k - lim, 0, 0);
			if (!ok)
				why = "count limit";
		}
		if (ok) { /* rewrite a cleaned page and a still-written page */
			touch(base, expect[0], 1);
			touch(base, expect[k - 1], 1);
			uintptr_t n = pages;
			uint64_t e2[pages];
			uint64_t k2 = 0;
			e2[k2++] = expect[0];
			for (uint64_t i = k / 3; i < k; i++)
				e2[k2++] = expect[i];
			ok = !c_get(c, base, pages * PAGE, 1, addrs, &n) && check_list(base, addrs, n, e2, k2, 0, 0);
			n = pages;
			ok = ok && !c_get(c, base, pages * PAGE, 0, addrs, &n) && n == 0;
			if (!ok)
				why = "get-and-reset after rewrite";
		}
		if (ok) { /* the reset: nothing, then one page */
			touch(base, 5, 5);
			touch(base, 6, 6);
			ok = !c_reset(c, base, pages * PAGE);
			uintptr_t n = pages;
			ok = ok && !c_get(c, base, pages * PAGE, 0, addrs, &n) && n == 0;
			touch(base, 6, 7);
			uint64_t e3[1] = { 6 };
			n = pages;
			ok = ok && !c_get(c, base, pages * PAGE, 1, addrs, &n) && check_list(base, addrs, n, e3, 1, 0, 0);
			if (!ok)
				why = "reset";
		}
		char kw[96] = "";
		if (ok) { /* a write by the kernel into a clean page */
			int fd[2];
			char msg[16] = "kernel write";
			if (pipe(fd) == 0) {
				if (write(fd[1], msg, sizeof(msg)) != (ssize_t)sizeof(msg))
					die("pipe write");
				ssize_t r = read(fd[0], base + 100 * PAGE, sizeof(msg));
				int e = errno;
				uintptr_t n = pages;
				int seen = !c_get(c, base, pages * PAGE, 1, addrs, &n) && n == 1 &&
					   addrs[0] == base + 100 * PAGE;
				if (r == (ssize_t)sizeof(msg))
					snprintf(kw, sizeof(kw), "read(2) into a clean page: works, %s",
						 seen ? "reported" : "NOT REPORTED");
				else
					snprintf(kw, sizeof(kw), "read(2) into a clean page: fails (%s)%s", strerror(e),
						 n ? ", page reported" : "");
				if (r == (ssize_t)sizeof(msg) && !seen)
					ok = 0, why = "kernel write not reported";
				close(fd[0]);
				close(fd[1]);
			}
		}
		char d[96];
		printf("selftest %-12s %s %s%s%s  %s\n", c->name, ok ? "ok" : "WRONG", why, *why ? "; " : "", kw,
		       sync_details(c, d, sizeof(d)));
		if (!ok)
			failures++;
		if (base)
			c_release(c, base, pages * PAGE);
	}
	if (ncont && uffd_user_mode_only)
		printf("(the sync contexts were opened with UFFD_USER_MODE_ONLY: no privilege for kernel-mode faults)\n");
	free(addrs);
	free(expect);
}

/* =============================================== 1. first write */

struct fw_thread {
	char *base;
	const uint64_t *order; /* pages, this thread takes every T-th from its index */
	uint64_t count, first, step;
	pthread_barrier_t *barrier;
	double *lat; /* ns per write, for this thread's writes */
	uint64_t t0, t1;
};

static void *fw_main(void *p)
{
	struct fw_thread *t = p;
	pthread_barrier_wait(t->barrier);
	t->t0 = now_ns();
	uint64_t prev = t->t0, j = 0;
	for (uint64_t i = t->first; i < t->count; i += t->step, j++) {
		touch(t->base, t->order[i], i + 1);
		uint64_t now = now_ns();
		t->lat[j] = (double)(now - prev);
		prev = now;
	}
	t->t1 = prev;
	return NULL;
}

static void part_firstwrite(void)
{
	const uint64_t pages = 8192;
	static const int thread_counts[] = { 1, 8 };
	uint64_t *seq = malloc(pages * sizeof(uint64_t)), *rnd = malloc(pages * sizeof(uint64_t));
	void **addrs = malloc(pages * sizeof(void *));
	double *lat = malloc(pages * sizeof(double));
	char *base[16];
	uint64_t x = 88172645463325252ull;
	for (uint64_t i = 0; i < pages; i++)
		seq[i] = rnd[i] = i;
	for (uint64_t i = pages - 1; i > 0; i--) {
		uint64_t j = xorshift(&x) % (i + 1), tmp = rnd[i];
		rnd[i] = rnd[j];
		rnd[j] = tmp;
	}
	printf("\n== 1. first write to a clean page: %llu resident pages, each written once; thread i of T writes "
	       "the pages of positions i, i+T, ... in the order given; mean latency per first write as seen by "
	       "the writing thread (ns; with more threads than CPUs it includes time spent preempted) and "
	       "wall time over all threads / pages; median [min..max] over %d rounds; p50/p99 of single "
	       "writes: medians over the rounds\n", (unsigned long long)pages, rounds);
	for (int ci = 0; ci < ncont; ci++) {
		base[ci] = c_alloc(&cont[ci], pages * PAGE);
		if (!base[ci])
			die("alloc for %s", cont[ci].name);
	}
	for (int o = 0; o < 2; o++)
		for (size_t tc = 0; tc < sizeof(thread_counts) / sizeof(*thread_counts); tc++) {
			int T = thread_counts[tc];
			const uint64_t *order = o ? rnd : seq;
			double mean[16][64], wall[16][64], p50[16][64], p99[16][64];
			int ok[16];
			for (int ci = 0; ci < ncont; ci++)
				ok[ci] = 1;
			fprintf(stderr, "[firstwrite] %s T=%d\n", o ? "random" : "seq", T);
			for (int r = 0; r < rounds; r++)
				FOR_ROUND_ORDER(r, i, ci) {
					struct contestant *c = &cont[ci];
					pthread_barrier_t bar;
					pthread_barrier_init(&bar, NULL, (unsigned)T);
					struct fw_thread th[8];
					pthread_t tid[8];
					uint64_t off = 0;
					for (int t = 0; t < T; t++) {
						th[t] = (struct fw_thread){ base[ci], order, pages, (uint64_t)t, (uint64_t)T,
									    &bar, lat + off, 0, 0 };
						off += (pages - (uint64_t)t + (uint64_t)T - 1) / (uint64_t)T;
						if (pthread_create(&tid[t], NULL, fw_main, &th[t]))
							die("pthread_create");
					}
					uint64_t t0 = UINT64_MAX, t1 = 0;
					double sum = 0;
					for (int t = 0; t < T; t++) {
						pthread_join(tid[t], NULL);
						t0 = th[t].t0 < t0 ? th[t].t0 : t0;
						t1 = th[t].t1 > t1 ? th[t].t1 : t1;
						sum += (double)(th[t].t1 - th[t].t0);
					}
					pthread_barrier_destroy(&bar);
					mean[ci][r] = sum / (double)pages;
					wall[ci][r] = (double)(t1 - t0) / (double)pages;
					qsort(lat, pages, sizeof(double), cmp_double);
					p50[ci][r] = lat[pages / 2];
					p99[ci][r] = lat[pages * 99 / 100];
					uintptr_t n = pages;
					if (c_get(c, base[ci], pages * PAGE, 1, addrs, &n) ||
					    !check_list(base[ci], addrs, n, seq, pages, 0, 0))
						ok[ci] = 0;
				}
			for (int ci = 0; ci < ncont; ci++) {
				char what[64], extra[160], d[96];
				double a[64], b[64];
				memcpy(a, p50[ci], sizeof(double) * (size_t)rounds);
				memcpy(b, p99[ci], sizeof(double) * (size_t)rounds);
				double w[64];
				memcpy(w, wall[ci], sizeof(double) * (size_t)rounds);
				struct stat3 s50 = stats(a, rounds), s99 = stats(b, rounds), sw = stats(w, rounds);
				snprintf(what, sizeof(what), "first_write %s T=%d", o ? "random" : "seq", T);
				(void)sw;
				snprintf(extra, sizeof(extra), "single writes p50 %.0f p99 %.0f; %s", s50.med, s99.med,
					 sync_details(&cont[ci], d, sizeof(d)));
				print_row(what, &cont[ci], mean[ci], rounds, "ns", ok[ci], extra);
				snprintf(what, sizeof(what), "first_write %s T=%d wall/page", o ? "random" : "seq", T);
				print_row(what, &cont[ci], wall[ci], rounds, "ns", ok[ci], "");
			}
		}
	for (int ci = 0; ci < ncont; ci++)
		c_release(&cont[ci], base[ci], pages * PAGE);
	free(seq);
	free(rnd);
	free(addrs);
	free(lat);
}

/* =============================================== 2. get + reset */

static void part_getreset(void)
{
	static const uint64_t sizes[] = { 1024, 16384 };
	static const unsigned percents[] = { 1, 10, 100 };
	printf("\n== 2. GetWriteWatch(RESET) over the whole region, count = region pages, with 1%%/10%%/100%% of "
	       "its pages written (spread evenly; the writes are not timed); ns per call, median [min..max] of "
	       "%d calls, contestants alternating call by call; 'dirty' = ns per first write while dirtying "
	       "(fragmented mappings for the fault backend)\n", calls);
	double *v = malloc(sizeof(double) * (size_t)calls * 16), *dv = malloc(sizeof(double) * (size_t)calls * 16);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		uint64_t pages = sizes[s];
		void **addrs = malloc(pages * sizeof(void *));
		uint64_t *expect = malloc(pages * sizeof(uint64_t));
		char *base[16];
		for (int ci = 0; ci < ncont; ci++)
			if (!(base[ci] = c_alloc(&cont[ci], pages * PAGE)))
				die("alloc for %s", cont[ci].name);
		for (size_t pc = 0; pc < sizeof(percents) / sizeof(*percents); pc++) {
			uint64_t k = pages * percents[pc] / 100;
			if (!k)
				k = 1;
			for (uint64_t i = 0; i < k; i++)
				expect[i] = i * pages / k;
			int ok[16];
			for (int ci = 0; ci < ncont; ci++)
				ok[ci] = 1;
			fprintf(stderr, "[getreset] %llu pages %u%%\n", (unsigned long long)pages, percents[pc]);
			for (int r = 0; r < calls; r++)
				FOR_ROUND_ORDER(r, i, ci) {
					struct contestant *c = &cont[ci];
					uint64_t d0 = now_ns();
					for (uint64_t j = 0; j < k; j++)
						touch(base[ci], expect[j], (uint64_t)r);
					uint64_t d1 = now_ns();
					uintptr_t n = pages;
					uint64_t t0 = now_ns();
					int bad = c_get(c, base[ci], pages * PAGE, 1, addrs, &n);
					uint64_t t1 = now_ns();
					if (bad || !check_list(base[ci], addrs, n, expect, k, 0, 0))
						ok[ci] = 0;
					v[ci * calls + r] = (double)(t1 - t0);
					dv[ci * calls + r] = (double)(d1 - d0) / (double)k;
				}
			for (int ci = 0; ci < ncont; ci++) {
				char what[64], extra[128];
				double d[512];
				memcpy(d, dv + ci * calls, sizeof(double) * (size_t)calls);
				struct stat3 sd = stats(d, calls);
				snprintf(what, sizeof(what), "getreset %llu pages %u%%", (unsigned long long)pages,
					 percents[pc]);
				snprintf(extra, sizeof(extra), "dirty %.0f ns/write", sd.med);
				print_row(what, &cont[ci], v + ci * calls, calls, "ns", ok[ci], extra);
			}
		}
		for (int ci = 0; ci < ncont; ci++)
			c_release(&cont[ci], base[ci], pages * PAGE);
		free(addrs);
		free(expect);
	}
	free(v);
	free(dv);
}

/* =============================================== 3. past vm.max_map_count */

static long read_long_file(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static long count_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int ch;
	if (!f)
		return -1;
	while ((ch = getc(f)) != EOF)
		if (ch == '\n')
			n++;
	fclose(f);
	return n;
}

static void part_scattered(void)
{
	const uint64_t pages = 72000, k = pages / 2;
	void **addrs = malloc(pages * sizeof(void *));
	uint64_t *expect = malloc(k * sizeof(uint64_t));
	for (uint64_t i = 0; i < k; i++)
		expect[i] = 2 * i;
	printf("\n== 3. scattered writes past vm.max_map_count (%ld here): every other page of %llu resident "
	       "clean pages written (%llu first writes, ascending), then GetWriteWatch(RESET) of everything; "
	       "ns per write and ms per get, median [min..max] over %d rounds; the answer must be exactly the "
	       "%llu written pages (extra pages are counted, a missing one is WRONG)\n", read_long_file("/proc/sys/vm/max_map_count"), (unsigned long long)pages,
	       (unsigned long long)k, rounds, (unsigned long long)k);
	double wv[16][64], gv[16][64];
	long maps[16];
	uint64_t miss[16], ext[16];
	int ok[16];
	for (int ci = 0; ci < ncont; ci++)
		ok[ci] = 1, miss[ci] = ext[ci] = 0, maps[ci] = 0;
	/* Extra pages are allowed (the library's fault backend makes whole
	 * mappings writable, and reports them, once it cannot split one more):
	 * they are counted, not failed. A missing page is a lost write. */
	for (int r = 0; r < rounds; r++)
		FOR_ROUND_ORDER(r, i, ci) {
			struct contestant *c = &cont[ci];
			fprintf(stderr, "[scattered] round %d %s\n", r, c->name);
			char *base = c_alloc(c, pages * PAGE);
			if (!base)
				die("alloc for %s", c->name);
			long before = count_mappings();
			uint64_t t0 = now_ns();
			for (uint64_t j = 0; j < k; j++)
				touch(base, expect[j], j + 1);
			uint64_t t1 = now_ns();
			long after = count_mappings();
			uintptr_t n = pages;
			uint64_t g0 = now_ns();
			int bad = c_get(c, base, pages * PAGE, 1, addrs, &n);
			uint64_t g1 = now_ns();
			uint64_t m = 0, e = 0;
			check_list(base, addrs, n, expect, k, &m, &e);
			if (bad || m)
				ok[ci] = 0;
			if (m > miss[ci])
				miss[ci] = m;
			if (e > ext[ci])
				ext[ci] = e;
			if (after - before > maps[ci])
				maps[ci] = after - before;
			/* the region still tracks afterwards: a write to a cleaned page is
			 * reported (extra pages again allowed) */
			touch(base, 1, 1);
			n = pages;
			uint64_t one = 1;
			if (c_get(c, base, pages * PAGE, 1, addrs, &n) || (check_list(base, addrs, n, &one, 1, &m, &e), m))
				ok[ci] = 0;
			wv[ci][r] = (double)(t1 - t0) / (double)k;
			gv[ci][r] = (double)(g1 - g0) / 1e6;
			c_release(c, base, pages * PAGE);
		}
	for (int ci = 0; ci < ncont; ci++) {
		char extra[200];
		snprintf(extra, sizeof(extra), "mappings added by the writes: %ld; worst round: %llu missing, %llu "
			 "over-reported", maps[ci], (unsigned long long)miss[ci], (unsigned long long)ext[ci]);
		print_row("scattered write", &cont[ci], wv[ci], rounds, "ns", ok[ci], extra);
		print_row("scattered get+reset", &cont[ci], gv[ci], rounds, "ms", ok[ci], "");
	}
	free(addrs);
	free(expect);
}

/* =============================================== 4. Wine's format */

/* threads pages 3 1 1: writers store at random pages as fast as they can
 * (timed in batches of 64, as bench/driver.h does); the main thread sleeps
 * 3 ms, calls GetWriteWatch(RESET) over the region, repeats. Check: thread t
 * writes only its own slot of each page, values increasing; after every call
 * the main thread reads the slots of the returned pages; at the end (writers
 * stopped, a last call) every slot must hold the last value read: a write the
 * tracking lost would be newer. */
struct wine_writer {
	char *base;
	uint64_t pages;
	unsigned id;
	volatile int *stop;
	uint64_t writes, ns;
};

static void *wine_writer_main(void *p)
{
	struct wine_writer *w = p;
	uint64_t x = 0x9e3779b97f4a7c15ull * (w->id + 1), value = (uint64_t)(w->id + 1) << 40;
	unsigned off = w->id * 64u;
	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < 64; i++) {
			uint64_t page = xorshift(&x) % w->pages;
			*(volatile uint64_t *)(w->base + page * PAGE + off) = ++value;
		}
		w->ns += now_ns() - t0;
		w->writes += 64;
	}
	return NULL;
}

static void part_wine(void)
{
	static const struct { unsigned threads; uint64_t pages; } cfgs[] = { { 8, 8192 }, { 6, 1080 }, { 1, 8192 } };
	printf("\n== 4. Wine's format 'threads pages 3 1 1' (8 8192 and 6 1080 as Wine's developers ran them; "
	       "1 8192: fewer writers than CPUs), %.1f s per run: average write ns / average "
	       "GetWriteWatch(RESET) us, median [min..max] over %d rounds; checked: no write lost\n", wine_seconds,
	       rounds);
	for (size_t cf = 0; cf < sizeof(cfgs) / sizeof(*cfgs); cf++) {
		unsigned T = cfgs[cf].threads;
		uint64_t pages = cfgs[cf].pages;
		double wv[16][64], gv[16][64], nc[16][64], ppc[16][64], wps[16][64], npr[16][64];
		int ok[16];
		void **addrs = malloc(pages * sizeof(void *));
		uint64_t *seen = calloc(pages * T, sizeof(uint64_t));
		for (int ci = 0; ci < ncont; ci++)
			ok[ci] = 1;
		for (int r = 0; r < rounds; r++)
			FOR_ROUND_ORDER(r, i, ci) {
				struct contestant *c = &cont[ci];
				fprintf(stderr, "[wine] %u %llu 3 1 1 round %d %s\n", T, (unsigned long long)pages, r, c->name);
				char *base = c_alloc(c, pages * PAGE);
				if (!base)
					die("alloc for %s", c->name);
				for (uint64_t p = 0; p < pages; p++) /* slots start at 0, clean */
					for (unsigned t = 0; t < T; t++)
						*(volatile uint64_t *)(base + p * PAGE + t * 64) = 0;
				if (c_reset(c, base, pages * PAGE))
					ok[ci] = 0;
				memset(seen, 0, pages * T * sizeof(uint64_t));
				volatile int stop = 0;
				struct wine_writer w[8];
				pthread_t tid[8];
				for (unsigned t = 0; t < T; t++) {
					w[t] = (struct wine_writer){ base, pages, t, &stop, 0, 0 };
					if (pthread_create(&tid[t], NULL, wine_writer_main, &w[t]))
						die("pthread_create");
				}
				uint64_t ncalls = 0, gns = 0, reported = 0, start = now_ns(), deadline = now_ns() + (uint64_t)(wine_seconds * 1e9);
				for (int last = 0; !last;) {
					if (now_ns() >= deadline) {
						__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
						for (unsigned t = 0; t < T; t++)
							pthread_join(tid[t], NULL);
						last = 1;
					} else {
						struct timespec ts = { 0, 3000000 };
						nanosleep(&ts, NULL);
					}
					uintptr_t n = pages;
					uint64_t t0 = now_ns();
					if (c_get(c, base, pages * PAGE, 1, addrs, &n))
						ok[ci] = 0;
					uint64_t t1 = now_ns();
					if (!last) {
						gns += t1 - t0;
						ncalls++;
					}
					reported += n;
					for (uintptr_t a = 0; a < n; a++) {
						if ((a && (char *)addrs[a] <= (char *)addrs[a - 1]) || (char *)addrs[a] < base ||
						    (char *)addrs[a] >= base + pages * PAGE) {
							ok[ci] = 0;
							continue;
						}
						uint64_t p = (uint64_t)((char *)addrs[a] - base) / PAGE;
						for (unsigned t = 0; t < T; t++)
							seen[p * T + t] = *(volatile uint64_t *)(base + p * PAGE + t * 64);
					}
				}
				uint64_t elapsed = now_ns() - start, lost = 0, writes = 0, wns = 0;
				for (uint64_t p = 0; p < pages; p++)
					for (unsigned t = 0; t < T; t++)
						if (*(volatile uint64_t *)(base + p * PAGE + t * 64) != seen[p * T + t])
							lost++;
				if (lost) {
					ok[ci] = 0;
					fprintf(stderr, "[wine] %s: %llu slots hold a write no call reported\n", c->name,
						(unsigned long long)lost);
				}
				for (unsigned t = 0; t < T; t++)
					writes += w[t].writes, wns += w[t].ns;
				wv[ci][r] = writes ? (double)wns / (double)writes : 0;
				gv[ci][r] = ncalls ? (double)gns / (double)ncalls / 1000.0 : 0;
				nc[ci][r] = (double)ncalls;
				ppc[ci][r] = ncalls ? (double)reported / (double)(ncalls + 1) : 0;
				wps[ci][r] = (double)writes / ((double)elapsed / 1e9);
				npr[ci][r] = (double)reported / ((double)elapsed / 1e9);
				c_release(c, base, pages * PAGE);
			}
		for (int ci = 0; ci < ncont; ci++) {
			char what[64], extra[160];
			double tmp[64];
			memcpy(tmp, nc[ci], sizeof(double) * (size_t)rounds);
			struct stat3 sn = stats(tmp, rounds);
			memcpy(tmp, ppc[ci], sizeof(double) * (size_t)rounds);
			struct stat3 sp = stats(tmp, rounds);
			snprintf(what, sizeof(what), "wine %u %llu 3 1 1 write", T, (unsigned long long)pages);
			print_row(what, &cont[ci], wv[ci], rounds, "ns", ok[ci], "");
			snprintf(what, sizeof(what), "wine %u %llu 3 1 1 gww", T, (unsigned long long)pages);
			snprintf(extra, sizeof(extra), "calls per run %.0f, pages reported per call %.0f", sn.med, sp.med);
			print_row(what, &cont[ci], gv[ci], rounds, "us", ok[ci], extra);
			snprintf(what, sizeof(what), "wine %u %llu 3 1 1 writes/s", T, (unsigned long long)pages);
			print_row(what, &cont[ci], wps[ci], rounds, "/s", ok[ci], "stores by all writer threads per second");
			snprintf(what, sizeof(what), "wine %u %llu 3 1 1 first writes/s", T, (unsigned long long)pages);
			print_row(what, &cont[ci], npr[ci], rounds, "/s", ok[ci],
				  "pages reported per second: first writes tracked");
		}
		free(addrs);
		free(seen);
	}
}

/* =============================================== main */

int main(int argc, char **argv)
{
	const char *list = "sync1,sync1-dw,sync2,sync2-ex,sync4,sync4-ex,fault,kernel";
	int want[5] = { 0 }, any = 0;
	static const char *parts[] = { "selftest", "firstwrite", "getreset", "scattered", "wine" };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--calls") && i + 1 < argc)
			calls = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			wine_seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--contestants") && i + 1 < argc)
			list = argv[++i];
		else if (!strcmp(argv[i], "--quick"))
			rounds = 3, calls = 9;
		else {
			int found = 0;
			for (int p = 0; p < 5; p++)
				if (!strcmp(argv[i], parts[p]))
					want[p] = 1, found = any = 1;
			if (!found) {
				fprintf(stderr, "usage: %s [--rounds N] [--calls N] [--seconds S] [--contestants L] "
						"[--quick] [selftest|firstwrite|getreset|scattered|wine]...\n", argv[0]);
				return 2;
			}
		}
	}
	if (rounds < 1 || rounds > 64 || calls < 1 || calls > 512) {
		fprintf(stderr, "--rounds 1..64, --calls 1..512\n");
		return 2;
	}
	if (!any)
		for (int p = 0; p < 5; p++)
			want[p] = 1;
	struct utsname u;
	uname(&u);
	struct ww_kernel_features f;
	ww_get_kernel_features(&f);
	if (parse_contestants(list))
		return 2;
	printf("ww_syncuffd: kernel %s %s, %ld CPUs online, uffd features %#llx, async uffd-wp %s; "
	       "contestants:", u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN),
	       (unsigned long long)f.uffd_features, f.kernel_backend_usable ? "yes" : "no");
	for (int i = 0; i < ncont; i++)
		printf(" %s", cont[i].name);
	printf("\n");
	if (want[0])
		part_selftest();
	if (want[1])
		part_firstwrite();
	if (want[2])
		part_getreset();
	if (want[3])
		part_scattered();
	if (want[4])
		part_wine();
	printf("\n== handler statistics of the sync contestants (whole run)\n");
	for (int i = 0; i < ncont; i++)
		if (cont[i].kind == K_SYNC) {
			struct sctx *x = cont[i].ctx;
			printf("%-12s messages %llu, batches %llu (%.2f messages per batch), polls (queue found "
			       "empty) %llu, un-protect ioctls %llu\n",
			       cont[i].name, (unsigned long long)x->msgs, (unsigned long long)x->batches,
			       x->batches ? (double)x->msgs / (double)x->batches : 0.0,
			       (unsigned long long)x->polls, (unsigned long long)x->unprotects);
		}
	printf("\nww_syncuffd: %s\n", failures ? "SOME ANSWERS WERE WRONG" : "every answer checked and right");
	return failures ? 1 : 0;
}
