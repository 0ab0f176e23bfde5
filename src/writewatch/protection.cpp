#include "protection.h"

#include <sys/mman.h>

#include <array>

namespace writewatch {
namespace {

struct BaseProtection {
    uint32_t windows;
    int host;
    bool writable;
};

// Indexed by the protection bits of a page state. PAGE_WRITECOPY and
// PAGE_EXECUTE_WRITECOPY are absent: Windows refuses them for private memory
// (VirtualAlloc and VirtualProtect fail with ERROR_INVALID_PARAMETER), and all
// memory here is private.
constexpr std::array<BaseProtection, 6> base_protections{{
    {WW_PAGE_NOACCESS, PROT_NONE, false},
    {WW_PAGE_READONLY, PROT_READ, false},
    {WW_PAGE_READWRITE, PROT_READ | PROT_WRITE, true},
    {WW_PAGE_EXECUTE, PROT_EXEC, false},
    {WW_PAGE_EXECUTE_READ, PROT_READ | PROT_EXEC, false},
    {WW_PAGE_EXECUTE_READWRITE, PROT_READ | PROT_WRITE | PROT_EXEC, true},
}};

} // namespace

std::optional<PageState> encode_protection(uint32_t windows_protect)
{
    constexpr uint32_t modifiers = WW_PAGE_NOCACHE | WW_PAGE_WRITECOMBINE;
    uint32_t base = windows_protect & ~modifiers;
    uint32_t mods = windows_protect & modifiers;
    if (mods == modifiers)
        return std::nullopt; // NOCACHE and WRITECOMBINE exclude each other
    for (PageState index = 0; index < base_protections.size(); ++index) {
        if (base_protections[index].windows != base)
            continue;
        if (mods && base == WW_PAGE_NOACCESS)
            return std::nullopt;
        PageState state = index;
        if (mods & WW_PAGE_NOCACHE)
            state |= page_state::nocache;
        if (mods & WW_PAGE_WRITECOMBINE)
            state |= page_state::writecombine;
        return state;
    }
    return std::nullopt; // zero, several base values, or unknown bits
}

uint32_t decode_protection(PageState state)
{
    uint32_t value = base_protections[state & page_state::protection_mask].windows;
    if (state & page_state::nocache)
        value |= WW_PAGE_NOCACHE;
    if (state & page_state::writecombine)
        value |= WW_PAGE_WRITECOMBINE;
    return value;
}

int host_protection(PageState state)
{
    if (!(state & page_state::committed))
        return PROT_NONE;
    return base_protections[state & page_state::protection_mask].host;
}

bool protection_allows_write(PageState state)
{
    return base_protections[state & page_state::protection_mask].writable;
}

} // namespace writewatch
