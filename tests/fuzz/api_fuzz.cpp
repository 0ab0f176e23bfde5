// libFuzzer target: sequences of Win32 and NT-level calls with arbitrary
// flags, protections, pointers into and out of watched memory and sizes that
// overflow, each checked against a model of the documented semantics
// (SEMANTICS.md, with its live and latched bits; README "Decided behaviour"). Both backends, chosen per
// allocation by the input. Every input releases what it allocated.
//
// Build and run: scripts/fuzz.sh [seconds]   (clang, -fsanitize=fuzzer,address,undefined)
#define NOMINMAX
#define WIN32_NO_STATUS
#include <windows.h>
#undef WIN32_NO_STATUS

#include "writewatch/writewatch.h"

#include "model_check.h"

#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr size_t page = 4096;

// Windows protections and what they allow.
struct Prot {
    DWORD value;
    bool read, write;
};
// (PAGE_WRITECOPY and PAGE_EXECUTE_WRITECOPY are refused for private memory,
// as on Windows: they are among the bad protections below.)
constexpr Prot prots[] = {
    {PAGE_NOACCESS, false, false},     {PAGE_READONLY, true, false},          {PAGE_READWRITE, true, true},
    {PAGE_EXECUTE, false, false},      {PAGE_EXECUTE_READ, true, false},      {PAGE_EXECUTE_READWRITE, true, true},
};
constexpr int n_prots = 6;

struct ModelAllocation {
    char *base;
    size_t pages;
    bool watched;
    std::vector<int> prot;      // index into prots, -1 = reserved only
    std::vector<char> live;     // written since the last reset; lost on decommit
    std::vector<char> latched;  // live at a protection change; kept across decommit
    bool reported(size_t i) const { return live[i] || latched[i]; }
};

std::vector<ModelAllocation> live;
char *noaccess_page, *readonly_page;
std::vector<void *> out_buffer(4096);

ModelAllocation *find(uintptr_t address)
{
    for (auto &a : live)
        if (address >= reinterpret_cast<uintptr_t>(a.base) && address < reinterpret_cast<uintptr_t>(a.base) + a.pages * page)
            return &a;
    return nullptr;
}

// A pointer from the input: into an allocation, near one, or wild.
uintptr_t pick_address(FuzzedDataProvider &in)
{
    switch (in.ConsumeIntegralInRange(0, 7)) {
    case 0:
        return 0;
    case 1:
        return in.ConsumeIntegral<uint64_t>();
    case 2:
        return reinterpret_cast<uintptr_t>(noaccess_page) + in.ConsumeIntegralInRange(0, 4095);
    case 3:
        return UINTPTR_MAX - in.ConsumeIntegralInRange<uintptr_t>(0, 3 * page);
    default: {
        if (live.empty())
            return in.ConsumeIntegral<uint32_t>();
        const ModelAllocation &a = live[in.ConsumeIntegralInRange<size_t>(0, live.size() - 1)];
        intptr_t offset = in.ConsumeIntegralInRange<intptr_t>(-2 * (intptr_t)page, (intptr_t)((a.pages + 2) * page));
        return reinterpret_cast<uintptr_t>(a.base) + offset;
    }
    }
}

size_t pick_size(FuzzedDataProvider &in)
{
    switch (in.ConsumeIntegralInRange(0, 5)) {
    case 0:
        return 0;
    case 1:
        return SIZE_MAX - in.ConsumeIntegralInRange<size_t>(0, 2 * page);
    case 2:
        return in.ConsumeIntegral<uint64_t>();
    default:
        return in.ConsumeIntegralInRange<size_t>(1, 80 * page);
    }
}

// The page range [first, end) of 'a' covered by [address, address + size), if
// the rounded range lies inside it.
bool range_in(const ModelAllocation *a, uintptr_t address, size_t size, size_t *first, size_t *end)
{
    if (!a)
        return false;
    uintptr_t last;
    if (__builtin_add_overflow(address, size, &last) || __builtin_add_overflow(last, page - 1, &last))
        return false;
    uintptr_t start = address & ~(page - 1), stop = last & ~(page - 1);
    auto base = reinterpret_cast<uintptr_t>(a->base);
    if (start < base || stop > base + a->pages * page || start == 0)
        return false;
    *first = (start - base) / page;
    *end = (stop - base) / page;
    return true;
}

