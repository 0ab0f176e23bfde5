// Kernel errors as NTSTATUS values.
#pragma once

#include "writewatch/writewatch.h"

#include <cerrno>

namespace writewatch {

inline ww_status status_from_errno(int error)
{
    switch (error) {
    case ENOMEM:
        return WW_STATUS_NO_MEMORY;
    case EFAULT:
        return WW_STATUS_ACCESS_VIOLATION;
    case EINVAL:
        return WW_STATUS_INVALID_PARAMETER;
    case EEXIST:
        return WW_STATUS_CONFLICTING_ADDRESSES;
    case EAGAIN:
    case EMFILE:
    case ENFILE:
        return WW_STATUS_INSUFFICIENT_RESOURCES;
    case EPERM:
    case EACCES:
        return WW_STATUS_NOT_SUPPORTED;
    default:
        return WW_STATUS_UNSUCCESSFUL;
    }
}

} // namespace writewatch
