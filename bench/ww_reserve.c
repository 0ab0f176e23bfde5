/* What a write-watched reservation costs, against the same reservation
 * without MEM_WRITE_WATCH, written against the Win32 API (built natively
 * against this project's kernelbase layer and as a Windows executable for
 * real Wine, like ww_bench.c).
 *
 * For each reservation size (default 64K,1G,256G,4T; the first argument
 * gives others, in K/M/G/T):
 *   - reserve it without and with MEM_WRITE_WATCH: time, and the growth of
 *     the process's page tables (VmPTE, /proc/self/status; under Wine through
 *     its Z: drive) and, natively, of the library's tracking memory;
 *   - commit up to 64 pieces of 4 MiB spread over it and write one page in
 *     each: page tables again;
 *   - GetWriteWatch with WRITE_WATCH_FLAG_RESET and a clean GetWriteWatch
 *     over the whole reservation, against the same calls over a dense
 *     allocation of the committed pieces' size written the same way
 *     (xdense), and against one call per committed piece (xpieces): the
 *     sparse-scan ratios.
 * Output: one line per size, a table; times in ms (median of 9 calls).
 */
#include <windows.h>

#include "driver.h"

#if !BENCH_WIN32
#include <writewatch/writewatch.h> /* ww_tracking_memory_bytes */
#endif

#define PIECE (4u << 20)
#define MAX_PIECES 64
#define REPEATS 9

#if BENCH_WIN32
/* Under Wine a file is opened by the wineserver, so Z:\proc\self is the
 * server's: this process's entry is found by the name Wine gives the Unix
 * process (the executable's, cut to 15 characters). Null when there is not
 * exactly one. */
static const char *own_status_path(void)
{
	static char path[MAX_PATH];
	static int looked;
	char module[MAX_PATH], name[16], wanted[64], line[256];
	WIN32_FIND_DATAA entry;
	int found = 0;
	if (looked)
		return path[0] ? path : NULL;
	looked = 1;
	if (!GetModuleFileNameA(NULL, module, sizeof(module)))
		return NULL;
	const char *base = strrchr(module, '\\') ? strrchr(module, '\\') + 1 : module;
	snprintf(name, sizeof(name), "%s", base);
	snprintf(wanted, sizeof(wanted), "Name:\t%s\n", name);
	HANDLE search = FindFirstFileA("Z:\\proc\\*", &entry);
	if (search == INVALID_HANDLE_VALUE)
		return NULL;
	do {
		char candidate[MAX_PATH];
		if (entry.cFileName[0] < '0' || entry.cFileName[0] > '9')
			continue;
		snprintf(candidate, sizeof(candidate), "Z:\\proc\\%s\\status", entry.cFileName);
		FILE *status = fopen(candidate, "r");
		if (!status)
			continue;
		while (fgets(line, sizeof(line), status))
			if (strcmp(line, wanted) == 0 && found++ == 0)
				snprintf(path, sizeof(path), "%s", candidate);
		fclose(status);
	} while (FindNextFileA(search, &entry));
	FindClose(search);
	if (found != 1)
		path[0] = 0;
	return path[0] ? path : NULL;
}
#else
static const char *own_status_path(void)
{
	return "/proc/self/status";
}
#endif

