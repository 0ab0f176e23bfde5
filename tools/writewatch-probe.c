/* writewatch-probe: what this kernel offers for write watches, and which
 * backend the library would give new watched allocations in this environment
 * (WRITEWATCH_BACKEND included). Uses the public C API only.
 *
 * Exit status, for scripts:
 *   0  the kernel backend is usable (userfaultfd async write-protect + PAGEMAP_SCAN)
 *   1  the kernel backend is not usable here; watched memory uses the fault backend
 *   2  no backend can serve watched allocations as configured (WRITEWATCH_BACKEND
 *      asks for one that cannot run), or a usage error
 * With a forced backend (WRITEWATCH_BACKEND=fault on a kernel that has
 * everything) the status still tells what the kernel offers: 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "writewatch/writewatch.h"

enum { PROBE_KERNEL = 0, PROBE_FAULT_ONLY = 1, PROBE_ERROR = 2 };

static const char *yes_no(int value)
{
    return value ? "yes" : "no";
}

static void usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s [-q|--quiet] [-h|--help] [--version]\n"
            "Prints what this kernel offers for write watches and which backend\n"
            "libwritewatch would choose. Exit status: 0 kernel backend usable,\n"
            "1 only the fault backend, 2 no usable backend as configured or usage error.\n",
            program);
}

static void report(const struct ww_kernel_features *f, ww_status tracker, ww_backend_kind chosen)
{
    const char *requested = getenv("WRITEWATCH_BACKEND");
    printf("userfaultfd:                 %s%s\n", yes_no(f->userfaultfd),
           f->user_mode_only ? " (UFFD_USER_MODE_ONLY)" : "");
    printf("uffd features:               %#llx\n", (unsigned long long)f->uffd_features);
    printf("UFFD_FEATURE_WP_ASYNC:       %s\n", yes_no(f->wp_async));
    printf("UFFD_FEATURE_WP_UNPOPULATED: %s\n", yes_no(f->wp_unpopulated));
    printf("PAGEMAP_SCAN:                %s\n", yes_no(f->pagemap_scan));
    printf("host page size:              %ld\n", f->host_page_size);
    printf("kernel backend:              %s%s%s\n", f->kernel_backend_usable ? "usable" : "not usable",
           f->kernel_backend_usable ? "" : ": ", f->kernel_backend_usable ? "" : f->why_not);
    printf("range tracker:               %s\n",
           tracker == WW_STATUS_SUCCESS ? "usable" : "not supported");
    printf("WRITEWATCH_BACKEND:          %s\n", requested && *requested ? requested : "(unset: auto)");
    printf("chosen backend:              %s", ww_backend_name(chosen));
    if (chosen == WW_BACKEND_NONE)
        printf(" (%s)", ww_backend_problem());
    printf("\n");
}

int main(int argc, char **argv)
{
    int quiet = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout, argv[0]);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("writewatch-probe %s\n", WRITEWATCH_VERSION);
            return 0;
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], argv[i]);
            usage(stderr, argv[0]);
            return PROBE_ERROR;
        }
    }

    struct ww_kernel_features features;
    memset(&features, 0, sizeof(features));
    ww_get_kernel_features(&features);
    ww_status tracker = ww_range_tracker_status();
    ww_backend_kind chosen = ww_get_backend();
    if (!quiet)
        report(&features, tracker, chosen);

    if (chosen == WW_BACKEND_NONE)
        return PROBE_ERROR;
    return features.kernel_backend_usable ? PROBE_KERNEL : PROBE_FAULT_ONLY;
}
