// SPDX-License-Identifier: MIT
#include "model/walk_cache.h"

#include "model/check.h"
#include "model/page_table.h"
#include "model/touch.h"

namespace tlbsim {

uint64_t WalkCacheEntry::start() const { return prefix << level_shift(level); }
uint64_t WalkCacheEntry::end() const { return (prefix + 1) << level_shift(level); }

WalkCache::WalkCache(uint32_t entries, Holder holder, EventBus& bus) : TaggedEntries(entries, holder, bus) {}

// The walk cache is fully associative: one set (0) for the members and LRU order touches.
const WalkCacheEntry* WalkCache::lookup(uint32_t tag, uint64_t va) {
  // A miss reads as much as a hit: whether some entry covers va.
  touch::cache_entries(false, m_holder, va, va + 1);
  if (m_counts.of(tag) == 0) return nullptr;
  WalkCacheEntry* best = nullptr;
  for (auto& e : m_entries) {
    if (!e.valid || e.tag != tag || (va >> level_shift(e.level)) != e.prefix) continue;
    if (!best || e.level < best->level) best = &e;
  }
  if (best) {
    best->lru = ++m_clock;
    touch::cache_set(CachePart::Recency, m_holder, 0);
  }
  return best;
}

void WalkCache::fill(uint32_t tag, MmId mm, uint64_t va, uint8_t level, Pfn table, uint32_t gen, const char* func, bool user) {
  // The detector orders a fill against stores to the entry it caches.
  touch::read(Touch::Obj::PtRange, mm.value(), va, va + 1);
  if (m_entries.empty()) return;
  const uint64_t prefix = va >> level_shift(level);
  WalkCacheEntry* victim = nullptr;
  for (auto& e : m_entries) {
    if (e.valid && e.tag == tag && e.level == level && e.prefix == prefix) {
      victim = &e;
      break;
    }
    if (!victim || (!e.valid && victim->valid) || (e.valid == victim->valid && e.lru < victim->lru)) victim = &e;
  }
  if (victim->valid) drop(*victim, EventKind::Evict, "capacity eviction");
  *victim = WalkCacheEntry{.prefix = prefix,
                           .table = table,
                           .table_gen = gen,
                           .tag = tag,
                           .lru = ++m_clock,
                           .mm = mm,
                           .level = level,
                           .valid = true,
                           .user = user};
  // The victim was chosen by the members and their LRU order, which the fill changes.
  touch::cache_entries(true, m_holder, victim->start(), victim->end());
  touch::cache_set(CachePart::Members, m_holder, 0);
  touch::cache_set(CachePart::Recency, m_holder, 0);
  m_counts.add(tag);
  if (m_bus.active()) {
    Event ev{.kind = EventKind::WalkFill, .level = level, .holder = m_holder, .mm = mm, .tag = tag, .func = func};
    ev.va = victim->start();
    ev.end = victim->end();
    ev.pfn = table;
    ev.gen = gen;
    m_bus.emit(std::move(ev));
  }
}

void WalkCache::drop(WalkCacheEntry& c, EventKind why, const char* func) {
  touch::cache_entries(true, m_holder, c.start(), c.end());
  touch::cache_set(CachePart::Members, m_holder, 0);
  if (m_bus.active()) {
    Event ev{.kind = why, .level = c.level, .holder = m_holder, .mm = c.mm, .tag = c.tag, .func = func};
    ev.va = c.start();
    ev.end = c.end();
    ev.pfn = c.table;
    ev.gen = c.table_gen;
    m_bus.emit(std::move(ev));
  }
  removed(c);
}

size_t WalkCache::invalidate_range(uint32_t tag, uint64_t start, uint64_t end, const char* func) {
  if (end <= start) return 0;
  touch::cache_entries(false, m_holder, start, end);
  if (m_counts.of(tag) == 0) return 0;
  size_t n = 0;
  for (auto& e : m_entries)
    if (e.valid && e.tag == tag && e.start() < end && start < e.end()) {
      drop(e, EventKind::Drop, func);
      ++n;
    }
  return n;
}

void WalkCache::check_invariants() const {
  if (checked_already()) return;
  const size_t valid = count_valid();
  TLBSIM_CHECK(valid == m_counts.total(), to_string(m_holder)
                                              << " holds " << valid << " walk-cache entries but counts " << m_counts.total());
  for (size_t i = 0; i < m_entries.size(); ++i) {
    const auto& e = m_entries[i];
    if (!e.valid) continue;
    TLBSIM_CHECK(e.level >= 2 && e.level <= 4, to_string(m_holder) << " walk-cache entry at level " << int(e.level));
    TLBSIM_CHECK(e.lru <= m_clock, "LRU stamp from the future");
    for (size_t j = i + 1; j < m_entries.size(); ++j) {
      const auto& o = m_entries[j];
      TLBSIM_CHECK(!(o.valid && o.tag == e.tag && o.level == e.level && o.prefix == e.prefix), to_string(m_holder)
                                                                                                   << " duplicate walk-cache entry");
    }
  }
  mark_checked();
}

}  // namespace tlbsim
