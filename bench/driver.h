/* Workloads shared by the benchmark contestants.
 *
 * ww_bench.c drives them through the Win32 API (built natively against this
 * project's kernelbase layer, and as a Windows executable for real Wine);
 * ww_floor.c drives them through bare userfaultfd + PAGEMAP_SCAN calls and
 * through plain untracked memory. Every contestant therefore runs exactly the
 * same loops; only the five operations in struct bench_ops differ.
 *
 * Output: one JSON object per line on stdout, progress on stderr.
 */
#ifndef WW_BENCH_DRIVER_H
#define WW_BENCH_DRIVER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__MINGW32__) || defined(_MSC_VER)
#define BENCH_WIN32 1
#else
#define BENCH_WIN32 0
#include <pthread.h>
#include <time.h>
#endif

#define BENCH_PAGE 4096u

struct bench_ops {
	const char *name;
	/* A watched, committed, read-write region whose pages are all clean. */
	void *(*alloc)(size_t bytes);
	void (*release)(void *base, size_t bytes);
	/* Written pages of [base, base+bytes), at most *count of them, ascending;
	 * 'reset' cleans exactly the returned pages. NULL: contestant tracks nothing. */
	int (*get)(void *base, size_t bytes, int reset, void **addrs, uintptr_t *count);
	/* Cleans every page of the range. NULL: contestant tracks nothing. */
	int (*reset)(void *base, size_t bytes);
};

/* ---------------------------------------------------------------- platform */

#if BENCH_WIN32
/* Only for the Windows build: the native build must not need Win32 calls that
 * the project's kernelbase layer does not provide. */
static inline uint64_t bench_now_ns(void)
{
	static LARGE_INTEGER freq;
	LARGE_INTEGER t;
	if (!freq.QuadPart)
		QueryPerformanceFrequency(&freq);
	QueryPerformanceCounter(&t);
	return (uint64_t)((double)t.QuadPart * 1e9 / (double)freq.QuadPart);
}
static inline void bench_sleep_ms(unsigned ms) { Sleep(ms); }

typedef HANDLE bench_thread;
struct bench_thread_start { void (*fn)(void *); void *arg; };
static DWORD WINAPI bench_thread_tramp(LPVOID p)
{
	struct bench_thread_start *s = (struct bench_thread_start *)p;
	s->fn(s->arg);
	free(s);
	return 0;
}
static inline int bench_thread_start(bench_thread *t, void (*fn)(void *), void *arg)
{
	struct bench_thread_start *s = (struct bench_thread_start *)malloc(sizeof(*s));
	s->fn = fn;
	s->arg = arg;
	*t = CreateThread(NULL, 0, bench_thread_tramp, s, 0, NULL);
	return *t ? 0 : -1;
}
static inline void bench_thread_join(bench_thread t)
{
	WaitForSingleObject(t, INFINITE);
	CloseHandle(t);
}
#else
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static inline void bench_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

typedef pthread_t bench_thread;
struct bench_thread_start { void (*fn)(void *); void *arg; };
static void *bench_thread_tramp(void *p)
{
	struct bench_thread_start s = *(struct bench_thread_start *)p;
	free(p);
	s.fn(s.arg);
	return NULL;
}
static inline int bench_thread_start(bench_thread *t, void (*fn)(void *), void *arg)
{
	struct bench_thread_start *s = (struct bench_thread_start *)malloc(sizeof(*s));
	s->fn = fn;
	s->arg = arg;
	return pthread_create(t, NULL, bench_thread_tramp, s) ? -1 : 0;
}
static inline void bench_thread_join(bench_thread t) { pthread_join(t, NULL); }
#endif

/* ------------------------------------------------------------------ helpers */

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Smallest of the repetitions: on a machine shared with other work a timed
 * call or loop longer than a scheduler tick is often preempted, and the
 * fastest repetition is the one that measured the code rather than the load. */