void op_allocate(FuzzedDataProvider &in)
{
    if (live.size() >= 4)
        return;
    size_t pages = in.ConsumeIntegralInRange<size_t>(1, 64);
    bool watch = in.ConsumeBool();
    bool commit = in.ConsumeBool();
    int prot = in.ConsumeIntegralInRange(0, n_prots - 1);
    ww_set_backend(in.ConsumeBool() ? WW_BACKEND_KERNEL : WW_BACKEND_FAULT);
    DWORD type = MEM_RESERVE | (commit ? MEM_COMMIT : 0) | (watch ? MEM_WRITE_WATCH : 0);
    bool junk = in.ConsumeIntegralInRange(0, 7) == 0;
    DWORD extra = junk ? in.ConsumeIntegral<DWORD>() : 0;
    SetLastError(0);
    char *base = static_cast<char *>(VirtualAlloc(nullptr, pages * page, type | extra, prots[prot].value));
    if (junk) {
        // Arbitrary extra bits: MEM_WRITE_WATCH without MEM_RESERVE is refused
        // (it cannot be: MEM_RESERVE is set); unknown bits are refused.
        if (base)
            VirtualFree(base, 0, MEM_RELEASE);
        return;
    }
    if (!base) {
        // The kernel backend may be unavailable; anything else must work.
        if (watch && GetLastError() == ERROR_NOT_SUPPORTED)
            return;
        model_mismatch("valid VirtualAlloc failed", GetLastError(), 0);
    }
    if (reinterpret_cast<uintptr_t>(base) % 0x10000)
        model_mismatch("reservation not 64K aligned", reinterpret_cast<uintptr_t>(base), 0);
    ModelAllocation a{base, pages, watch, std::vector<int>(pages, commit ? prot : -1), std::vector<char>(pages, 0),
                      std::vector<char>(pages, 0)};
    live.push_back(a);
}

void op_write_watch_without_reserve(FuzzedDataProvider &in)
{
    DWORD type = MEM_WRITE_WATCH | (in.ConsumeBool() ? MEM_COMMIT : 0);
    SetLastError(0);
    void *p = VirtualAlloc(nullptr, in.ConsumeIntegralInRange<size_t>(1, 64) * page, type, PAGE_READWRITE);
    EXPECT_EQ(p, nullptr, "MEM_WRITE_WATCH without MEM_RESERVE succeeded");
    EXPECT_EQ(GetLastError(), (DWORD)ERROR_INVALID_PARAMETER, "MEM_WRITE_WATCH without MEM_RESERVE: error");
}

void op_free(FuzzedDataProvider &in)
{
    if (live.empty())
        return;
    size_t index = in.ConsumeIntegralInRange<size_t>(0, live.size() - 1);
    ModelAllocation &a = live[index];
    switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: // release
        EXPECT_EQ(VirtualFree(a.base, 0, MEM_RELEASE), TRUE, "release");
        live.erase(live.begin() + index);
        break;
    case 1: // release not at base, or with a size
        if (in.ConsumeBool()) {
            EXPECT_EQ(VirtualFree(a.base + page, 0, MEM_RELEASE), FALSE, "release not at base");
        } else {
            SetLastError(0);
            EXPECT_EQ(VirtualFree(a.base, page, MEM_RELEASE), FALSE, "release with a size");
            EXPECT_EQ(GetLastError(), (DWORD)ERROR_INVALID_PARAMETER, "release with a size: error");
        }
        break;
    case 2: { // decommit pages: live writes go, latched ones stay
        size_t first = in.ConsumeIntegralInRange<size_t>(0, a.pages - 1);
        size_t count = in.ConsumeIntegralInRange<size_t>(1, a.pages - first);
        EXPECT_EQ(VirtualFree(a.base + first * page, count * page, MEM_DECOMMIT), TRUE, "decommit");
        for (size_t i = first; i < first + count; ++i) {
            a.prot[i] = -1;
            a.live[i] = 0;
        }
        break;
    }
    case 3: // bad free type
        EXPECT_EQ(VirtualFree(a.base, 0, in.ConsumeIntegral<DWORD>() & ~(DWORD)(MEM_RELEASE | MEM_DECOMMIT)), FALSE,
                  "free with a bad type");
        break;
    }
}

