// SPDX-License-Identifier: MIT
#pragma once
/// Valid entries per tag (ASID, PCID or PASID) of a cache. A flush of a tag that holds nothing
/// is the common case on every path that flushes (most flushes find the TLB already empty for
/// that mm), and knowing it costs one probe instead of a scan of every way. Few tags are live at
/// once, so a flat vector beats a map.
#include <cstdint>
#include <utility>
#include <vector>

namespace tlbsim {

class TagCounts {
 public:
  uint32_t of(uint32_t tag) const {
    for (const auto& [t, n] : m_counts)
      if (t == tag) return n;
    return 0;
  }
  uint64_t total() const { return m_total; }
  void add(uint32_t tag) {
    ++m_total;
    for (auto& [t, n] : m_counts)
      if (t == tag) {
        ++n;
        return;
      }
    m_counts.emplace_back(tag, 1);
  }
  void remove(uint32_t tag) {
    --m_total;
    for (size_t i = 0; i < m_counts.size(); ++i)
      if (m_counts[i].first == tag) {
        if (--m_counts[i].second == 0) {
          m_counts[i] = m_counts.back();
          m_counts.pop_back();
        }
        return;
      }
  }

 private:
  std::vector<std::pair<uint32_t, uint32_t>> m_counts;
  uint64_t m_total = 0;
};

}  // namespace tlbsim
