// The written state a tracked range keeps in user space, beside the kernel's
// per-PTE bit, one bit per 4096-byte page in each of two bitmaps:
//   pending  a live write the kernel no longer holds: a get-and-reset took
//            the page's kernel bit but could not return the page (count limit,
//            a host page larger than 4K cut by the range or the limit), or a
//            MEM_RESET moved it out before dropping the contents. Lost on
//            decommit, like the kernel's own bit.
//   latched  set from the live state (kernel or pending) by a protection
//            change; survives decommit (see SEMANTICS.md, "Decommit and
//            recommit").
// A page is reported when its kernel bit or either mark is set; a reset, and a
// get-and-reset returning the page, clear both marks.
//
// The bitmaps are allocated on first use, so a range that never had a mark
// costs nothing, and 'marked_pages() == 0' is the fast path's test; they are
// sparse (sparse_array.h), so a huge range pays for the parts that had marks
// and a search for the next mark skips the rest. Callers
// hold the range's lock exclusively to change marks (shared to read them).
#pragma once

#include "../sparse_array.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace writewatch {

class PageMarks {
public:
    explicit PageMarks(size_t page_count) : page_count_(page_count) {}

    size_t page_count() const { return page_count_; }
    // Pages with either mark; 0 while nothing was ever marked.
    size_t marked_pages() const { return marked_.load(std::memory_order_acquire); }
    // Heap bytes held for the bitmaps.
    size_t heap_bytes() const { return has_bits() ? words_.bytes_in_use() : 0; }

    bool pending(size_t page) const { return has_bits() && test(pending_word(page / 64), page); }
    bool latched(size_t page) const { return has_bits() && test(latched_word(page / 64), page); }
    bool marked(size_t page) const { return pending(page) || latched(page); }

    // The first marked page in [from, to), or 'to'.
    size_t next_marked(size_t from, size_t to) const;

    // Allocates the bitmaps now, so that no later change can fail; false when
    // there is no memory for them.
    bool reserve() { return ensure_bits(); }

    // Each returns false only when the bitmaps could not be allocated.
    bool set_pending(size_t first, size_t count) { return change(first, count, pending_bit, true); }
    bool set_latched(size_t first, size_t count) { return change(first, count, latched_bit, true); }
    // Latches every pending page of the range.
    bool latch_pending(size_t first, size_t count);
    void clear_pending(size_t first, size_t count) { change(first, count, pending_bit, false); }
    void clear_all(size_t first, size_t count) { change(first, count, pending_bit | latched_bit, false); }

    // The latched bits of [first, first + count) as words (bit i of word w is
    // page first + 64 * w + i), and their restoration from such a copy: what a
    // failed protection change uses to undo its latching. 'words' holds
    // (count + 63) / 64 entries.
    void copy_latched(size_t first, size_t count, uint64_t *words) const;
    void restore_latched(size_t first, size_t count, const uint64_t *words);

private:
    static constexpr unsigned pending_bit = 1, latched_bit = 2;

    size_t word_count() const { return (page_count_ + 63) / 64; }
    bool has_bits() const { return words_.allocated(); }
    // The pending and latched words of each 64 pages lie side by side.
    std::atomic<uint64_t> &pending_word(size_t word) const { return words_[2 * word]; }
    std::atomic<uint64_t> &latched_word(size_t word) const { return words_[2 * word + 1]; }
    static bool test(const std::atomic<uint64_t> &word, size_t page)
    {
        return (word.load(std::memory_order_relaxed) >> (page % 64)) & 1;
    }
    bool ensure_bits();
    // Sets or clears the chosen bitmaps over [first, first + count).
    bool change(size_t first, size_t count, unsigned which, bool set);

    std::atomic<size_t> marked_{0}; // first: a plain get or reset reads only this
    size_t page_count_;
    SparseArray<std::atomic<uint64_t>, 64> words_; // a block: 2048 pages
};

} // namespace writewatch
