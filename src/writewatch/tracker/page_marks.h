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
// costs nothing, and 'marked_pages() == 0' is the fast path's test. Callers
// hold the range's lock exclusively to change marks (shared to read them).
#pragma once

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
    size_t heap_bytes() const { return bits_ ? 2 * word_count() * sizeof(uint64_t) : 0; }

    bool pending(size_t page) const { return bits_ && test(pending_words(), page); }
    bool latched(size_t page) const { return bits_ && test(latched_words(), page); }
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
    std::atomic<uint64_t> *pending_words() const { return bits_.get(); }
    std::atomic<uint64_t> *latched_words() const { return bits_.get() + word_count(); }
    static bool test(const std::atomic<uint64_t> *words, size_t page)
    {
        return (words[page / 64].load(std::memory_order_relaxed) >> (page % 64)) & 1;
    }
    bool ensure_bits();
    // Sets or clears the chosen bitmaps over [first, first + count).
    bool change(size_t first, size_t count, unsigned which, bool set);

    std::atomic<size_t> marked_{0}; // first: a plain get or reset reads only this
    size_t page_count_;
    std::unique_ptr<std::atomic<uint64_t>[]> bits_; // pending words, then latched words
};

} // namespace writewatch