static double bench_min(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static void bench_emit(const char *measure, uint64_t pages, double dirty, double value,
		       const char *unit, int ok, const char *extra)
{
	printf("{\"measure\":\"%s\",\"pages\":%llu,\"dirty\":%g,\"value\":%.6g,"
	       "\"unit\":\"%s\",\"ok\":%s%s%s}\n",
	       measure, (unsigned long long)pages, dirty, value, unit, ok ? "true" : "false",
	       extra ? "," : "", extra ? extra : "");
	fflush(stdout);
}

static void bench_progress(const struct bench_ops *ops, const char *fmt_what, uint64_t pages,
			   double dirty)
{
	fprintf(stderr, "[%s] %s pages=%llu dirty=%g\n", ops->name, fmt_what,
		(unsigned long long)pages, dirty);
}

/* One 8-byte store at the start of the page; volatile so it is really done. */
static inline void bench_touch(char *base, uint64_t page, uint64_t value)
{
	*(volatile uint64_t *)(base + page * BENCH_PAGE) = value;
}

/* Number of pages written for a dirty fraction: any non-zero fraction dirties
 * at least one page so that 1% of 16 pages is not silently 0%. */
static uint64_t bench_dirty_count(uint64_t pages, double dirty)
{
	uint64_t k = (uint64_t)(dirty * (double)pages + 0.5);
	if (dirty > 0 && k == 0)
		k = 1;
	return k > pages ? pages : k;
}

/* Writes k pages spread evenly over the region. */
static void bench_dirty(char *base, uint64_t pages, uint64_t k, uint64_t value)
{
	for (uint64_t i = 0; i < k; i++)
		bench_touch(base, i * pages / k, value);
}

/* Writes every page, then cleans the region: pages are resident and clean,
 * which isolates the cost of tracking from the cost of populating memory. */
static void bench_populate_clean(const struct bench_ops *ops, char *base, uint64_t pages)
{
	for (uint64_t i = 0; i < pages; i++)
		bench_touch(base, i, i);
	if (ops->reset)
		ops->reset(base, pages * BENCH_PAGE);
}

/* Checks a GetWriteWatch answer against the evenly spread pattern. */
static int bench_check(char *base, uint64_t pages, uint64_t k, void **addrs, uintptr_t count)
{
	if (count != k)
		return 0;
	for (uint64_t i = 0; i < k; i++)
		if ((char *)addrs[i] != base + (i * pages / k) * BENCH_PAGE)
			return 0;
	return 1;
}

/* -------------------------------------------------------- first write cost */

/* Pages per timed batch in the write measures. The machine is shared: a batch
 * that got preempted is an outlier, and the median over all batches of all
 * repetitions drops it, where one long timed loop would absorb it. */
#define BENCH_WRITE_BATCH 64

/* Stores to every page, timed per batch; appends ns/page of each batch to v. */
static int bench_timed_writes(char *base, uint64_t pages, uint64_t value, double *v)
{
	int n = 0;
	for (uint64_t i = 0; i < pages; i += BENCH_WRITE_BATCH, n++) {
		uint64_t end = i + BENCH_WRITE_BATCH < pages ? i + BENCH_WRITE_BATCH : pages;
		uint64_t t0 = bench_now_ns();
		for (uint64_t j = i; j < end; j++)
			bench_touch(base, j, value);
		uint64_t t1 = bench_now_ns();
		v[n] = (double)(t1 - t0) / (double)(end - i);
	}
	return n;
}

/* Cost of the first write to a resident, clean page (the tracking fault), and
 * of the first write to a never-touched page of a fresh allocation. Median of
 * the per-batch figures over all repetitions. */
static void bench_first_write(const struct bench_ops *ops, uint64_t pages, int reps)
{
	size_t bytes = pages * BENCH_PAGE;
	uint64_t per_rep = (pages + BENCH_WRITE_BATCH - 1) / BENCH_WRITE_BATCH;
	double *v = (double *)malloc(sizeof(double) * (size_t)(reps * per_rep));
	char *base;
	int ok = 1, n = 0;

	bench_progress(ops, "first-write", pages, 0);
	base = (char *)ops->alloc(bytes);
	if (!base) {
		fprintf(stderr, "[%s] alloc failed\n", ops->name);
		free(v);
		return;
	}
	bench_populate_clean(ops, base, pages);
	for (int r = 0; r < reps; r++) {
		n += bench_timed_writes(base, pages, (uint64_t)r + 100, v + n);
		if (ops->reset && ops->reset(base, bytes))
			ok = 0;
	}
	bench_emit("first_write", pages, 1, bench_median(v, n), "ns/page", ok, NULL);
	ops->release(base, bytes);

	/* Fresh allocation: the write also populates the page. */
	bench_progress(ops, "first-touch", pages, 0);
	n = 0;
	for (int r = 0; r < reps; r++) {
		base = (char *)ops->alloc(bytes);
		if (!base) {
			ok = 0;
			continue;
		}
		n += bench_timed_writes(base, pages, 1, v + n);
		ops->release(base, bytes);
	}
	bench_emit("first_touch", pages, 1, n ? bench_median(v, n) : 0, "ns/page", ok && n, NULL);
	free(v);
}

/* ------------------------------------------ GetWriteWatch / ResetWriteWatch */

/* For one region size and dirty fraction:
 *  gww        GetWriteWatch(0) over the whole region (count = region pages)
 *  gww_reset  GetWriteWatch(WRITE_WATCH_FLAG_RESET) over the whole region
 *  reset      ResetWriteWatch over the whole region
 * each in ns per page of the region (not per dirty page). Re-dirtying between
 * repetitions is not timed. */
static void bench_scan_one(const struct bench_ops *ops, uint64_t pages, double dirty, int reps,
			   char *base, void **addrs)
{
	size_t bytes = pages * BENCH_PAGE;
	uint64_t k = bench_dirty_count(pages, dirty);
	double *v = (double *)malloc(sizeof(double) * (size_t)reps);
	int ok = 1;
	/* Small regions: time a batch of calls so timer resolution does not matter. */
	int inner = pages <= 256 ? 64 : pages <= 4096 ? 8 : 1;
	char extra[64];

	snprintf(extra, sizeof(extra), "\"dirty_pages\":%llu", (unsigned long long)k);
	bench_progress(ops, "scan", pages, dirty);

	/* Start clean, dirty the pattern once. */
	ops->reset(base, bytes);
	bench_dirty(base, pages, k, 1);

	for (int r = 0; r < reps; r++) {
		uintptr_t count = 0;
		uint64_t t0 = bench_now_ns();
		for (int j = 0; j < inner; j++) {
			count = pages;
			if (ops->get(base, bytes, 0, addrs, &count))
				ok = 0;
		}
		uint64_t t1 = bench_now_ns();
		if (!bench_check(base, pages, k, addrs, count))
			ok = 0;
		v[r] = (double)(t1 - t0) / inner / (double)pages;
	}
	bench_emit("gww", pages, dirty, bench_min(v, reps), "ns/page", ok, extra);

	ok = 1;
	for (int r = 0; r < reps; r++) {
		uint64_t total = 0;
		for (int j = 0; j < inner; j++) {
			uintptr_t count = pages;
			bench_dirty(base, pages, k, (uint64_t)r);
			uint64_t t0 = bench_now_ns();
			if (ops->get(base, bytes, 1, addrs, &count))
				ok = 0;
			uint64_t t1 = bench_now_ns();
			total += t1 - t0;
			if (!bench_check(base, pages, k, addrs, count))
				ok = 0;
		}
		v[r] = (double)total / inner / (double)pages;
	}
	/* The reset must have left the region clean. */
	{
		uintptr_t count = pages;
		if (ops->get(base, bytes, 0, addrs, &count) || count != 0)
			ok = 0;
	}
	bench_emit("gww_reset", pages, dirty, bench_min(v, reps), "ns/page", ok, extra);

	ok = 1;
	for (int r = 0; r < reps; r++) {
		uint64_t total = 0;
		for (int j = 0; j < inner; j++) {
			bench_dirty(base, pages, k, (uint64_t)r);
			uint64_t t0 = bench_now_ns();
			if (ops->reset(base, bytes))
				ok = 0;
			uint64_t t1 = bench_now_ns();
			total += t1 - t0;
		}
		v[r] = (double)total / inner / (double)pages;
	}
	{
		uintptr_t count = pages;
		if (ops->get(base, bytes, 0, addrs, &count) || count != 0)
			ok = 0;
	}
	bench_emit("reset", pages, dirty, bench_min(v, reps), "ns/page", ok, extra);
	free(v);
}

static void bench_scan(const struct bench_ops *ops, const uint64_t *sizes, int nsizes,
		       const double *fracs, int nfracs, int long_mode)
{
	for (int s = 0; s < nsizes; s++) {
		uint64_t pages = sizes[s];
		size_t bytes = pages * BENCH_PAGE;
		int reps = pages <= 4096 ? 15 : pages <= 16384 ? 9 : pages <= 65536 ? 5 : 3;
		if (!long_mode && reps > 7)
			reps = 7;
		char *base = (char *)ops->alloc(bytes);
		void **addrs = (void **)malloc(sizeof(void *) * pages);
		if (!base || !addrs) {
			fprintf(stderr, "[%s] alloc of %llu pages failed\n", ops->name,
				(unsigned long long)pages);
			free(addrs);
			if (base)
				ops->release(base, bytes);
			continue;
		}
		memset(addrs, 0, sizeof(void *) * pages);
		bench_populate_clean(ops, base, pages);
		for (int f = 0; f < nfracs; f++)
			bench_scan_one(ops, pages, fracs[f], reps, base, addrs);
		ops->release(base, bytes);
		free(addrs);
	}
}

/* -------------------------------------------------------- chunked draining */

/* A fully written region drained with GetWriteWatch(RESET) 'chunk' pages at a
 * time until nothing is left (the exact max_pages rule), and the same walk
 * without reset, resuming after the last returned page. ns per drained page. */
static void bench_drain(const struct bench_ops *ops, uint64_t pages, const uint64_t *chunks,
			int nchunks, int reps)
{
	size_t bytes = pages * BENCH_PAGE;
	char *base = (char *)ops->alloc(bytes);
	void **addrs = (void **)malloc(sizeof(void *) * pages);
	double *v = (double *)malloc(sizeof(double) * (size_t)reps);

	if (!base || !addrs) {
		fprintf(stderr, "[%s] drain alloc failed\n", ops->name);
		goto out;
	}
	bench_populate_clean(ops, base, pages);
	for (int c = 0; c < nchunks; c++) {
		uint64_t chunk = chunks[c];
		char extra[64];
		int ok = 1;
		snprintf(extra, sizeof(extra), "\"chunk\":%llu", (unsigned long long)chunk);
		bench_progress(ops, "drain", pages, 1);
		for (int r = 0; r < reps; r++) {
			uint64_t got = 0, calls = 0;
			bench_dirty(base, pages, pages, (uint64_t)r);
			uint64_t t0 = bench_now_ns();
			for (;;) {
				uintptr_t count = chunk;
				if (ops->get(base, bytes, 1, addrs, &count)) {
					ok = 0;
					break;
				}
				got += count;
				calls++;
				if (count == 0 || calls > pages + 1)
					break;
			}
			uint64_t t1 = bench_now_ns();
			if (got != pages)
				ok = 0;
			v[r] = (double)(t1 - t0) / (double)pages;
		}
		bench_emit("drain_reset", pages, 1, bench_min(v, reps), "ns/page", ok, extra);

		ok = 1;
		bench_dirty(base, pages, pages, 7);
		for (int r = 0; r < reps; r++) {
			uint64_t got = 0;
			char *p = base, *end = base + bytes;
			uint64_t t0 = bench_now_ns();
			while (p < end) {
				uintptr_t count = chunk;
				if (ops->get(p, (size_t)(end - p), 0, addrs, &count)) {
					ok = 0;
					break;
				}
				got += count;
				if (count < chunk)
					break;
				p = (char *)addrs[count - 1] + BENCH_PAGE;
			}
			uint64_t t1 = bench_now_ns();
			if (got != pages)
				ok = 0;
			v[r] = (double)(t1 - t0) / (double)pages;
		}
		bench_emit("drain_walk", pages, 1, bench_min(v, reps), "ns/page", ok, extra);
	}
out:
	if (base)
		ops->release(base, bytes);
	free(addrs);
	free(v);
}

/* ------------------------------------------- the Wine developers' format */

/* threads pages delay_ms random reset:
 * 'threads' writer threads store into the watched region as fast as they can
 * (one 8-byte store per chosen page, pages chosen at random or in sequence);
 * meanwhile the main thread sleeps delay_ms, calls GetWriteWatch over the
 * whole region (with WRITE_WATCH_FLAG_RESET when reset is 1), and repeats until
 * the run time is over. Results: average time of one store (ns) and of one
 * GetWriteWatch call (us). Writer stores are timed in batches of 64.
 * The two depend on each other: the sooner a reset is done, the more stores
 * find their page clean and fault; the number of calls and the pages each
 * reported show how often that happened. */
struct bench_writer {
	char *base;
	uint64_t pages;
	int random;
	unsigned id;
	volatile int *stop;
	uint64_t writes, ns;
};

struct bench_wine_result {
	double write_ns;       /* average time of one store */
	double gww_us;         /* average time of one GetWriteWatch call */
	uint64_t calls;        /* GetWriteWatch calls made */
	double pages_per_call; /* pages each call reported, on average */
};

static void bench_writer_main(void *p)
{
	struct bench_writer *w = (struct bench_writer *)p;
	uint64_t x = 0x9e3779b97f4a7c15ull * (w->id + 1), seq = w->id * 997u;
	unsigned off = (w->id * 64u) % BENCH_PAGE;

	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < 64; i++) {
			uint64_t page;
			if (w->random) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				page = x % w->pages;
			} else {
				page = seq++ % w->pages;
			}
			*(volatile uint64_t *)(w->base + page * BENCH_PAGE + off) = x;
		}
		uint64_t t1 = bench_now_ns();
		w->writes += 64;
		w->ns += t1 - t0;
	}
}

