// SPDX-License-Identifier: MIT
#include "trace/address_ranges.h"

#include <algorithm>

namespace tlbsim::trace {

void AddressRanges::add(uint64_t lo, uint64_t hi) {
  if (lo >= hi) return;
  auto it = m_ranges.upper_bound(lo);
  if (it != m_ranges.begin() && std::prev(it)->second >= lo) {
    --it;
    lo = it->first;
  }
  while (it != m_ranges.end() && it->first <= hi) {
    hi = std::max(hi, it->second);
    it = m_ranges.erase(it);
  }
  m_ranges.emplace(lo, hi);
}

void AddressRanges::remove(uint64_t lo, uint64_t hi) {
  if (lo >= hi) return;
  auto it = m_ranges.upper_bound(lo);
  if (it != m_ranges.begin()) --it;
  std::vector<std::pair<uint64_t, uint64_t>> keep;
  while (it != m_ranges.end() && it->first < hi) {
    if (it->second <= lo) {
      ++it;
      continue;
    }
    if (it->first < lo) keep.emplace_back(it->first, lo);
    if (it->second > hi) keep.emplace_back(hi, it->second);
    it = m_ranges.erase(it);
  }
  for (const auto& [l, h] : keep) m_ranges.emplace(l, h);
}

std::vector<std::pair<uint64_t, uint64_t>> AddressRanges::intersect(uint64_t lo, uint64_t hi) const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  auto it = m_ranges.upper_bound(lo);
  if (it != m_ranges.begin()) --it;
  for (; it != m_ranges.end() && it->first < hi; ++it) {
    const uint64_t l = std::max(lo, it->first), h = std::min(hi, it->second);
    if (l < h) out.emplace_back(l, h);
  }
  return out;
}

bool AddressRanges::contains(uint64_t lo, uint64_t hi) const {
  const auto parts = intersect(lo, hi);
  return parts.size() == 1 && parts[0].first == lo && parts[0].second == hi;
}

}  // namespace tlbsim::trace
