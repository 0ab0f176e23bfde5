// The fuzz targets' check against their model: a mismatch prints what
// differed and aborts, which libFuzzer reports as a crash with the input.
#pragma once

#include <cstdio>
#include <cstdlib>

[[noreturn]] inline void model_mismatch(const char *what, unsigned long long got, unsigned long long expected)
{
    std::fprintf(stderr, "MODEL MISMATCH: %s: got 0x%llx, expected 0x%llx\n", what, got, expected);
    std::abort();
}

#define EXPECT_EQ(got, expected, what)                                                                  \
    do {                                                                                                \
        auto got_ = (got);                                                                              \
        auto expected_ = (expected);                                                                    \
        if (got_ != expected_)                                                                          \
            model_mismatch(what, (unsigned long long)got_, (unsigned long long)expected_);             \
    } while (0)
