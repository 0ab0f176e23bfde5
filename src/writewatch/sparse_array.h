// A zero-filled array of per-page state whose cost follows the parts in use,
// not its length: a reservation of terabytes that commits a few pieces pays
// for those pieces.
//
// Storage: an array of at least lazy_bytes (a summary of at least a page) is
// an anonymous MAP_NORESERVE mapping, whose untouched pages take neither
// memory nor page tables; a smaller one is on the heap (a mapping per small
// allocation would use up vm.max_map_count). Beside it, one bit per block of
// block_length elements says whether the block may hold a non-zero element,
// so that a scan skips the rest (next_touched). Writers call touch() before they store a non-zero
// value; only zeros are stored elsewhere without it.
//
// T is an integer or a std::atomic of one: all-zero bytes are its zero.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

namespace writewatch {

// Zero-filled storage of 'bytes', lazily backed when large.
class ZeroedBytes {
public:
    // glibc's malloc maps an allocation this large anyway: no extra mapping.
    static constexpr size_t lazy_bytes = 128 * 1024;

    ZeroedBytes() = default;
    ZeroedBytes(const ZeroedBytes &) = delete;
    ZeroedBytes &operator=(const ZeroedBytes &) = delete;
    ~ZeroedBytes() { release(); }

    // False without memory (or address space); the old contents are gone.
    // From lazy_from bytes on, the storage is a mapping.
    bool allocate(size_t bytes, size_t lazy_from = lazy_bytes)
    {
        release();
        if (bytes == 0)
            return true;
        if (bytes >= lazy_from) {
            void *area = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                              -1, 0);
            if (area == MAP_FAILED)
                return false;
            data_ = area;
            mapped_ = true;
        } else {
            data_ = ::operator new(bytes, std::nothrow);
            if (!data_)
                return false;
            __builtin_memset(data_, 0, bytes);
        }
        bytes_ = bytes;
        return true;
    }
    void *data() const { return data_; }
    size_t size() const { return bytes_; }
    bool lazy() const { return mapped_; }

private:
    void release()
    {
        if (data_ && mapped_)
            munmap(data_, bytes_);
        else if (data_)
            ::operator delete(data_);
        data_ = nullptr;
        bytes_ = 0;
        mapped_ = false;
    }

    void *data_ = nullptr;
    size_t bytes_ = 0;
    bool mapped_ = false;
};

template <typename T, size_t block_length>
class SparseArray {
public:
    static_assert(block_length % 64 == 0, "a summary word covers whole blocks");
    static constexpr size_t block = block_length;

    // False without memory.
    bool allocate(size_t length)
    {
        length_ = length;
        touched_blocks_.store(0, std::memory_order_relaxed);
        return elements_.allocate(length * sizeof(T)) &&
               // The summary of a terabyte reservation is tens of KiB: a
               // mapping from one page on (reservations of 64 GiB and more).
               summary_.allocate((block_count() + 63) / 64 * sizeof(std::atomic<uint64_t>), 4096);
    }
    // Whether the last allocate() succeeded (both parts are there).
    bool allocated() const { return elements_.data() != nullptr && summary_.data() != nullptr; }

    T &operator[](size_t index) const { return static_cast<T *>(elements_.data())[index]; }

    // Elements [first, first + count) may become non-zero.
    void touch(size_t first, size_t count)
    {
        if (count == 0)
            return;
        for (size_t block = first / block_length; block <= (first + count - 1) / block_length; ++block) {
            std::atomic<uint64_t> &word = summary()[block / 64];
            uint64_t bit = uint64_t{1} << (block % 64);
            if (!(word.load(std::memory_order_relaxed) & bit) &&
                !(word.fetch_or(bit, std::memory_order_relaxed) & bit))
                touched_blocks_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    // The first index in [from, to) whose block was touched, or 'to': every
    // element before it is zero.
    size_t next_touched(size_t from, size_t to) const { return next_block(from, to, true); }
    // The first index in [from, to) whose block was never touched, or 'to'.
    size_t next_untouched(size_t from, size_t to) const { return next_block(from, to, false); }

    // Bytes of memory in use: the touched blocks and, when lazily mapped, the
    // summary's pages that hold their bits (at most one each), else all of it.
    size_t bytes_in_use() const
    {
        size_t blocks = touched_blocks_.load(std::memory_order_relaxed);
        size_t element_bytes = elements_.lazy() ? blocks * block_length * sizeof(T) : elements_.size();
        size_t summary_bytes = summary_.lazy() ? blocks * 4096 : summary_.size();
        return std::min(element_bytes, elements_.size()) + std::min(summary_bytes, summary_.size());
    }

private:
    // The first index in [from, to) whose block's summary bit is 'touched'.
    size_t next_block(size_t from, size_t to, bool touched) const
    {
        while (from < to) {
            size_t block = from / block_length;
            uint64_t word = summary()[block / 64].load(std::memory_order_relaxed);
            uint64_t bits = (touched ? word : ~word) & ~((uint64_t{1} << (block % 64)) - 1);
            if (bits) {
                size_t found = (block / 64 * 64 + static_cast<size_t>(__builtin_ctzll(bits))) * block_length;
                return found < from ? from : (found < to ? found : to);
            }
            from = (block / 64 + 1) * 64 * block_length;
        }
        return to;
    }
    size_t block_count() const { return (length_ + block_length - 1) / block_length; }
    std::atomic<uint64_t> *summary() const { return static_cast<std::atomic<uint64_t> *>(summary_.data()); }

    ZeroedBytes elements_;
    ZeroedBytes summary_;
    size_t length_ = 0;
    std::atomic<size_t> touched_blocks_{0};
};

} // namespace writewatch
