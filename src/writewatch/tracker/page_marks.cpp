#include "page_marks.h"

#include <algorithm>
#include <new>

namespace writewatch {
namespace {

// Bits [from, to) of a 64-bit word, 0 <= from < to <= 64.
uint64_t bit_span(size_t from, size_t to)
{
    uint64_t upper = to == 64 ? ~uint64_t{0} : (uint64_t{1} << to) - 1;
    return upper & ~((uint64_t{1} << from) - 1);
}

} // namespace

bool PageMarks::ensure_bits()
{
    return has_bits() || words_.allocate(2 * word_count());
}

size_t PageMarks::next_marked(size_t from, size_t to) const
{
    if (!has_bits() || marked_pages() == 0)
        return to;
    while (from < to) {
        // Words never marked are skipped a block at a time.
        size_t element = words_.next_touched(2 * (from / 64), 2 * word_count());
        if (element / 2 > from / 64)
            from = element / 2 * 64;
        if (from >= to)
            break;
        size_t word = from / 64;
        uint64_t bits = pending_word(word).load(std::memory_order_relaxed) |
                        latched_word(word).load(std::memory_order_relaxed);
        bits &= ~((uint64_t{1} << (from % 64)) - 1);
        if (bits) {
            size_t page = word * 64 + static_cast<size_t>(__builtin_ctzll(bits));
            return page < to ? page : to;
        }
        from = (word + 1) * 64;
    }
    return to;
}

bool PageMarks::change(size_t first, size_t count, unsigned which, bool set)
{
    if (count == 0)
        return true;
    if (!has_bits()) {
        if (!set)
            return true; // nothing to clear
        if (!ensure_bits())
            return false;
    }
    size_t end = first + count;
    if (set)
        words_.touch(2 * (first / 64), 2 * ((end - 1) / 64 - first / 64 + 1));
    long delta = 0;
    for (size_t page = first; page < end;) {
        size_t word = page / 64;
        size_t stop = std::min(end, (word + 1) * 64);
        uint64_t mask = bit_span(page % 64, stop - word * 64);
        std::atomic<uint64_t> &pending = pending_word(word);
        std::atomic<uint64_t> &latched = latched_word(word);
        uint64_t before = pending.load(std::memory_order_relaxed) | latched.load(std::memory_order_relaxed);
        if (which & pending_bit)
            set ? pending.fetch_or(mask, std::memory_order_relaxed) : pending.fetch_and(~mask, std::memory_order_relaxed);
        if (which & latched_bit)
            set ? latched.fetch_or(mask, std::memory_order_relaxed) : latched.fetch_and(~mask, std::memory_order_relaxed);
        uint64_t after = pending.load(std::memory_order_relaxed) | latched.load(std::memory_order_relaxed);
        delta += __builtin_popcountll(after) - __builtin_popcountll(before);
        page = stop;
    }
    marked_.fetch_add(static_cast<size_t>(delta), std::memory_order_release);
    return true;
}

bool PageMarks::latch_pending(size_t first, size_t count)
{
    if (!has_bits() || count == 0)
        return true; // no pending page to latch
    size_t end = first + count;
    for (size_t page = first; page < end;) {
        size_t word = page / 64;
        size_t stop = std::min(end, (word + 1) * 64);
        uint64_t mask = bit_span(page % 64, stop - word * 64);
        // Pending pages are marked already: the count does not change.
        latched_word(word).fetch_or(pending_word(word).load(std::memory_order_relaxed) & mask,
                                    std::memory_order_relaxed);
        page = stop;
    }
    return true;
}

void PageMarks::copy_latched(size_t first, size_t count, uint64_t *words) const
{
    for (size_t i = 0; i < (count + 63) / 64; ++i)
        words[i] = 0;
    for (size_t i = 0; i < count; ++i)
        if (latched(first + i))
            words[i / 64] |= uint64_t{1} << (i % 64);
}

void PageMarks::restore_latched(size_t first, size_t count, const uint64_t *words)
{
    // Runs of equal bits, so that the count of marked pages stays right.
    for (size_t i = 0; i < count;) {
        bool value = (words[i / 64] >> (i % 64)) & 1;
        size_t run = i + 1;
        while (run < count && ((words[run / 64] >> (run % 64)) & 1) == value)
            ++run;
        change(first + i, run - i, latched_bit, value);
        i = run;
    }
}

} // namespace writewatch
