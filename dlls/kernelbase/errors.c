/* The thread's last error and the NTSTATUS -> Win32 error mapping for the
 * statuses the engine returns. */
#include "kernelbase_private.h"

#include <assert.h>

/* The engine's status numbers are Windows' own. */
static_assert(WW_STATUS_INVALID_PARAMETER == (ww_status)STATUS_INVALID_PARAMETER, "status numbers");
static_assert(WW_STATUS_ACCESS_VIOLATION == (ww_status)STATUS_ACCESS_VIOLATION, "status numbers");
static_assert(WW_STATUS_NO_MEMORY == (ww_status)STATUS_NO_MEMORY, "status numbers");
static_assert(WW_STATUS_CONFLICTING_ADDRESSES == (ww_status)STATUS_CONFLICTING_ADDRESSES, "status numbers");
static_assert(WW_STATUS_MEMORY_NOT_ALLOCATED == (ww_status)STATUS_MEMORY_NOT_ALLOCATED, "status numbers");
static_assert(WW_STATUS_FREE_VM_NOT_AT_BASE == (ww_status)STATUS_FREE_VM_NOT_AT_BASE, "status numbers");
static_assert(WW_STATUS_NOT_COMMITTED == (ww_status)STATUS_NOT_COMMITTED, "status numbers");
static_assert(WW_STATUS_INVALID_PAGE_PROTECTION == (ww_status)STATUS_INVALID_PAGE_PROTECTION, "status numbers");
static_assert(WW_STATUS_INVALID_ADDRESS == (ww_status)STATUS_INVALID_ADDRESS, "status numbers");
static_assert(WW_STATUS_NOT_SUPPORTED == (ww_status)STATUS_NOT_SUPPORTED, "status numbers");
static_assert(WW_STATUS_INVALID_HANDLE == (ww_status)STATUS_INVALID_HANDLE, "status numbers");
static_assert(WW_STATUS_INSUFFICIENT_RESOURCES == (ww_status)STATUS_INSUFFICIENT_RESOURCES, "status numbers");
static_assert(WW_STATUS_UNSUCCESSFUL == (ww_status)STATUS_UNSUCCESSFUL, "status numbers");

static _Thread_local DWORD last_error;

DWORD WINAPI GetLastError(void)
{
    return last_error;
}

void WINAPI SetLastError(DWORD error)
{
    last_error = error;
}

static DWORD win32_error_from_status(ww_status status)
{
    switch ((NTSTATUS)status) {
    case STATUS_SUCCESS: return ERROR_SUCCESS;
    case STATUS_INVALID_PARAMETER: return ERROR_INVALID_PARAMETER;
    case STATUS_ACCESS_VIOLATION: return ERROR_NOACCESS;
    case STATUS_NO_MEMORY: return ERROR_NOT_ENOUGH_MEMORY;
    case STATUS_CONFLICTING_ADDRESSES: return ERROR_INVALID_ADDRESS;
    case STATUS_MEMORY_NOT_ALLOCATED: return ERROR_INVALID_ADDRESS;
    case STATUS_FREE_VM_NOT_AT_BASE: return ERROR_INVALID_ADDRESS;
    case STATUS_NOT_COMMITTED: return ERROR_INVALID_ADDRESS;
    case STATUS_INVALID_ADDRESS: return ERROR_INVALID_ADDRESS;
    case STATUS_INVALID_PAGE_PROTECTION: return ERROR_INVALID_PARAMETER;
    case STATUS_NOT_SUPPORTED: return ERROR_NOT_SUPPORTED;
    case STATUS_INVALID_HANDLE: return ERROR_INVALID_HANDLE;
    case STATUS_INSUFFICIENT_RESOURCES: return ERROR_NO_SYSTEM_RESOURCES;
    default: return ERROR_GEN_FAILURE;
    }
}

DWORD set_error_from_status(ww_status status)
{
    DWORD error = win32_error_from_status(status);
    SetLastError(error);
    return error;
}
