/* writewatch: Windows write watches on Linux.
 *
 * The C API mirrors the NT system calls under VirtualAlloc / GetWriteWatch /
 * ResetWriteWatch (NtAllocateVirtualMemory, NtGetWriteWatch, ...): every call
 * returns an NTSTATUS value and follows Windows' argument checks and rounding.
 * Memory handed out by ww_allocate_virtual_memory() is ordinary anonymous
 * memory; the library only tracks which 4096-byte pages were written.
 *
 * Two backends track writes:
 *   kernel  userfaultfd async write-protect + the PAGEMAP_SCAN ioctl (Linux 6.7+)
 *   fault   mprotect + a SIGSEGV handler (any kernel)
 * The backend is chosen per allocation, when it is made: automatically (kernel
 * when the probe finds it usable), or forced with WRITEWATCH_BACKEND=kernel|fault|auto
 * in the environment or with ww_set_backend().
 *
 * All functions are thread-safe. None prints, exits or raises. */
#ifndef WRITEWATCH_WRITEWATCH_H
#define WRITEWATCH_WRITEWATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WW_API __attribute__((visibility("default")))
#else
#define WW_API
#endif

/* NTSTATUS values (same numbers as Windows). */
typedef int32_t ww_status;
#define WW_STATUS_SUCCESS                 ((ww_status)0x00000000)
#define WW_STATUS_UNSUCCESSFUL            ((ww_status)0xC0000001)
#define WW_STATUS_NOT_IMPLEMENTED         ((ww_status)0xC0000002)
#define WW_STATUS_INVALID_HANDLE          ((ww_status)0xC0000008)
#define WW_STATUS_INVALID_PARAMETER       ((ww_status)0xC000000D)
#define WW_STATUS_CONFLICTING_ADDRESSES   ((ww_status)0xC0000018)
#define WW_STATUS_NO_MEMORY               ((ww_status)0xC0000017)
#define WW_STATUS_ACCESS_VIOLATION        ((ww_status)0xC0000005)
#define WW_STATUS_MEMORY_NOT_ALLOCATED    ((ww_status)0xC00000A0)
#define WW_STATUS_INVALID_PAGE_PROTECTION ((ww_status)0xC0000045)
#define WW_STATUS_FREE_VM_NOT_AT_BASE     ((ww_status)0xC000009F)
#define WW_STATUS_NOT_COMMITTED           ((ww_status)0xC000002D)
#define WW_STATUS_INVALID_ADDRESS         ((ww_status)0xC0000141)
#define WW_STATUS_NOT_SUPPORTED           ((ww_status)0xC00000BB)
#define WW_STATUS_INSUFFICIENT_RESOURCES  ((ww_status)0xC000009A)

/* The pseudo-handle of the current process, the only process the calls accept. */
#define WW_CURRENT_PROCESS ((void *)(intptr_t)-1)

/* Allocation types, free types and protections: Windows' values. */
#define WW_MEM_COMMIT       0x00001000u
#define WW_MEM_RESERVE      0x00002000u
#define WW_MEM_DECOMMIT     0x00004000u
#define WW_MEM_RELEASE      0x00008000u
#define WW_MEM_FREE         0x00010000u
#define WW_MEM_PRIVATE      0x00020000u
#define WW_MEM_RESET        0x00080000u
#define WW_MEM_TOP_DOWN     0x00100000u
#define WW_MEM_WRITE_WATCH  0x00200000u
#define WW_MEM_RESET_UNDO   0x01000000u

#define WW_PAGE_NOACCESS          0x01u
#define WW_PAGE_READONLY          0x02u
#define WW_PAGE_READWRITE         0x04u
#define WW_PAGE_WRITECOPY         0x08u
#define WW_PAGE_EXECUTE           0x10u
#define WW_PAGE_EXECUTE_READ      0x20u
#define WW_PAGE_EXECUTE_READWRITE 0x40u
#define WW_PAGE_EXECUTE_WRITECOPY 0x80u
#define WW_PAGE_GUARD             0x100u
#define WW_PAGE_NOCACHE           0x200u
#define WW_PAGE_WRITECOMBINE      0x400u

#define WW_WRITE_WATCH_FLAG_RESET 0x01u

/* Granularity reported by ww_get_write_watch: the Windows page size. */
#define WW_PAGE_SIZE 4096u

/* --- Backends -------------------------------------------------------------- */

typedef enum ww_backend_kind {
    WW_BACKEND_AUTO = 0,   /* kernel when usable, else fault */
    WW_BACKEND_KERNEL = 1, /* userfaultfd async write-protect + PAGEMAP_SCAN */
    WW_BACKEND_FAULT = 2,  /* mprotect + SIGSEGV */
    WW_BACKEND_NONE = 3    /* no backend (ww_allocation_backend of unwatched memory) */
} ww_backend_kind;

