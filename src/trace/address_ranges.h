// SPDX-License-Identifier: MIT
#pragma once
/// A set of page ranges [lo, hi) of one address space, kept merged: what a process has ever
/// mapped, so that an imported op only names memory a scenario can reach.
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace tlbsim::trace {

class AddressRanges {
 public:
  void add(uint64_t lo, uint64_t hi);
  void remove(uint64_t lo, uint64_t hi);
  /// The parts of [lo, hi) in the set, in address order.
  std::vector<std::pair<uint64_t, uint64_t>> intersect(uint64_t lo, uint64_t hi) const;
  bool contains(uint64_t lo, uint64_t hi) const;
  bool overlaps(uint64_t lo, uint64_t hi) const { return !intersect(lo, hi).empty(); }

 private:
  std::map<uint64_t, uint64_t> m_ranges;  ///< lo -> hi, disjoint and not touching
};

}  // namespace tlbsim::trace
