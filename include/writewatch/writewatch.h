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

/* Heap memory the library holds for tracking (allocation records and per-page
 * state), in bytes. */
WW_API size_t ww_tracking_memory_bytes(void);

#ifdef __cplusplus
}
#endif

#endif