/* What the running kernel offers, found once per process. */
struct ww_kernel_features {
    int userfaultfd;          /* userfaultfd(2) opened (user-mode-only or plain) */
    int user_mode_only;       /* ... with UFFD_USER_MODE_ONLY */
    uint64_t uffd_features;   /* features reported by UFFDIO_API */
    int wp_async;             /* UFFD_FEATURE_WP_ASYNC */
    int wp_unpopulated;       /* UFFD_FEATURE_WP_UNPOPULATED */
    int pagemap_scan;         /* PAGEMAP_SCAN ioctl on /proc/self/pagemap */
    int kernel_backend_usable;/* all of the above: the kernel backend can run */
    long host_page_size;      /* sysconf(_SC_PAGESIZE) */
    char why_not[160];        /* when kernel_backend_usable is 0: the first thing missing */
};

WW_API void ww_get_kernel_features(struct ww_kernel_features *features);

/* Backend for allocations made from now on. WW_BACKEND_KERNEL fails with
 * WW_STATUS_NOT_SUPPORTED when the kernel lacks it. Existing allocations keep theirs. */
WW_API ww_status ww_set_backend(ww_backend_kind kind);
/* The backend new watched allocations get (never WW_BACKEND_AUTO). When the
 * environment asked for something unusable this is WW_BACKEND_NONE, and
 * watched allocations fail; ww_backend_problem() says why. */
WW_API ww_backend_kind ww_get_backend(void);
WW_API const char *ww_backend_problem(void);
/* The backend tracking the watched allocation containing addr, else WW_BACKEND_NONE. */
WW_API ww_backend_kind ww_allocation_backend(const void *addr);
WW_API const char *ww_backend_name(ww_backend_kind kind);

/* --- Virtual memory (NtAllocateVirtualMemory & co.) -------------------------- */

WW_API ww_status ww_allocate_virtual_memory(void *process, void **base, size_t *size,
                                            uint32_t allocation_type, uint32_t protect);
/* MEM_RELEASE takes *size 0 or the whole allocation's size; part of a watched
 * allocation is never released (WW_STATUS_FREE_VM_NOT_AT_BASE, as Windows
 * refuses to split or shorten a region with a write watch). */
WW_API ww_status ww_free_virtual_memory(void *process, void **base, size_t *size,
                                        uint32_t free_type);
WW_API ww_status ww_protect_virtual_memory(void *process, void **base, size_t *size,
                                           uint32_t new_protect, uint32_t *old_protect);

struct ww_memory_basic_information {
    void *base_address;
    void *allocation_base;
    uint32_t allocation_protect;
    size_t region_size;
    uint32_t state;   /* WW_MEM_COMMIT or WW_MEM_RESERVE */
    uint32_t protect; /* 0 for reserved pages */
    uint32_t type;    /* WW_MEM_PRIVATE */
};

/* Answers for memory allocated through this library only; other addresses give
 * WW_STATUS_INVALID_ADDRESS. */
WW_API ww_status ww_query_virtual_memory(void *process, const void *addr,
                                         struct ww_memory_basic_information *info);

/* --- Write watches ------------------------------------------------------------ */

/* NtGetWriteWatch: the written pages of [base, base + size) in ascending order,
 * at most *count of them. With WW_WRITE_WATCH_FLAG_RESET exactly the returned
 * pages become clean again. */
WW_API ww_status ww_get_write_watch(void *process, uint32_t flags, void *base, size_t size,
                                    void **addresses, uintptr_t *count,
                                    uint32_t *granularity);
/* NtResetWriteWatch: every page of the range becomes clean. */
WW_API ww_status ww_reset_write_watch(void *process, void *base, size_t size);

/* Writes done by the kernel (read(2), recv, ...) into memory tracked by the
 * fault backend would fail with EFAULT, since clean pages are write-protected.
 * Call this on the destination first: its watched pages are marked written and
 * made writable. A no-op for the kernel backend and for unwatched memory. */
WW_API ww_status ww_prepare_kernel_write(void *addr, size_t size);

/* For applications that install their own SIGSEGV handler after the library's:
 * call this first from it; a non-zero result means the fault was a write to a
 * page tracked by the fault backend and has been resolved (return from the
 * handler). The library's own handler passes faults it does not own to the
 * handler that was installed before it. */
WW_API int ww_handle_fault(int signal, void *siginfo, void *ucontext);

/* Heap memory the library holds for tracking (allocation records, per-page
 * state, tracked ranges), in bytes. */
WW_API size_t ww_tracking_memory_bytes(void);

