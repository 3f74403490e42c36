// SPDX-License-Identifier: MIT
#include "scenarios/vma_layout.h"

#include <algorithm>
#include <numeric>

#include "model/types.h"

namespace tlbsim::scenarios {

VmaLayout::VmaLayout(const std::vector<VmaSpec>& vmas) {
  auto end = [&](size_t i) { return vmas[i].start + vmas[i].pages * kPageSize; };
  std::vector<size_t> order;
  order.reserve(vmas.size());
  for (size_t i = 0; i < vmas.size(); ++i)
    if (end(i) > vmas[i].start) order.push_back(i);  // not wrapping past 2^64
  // Ties in start keep file order, so the earlier of two VMAs at one address is seen first.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return vmas[a].start < vmas[b].start; });
  bool any = false;
  size_t furthest = 0;  // of the VMAs seen so far, the one that ends highest
  for (size_t i : order) {
    if (any && vmas[i].start < end(furthest)) m_overlaps.emplace_back(std::max(i, furthest), std::min(i, furthest));
    if (!any || end(i) > end(furthest)) furthest = i;
    any = true;
    if (!m_union.empty() && vmas[i].start <= m_union.back().second)
      m_union.back().second = std::max(m_union.back().second, end(i));
    else
      m_union.emplace_back(vmas[i].start, end(i));
  }
  std::sort(m_overlaps.begin(), m_overlaps.end());
}

bool VmaLayout::covers(uint64_t start, uint64_t pages) const {
  // The last area starting at or below `start`: the only one that can hold it.
  auto it = std::upper_bound(m_union.begin(), m_union.end(), start, [](uint64_t a, const auto& area) { return a < area.first; });
  if (it == m_union.begin()) return false;
  --it;
  return start + pages * kPageSize <= it->second;
}

}  // namespace tlbsim::scenarios
