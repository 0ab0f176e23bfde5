#include "host_mapping.h"

#include "protection.h"

namespace writewatch {

ww_status apply_host_protection(const Allocation &allocation, PageRange pages)
{
    return apply_host_protection(allocation, pages,
                                 [](PageState state) { return host_protection(state); });
}

} // namespace writewatch
