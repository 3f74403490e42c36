// SPDX-License-Identifier: MIT
#pragma once
/// A tagged, set-associative cache of leaf translations: one CPU's TLB, an IOMMU's IOTLB or a
/// device's ATC (PCIe ATS). Tag = ASID/PCID for CPUs, PASID for the IOMMU side. Replacement is
/// LRU by a deterministic counter. Every fill, eviction and invalidation is an event.
/// The entries are made (all invalid) at the first fill: every run and every explored execution
/// builds a TLB for each CPU of the machine, and in a machine of many CPUs with big TLBs most
/// never fill one; a cache with no entries made answers as one with every entry invalid.
#include <cstdint>
#include <vector>

#include "model/event.h"
#include "model/pte.h"
#include "model/tag_counts.h"
#include "model/tagged_entries.h"
#include "model/types.h"

namespace tlbsim {

struct TranslationCacheConfig {
  uint32_t sets = 64;
  uint32_t ways = 8;
};

struct CachedTranslation {
  uint64_t vpn = 0;  ///< first 4 KiB page covered (2 MiB aligned for huge entries)
  Pfn pfn = kNoPfn;  ///< frame of the first page
  uint32_t tag = 0;
  uint64_t lru = 0;
  MmId mm = kNoMm;
  bool valid = false;
  bool writable = false;
  bool dirty = false;  ///< the PTE was dirty when cached: a write needs no walk to set D
  bool huge = false;
  /// The Fill event that put the entry here (Seq 0 if nobody listened): lets an invariant check
  /// confirm every cached translation came from a walk the event log recorded.
  Seq filled_by{};
  bool covers(uint64_t v) const { return huge ? (v >> 9) == (vpn >> 9) : v == vpn; }
  Pfn pfn_for(uint64_t v) const { return huge ? Pfn{pfn.value() + uint32_t(v - vpn)} : pfn; }
};

class TranslationCache : public TaggedEntries<TranslationCache, CachedTranslation> {
 public:
  TranslationCache(TranslationCacheConfig cfg, Holder holder, EventBus& bus);

  /// The entry covering `va` under `tag`, or nullptr. Updates LRU.
  const CachedTranslation* lookup(uint32_t tag, Vaddr va);
  /// Insert (replacing a same-address entry, else the LRU way of the set).
  void fill(uint32_t tag, MmId mm, Vaddr va, Pfn pfn, bool writable, bool huge, const char* func, bool dirty = false);

  /// Drop entries of `tag` intersecting [start, end). Returns entries dropped. (invalidate_tag(),
  /// invalidate_all(): TaggedEntries.)
  size_t invalidate_range(uint32_t tag, uint64_t start, uint64_t end, const char* func);

  size_t capacity() const { return size_t{m_cfg.sets} * m_cfg.ways; }
  /// Skips the scan when nothing changed since the last check that passed.
  void check_invariants() const;

 private:
  friend class TaggedEntries<TranslationCache, CachedTranslation>;
  uint32_t set_of(uint32_t tag, uint64_t vpn_base) const;
  void drop(CachedTranslation& e, EventKind why, const char* func);
  uint64_t set_index(const CachedTranslation& e) const;
  /// Records a write of the entry's address range and of its set's members (model/touch.h).
  void touch_entry(const CachedTranslation& e) const;
  CachedTranslation* find(uint32_t tag, uint64_t vpn);

  TranslationCacheConfig m_cfg;
};

}  // namespace tlbsim
