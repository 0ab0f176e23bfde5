/* The library must load with dlopen(), as Wine's ntdll loads it: glibc gives
 * libraries loaded late only a little static TLS, so a large initial-exec TLS
 * segment makes the load fail ("cannot allocate memory in static TLS block").
 * This program links nothing of the project; it loads the library given as
 * its argument and calls the range tracker's status function.
 *
 *   dlopen-check LIBRARY [DEPENDENCY]
 *
 * With DEPENDENCY (a soname), the copy of it that the load brought in must be
 * the one in LIBRARY's own folder: what a bundle's $ORIGIN runpath promises
 * (scripts/build-for-proton.sh). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The folder holding PATH, with every link resolved, into FOLDER. */
static int real_folder(const char *path, char folder[PATH_MAX])
{
    char copy[PATH_MAX];
    if (strlen(path) >= sizeof(copy))
        return 0;
    strcpy(copy, path);
    return realpath(dirname(copy), folder) != NULL;
}

static int dependency_is_beside(const char *library, const char *dependency)
{
    char wanted[PATH_MAX], found[PATH_MAX];
    struct link_map *map = NULL;
    void *handle = dlopen(dependency, RTLD_NOW | RTLD_NOLOAD);

    if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map) {
        printf("%s was not loaded with %s\n", dependency, library);
        return 0;
    }
    printf("%s came from %s\n", dependency, map->l_name);
    if (!real_folder(library, wanted) || !real_folder(map->l_name, found) || strcmp(wanted, found) != 0) {
        printf("not the copy beside %s\n", library);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    void *library;
    int32_t (*status)(void);

    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s LIBRARY [DEPENDENCY]\n", argv[0]);
        return 2;
    }
    library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        printf("dlopen of %s failed: %s\n", argv[1], dlerror());
        return 1;
    }
    *(void **)&status = dlsym(library, "ww_range_tracker_status");
    if (!status) {
        printf("no ww_range_tracker_status in %s or what it loads\n", argv[1]);
        return 1;
    }
    printf("loaded %s: ww_range_tracker_status() = 0x%x\n", argv[1], (unsigned)status());
    if (argc == 3 && !dependency_is_beside(argv[1], argv[2]))
        return 1;
    return 0;
}
