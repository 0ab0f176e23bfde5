#include "page_units.h"

#include <unistd.h>

#include <algorithm>

namespace test {

size_t unit()
{
    static const size_t subpages = static_cast<size_t>(sysconf(_SC_PAGESIZE)) / 4096;
    return subpages;
}

std::vector<size_t> units(const std::vector<size_t> &list)
{
    std::vector<size_t> pages;
    for (size_t u : list)
        for (size_t i = 0; i < unit(); ++i)
            pages.push_back(u * unit() + i);
    std::sort(pages.begin(), pages.end());
    pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
    return pages;
}

std::vector<size_t> first_of(const std::vector<size_t> &pages, size_t n)
{
    return std::vector<size_t>(pages.begin(), pages.begin() + std::min(n, pages.size()));
}

} // namespace test
