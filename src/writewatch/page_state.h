// One byte of state per 4096-byte page of an allocation, shared by both
// backends: the Windows protection of the page, whether it is committed, and
// (fault backend only) its watch state: written since the last reset (lost on
// decommit), and latched (set from written by a protection change, kept
// across decommit; see SEMANTICS.md). The kernel backend keeps the same two
// bits in the kernel and in its tracked range's marks instead.
#pragma once

#include <cstdint>

namespace writewatch {

using PageState = uint8_t;

namespace page_state {
// bits 0-2: index of the base protection (see protection.h)
inline constexpr PageState protection_mask = 0x07;
inline constexpr PageState nocache = 0x08;
inline constexpr PageState writecombine = 0x10;
inline constexpr PageState committed = 0x20;
inline constexpr PageState written = 0x40;
inline constexpr PageState latched = 0x80;
// A page is reported when either is set.
inline constexpr PageState watch_mask = written | latched;
// Everything but the watch bits: what VirtualQuery and protection changes see.
inline constexpr PageState layout_mask = protection_mask | nocache | writecombine | committed;
} // namespace page_state

} // namespace writewatch
