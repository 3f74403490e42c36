// SPDX-License-Identifier: MIT
#pragma once
/// What a TLB-like cache (TranslationCache, WalkCache) does to its entries by tag alone: a flush
/// of one tag (ASID/PCID/PASID: flush_tlb_mm(), a PASID-wide invalidation) and a flush of
/// everything (flush_tlb_all()). An entry type has `valid` and `tag`; `drop(entry)` is the
/// cache's own removal (its event, and TagCounts::remove).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/tag_counts.h"

namespace tlbsim {

/// Drop every valid entry of `tag`; the scan stops once as many as `counts` held are gone.
template <class Entry, class Drop>
size_t drop_tagged(std::vector<Entry>& entries, const TagCounts& counts, uint32_t tag, Drop drop) {
  const size_t held = counts.of(tag);
  size_t n = 0;
  for (auto it = entries.begin(); n < held && it != entries.end(); ++it)
    if (Entry& e = *it; e.valid && e.tag == tag) {
      drop(e);
      ++n;
    }
  return n;
}

/// Drop every valid entry; no scan when `counts` says the cache is empty.
template <class Entry, class Drop>
size_t drop_all(std::vector<Entry>& entries, const TagCounts& counts, Drop drop) {
  if (counts.total() == 0) return 0;
  size_t n = 0;
  for (auto& e : entries)
    if (e.valid) {
      drop(e);
      ++n;
    }
  return n;
}

template <class Entry, class F>
void for_each_valid(const std::vector<Entry>& entries, F&& f) {
  for (const auto& e : entries)
    if (e.valid) f(e);
}

/// Valid entries found by looking at each: what check_invariants() holds TagCounts::total() to.
template <class Entry>
size_t count_valid(const std::vector<Entry>& entries) {
  size_t valid = 0;
  for (const auto& e : entries) valid += e.valid;
  return valid;
}

}  // namespace tlbsim
