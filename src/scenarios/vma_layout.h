// SPDX-License-Identifier: MIT
#pragma once
/// The VMAs of one mm as address ranges, for the validator: which of them overlap, and whether
/// an op's range is mapped. Built once per mm by sorting (O(n log n)); a query is a binary
/// search. A generated scenario may declare hundreds of thousands of VMAs, and comparing each
/// with every other took minutes.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "scenarios/spec.h"

namespace tlbsim::scenarios {

class VmaLayout {
 public:
  explicit VmaLayout(const std::vector<VmaSpec>& vmas);

  /// Overlapping VMAs as (later, earlier) indices in file order, sorted. In order of start
  /// address, each VMA that begins below the end of one before it is paired with the one of
  /// those reaching furthest; so every VMA that overlaps another is in some pair, and there are
  /// fewer pairs than VMAs (every overlapping pair would be quadratic in the worst case). Two
  /// VMAs overlapping only each other are the one pair. A VMA whose end passes 2^64 takes no
  /// part (it is reported on its own).
  const std::vector<std::pair<size_t, size_t>>& overlaps() const { return m_overlaps; }

  /// Every page of [start, start + pages * 4 KiB) lies in some VMA; the range must not pass 2^64.
  bool covers(uint64_t start, uint64_t pages) const;

 private:
  std::vector<std::pair<size_t, size_t>> m_overlaps;
  std::vector<std::pair<uint64_t, uint64_t>> m_union;  ///< [start, end) of the mapped areas, sorted, disjoint, not adjacent
};

}  // namespace tlbsim::scenarios