void op_commit_protect_reset(FuzzedDataProvider &in)
{
    if (live.empty())
        return;
    ModelAllocation &a = live[in.ConsumeIntegralInRange<size_t>(0, live.size() - 1)];
    size_t first = in.ConsumeIntegralInRange<size_t>(0, a.pages - 1);
    size_t count = in.ConsumeIntegralInRange<size_t>(1, a.pages - first);
    char *at = a.base + first * page;
    bool all_committed = true;
    for (size_t i = first; i < first + count; ++i)
        all_committed &= a.prot[i] >= 0;
    int prot = in.ConsumeIntegralInRange(0, n_prots - 1);
    switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0: // commit
        EXPECT_EQ(VirtualAlloc(at, count * page, MEM_COMMIT, prots[prot].value), (void *)at, "commit");
        for (size_t i = first; i < first + count; ++i)
            a.prot[i] = prot;
        break;
    case 1: { // protect
        DWORD old = 0;
        BOOL ok = VirtualProtect(at, count * page, prots[prot].value, &old);
        EXPECT_EQ(ok, all_committed ? TRUE : FALSE, "VirtualProtect");
        if (ok) {
            EXPECT_EQ(old, prots[a.prot[first]].value, "VirtualProtect old protection");
            for (size_t i = first; i < first + count; ++i) {
                a.prot[i] = prot;
                a.latched[i] = a.latched[i] || a.live[i];
            }
        }
        break;
    }
    case 2: { // protections that are refused: nothing changes
        DWORD value;
        switch (in.ConsumeIntegralInRange(0, 4)) {
        case 0: value = prots[prot].value | PAGE_GUARD; break; // not emulated
        case 4: value = in.ConsumeBool() ? PAGE_WRITECOPY : PAGE_EXECUTE_WRITECOPY; break;
        case 1: value = 0; break;
        case 2: value = PAGE_READWRITE | PAGE_EXECUTE_READ; break; // two base protections
        default: value = in.ConsumeIntegral<DWORD>() | 0x80000000u; break; // unknown bits
        }
        DWORD old = 0;
        SetLastError(0);
        EXPECT_EQ(VirtualProtect(at, count * page, value, &old), FALSE, "VirtualProtect with a bad protection");
        break;
    }
    case 3: // MEM_RESET: drops contents, keeps watch state
        EXPECT_EQ(VirtualAlloc(at, count * page, MEM_RESET, PAGE_NOACCESS) != nullptr, all_committed, "MEM_RESET");
        break;
    case 4: // MEM_RESET_UNDO is not supported
        SetLastError(0);
        EXPECT_EQ(VirtualAlloc(at, count * page, MEM_RESET_UNDO, PAGE_READWRITE), nullptr, "MEM_RESET_UNDO");
        break;
    }
}

void op_touch(FuzzedDataProvider &in)
{
    if (live.empty())
        return;
    ModelAllocation &a = live[in.ConsumeIntegralInRange<size_t>(0, live.size() - 1)];
    size_t first = in.ConsumeIntegralInRange<size_t>(0, a.pages - 1);
    size_t count = in.ConsumeIntegralInRange<size_t>(1, std::min<size_t>(8, a.pages - first));
    bool write = in.ConsumeBool();
    size_t offset = in.ConsumeIntegralInRange<size_t>(0, page - 8);
    for (size_t i = first; i < first + count; ++i) {
        if (a.prot[i] < 0)
            continue;
        const Prot &p = prots[a.prot[i]];
        if (write && p.write) {
            *reinterpret_cast<volatile uint64_t *>(a.base + i * page + offset) = 0x5a5a5a5a;
            a.live[i] = 1;
        } else if (p.read) {
            (void)*reinterpret_cast<volatile char *>(a.base + i * page + offset);
        }
    }
}

