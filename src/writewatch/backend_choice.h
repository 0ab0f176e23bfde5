// Which backend tracks the next watched allocation: WRITEWATCH_BACKEND from the
// environment (read once), overridden by ww_set_backend().
#pragma once

#include "backend.h"

namespace writewatch {

// The backend for a new watched allocation, or null with *status saying why.
Backend *backend_for_new_watch(ww_status *status);

} // namespace writewatch