/* The process's page tables in KiB (VmPTE), or -1 when it cannot be read. */
static long page_table_kib(void)
{
	const char *path = own_status_path();
	FILE *status = path ? fopen(path, "r") : NULL;
	char line[256];
	long kib = -1;
	if (!status)
		return -1;
	while (fgets(line, sizeof(line), status))
		if (strncmp(line, "VmPTE:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(status);
	return kib;
}

/* 'now' minus 'before' as text in out (24 bytes), "-" when either is unknown. */
static void put_growth(char *out, long before, long now)
{
	if (before < 0 || now < 0)
		strcpy(out, "-");
	else
		sprintf(out, "%ld", now - before);
}

static long tracking_bytes(void)
{
#if BENCH_WIN32
	return -1; /* not visible from a Windows program */
#else
	return (long)ww_tracking_memory_bytes();
#endif
}

static double ms_since(uint64_t t0)
{
	return (double)(bench_now_ns() - t0) / 1e6;
}

static uint64_t parse_size(const char *text)
{
	char *end;
	uint64_t value = strtoull(text, &end, 10);
	switch (*end) {
	case 'K': return value << 10;
	case 'M': return value << 20;
	case 'G': return value << 30;
	case 'T': return value << 40;
	default: return value;
	}
}

struct layout {
	size_t pieces, piece, stride;
};

static struct layout layout_of(uint64_t size)
{
	struct layout l;
	l.piece = size < PIECE ? (size_t)size : PIECE;
	l.pieces = (size_t)(size / l.piece) < MAX_PIECES ? (size_t)(size / l.piece) : MAX_PIECES;
	l.stride = (size_t)(size / l.pieces) / BENCH_PAGE * BENCH_PAGE;
	return l;
}

/* Writes one page in each piece: piece i at offset stride*i, page i % 16. */
static void write_pieces(char *base, struct layout l)
{
	for (size_t i = 0; i < l.pieces; i++)
		base[i * l.stride + (i % (l.piece / BENCH_PAGE)) * BENCH_PAGE] = 1;
}

static int commit_pieces(char *base, struct layout l)
{
	for (size_t i = 0; i < l.pieces; i++)
		if (!VirtualAlloc(base + i * l.stride, l.piece, MEM_COMMIT, PAGE_READWRITE))
			return -1;
	return 0;
}

/* GetWriteWatch over [base, base + size) expecting 'expected' pages; -1 when
 * it fails or finds another number. */
static int get_pages(DWORD flags, char *base, uint64_t size, ULONG_PTR expected)
{
	static void *addresses[4 * MAX_PIECES];
	ULONG_PTR count = 4 * MAX_PIECES;
	ULONG granularity;
	if (GetWriteWatch(flags, base, (SIZE_T)size, addresses, &count, &granularity) || count != expected)
		return -1;
	return 0;
}

/* Median times of get-and-reset (after writing the pages again) and of a
 * clean get: over the whole [base, base + size) in one call, or (by_piece)
 * piece by piece, one call each; -1 when a call fails or misses pages. */
static void time_calls(char *base, uint64_t size, struct layout l, int by_piece, double *get_reset, double *clean)
{
	double reset_ms[REPEATS], clean_ms[REPEATS];
	size_t calls = by_piece ? l.pieces : 1;
	uint64_t span = by_piece ? l.piece : size;
	ULONG_PTR per_call = by_piece ? 1 : l.pieces;
	*get_reset = *clean = -1;
	for (int r = 0; r < REPEATS; r++) {
		write_pieces(base, l);
		uint64_t t0 = bench_now_ns();
		for (size_t i = 0; i < calls; i++)
			if (get_pages(WRITE_WATCH_FLAG_RESET, base + i * l.stride, span, per_call))
				return;
		reset_ms[r] = ms_since(t0);
		t0 = bench_now_ns();
		for (size_t i = 0; i < calls; i++)
			if (get_pages(0, base + i * l.stride, span, 0))
				return;
		clean_ms[r] = ms_since(t0);
	}
	*get_reset = bench_median(reset_ms, REPEATS);
	*clean = bench_median(clean_ms, REPEATS);
}

struct reservation_cost {
	double reserve_ms;
	char pte_reserve_kib[24], pte_commit_kib[24], tracking[24];
};

/* Reserves 'size' (with MEM_WRITE_WATCH if watch), commits the pieces; the
 * base stays reserved for the caller when keep, else it is released. */
static int measure_reservation(uint64_t size, int watch, struct reservation_cost *cost, char **kept)
{
	struct layout l = layout_of(size);
	long pte0 = page_table_kib(), tracking0 = tracking_bytes();
	uint64_t t0 = bench_now_ns();
	char *base = VirtualAlloc(NULL, (SIZE_T)size, MEM_RESERVE | (watch ? MEM_WRITE_WATCH : 0), PAGE_READWRITE);
	cost->reserve_ms = ms_since(t0);
	if (!base) {
		fprintf(stderr, "ww_reserve: reserving %llu bytes failed: error %u\n", (unsigned long long)size,
			(unsigned)GetLastError());
		return -1;
	}
	put_growth(cost->pte_reserve_kib, pte0, page_table_kib());
	put_growth(cost->tracking, tracking0, tracking_bytes());
	if (commit_pieces(base, l)) {
		fprintf(stderr, "ww_reserve: committing failed: error %u\n", (unsigned)GetLastError());
		VirtualFree(base, 0, MEM_RELEASE);
		return -1;
	}
	write_pieces(base, l);
	put_growth(cost->pte_commit_kib, pte0, page_table_kib());
	if (kept)
		*kept = base;
	else
		VirtualFree(base, 0, MEM_RELEASE);
	return 0;
}

static const char *size_name(uint64_t size, char *text)
{
	const char *units = "KMGT";
	int unit = -1;
	while (size >= 1024 && size % 1024 == 0 && unit < 3) {
		size /= 1024;
		unit++;
	}
	if (unit < 0)
		sprintf(text, "%llu", (unsigned long long)size);
	else
		sprintf(text, "%llu %ciB", (unsigned long long)size, units[unit]);
	return text;
}

int main(int argc, char **argv)
{
	const char *sizes = argc > 1 ? argv[1] : "64K,1G,256G,4T";
	char list[256];
	snprintf(list, sizeof(list), "%s", sizes);
	printf("%-8s | %-23s | %-23s | %-15s | %-27s | %-27s | %s\n", "reserved", "reserve ms: plain/watch",
	       "VmPTE KiB: plain/watch", "tracking bytes", "committed VmPTE: plain/watch",
	       "get+reset ms, xdense xpieces", "clean get ms, xdense xpieces");
	for (char *item = strtok(list, ","); item; item = strtok(NULL, ",")) {
		uint64_t size = parse_size(item);
		struct layout l = layout_of(size);
		struct reservation_cost plain, watched;
		char *base = NULL, *dense;
		char name[32];
		if (measure_reservation(size, 0, &plain, NULL) || measure_reservation(size, 1, &watched, &base))
			return 1;
		double sparse_reset, sparse_clean, piece_reset, piece_clean, dense_reset = -1, dense_clean = -1;
		time_calls(base, size, l, 0, &sparse_reset, &sparse_clean);
		time_calls(base, size, l, 1, &piece_reset, &piece_clean);
		VirtualFree(base, 0, MEM_RELEASE);
		/* The same pages written in one committed block of the pieces' size. */
		struct layout packed = l;
		packed.stride = l.piece;
		dense = VirtualAlloc(NULL, l.pieces * l.piece, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
		if (dense) {
			time_calls(dense, l.pieces * l.piece, packed, 0, &dense_reset, &dense_clean);
			VirtualFree(dense, 0, MEM_RELEASE);
		}
		printf("%-8s | %10.3f / %10.3f | %10s / %10s | %-15s | %12s / %12s | %7.3f x%-5.2f x%-5.2f | "
		       "%7.3f x%-5.2f x%-5.2f\n",
		       size_name(size, name), plain.reserve_ms, watched.reserve_ms, plain.pte_reserve_kib,
		       watched.pte_reserve_kib, watched.tracking, plain.pte_commit_kib, watched.pte_commit_kib,
		       sparse_reset, sparse_reset / dense_reset, sparse_reset / piece_reset, sparse_clean,
		       sparse_clean / dense_clean, sparse_clean / piece_clean);
		fflush(stdout);
	}
	return 0;
}
