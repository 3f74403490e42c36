// SPDX-License-Identifier: MIT
#pragma once
/// The explorer's memo of footprints: the same kernel and hardware steps recur in thousands of
/// executions with the same footprint, so each distinct footprint gets a small id and the
/// dependency of two ids is computed once. The answers are exactly those of dependent().
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "scenarios/footprint.h"

namespace tlbsim::scenarios {

using FootprintId = uint32_t;

class FootprintTable {
 public:
  /// Id 0 is the empty footprint (no touches, not kernel).
  FootprintTable();
  FootprintId intern(Footprint f);
  const Footprint& at(FootprintId id) const { return m_fps[id]; }
  /// dependent(at(a), at(b)), memoized. The relation is symmetric, so one answer serves both orders.
  bool dependent(FootprintId a, FootprintId b) {
    if (a < b) std::swap(a, b);
    int8_t& d = m_dep[a][b];
    if (d < 0) d = scenarios::dependent(m_fps[a], m_fps[b]) ? 1 : 0;
    return d != 0;
  }
  size_t size() const { return m_fps.size(); }

 private:
  std::vector<Footprint> m_fps;
  std::unordered_map<uint64_t, std::vector<FootprintId>> m_by_hash;
  std::vector<std::vector<int8_t>> m_dep;  ///< m_dep[a][b], b <= a: -1 unknown, else the answer
};

}  // namespace tlbsim::scenarios