void op_query(FuzzedDataProvider &in)
{
    if (live.empty())
        return;
    ModelAllocation &a = live[in.ConsumeIntegralInRange<size_t>(0, live.size() - 1)];
    size_t index = in.ConsumeIntegralInRange<size_t>(0, a.pages - 1);
    MEMORY_BASIC_INFORMATION info{};
    EXPECT_EQ(VirtualQuery(a.base + index * page + 5, &info, sizeof info), sizeof info, "VirtualQuery");
    EXPECT_EQ(info.AllocationBase, (void *)a.base, "VirtualQuery allocation base");
    EXPECT_EQ(info.State, (DWORD)(a.prot[index] >= 0 ? MEM_COMMIT : MEM_RESERVE), "VirtualQuery state");
    EXPECT_EQ(info.Protect, a.prot[index] >= 0 ? prots[a.prot[index]].value : 0u, "VirtualQuery protect");
    size_t end = index + 1;
    while (end < a.pages && a.prot[end] == a.prot[index])
        ++end;
    EXPECT_EQ(info.RegionSize, (end - index) * page, "VirtualQuery region size");
}

enum class Where { valid, null, noaccess, readonly };

Where pick_pointer(FuzzedDataProvider &in)
{
    int v = in.ConsumeIntegralInRange(0, 11);
    return v < 9 ? Where::valid : v == 9 ? Where::null : v == 10 ? Where::noaccess : Where::readonly;
}

template <typename T>
T *pointer_for(Where where, T *valid)
{
    switch (where) {
    case Where::valid:
        return valid;
    case Where::null:
        return nullptr;
    case Where::noaccess:
        return reinterpret_cast<T *>(noaccess_page);
    case Where::readonly:
        return reinterpret_cast<T *>(readonly_page);
    }
    return valid;
}

void op_get_write_watch(FuzzedDataProvider &in)
{
    uint32_t flags = in.ConsumeIntegralInRange(0, 9) ? in.ConsumeIntegralInRange<uint32_t>(0, 1) : in.ConsumeIntegral<uint32_t>();
    uintptr_t address = pick_address(in);
    size_t size = pick_size(in);
    Where count_where = pick_pointer(in), granularity_where = pick_pointer(in), addresses_where = pick_pointer(in);
    uintptr_t count_value = in.ConsumeIntegralInRange(0, 7) ? in.ConsumeIntegralInRange<uintptr_t>(0, 100)
                                                            : in.ConsumeIntegral<uint64_t>();
    bool win32 = in.ConsumeBool();

    uintptr_t count_storage = count_value;
    uint32_t granularity_storage = 0x1234;
    uintptr_t *count = pointer_for(count_where, &count_storage);
    uint32_t *granularity = pointer_for(granularity_where, &granularity_storage);
    void **addresses = pointer_for(addresses_where, out_buffer.data());
    std::fill(out_buffer.begin(), out_buffer.end(), reinterpret_cast<void *>(0xdead));

    // The expected status, in Windows' order.
    ModelAllocation *a = find(address & ~(page - 1));
    size_t first = 0, end = 0;
    bool in_range = a && a->watched && range_in(a, address, size, &first, &end);
    ww_status expected;
    size_t limit = 0;
    if (count_where != Where::valid || granularity_where != Where::valid)
        expected = WW_STATUS_ACCESS_VIOLATION;
    else if (count_value == 0 || size == 0)
        expected = WW_STATUS_INVALID_PARAMETER;
    else if (flags & ~1u)
        expected = WW_STATUS_INVALID_PARAMETER;
    else if (addresses_where == Where::null)
        expected = WW_STATUS_ACCESS_VIOLATION;
    else if (!in_range)
        expected = WW_STATUS_INVALID_PARAMETER;
    else if ((limit = std::min<uintptr_t>(count_value, end - first)) > out_buffer.size())
        return; // our buffer is too small for this request: not a case we can check
    else if (addresses_where != Where::valid)
        expected = WW_STATUS_ACCESS_VIOLATION;
    else
        expected = WW_STATUS_SUCCESS;

    ww_status status;
    if (win32) {
        SetLastError(0);
        UINT result = GetWriteWatch(flags, reinterpret_cast<void *>(address), size, addresses,
                                    reinterpret_cast<ULONG_PTR *>(count), reinterpret_cast<ULONG *>(granularity));
        DWORD error = GetLastError();
        if (result == 0)
            status = WW_STATUS_SUCCESS;
        else if (error == ERROR_NOACCESS)
            status = WW_STATUS_ACCESS_VIOLATION;
        else if (error == ERROR_INVALID_PARAMETER)
            status = WW_STATUS_INVALID_PARAMETER;
        else
            model_mismatch("GetWriteWatch error", error, 0);
        if (result != 0 && result != ~0u)
            model_mismatch("GetWriteWatch result", result, ~0u);
    } else {
        status = ww_get_write_watch(WW_CURRENT_PROCESS, flags, reinterpret_cast<void *>(address), size, addresses,
                                    count, granularity);
    }
    EXPECT_EQ((uint32_t)status, (uint32_t)expected, "GetWriteWatch status");
    if (status != WW_STATUS_SUCCESS) {
        if (count_where == Where::valid && status != WW_STATUS_SUCCESS)
            EXPECT_EQ(count_storage, count_value, "count changed by a failing call");
        return;
    }
    std::vector<size_t> want;
    for (size_t i = first; i < end && want.size() < limit; ++i)
        if (a->reported(i))
            want.push_back(i);
    EXPECT_EQ(count_storage, want.size(), "GetWriteWatch count");
    EXPECT_EQ(granularity_storage, 4096u, "granularity");
    for (size_t i = 0; i < want.size(); ++i)
        EXPECT_EQ(out_buffer[i], (void *)(a->base + want[i] * page), "GetWriteWatch address");
    if (want.size() < out_buffer.size())
        EXPECT_EQ(out_buffer[want.size()], (void *)0xdead, "entry past the count written");
    if (flags & WW_WRITE_WATCH_FLAG_RESET)
        for (size_t i : want)
            a->live[i] = a->latched[i] = 0;
}

