// SPDX-License-Identifier: MIT
#pragma once
/// What a TLB-like cache (TranslationCache, WalkCache) does the same whatever indexes its
/// entries: it holds them with their counts per tag, says who holds them, flushes one tag
/// (ASID/PCID/PASID: flush_tlb_mm(), a PASID-wide invalidation) or everything (flush_tlb_all()),
/// and counts its changes so an invariant check can skip a cache nothing changed since it last
/// passed. An entry type has `valid` and `tag`. The cache (`Derived`) supplies `drop(entry, why,
/// func)`, its own removal (its touches and event), which ends in removed().
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/event.h"
#include "model/tag_counts.h"
#include "model/touch.h"
#include "model/types.h"

namespace tlbsim {

template <class Derived, class Entry>
class TaggedEntries {
 public:
  Holder holder() const { return m_holder; }
  size_t occupancy() const { return m_counts.total(); }
  /// Visit every valid entry (tests, state dumps, log checks).
  template <class F>
  void for_each(F&& f) const {
    for (const auto& e : m_entries)
      if (e.valid) f(e);
  }
  /// Counts every change to the entries (fills, LRU updates, drops): a check that saw this value
  /// need not look again until it moves.
  uint64_t version() const { return m_clock + m_drops; }

  /// Drop every valid entry of `tag`; the scan stops once as many as the count held are gone.
  size_t invalidate_tag(uint32_t tag, const char* func) {
    // Whatever finds them (a scan, or the count saying there are none), the answer is the set of
    // entries of the tag: what the invalidation reads.
    touch::cache_entries(false, m_holder, 0, ~uint64_t{0});
    const size_t held = m_counts.of(tag);
    size_t n = 0;
    for (auto it = m_entries.begin(); n < held && it != m_entries.end(); ++it)
      if (Entry& e = *it; e.valid && e.tag == tag) {
        self().drop(e, EventKind::Drop, func);
        ++n;
      }
    return n;
  }
  /// Drop every valid entry; no scan when the count says the cache is empty.
  size_t invalidate_all(const char* func) {
    touch::cache_entries(false, m_holder, 0, ~uint64_t{0});
    if (m_counts.total() == 0) return 0;
    size_t n = 0;
    for (auto& e : m_entries)
      if (e.valid) {
        self().drop(e, EventKind::Drop, func);
        ++n;
      }
    return n;
  }

 protected:
  TaggedEntries(size_t entries, Holder holder, EventBus& bus) : m_entries(entries), m_holder(holder), m_bus(bus) {}

  /// The end of every drop: the entry is gone from the counts.
  void removed(Entry& e) {
    e.valid = false;
    m_counts.remove(e.tag);
    ++m_drops;
  }
  /// True when the entries are as the last passing check saw them: a checked run calls the
  /// check after every step for every cache of every CPU and device, and most did not change.
  bool checked_already() const { return m_checked_version == version(); }
  /// The check passed: remember what it saw.
  void mark_checked() const { m_checked_version = version(); }
  /// Valid entries found by looking at each: what a check holds TagCounts::total() to.
  size_t count_valid() const {
    size_t valid = 0;
    for (const auto& e : m_entries) valid += e.valid;
    return valid;
  }

  std::vector<Entry> m_entries;
  TagCounts m_counts;
  Holder m_holder;
  EventBus& m_bus;
  uint64_t m_clock = 0;  ///< LRU clock: moves on every fill and hit

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  uint64_t m_drops = 0;
  mutable uint64_t m_checked_version = ~uint64_t{0};
};

}  // namespace tlbsim