static int bench_wine_format(const struct bench_ops *ops, unsigned threads, uint64_t pages,
			     unsigned delay_ms, int random, int reset, double seconds,
			     struct bench_wine_result *result)
{
	size_t bytes = pages * BENCH_PAGE;
	char *base = (char *)ops->alloc(bytes);
	void **addrs = (void **)malloc(sizeof(void *) * pages);
	struct bench_writer *w = (struct bench_writer *)calloc(threads, sizeof(*w));
	bench_thread *t = (bench_thread *)calloc(threads, sizeof(*t));
	volatile int stop = 0;
	uint64_t calls = 0, gww_ns = 0, writes = 0, wns = 0, reported = 0;
	int ok = 1;

	if (!base || !addrs || !w || !t) {
		fprintf(stderr, "[%s] wine-format alloc failed\n", ops->name);
		free(addrs);
		free(w);
		free(t);
		if (base)
			ops->release(base, bytes);
		return 0;
	}
	for (unsigned i = 0; i < threads; i++) {
		w[i].base = base;
		w[i].pages = pages;
		w[i].random = random;
		w[i].id = i;
		w[i].stop = &stop;
		if (bench_thread_start(&t[i], bench_writer_main, &w[i]))
			ok = 0;
	}
	uint64_t deadline = bench_now_ns() + (uint64_t)(seconds * 1e9);
	while (bench_now_ns() < deadline) {
		bench_sleep_ms(delay_ms);
		if (ops->get) {
			uintptr_t count = pages;
			uint64_t t0 = bench_now_ns();
			if (ops->get(base, bytes, reset, addrs, &count))
				ok = 0;
			uint64_t t1 = bench_now_ns();
			gww_ns += t1 - t0;
			reported += count;
		}
		calls++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < threads; i++) {
		bench_thread_join(t[i]);
		writes += w[i].writes;
		wns += w[i].ns;
	}
	result->write_ns = writes ? (double)wns / (double)writes : 0;
	result->gww_us = calls && ops->get ? (double)gww_ns / (double)calls / 1000.0 : 0;
	result->calls = ops->get ? calls : 0;
	result->pages_per_call = calls && ops->get ? (double)reported / (double)calls : 0;
	ops->release(base, bytes);
	free(addrs);
	free(w);
	free(t);
	return ok;
}

