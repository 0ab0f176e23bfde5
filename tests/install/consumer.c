/* An ordinary Win32-style C program built against the installed library with
 * `pkg-config writewatch-kernelbase`: it must get Windows' answers. */
#include <windows.h>
#include <stdio.h>

int main(void)
{
    char *base = VirtualAlloc(NULL, 8 * 4096, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    void *pages[8];
    ULONG_PTR count = 8;
    ULONG granularity = 0;
    if (!base) return 1;
    base[3 * 4096] = 1;
    base[5 * 4096] = 1;
    if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, base, 8 * 4096, pages, &count, &granularity)) return 2;
    if (count != 2 || pages[0] != base + 3 * 4096 || pages[1] != base + 5 * 4096 || granularity != 4096) return 3;
    count = 8;
    if (GetWriteWatch(0, base, 8 * 4096, pages, &count, &granularity) || count != 0) return 4;
    if (GetWriteWatch(0, base, 0, pages, &count, &granularity) != ~0u || GetLastError() != ERROR_INVALID_PARAMETER) return 5;
    if (!VirtualFree(base, 0, MEM_RELEASE)) return 6;
    printf("consumer: GetWriteWatch answers as on Windows\n");
    return 0;
}
