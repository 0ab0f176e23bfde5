// Windows page protections: validation, the page-state encoding, and the
// matching mmap/mprotect flags.
#pragma once

#include "page_state.h"
#include "writewatch/writewatch.h"

#include <optional>

namespace writewatch {

// The protection bits of a page state for a valid Windows protection value,
// or nothing when the value is not one Windows accepts for committed memory.
// PAGE_GUARD is refused by the caller separately (not supported).
std::optional<PageState> encode_protection(uint32_t windows_protect);

uint32_t decode_protection(PageState state);

// PROT_* flags for the page state (PROT_NONE when not committed).
int host_protection(PageState state);

bool protection_allows_write(PageState state);

} // namespace writewatch