/* --- Range tracker: write watches on memory the host mapped itself -----------
 *
 * For hosts that own their mappings, locks and signal handlers (Wine's ntdll,
 * a garbage collector): the kernel backend's core, one floor below the calls
 * above. The host maps anonymous private memory as it likes, registers ranges
 * of it, tells the tracker about the memory events that change the answer, and
 * asks which pages were written. The kernel tracks every write (the process's
 * own, and the kernel's on its behalf, read(2) and friends) with userfaultfd
 * async write-protect; the answers come from PAGEMAP_SCAN.
 *
 * Semantics are Windows' (see the README): a page is reported when it was
 * written since its last reset; a decommit forgets writes except those a
 * protection change latched before it; a get with WW_WRITE_WATCH_FLAG_RESET
 * cleans exactly the pages it returns. Pages are WW_PAGE_SIZE (4096) bytes
 * whatever the host page size; on hosts with larger pages a written host page
 * reports all its 4096-byte pages.
 *
 * Rules for every call:
 *   - Ranges are [base, base + size). register, unregister, decommitted,
 *     discard and remapped take host-page-aligned ranges; get, reset and
 *     protection_changed take 4096-aligned ones. size == 0, misalignment, an
 *     address range that wraps, a range not inside one registered range and
 *     NULL outputs give WW_STATUS_INVALID_PARAMETER; registering a range that
 *     overlaps a registered one gives WW_STATUS_CONFLICTING_ADDRESSES.
 *   - WW_STATUS_NOT_SUPPORTED: the kernel lacks async uffd-wp or PAGEMAP_SCAN
 *     (the host keeps its own fallback), or the range was registered before a
 *     fork() and this is the child (the kernel does not copy registrations;
 *     unregister it there).
 *   - Kernel failures come back as NTSTATUS values (errno mapped), never as a
 *     false success; nothing is printed, nothing exits, no signal handler is
 *     installed. Thread-safe; the tracker takes only its own locks and calls
 *     nothing back, so a host may call it holding its own locks.
 *   - Between a host's own change of a range (mmap over it, madvise, munmap)
 *     and the notification below, the host must not call get or reset on that
 *     range from another thread (hold your lock across both).
 *   - Output arrays are the host's to check: the tracker writes to them. */

/* WW_STATUS_SUCCESS when ranges can be tracked on this kernel, else
 * WW_STATUS_NOT_SUPPORTED. */
WW_API ww_status ww_range_tracker_status(void);

/* Start tracking a mapped range: every page clean. The range is made
 * MADV_NOHUGEPAGE (a huge page would report 512 pages for one write) and
 * MADV_UNMERGEABLE (KSM drops the write-protect bit of a page it merges, so
 * a merged clean page would read as written), also when the process asked for
 * PR_SET_MEMORY_MERGE. The same holds for ranges registered again by
 * ww_range_decommitted and ww_range_remapped. A process that turns
 * PR_SET_MEMORY_MERGE on after registering makes its ranges mergeable again:
 * register after it. */
WW_API ww_status ww_range_register(void *base, size_t size);
/* Stop tracking a range registered with exactly this base and size (before or
 * after the host unmaps it). */
WW_API ww_status ww_range_unregister(void *base, size_t size);

/* The written pages of [base, base + size) in ascending order, at most *count
 * of them, stored at addresses[0..]; *count becomes the number stored. With
 * flags == WW_WRITE_WATCH_FLAG_RESET exactly the stored pages become clean
 * (written pages past the limit stay written). On a kernel failure the result
 * is the error and *count still tells how many entries were stored (and, with
 * reset, cleaned): nothing else changed. *count == 0 stores nothing. */
WW_API ww_status ww_range_get_written(void *base, size_t size, uint32_t flags, void **addresses,
                                      uintptr_t *count);
/* Every page of the range becomes clean. */
WW_API ww_status ww_range_reset(void *base, size_t size);

/* The host changed the protection of the range (call it with the change,
 * whether or not the protection really differs): pages written so far stay
 * reported across a later decommit, until a reset. */
WW_API ww_status ww_range_protection_changed(void *base, size_t size);
/* The host decommitted the range: dropped its contents (MADV_DONTNEED, or a
 * fresh mapping over it, which the tracker registers again). Writes not
 * latched by a protection change are forgotten; the pages start clean when
 * recommitted. */
WW_API ww_status ww_range_decommitted(void *base, size_t size);
/* MEM_RESET: the tracker drops the contents of the range (MADV_DONTNEED)
 * without changing which pages count as written. */
WW_API ww_status ww_range_discard(void *base, size_t size);
/* The host put a new mapping under the range (mmap MAP_FIXED over it, mremap
 * onto it) whose contents the tracker knows nothing about: it is registered
 * again and every page counts as written until reset. */
WW_API ww_status ww_range_remapped(void *base, size_t size);

#ifdef __cplusplus
}
#endif

#endif
