// What the running kernel offers for write tracking, probed once per process
// and read everywhere else (never probe again, never guess from version numbers).
#pragma once

#include "writewatch/writewatch.h"

namespace writewatch {

const ww_kernel_features &kernel_features();

// What madvise(2) answers to ADVICE on a scratch page of this process: 0 when
// the advice is taken, else its errno; -1 (errno set by mmap) when no scratch
// page could be mapped.
int scratch_advice_error(int advice);

} // namespace writewatch
