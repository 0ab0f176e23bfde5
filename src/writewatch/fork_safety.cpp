#include "fork_safety.h"

#include "registry.h"
#include "tracker/kernel_tracking.h"
#include "tracker/range_table.h"

#include <pthread.h>

#include <mutex>

namespace writewatch {
namespace {

// The forking thread holds both locks exclusively across the fork, so no call
// is in progress in the copy the child gets. Order: the registry first, as in
// the engine's calls, which take a range lock or the table lock inside it.
void lock_before_fork()
{
    if (Registry *reg = registry_if_made())
        reg->mutex().lock();
    if (RangeTable *table = range_table_if_made())
        table->mutex().lock();
}

void unlock_in_parent()
{
    if (RangeTable *table = range_table_if_made())
        table->mutex().unlock();
    if (Registry *reg = registry_if_made())
        reg->mutex().unlock();
}

void unlock_in_child()
{
    if (Registry *reg = registry_if_made())
        reg->reset_lock_in_child();
    if (RangeTable *table = range_table_if_made())
        table->reset_in_child();
    if (KernelTracking *kernel = KernelTracking::if_made())
        kernel->reopen_in_child();
}

} // namespace

void install_fork_handlers()
{
    static std::once_flag once;
    std::call_once(once, [] { pthread_atfork(lock_before_fork, unlock_in_parent, unlock_in_child); });
}

} // namespace writewatch
