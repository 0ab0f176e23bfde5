// Host pages in the tests. unit() is the number of 4K pages per host page:
// 1 on most machines, 4 on arm64 kernels with 16K pages. A write marks every
// 4K page of its host page, and protections and decommits act on whole host
// pages, so tests count the pages they write or change in units of one host
// page, and one test serves every page size.
#pragma once

#include <cstddef>
#include <vector>

namespace test {

size_t unit();
// The listed units as the 4K pages they hold, ascending: what writes to them report.
std::vector<size_t> units(const std::vector<size_t> &list);
// The first n entries of a page list (what a count limit of n returns).
std::vector<size_t> first_of(const std::vector<size_t> &pages, size_t n);

} // namespace test
