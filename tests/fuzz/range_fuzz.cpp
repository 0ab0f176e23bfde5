// libFuzzer target for the range tracker's C API: sequences of registrations,
// writes, gets, resets and memory events (protection changes, decommits done
// both ways a host does them, recommits, MEM_RESET, remaps) on memory this
// program maps itself, with arbitrary bases, sizes, flags, counts and NULL
// outputs; every status and answer is checked against a model (SEMANTICS.md:
// live and latched bits). Every input unregisters and unmaps what it made.
//
// Build and run: scripts/fuzz.sh [seconds]   (clang, -fsanitize=fuzzer,address,undefined)
#include "writewatch/writewatch.h"

#include "model_check.h"

#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr size_t page = WW_PAGE_SIZE;
size_t host_page; // bytes
size_t sub;       // 4K pages per host page

struct Range {
    char *base;
    size_t pages; // 4K pages, a whole number of host pages
    bool registered;
    std::vector<char> live, latched, committed, writable;
    bool reported(size_t i) const { return live[i] || latched[i]; }
};

std::vector<Range> ranges;
std::vector<void *> out(2048);

// An address from the input: in or near a range, or wild; 4K-aligned mostly.
uintptr_t pick_address(FuzzedDataProvider &in, Range **hit)
{
    *hit = nullptr;
    int kind = in.ConsumeIntegralInRange(0, 9);
    if (kind == 0)
        return in.ConsumeIntegral<uint64_t>();
    if (kind == 1)
        return 0;
    if (ranges.empty())
        return in.ConsumeIntegral<uint32_t>() & ~(page - 1);
    Range &r = ranges[in.ConsumeIntegralInRange<size_t>(0, ranges.size() - 1)];
    *hit = &r;
    intptr_t offset = in.ConsumeIntegralInRange<intptr_t>(-2, (intptr_t)r.pages + 1) * (intptr_t)page;
    if (kind == 2)
        offset += in.ConsumeIntegralInRange(1, 4095); // unaligned
    return reinterpret_cast<uintptr_t>(r.base) + offset;
}

size_t pick_size(FuzzedDataProvider &in)
{
    switch (in.ConsumeIntegralInRange(0, 7)) {
    case 0:
        return 0;
    case 1:
        return SIZE_MAX & ~(page - 1);
    case 2:
        return in.ConsumeIntegralInRange<size_t>(1, 4095);
    default:
        return in.ConsumeIntegralInRange<size_t>(1, 40) * page;
    }
}

// The registered range holding [address, address + size) with the alignment,
// as page indices, or null: what the tracker must accept.
Range *covering(uintptr_t address, size_t size, size_t alignment, size_t *first, size_t *count)
{
    uintptr_t end;
    if (size == 0 || __builtin_add_overflow(address, size, &end) || (address | size) & (alignment - 1))
        return nullptr;
    for (Range &r : ranges) {
        auto base = reinterpret_cast<uintptr_t>(r.base);
        if (r.registered && address >= base && end <= base + r.pages * page) {
            *first = (address - base) / page;
            *count = size / page;
            return &r;
        }
    }
    return nullptr;
}

void op_map(FuzzedDataProvider &in)
{
    if (ranges.size() >= 4)
        return;
    size_t pages = in.ConsumeIntegralInRange<size_t>(1, 64) * sub;
    void *mapped = mmap(nullptr, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED)
        return;
    Range r{static_cast<char *>(mapped), pages, false, std::vector<char>(pages, 0), std::vector<char>(pages, 0),
            std::vector<char>(pages, 1), std::vector<char>(pages, 1)};
    ranges.push_back(r);
    Range &made = ranges.back();
    if (in.ConsumeBool()) {
        EXPECT_EQ(ww_range_register(made.base, made.pages * page), WW_STATUS_SUCCESS, "register");
        made.registered = true;
        // A second registration of any part of it conflicts.
        size_t part = in.ConsumeIntegralInRange<size_t>(0, pages / sub - 1) * host_page;
        EXPECT_EQ(ww_range_register(made.base + part, host_page), WW_STATUS_CONFLICTING_ADDRESSES,
                  "register over a registered range");
    }
}

