/* The library must load with dlopen(), as Wine's ntdll loads it: glibc gives
 * libraries loaded late only a little static TLS, so a large initial-exec TLS
 * segment makes the load fail ("cannot allocate memory in static TLS block").
 * This program links nothing of the project; it loads the library given as
 * its argument and calls the range tracker's status function. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    void *library;
    int32_t (*status)(void);

    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
        return 2;
    }
    library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        printf("dlopen of %s failed: %s\n", argv[1], dlerror());
        return 1;
    }
    *(void **)&status = dlsym(library, "ww_range_tracker_status");
    if (!status) {
        printf("no ww_range_tracker_status in %s\n", argv[1]);
        return 1;
    }
    printf("loaded %s: ww_range_tracker_status() = 0x%x\n", argv[1], (unsigned)status());
    return 0;
}