void op_reset_write_watch(FuzzedDataProvider &in)
{
    uintptr_t address = pick_address(in);
    size_t size = pick_size(in);
    ModelAllocation *a = find(address & ~(page - 1));
    size_t first = 0, end = 0;
    bool in_range = a && a->watched && range_in(a, address, size, &first, &end);
    ww_status expected = (size == 0 || !in_range) ? WW_STATUS_INVALID_PARAMETER : WW_STATUS_SUCCESS;
    ww_status status;
    if (in.ConsumeBool()) {
        SetLastError(0);
        UINT result = ResetWriteWatch(reinterpret_cast<void *>(address), size);
        status = result == 0 ? WW_STATUS_SUCCESS
                             : GetLastError() == ERROR_INVALID_PARAMETER ? WW_STATUS_INVALID_PARAMETER
                                                                        : WW_STATUS_UNSUCCESSFUL;
    } else {
        status = ww_reset_write_watch(WW_CURRENT_PROCESS, reinterpret_cast<void *>(address), size);
    }
    EXPECT_EQ((uint32_t)status, (uint32_t)expected, "ResetWriteWatch status");
    if (status == WW_STATUS_SUCCESS)
        for (size_t i = first; i < end; ++i)
            a->live[i] = a->latched[i] = 0;
}

void op_wrong_process(FuzzedDataProvider &in)
{
    void *process = reinterpret_cast<void *>(in.ConsumeIntegral<uint64_t>() | 1);
    if (process == WW_CURRENT_PROCESS)
        return;
    uintptr_t count = 1;
    uint32_t granularity;
    EXPECT_EQ((uint32_t)ww_get_write_watch(process, 0, live.empty() ? nullptr : live[0].base, page, out_buffer.data(),
                                           &count, &granularity),
              (uint32_t)WW_STATUS_INVALID_HANDLE, "another process handle");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    noaccess_page = static_cast<char *>(mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    readonly_page = static_cast<char *>(mmap(nullptr, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzedDataProvider in(data, size);
    for (int steps = 0; steps < 64 && in.remaining_bytes() > 0; ++steps) {
        switch (in.ConsumeIntegralInRange(0, 10)) {
        case 0: op_allocate(in); break;
        case 1: op_free(in); break;
        case 2: op_commit_protect_reset(in); break;
        case 3: case 4: op_touch(in); break;
        case 5: case 6: op_get_write_watch(in); break;
        case 7: op_reset_write_watch(in); break;
        case 8: op_query(in); break;
        case 9: op_write_watch_without_reserve(in); break;
        case 10: op_wrong_process(in); break;
        }
    }
    for (ModelAllocation &a : live)
        if (!VirtualFree(a.base, 0, MEM_RELEASE))
            model_mismatch("release at the end", GetLastError(), 0);
    live.clear();
    return 0;
}