static void bench_wine_format_emit(const struct bench_ops *ops, unsigned threads, uint64_t pages,
				   unsigned delay_ms, int random, int reset, double seconds)
{
	struct bench_wine_result result = { 0, 0, 0, 0 };
	char extra[96];
	int ok;

	fprintf(stderr, "[%s] wine-format %u %llu %u %d %d\n", ops->name, threads,
		(unsigned long long)pages, delay_ms, random, reset);
	ok = bench_wine_format(ops, threads, pages, delay_ms, random, reset, seconds, &result);
	snprintf(extra, sizeof(extra), "\"config\":\"%u %llu %u %d %d\"", threads,
		 (unsigned long long)pages, delay_ms, random, reset);
	bench_emit("wine_write", pages, 0, result.write_ns, "ns", ok, extra);
	if (ops->get)
		bench_emit("wine_gww", pages, 0, result.gww_us, "us", ok, extra);
}

/* ------------------------------------------------------------------- suite */

static void bench_usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--short|--long] [PART...]  run the suite (or only the PARTs: first-write,\n"
		"                                       scan, drain, wine, memory), JSON lines on stdout\n"
		"       %s wine THREADS PAGES DELAY_MS RANDOM RESET [SECONDS]\n"
		"                                       the Wine developers' format: prints\n"
		"                                       average write time (ns) / GetWriteWatch time (us),\n"
		"                                       then the calls made and the pages each reported\n",
		argv0, argv0);
}

