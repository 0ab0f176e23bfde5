// Only with -Dfault_injection=true (see fault_injection.h); empty otherwise,
// so that builds that compile every source (scripts/fuzz.sh) stay correct.
#include "fault_injection.h"

#ifdef WRITEWATCH_FAULT_INJECTION

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <algorithm>
#include <atomic>

namespace writewatch::injection {
namespace {

constexpr const char *call_names[] = {"pagemap_scan", "uffd_api",     "uffd_register", "uffd_unregister",
                                      "uffd_writeprotect", "userfaultfd", "pagemap_open", "mprotect",
                                      "madvise",      "mmap"};
static_assert(sizeof(call_names) / sizeof(call_names[0]) == static_cast<size_t>(Call::count));

struct ErrnoName {
    const char *name;
    int value;
};
constexpr ErrnoName errno_names[] = {{"ENOMEM", ENOMEM}, {"EINTR", EINTR},   {"EAGAIN", EAGAIN},
                                     {"EFAULT", EFAULT}, {"EINVAL", EINVAL}, {"EPERM", EPERM},
                                     {"EBUSY", EBUSY},   {"ENOENT", ENOENT}, {"EMFILE", EMFILE},
                                     {"ENOSPC", ENOSPC}};

struct Rule {
    int error = 0;
    uint64_t every = 0;
    uint64_t burst = 1;
    bool partial = false;
};

struct State {
    Rule rule;
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> failed{0};
    std::atomic<uint64_t> burst_left{0};
};

State states[static_cast<size_t>(Call::count)];

int call_index(const char *name, size_t length)
{
    for (size_t i = 0; i < static_cast<size_t>(Call::count); ++i)
        if (std::strlen(call_names[i]) == length && std::strncmp(call_names[i], name, length) == 0)
            return static_cast<int>(i);
    return -1;
}

int parse_errno(const char *text, size_t length)
{
    for (const ErrnoName &entry : errno_names)
        if (std::strlen(entry.name) == length && std::strncmp(entry.name, text, length) == 0)
            return entry.value;
    return std::atoi(text);
}

// One RULE = CALL:ERRNO:EVERY[:BURST[:partial]]; malformed rules are ignored.
void parse_rule(const char *rule, size_t length)
{
    const char *fields[5] = {};
    size_t sizes[5] = {};
    size_t count = 0;
    for (const char *p = rule, *end = rule + length; p <= end && count < 5;) {
        const char *stop = static_cast<const char *>(std::memchr(p, ':', static_cast<size_t>(end - p)));
        if (!stop)
            stop = end;
        fields[count] = p;
        sizes[count++] = static_cast<size_t>(stop - p);
        p = stop + 1;
    }
    if (count < 3)
        return;
    int index = call_index(fields[0], sizes[0]);
    if (index < 0)
        return;
    Rule parsed;
    parsed.error = parse_errno(fields[1], sizes[1]);
    parsed.every = std::strtoull(fields[2], nullptr, 10);
    if (count > 3)
        parsed.burst = std::max<uint64_t>(1, std::strtoull(fields[3], nullptr, 10));
    parsed.partial = count > 4 && sizes[4] == 7 && std::strncmp(fields[4], "partial", 7) == 0;
    if (parsed.error > 0 && parsed.every > 0)
        states[index].rule = parsed;
}

// Read once, before any kernel call can be made (and so before any signal
// handler of the library exists): a constructor that only reads the environment.
__attribute__((constructor)) void read_configuration()
{
    const char *value = std::getenv("WRITEWATCH_FAIL");
    if (!value)
        return;
    for (const char *p = value; *p;) {
        const char *stop = std::strchr(p, ',');
        size_t length = stop ? static_cast<size_t>(stop - p) : std::strlen(p);
        parse_rule(p, length);
        p += length + (stop ? 1 : 0);
    }
}

} // namespace

Decision decide(Call call)
{
    State &state = states[static_cast<size_t>(call)];
    uint64_t number = state.calls.fetch_add(1, std::memory_order_relaxed) + 1;
    const Rule &rule = state.rule;
    if (!rule.error)
        return {};
    bool failing = false;
    if (number % rule.every == 0) {
        state.burst_left.store(rule.burst - 1, std::memory_order_relaxed);
        failing = true;
    } else {
        uint64_t left = state.burst_left.load(std::memory_order_relaxed);
        while (left && !state.burst_left.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
        }
        failing = left != 0;
    }
    if (!failing)
        return {};
    state.failed.fetch_add(1, std::memory_order_relaxed);
    return {rule.error, rule.partial};
}

} // namespace writewatch::injection

extern "C" int ww_injected_failures(const char *name, uint64_t *calls, uint64_t *failed)
{
    using namespace writewatch::injection;
    int index = name ? call_index(name, std::strlen(name)) : -1;
    if (index < 0)
        return 0;
    *calls = states[index].calls.load();
    *failed = states[index].failed.load();
    return 1;
}

#endif // WRITEWATCH_FAULT_INJECTION
