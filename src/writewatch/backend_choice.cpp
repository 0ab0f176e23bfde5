#include "backend_choice.h"

#include "probe.h"
#include "registry.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>

#include <fmt/format.h>

namespace writewatch {
namespace {

struct Choice {
    ww_backend_kind kind = WW_BACKEND_NONE; // never AUTO once resolved
    std::string problem;
};

std::mutex choice_mutex;
Choice current_choice;
bool choice_made = false;

Choice resolve(ww_backend_kind requested)
{
    const ww_kernel_features &features = kernel_features();
    switch (requested) {
    case WW_BACKEND_AUTO:
        return {kernel_backend() ? WW_BACKEND_KERNEL : WW_BACKEND_FAULT, {}};
    case WW_BACKEND_KERNEL:
        if (kernel_backend())
            return {WW_BACKEND_KERNEL, {}};
        return {WW_BACKEND_NONE,
                fmt::format("the kernel backend was asked for but cannot run: {}",
                            features.why_not[0] ? features.why_not : "userfaultfd setup failed")};
    case WW_BACKEND_FAULT:
        return {WW_BACKEND_FAULT, {}};
    default:
        return {WW_BACKEND_NONE, "unknown backend"};
    }
}

Choice from_environment()
{
    const char *value = std::getenv("WRITEWATCH_BACKEND");
    if (!value || !*value || std::strcmp(value, "auto") == 0)
        return resolve(WW_BACKEND_AUTO);
    if (std::strcmp(value, "kernel") == 0)
        return resolve(WW_BACKEND_KERNEL);
    if (std::strcmp(value, "fault") == 0)
        return resolve(WW_BACKEND_FAULT);
    return {WW_BACKEND_NONE,
            fmt::format("WRITEWATCH_BACKEND='{}' is not one of kernel, fault, auto", value)};
}

// Caller holds choice_mutex.
Choice &choice()
{
    if (!choice_made) {
        current_choice = from_environment();
        choice_made = true;
    }
    return current_choice;
}

} // namespace

Backend *backend_for_new_watch(ww_status *status)
{
    ww_backend_kind kind;
    {
        std::lock_guard guard(choice_mutex);
        kind = choice().kind;
    }
    switch (kind) {
    case WW_BACKEND_KERNEL:
        return kernel_backend();
    case WW_BACKEND_FAULT:
        return &fault_backend();
    default:
        *status = WW_STATUS_NOT_SUPPORTED;
        return nullptr;
    }
}

} // namespace writewatch

using namespace writewatch;

extern "C" ww_status ww_set_backend(ww_backend_kind kind)
{
    if (kind != WW_BACKEND_AUTO && kind != WW_BACKEND_KERNEL && kind != WW_BACKEND_FAULT)
        return WW_STATUS_INVALID_PARAMETER;
    Choice resolved = resolve(kind);
    if (resolved.kind == WW_BACKEND_NONE)
        return WW_STATUS_NOT_SUPPORTED;
    std::lock_guard guard(choice_mutex);
    choice();
    current_choice = std::move(resolved);
    return WW_STATUS_SUCCESS;
}

extern "C" ww_backend_kind ww_get_backend(void)
{
    std::lock_guard guard(choice_mutex);
    return choice().kind;
}

extern "C" const char *ww_backend_problem(void)
{
    std::lock_guard guard(choice_mutex);
    // The string only changes under ww_set_backend, which replaces it with "".
    return choice().problem.c_str();
}

extern "C" ww_backend_kind ww_allocation_backend(const void *addr)
{
    Registry &reg = registry();
    std::shared_lock lock(reg.mutex());
    const Allocation *allocation = reg.find(reinterpret_cast<uintptr_t>(addr));
    return allocation && allocation->backend ? allocation->backend->kind() : WW_BACKEND_NONE;
}

extern "C" const char *ww_backend_name(ww_backend_kind kind)
{
    switch (kind) {
    case WW_BACKEND_AUTO:
        return "auto";
    case WW_BACKEND_KERNEL:
        return "kernel";
    case WW_BACKEND_FAULT:
        return "fault";
    case WW_BACKEND_NONE:
        return "none";
    }
    return "invalid";
}
