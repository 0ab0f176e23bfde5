// What the running kernel offers for write tracking, probed once per process
// and read everywhere else (never probe again, never guess from version numbers).
#pragma once

#include "writewatch/writewatch.h"

namespace writewatch {

const ww_kernel_features &kernel_features();

} // namespace writewatch
