/* Shared by the Win32 layer's files: Wine's Windows headers with our exports
 * visible (Wine marks WINBASEAPI hidden in a native build), and the NTSTATUS to
 * Win32 error mapping. */
#ifndef WRITEWATCH_KERNELBASE_PRIVATE_H
#define WRITEWATCH_KERNELBASE_PRIVATE_H

#define WINBASEAPI __attribute__((visibility("default")))
#define WIN32_NO_STATUS
#include <windows.h>
#undef WIN32_NO_STATUS
#include <ntstatus.h>

#include "writewatch/writewatch.h"

/* Sets the thread's last error from an NT status; returns the Win32 error. */
DWORD set_error_from_status(ww_status status);

#endif
