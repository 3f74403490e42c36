// SPDX-License-Identifier: MIT
#pragma once
/// A paging-structure (walk) cache: non-leaf entries (PGD, PUD, PMD entries) remembered so the
/// next walk can start at a lower table (Intel SDM Vol. 3A 4.10.3; SMMU/IOMMU walk caches). An
/// entry records the table frame it points at and that frame's generation, so a walk through a
/// table page that has since been freed is visible.
#include <cstdint>
#include <vector>

#include "model/event.h"
#include "model/tag_counts.h"
#include "model/tagged_entries.h"
#include "model/types.h"

namespace tlbsim {

struct WalkCacheEntry {
  uint64_t prefix = 0;  ///< va >> level_shift(level)
  Pfn table = kNoPfn;   ///< the next-level table this entry points at
  uint32_t table_gen = 0;
  uint32_t tag = 0;
  uint64_t lru = 0;
  MmId mm = kNoMm;
  uint8_t level = 0;  ///< level of the cached entry: 2 = PMD entry (points at a PTE table)
  bool valid = false;
  bool user = true;  ///< every entry on the path to it had _PAGE_USER
  uint64_t start() const;
  uint64_t end() const;
};

class WalkCache : public TaggedEntries<WalkCache, WalkCacheEntry> {
 public:
  WalkCache(uint32_t entries, Holder holder, EventBus& bus);

  /// Deepest entry covering `va` under `tag`, or nullptr.
  const WalkCacheEntry* lookup(uint32_t tag, uint64_t va);
  void fill(uint32_t tag, MmId mm, uint64_t va, uint8_t level, Pfn table, uint32_t gen, const char* func, bool user = true);
  /// (invalidate_tag(), invalidate_all(): TaggedEntries.)
  size_t invalidate_range(uint32_t tag, uint64_t start, uint64_t end, const char* func);

  bool enabled() const { return !m_entries.empty(); }
  /// Skips the scan when nothing changed since the last check that passed.
  void check_invariants() const;

 private:
  friend class TaggedEntries<WalkCache, WalkCacheEntry>;
  void drop(WalkCacheEntry& e, EventKind why, const char* func);
};

}  // namespace tlbsim