void op_register(FuzzedDataProvider &in)
{
    Range *hit;
    uintptr_t address = pick_address(in, &hit);
    size_t size = pick_size(in);
    bool unregister = in.ConsumeBool();
    ww_status expected = WW_STATUS_INVALID_PARAMETER;
    // The range the address starts (mappings are often adjacent: an address
    // just past one range is the base of the next).
    hit = nullptr;
    for (Range &r : ranges)
        if (reinterpret_cast<uintptr_t>(r.base) == address)
            hit = &r;
    bool exact = hit && size == hit->pages * page;
    if (exact && unregister && hit->registered)
        expected = WW_STATUS_SUCCESS;
    else if (exact && !unregister && !hit->registered)
        expected = WW_STATUS_SUCCESS;
    else if (!unregister && exact)
        expected = WW_STATUS_CONFLICTING_ADDRESSES;
    else if (!unregister)
        return; // a register elsewhere could land on memory that is not ours
    ww_status status = unregister ? ww_range_unregister(reinterpret_cast<void *>(address), size)
                                  : ww_range_register(reinterpret_cast<void *>(address), size);
    EXPECT_EQ((uint32_t)status, (uint32_t)expected, unregister ? "unregister" : "register");
    if (status == WW_STATUS_SUCCESS) {
        hit->registered = !unregister;
        if (!unregister) // a new registration starts clean
            for (size_t i = 0; i < hit->pages; ++i)
                hit->live[i] = hit->latched[i] = 0;
    }
}

void op_write(FuzzedDataProvider &in)
{
    if (ranges.empty())
        return;
    Range &r = ranges[in.ConsumeIntegralInRange<size_t>(0, ranges.size() - 1)];
    size_t first = in.ConsumeIntegralInRange<size_t>(0, r.pages - 1);
    size_t count = in.ConsumeIntegralInRange<size_t>(1, std::min<size_t>(8, r.pages - first));
    for (size_t i = first; i < first + count; ++i) {
        if (!r.committed[i] || !r.writable[i])
            continue;
        r.base[i * page + in.ConsumeIntegralInRange<size_t>(0, page - 1)] = 1;
        for (size_t k = i / sub * sub; k < i / sub * sub + sub; ++k) // the whole host page
            r.live[k] = 1;
    }
}

void op_get(FuzzedDataProvider &in)
{
    Range *hit;
    uintptr_t address = pick_address(in, &hit);
    size_t size = pick_size(in);
    uint32_t flags = in.ConsumeIntegralInRange(0, 9) ? in.ConsumeIntegralInRange<uint32_t>(0, 1)
                                                      : in.ConsumeIntegral<uint32_t>();
    uintptr_t count_value = in.ConsumeIntegralInRange<uintptr_t>(0, 70);
    bool null_count = in.ConsumeIntegralInRange(0, 15) == 0;
    bool null_addresses = in.ConsumeIntegralInRange(0, 15) == 0;
    size_t first = 0, count = 0;
    Range *r = covering(address, size, page, &first, &count);
    ww_status expected = WW_STATUS_SUCCESS;
    if (null_count || (flags & ~WW_WRITE_WATCH_FLAG_RESET) || (count_value && null_addresses) || !r)
        expected = WW_STATUS_INVALID_PARAMETER;
    std::fill(out.begin(), out.end(), reinterpret_cast<void *>(0xdead));
    uintptr_t stored = count_value;
    ww_status status = ww_range_get_written(reinterpret_cast<void *>(address), size, flags,
                                            null_addresses ? nullptr : out.data(), null_count ? nullptr : &stored);
    EXPECT_EQ((uint32_t)status, (uint32_t)expected, "get status");
    if (status != WW_STATUS_SUCCESS) {
        EXPECT_EQ(stored, count_value, "count changed by a failing get");
        return;
    }
    std::vector<size_t> want;
    for (size_t i = first; i < first + count && want.size() < count_value; ++i)
        if (r->reported(i))
            want.push_back(i);
    EXPECT_EQ(stored, want.size(), "get count");
    for (size_t i = 0; i < want.size(); ++i)
        EXPECT_EQ(out[i], (void *)(r->base + want[i] * page), "get address");
    EXPECT_EQ(out[want.size()], (void *)0xdead, "entry past the count written");
    if (flags & WW_WRITE_WATCH_FLAG_RESET)
        for (size_t i : want)
            r->live[i] = r->latched[i] = 0;
}

