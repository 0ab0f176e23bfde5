// Where reservations without an address go (src/writewatch/placement.h):
// bottom-up above 4 GiB as on Windows, freed address space handed out again,
// MEM_TOP_DOWN honoured, and a foreign mapping in the way only moves them.
#include "win32.h"

#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <cstdint>

using namespace test;

namespace {

constexpr uintptr_t four_gib = uintptr_t{1} << 32;
constexpr SIZE_T two_mib = 0x200000;

uintptr_t address_of(const void *p) { return reinterpret_cast<uintptr_t>(p); }

// Half the stack's address: the top-down mappings lie above it, the
// bottom-up ones below.
uintptr_t middle_of_address_space()
{
    int on_stack = 0;
    return address_of(&on_stack) / 2;
}

void *reserve(SIZE_T size, DWORD extra = 0)
{
    return VirtualAlloc(nullptr, size, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH | extra, PAGE_READWRITE);
}

bool overlaps(const void *a, SIZE_T a_size, const void *b, SIZE_T b_size)
{
    return address_of(a) < address_of(b) + b_size && address_of(b) < address_of(a) + a_size;
}

} // namespace

TEST_CASE("reservations without an address go bottom-up above 4 GiB", "[allocation][placement]")
{
#if defined(__SANITIZE_ADDRESS__)
    // Its shadow memory covers the low half of the address space, so every
    // reservation takes the top-down fallback (the foreign-mapping case).
    WARN("skipped: AddressSanitizer's shadow memory occupies the bottom-up range");
    return;
#endif
    void *first = reserve(16 * page);
    void *second = reserve(16 * page);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(address_of(first) >= four_gib);
    CHECK(address_of(first) < middle_of_address_space());
    CHECK(address_of(second) > address_of(first));
    CHECK(address_of(second) < middle_of_address_space());
    CHECK(VirtualFree(second, 0, MEM_RELEASE));
    CHECK(VirtualFree(first, 0, MEM_RELEASE));
}

TEST_CASE("a released reservation's address space is handed out again", "[allocation][placement]")
{
    void *first = reserve(2 * two_mib);
    REQUIRE(first);
    REQUIRE(VirtualFree(first, 0, MEM_RELEASE));
    void *again = reserve(2 * two_mib);
    REQUIRE(again);
    CHECK(again == first);
    CHECK(written_pages(again, 2 * two_mib).empty());
    CHECK(VirtualFree(again, 0, MEM_RELEASE));
}

TEST_CASE("MEM_TOP_DOWN keeps the kernel's top-down placement", "[allocation][placement]")
{
    void *low = reserve(16 * page);
    void *high = reserve(16 * page, MEM_TOP_DOWN);
    REQUIRE(low);
    REQUIRE(high);
    CHECK(address_of(high) > middle_of_address_space());
    CHECK(address_of(high) % 0x10000 == 0);
    CHECK(VirtualFree(high, 0, MEM_RELEASE));
    CHECK(VirtualFree(low, 0, MEM_RELEASE));
}

TEST_CASE("a foreign mapping where reservations would go only moves them", "[allocation][placement]")
{
    void *before = reserve(two_mib);
    REQUIRE(before);
    // Occupy the next 2 MiB blocks with memory the library does not know.
    uintptr_t next_block = (address_of(before) + two_mib + two_mib - 1) & ~(uintptr_t{two_mib} - 1);
    SIZE_T foreign_size = 3 * two_mib;
    void *foreign = mmap(reinterpret_cast<void *>(next_block), foreign_size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (foreign == MAP_FAILED) {
        WARN("SKIPPED: the address space after the reservation is taken already");
        VirtualFree(before, 0, MEM_RELEASE);
        return;
    }
    static_cast<char *>(foreign)[0] = 1;
    void *placed[4] = {};
    for (void *&reservation : placed) {
        reservation = reserve(two_mib);
        REQUIRE(reservation);
        CHECK_FALSE(overlaps(reservation, two_mib, foreign, foreign_size));
        // Still watched: one write, one host page reported.
        page_at(reservation, 3 * unit())[0] = 1;
        CHECK(written_pages(reservation, two_mib) == units({3}));
    }
    CHECK(static_cast<char *>(foreign)[0] == 1);
    for (void *reservation : placed)
        CHECK(VirtualFree(reservation, 0, MEM_RELEASE));
    munmap(foreign, foreign_size);
    CHECK(VirtualFree(before, 0, MEM_RELEASE));
}