static int bench_has_arg(int argc, char **argv, const char *name)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

/* Returns the process exit code. Inline: programs that use the driver's
 * helpers without its workloads (ww_placement.c) do not warn about it. */
static inline int bench_main(const struct bench_ops *ops, int argc, char **argv,
			     void (*extra_measures)(const struct bench_ops *, int long_mode))
{
	int long_mode = 0;

	if (argc >= 2 && !strcmp(argv[1], "wine")) {
		struct bench_wine_result result;
		double secs = argc >= 8 ? atof(argv[7]) : 2.0;
		if (argc < 7) {
			bench_usage(argv[0]);
			return 2;
		}
		int ok = bench_wine_format(ops, (unsigned)atoi(argv[2]),
					   (uint64_t)strtoull(argv[3], NULL, 0), (unsigned)atoi(argv[4]),
					   atoi(argv[5]), atoi(argv[6]), secs, &result);
		printf("%s: %s %s %s %s %s -> %.0f ns / %.1f us (%llu calls, %.0f pages each)%s\n", ops->name,
		       argv[2], argv[3], argv[4], argv[5], argv[6], result.write_ns, result.gww_us,
		       (unsigned long long)result.calls, result.pages_per_call, ok ? "" : " (errors)");
		return ok ? 0 : 1;
	}
	if (argc >= 2 && !strcmp(argv[1], "--long"))
		long_mode = 1;
	else if (argc >= 2 && strcmp(argv[1], "--short")) {
		bench_usage(argv[0]);
		return 2;
	}
	/* Optional list of parts to run; none means all. */
#define BENCH_PART(name) (argc <= 2 || bench_has_arg(argc, argv, name))

	{
		static const uint64_t short_sizes[] = { 16, 128, 1024, 16384 };
		static const uint64_t long_sizes[] = { 16, 128, 256, 1024, 4096, 16384, 65536, 262144 };
		static const double fracs[] = { 0, 0.01, 0.1, 1 };
		static const uint64_t chunks[] = { 16, 256, 4096 };
		const uint64_t *sizes = long_mode ? long_sizes : short_sizes;
		int nsizes = long_mode ? 8 : 4;
		double secs = long_mode ? 2.0 : 0.5;

		if (BENCH_PART("first-write"))
			bench_first_write(ops, long_mode ? 65536 : 4096, 9);
		if (ops->get && BENCH_PART("scan"))
			bench_scan(ops, sizes, nsizes, fracs, 4, long_mode);
		if (ops->get && BENCH_PART("drain"))
			bench_drain(ops, 16384, chunks, 3, long_mode ? 9 : 5);
		if (BENCH_PART("wine")) {
			bench_wine_format_emit(ops, 6, 1080, 3, 1, 1, secs);
			bench_wine_format_emit(ops, 8, 8192, 3, 1, 1, secs);
			if (long_mode) {
				bench_wine_format_emit(ops, 1, 1080, 3, 0, 1, secs);
				bench_wine_format_emit(ops, 2, 65536, 10, 1, 1, secs);
				bench_wine_format_emit(ops, 4, 8192, 3, 1, 0, secs);
			}
		}
		if (extra_measures && BENCH_PART("memory"))
			extra_measures(ops, long_mode);
	}
	return 0;
}

#endif
