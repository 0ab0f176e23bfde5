/* Win32 memory functions over the engine's NT-level calls: VirtualAlloc,
 * VirtualFree, VirtualProtect, VirtualQuery, GetWriteWatch, ResetWriteWatch.
 * Each is a thin mapping: the engine owns the semantics, this layer turns
 * NTSTATUS into the Win32 return value and last error. */
#include "kernelbase_private.h"

HANDLE WINAPI GetCurrentProcess(void)
{
    return (HANDLE)~(ULONG_PTR)0;
}

LPVOID WINAPI VirtualAlloc(void *addr, SIZE_T size, DWORD type, DWORD protect)
{
    void *base = addr;
    size_t region_size = size;
    ww_status status = ww_allocate_virtual_memory(WW_CURRENT_PROCESS, &base, &region_size, type, protect);
    if (status != WW_STATUS_SUCCESS) {
        set_error_from_status(status);
        return NULL;
    }
    return base;
}

BOOL WINAPI VirtualFree(void *addr, SIZE_T size, DWORD type)
{
    void *base = addr;
    size_t region_size = size;
    ww_status status;
    /* Win32 takes no size with MEM_RELEASE (the NT call does) */
    if (type == MEM_RELEASE && size) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    status = ww_free_virtual_memory(WW_CURRENT_PROCESS, &base, &region_size, type);
    if (status != WW_STATUS_SUCCESS) {
        set_error_from_status(status);
        return FALSE;
    }
    return TRUE;
}

BOOL WINAPI VirtualProtect(void *addr, SIZE_T size, DWORD new_protect, DWORD *old_protect)
{
    void *base = addr;
    size_t region_size = size;
    uint32_t previous = 0;
    if (!old_protect) {
        SetLastError(ERROR_NOACCESS);
        return FALSE;
    }
    ww_status status = ww_protect_virtual_memory(WW_CURRENT_PROCESS, &base, &region_size, new_protect, &previous);
    if (status != WW_STATUS_SUCCESS) {
        set_error_from_status(status);
        return FALSE;
    }
    *old_protect = previous;
    return TRUE;
}

SIZE_T WINAPI VirtualQuery(const void *addr, MEMORY_BASIC_INFORMATION *info, SIZE_T length)
{
    struct ww_memory_basic_information basic;
    if (!info) {
        SetLastError(ERROR_NOACCESS);
        return 0;
    }
    if (length < sizeof(*info)) {
        SetLastError(ERROR_BAD_LENGTH);
        return 0;
    }
    ww_status status = ww_query_virtual_memory(WW_CURRENT_PROCESS, addr, &basic);
    if (status != WW_STATUS_SUCCESS) {
        set_error_from_status(status);
        return 0;
    }
    info->BaseAddress = basic.base_address;
    info->AllocationBase = basic.allocation_base;
    info->AllocationProtect = basic.allocation_protect;
    info->RegionSize = basic.region_size;
    info->State = basic.state;
    info->Protect = basic.protect;
    info->Type = basic.type;
    return sizeof(*info);
}

UINT WINAPI GetWriteWatch(DWORD flags, void *base, SIZE_T size, void **addresses, ULONG_PTR *count,
                          ULONG *granularity)
{
    ww_status status = ww_get_write_watch(WW_CURRENT_PROCESS, flags, base, size, addresses, count,
                                          (uint32_t *)granularity);
    if (status != WW_STATUS_SUCCESS) {
        set_error_from_status(status);
        return ~0u;
    }
    return 0;
}

UINT WINAPI ResetWriteWatch(void *base, SIZE_T size)
{
    ww_status status = ww_reset_write_watch(WW_CURRENT_PROCESS, base, size);
    if (status != WW_STATUS_SUCCESS) {
        set_error_from_status(status);
        return ~0u;
    }
    return 0;
}