void op_event(FuzzedDataProvider &in)
{
    Range *hit;
    uintptr_t address = pick_address(in, &hit);
    size_t size = pick_size(in);
    int event = in.ConsumeIntegralInRange(0, 5);
    size_t first = 0, count = 0;
    Range *r = covering(address, size, event <= 1 ? page : host_page, &first, &count);
    void *at = reinterpret_cast<void *>(address);
    if (!r) {
        ww_status status;
        switch (event) {
        case 0: status = ww_range_reset(at, size); break;
        case 1: status = ww_range_protection_changed(at, size); break;
        case 2: case 3: status = ww_range_decommitted(at, size); break;
        case 4: status = ww_range_discard(at, size); break;
        default: status = ww_range_remapped(at, size); break;
        }
        EXPECT_EQ((uint32_t)status, (uint32_t)WW_STATUS_INVALID_PARAMETER, "event outside any range");
        return;
    }
    auto each = [&](auto fn) {
        for (size_t i = first; i < first + count; ++i)
            fn(i);
    };
    switch (event) {
    case 0: // reset
        EXPECT_EQ(ww_range_reset(at, size), WW_STATUS_SUCCESS, "reset");
        each([&](size_t i) { r->live[i] = r->latched[i] = 0; });
        break;
    case 1: { // protection change (of committed pages only)
        bool all = true;
        each([&](size_t i) { all = all && r->committed[i]; });
        if (!all || count % sub || first % sub)
            break;
        bool writable = in.ConsumeBool();
        if (mprotect(at, size, writable ? PROT_READ | PROT_WRITE : PROT_READ) != 0)
            model_mismatch("mprotect", errno, 0);
        EXPECT_EQ(ww_range_protection_changed(at, size), WW_STATUS_SUCCESS, "protection change");
        each([&](size_t i) {
            r->writable[i] = writable;
            r->latched[i] = r->latched[i] || r->live[i];
        });
        break;
    }
    case 2: // decommit by a mapping over the pages
        if (mmap(at, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != at)
            model_mismatch("mmap over", errno, 0);
        EXPECT_EQ(ww_range_decommitted(at, size), WW_STATUS_SUCCESS, "decommit (remap)");
        each([&](size_t i) { r->live[i] = r->committed[i] = 0; });
        if (in.ConsumeBool()) { // and recommit
            mprotect(at, size, PROT_READ | PROT_WRITE);
            each([&](size_t i) { r->committed[i] = r->writable[i] = 1; });
        }
        break;
    case 3: // decommit keeping the mapping
        mprotect(at, size, PROT_NONE);
        madvise(at, size, MADV_DONTNEED);
        EXPECT_EQ(ww_range_decommitted(at, size), WW_STATUS_SUCCESS, "decommit (madvise)");
        each([&](size_t i) { r->live[i] = r->committed[i] = 0; });
        if (in.ConsumeBool()) {
            mprotect(at, size, PROT_READ | PROT_WRITE);
            each([&](size_t i) { r->committed[i] = r->writable[i] = 1; });
        }
        break;
    case 4: // MEM_RESET
        EXPECT_EQ(ww_range_discard(at, size), WW_STATUS_SUCCESS, "discard");
        break;
    default: // remap: everything counts as written
        if (mmap(at, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != at)
            model_mismatch("mmap over", errno, 0);
        EXPECT_EQ(ww_range_remapped(at, size), WW_STATUS_SUCCESS, "remapped");
        each([&](size_t i) { r->live[i] = r->committed[i] = r->writable[i] = 1; });
        break;
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    host_page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    sub = host_page / page;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ww_range_tracker_status() != WW_STATUS_SUCCESS)
        return 0; // nothing to fuzz on this kernel (the Catch2 suite checks the refusal)
    FuzzedDataProvider in(data, size);
    for (int steps = 0; steps < 64 && in.remaining_bytes() > 0; ++steps) {
        switch (in.ConsumeIntegralInRange(0, 7)) {
        case 0: op_map(in); break;
        case 1: op_register(in); break;
        case 2: case 3: op_write(in); break;
        case 4: case 5: op_get(in); break;
        default: op_event(in); break;
        }
    }
    for (Range &r : ranges) {
        if (r.registered)
            EXPECT_EQ(ww_range_unregister(r.base, r.pages * page), WW_STATUS_SUCCESS, "unregister at the end");
        munmap(r.base, r.pages * page);
    }
    ranges.clear();
    return 0;
}
