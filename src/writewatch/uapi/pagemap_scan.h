/* Kernel UAPI for the PAGEMAP_SCAN ioctl (mainline Linux 6.7+).
 *
 * Debian 12's linux-libc-dev is 6.1 and lacks these definitions, so the project
 * carries its own, each guarded so that newer system headers win. Values are the
 * kernel's ABI; see linux/fs.h in a 6.7+ tree. */
#ifndef WRITEWATCH_UAPI_PAGEMAP_SCAN_H
#define WRITEWATCH_UAPI_PAGEMAP_SCAN_H

#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef PAGE_IS_WPALLOWED
#define PAGE_IS_WPALLOWED   (1ULL << 0)
#define PAGE_IS_WRITTEN     (1ULL << 1)
#define PAGE_IS_FILE        (1ULL << 2)
#define PAGE_IS_PRESENT     (1ULL << 3)
#define PAGE_IS_SWAPPED     (1ULL << 4)
#define PAGE_IS_PFNZERO     (1ULL << 5)
#define PAGE_IS_HUGE        (1ULL << 6)
#endif
#ifndef PAGE_IS_SOFT_DIRTY
#define PAGE_IS_SOFT_DIRTY  (1ULL << 7)
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD       (1ULL << 8)
#endif

#ifndef PM_SCAN_WP_MATCHING
#define PM_SCAN_WP_MATCHING     (1ULL << 0)
#define PM_SCAN_CHECK_WPASYNC   (1ULL << 1)

/* One run of pages [start, end) that share the categories in 'categories'. */
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;                /* sizeof(struct pm_scan_arg) */
	__u64 flags;               /* PM_SCAN_* */
	__u64 start;               /* first address to walk */
	__u64 end;                 /* address after the last one to walk */
	__u64 walk_end;            /* out: where the walk stopped */
	__u64 vec;                 /* user pointer to struct page_region[vec_len] */
	__u64 vec_len;             /* capacity of vec, in regions */
	__u64 max_pages;           /* at most this many pages reported, 0 = no limit */
	__u64 category_inverted;   /* categories tested for being clear */
	__u64 category_mask;       /* a page matches if all of these hold */
	__u64 category_anyof_mask; /* ... and at least one of these holds */
	__u64 return_mask;         /* categories copied into each region */
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif /* PM_SCAN_WP_MATCHING */

#endif
