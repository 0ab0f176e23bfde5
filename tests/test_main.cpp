// The test runner: runs every test against the backend the environment selects
// (WRITEWATCH_BACKEND=kernel|fault|auto). meson runs this binary once per backend.
#define CATCH_CONFIG_RUNNER
// Catch's own SIGSEGV handler would sit in front of the fault backend's and
// does not pass faults on; a crash still ends the run with a non-zero status.
#define CATCH_CONFIG_NO_POSIX_SIGNALS
#include <catch2/catch.hpp>

#include "writewatch/writewatch.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv)
{
    ww_kernel_features features;
    ww_get_kernel_features(&features);
    ww_backend_kind backend = ww_get_backend();
    if (backend == WW_BACKEND_NONE) {
        // Asked for a backend this machine cannot run: skip loudly (meson: 77).
        std::fprintf(stderr, "SKIP: %s\n", ww_backend_problem());
        return 77;
    }
    std::fprintf(stderr, "writewatch tests: backend %s (kernel backend %s%s%s)\n",
                 ww_backend_name(backend), features.kernel_backend_usable ? "usable" : "unusable",
                 features.kernel_backend_usable ? "" : ": ", features.why_not);
    return Catch::Session().run(argc, argv);
}
