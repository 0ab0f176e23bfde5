/* Shared by the Win32 layer's files: Wine's Windows headers with our exports
 * visible, and the NTSTATUS to Win32 error mapping. Wine's winbase.h marks
 * WINBASEAPI hidden (5.0) or imported (8.0 on) unless it builds kernel32
 * itself; as kernel32 it leaves the macro empty in every version, and the
 * pragma makes what it declares default-visible in this hidden-by-default
 * library (the version script still exports only the Win32 functions). */
#ifndef WRITEWATCH_KERNELBASE_PRIVATE_H
#define WRITEWATCH_KERNELBASE_PRIVATE_H

#ifndef _KERNEL32_
#define _KERNEL32_
#endif
#define WIN32_NO_STATUS
#pragma GCC visibility push(default)
#include <windows.h>
#pragma GCC visibility pop
#undef WIN32_NO_STATUS
#include <ntstatus.h>

#include "writewatch/writewatch.h"

/* Sets the thread's last error from an NT status; returns the Win32 error. */
DWORD set_error_from_status(ww_status status);

#endif
