// SPDX-License-Identifier: MIT
#include "model/translation_cache.h"

#include "model/check.h"
#include "model/touch.h"

namespace tlbsim {

TranslationCache::TranslationCache(TranslationCacheConfig cfg, Holder holder, EventBus& bus) : TaggedEntries(0, holder, bus), m_cfg(cfg) {
  TLBSIM_CHECK(cfg.sets > 0 && cfg.ways > 0, "a translation cache needs at least one entry");
}

uint32_t TranslationCache::set_of(uint32_t tag, uint64_t vpn_base) const {
  // Huge entries are indexed by their 2 MiB base so one probe finds them.
  uint64_t h = vpn_base ^ (uint64_t{tag} * 0x9e3779b97f4a7c15ull);
  h ^= h >> 17;
  return static_cast<uint32_t>(h % m_cfg.sets);
}

CachedTranslation* TranslationCache::find(uint32_t tag, uint64_t vpn) {
  if (m_entries.empty()) return nullptr;  // never filled: every entry invalid
  for (uint64_t base : {vpn, vpn & ~uint64_t{511}}) {
    CachedTranslation* set = &m_entries[size_t{set_of(tag, base)} * m_cfg.ways];
    for (uint32_t w = 0; w < m_cfg.ways; ++w) {
      CachedTranslation& e = set[w];
      if (e.valid && e.tag == tag && e.covers(vpn)) return &e;
    }
  }
  return nullptr;
}

const CachedTranslation* TranslationCache::lookup(uint32_t tag, Vaddr va) {
  // A miss reads as much as a hit: whether some entry covers the page.
  touch::cache_entries(false, m_holder, va.vpn() << kPageShift, (va.vpn() + 1) << kPageShift);
  CachedTranslation* e = find(tag, va.vpn());
  if (e) {
    e->lru = ++m_clock;
    touch::cache_set(CachePart::Recency, m_holder, set_index(*e));
  }
  return e;
}

uint64_t TranslationCache::set_index(const CachedTranslation& e) const { return static_cast<uint64_t>(&e - m_entries.data()) / m_cfg.ways; }

void TranslationCache::touch_entry(const CachedTranslation& e) const {
  const uint64_t start = e.vpn << kPageShift;
  touch::cache_entries(true, m_holder, start, start + (e.huge ? kPmdSize : kPageSize));
  touch::cache_set(CachePart::Members, m_holder, set_index(e));
}

void TranslationCache::fill(uint32_t tag, MmId mm, Vaddr va, Pfn pfn, bool writable, bool huge, const char* func, bool dirty) {
  // The detector orders a fill against stores to the entry it caches.
  touch::read(Touch::Obj::PtRange, mm.value(), va.value(), va.value() + 1);
  const uint64_t vpn = huge ? (va.vpn() & ~uint64_t{511}) : va.vpn();
  if (m_entries.empty()) m_entries.resize(capacity());  // the first fill makes the entries
  CachedTranslation* set = &m_entries[size_t{set_of(tag, vpn)} * m_cfg.ways];
  CachedTranslation* victim = nullptr;
  for (uint32_t w = 0; w < m_cfg.ways; ++w) {
    CachedTranslation& e = set[w];
    if (e.valid && e.tag == tag && e.vpn == vpn && e.huge == huge) {
      victim = &e;  // refill of the same address replaces in place
      break;
    }
    if (!victim || (!e.valid && victim->valid) || (e.valid == victim->valid && e.lru < victim->lru)) victim = &e;
  }
  if (victim->valid)
    drop(*victim, EventKind::Evict, (victim->vpn == vpn && victim->tag == tag) ? "refill replaces the entry" : "capacity eviction");
  *victim = CachedTranslation{
      .vpn = vpn, .pfn = pfn, .tag = tag, .lru = ++m_clock, .mm = mm, .valid = true, .writable = writable, .dirty = dirty, .huge = huge};
  // The victim was chosen by the set's members and LRU order, which the fill changes.
  touch_entry(*victim);
  touch::cache_set(CachePart::Recency, m_holder, set_index(*victim));
  m_counts.add(tag);
  if (m_bus.active()) {
    Event e{.kind = EventKind::Fill,
            .flags = uint8_t((writable ? kEvWrite : 0) | (huge ? kEvHuge : 0)),
            .level = uint8_t(huge ? 2 : 1),
            .holder = m_holder,
            .mm = mm,
            .tag = tag,
            .func = func};
    e.va = vpn << kPageShift;
    e.end = e.va + (huge ? kPmdSize : kPageSize);
    e.pfn = pfn;
    victim->filled_by = Seq{m_bus.next_seq()};
    m_bus.emit(std::move(e));
  }
}

void TranslationCache::drop(CachedTranslation& c, EventKind why, const char* func) {
  touch_entry(c);
  if (m_bus.active()) {
    Event e{.kind = why,
            .flags = uint8_t((c.writable ? kEvWrite : 0) | (c.huge ? kEvHuge : 0)),
            .level = uint8_t(c.huge ? 2 : 1),
            .holder = m_holder,
            .mm = c.mm,
            .tag = c.tag,
            .func = func};
    e.va = c.vpn << kPageShift;
    e.end = e.va + (c.huge ? kPmdSize : kPageSize);
    e.pfn = c.pfn;
    m_bus.emit(std::move(e));
  }
  removed(c);
}

size_t TranslationCache::invalidate_range(uint32_t tag, uint64_t start, uint64_t end, const char* func) {
  if (end <= start) return 0;
  // Whatever path finds them (a probe per page, a scan, or the count saying there are none), the
  // answer is the set of entries covering [start, end): what the invalidation reads.
  touch::cache_entries(false, m_holder, start, end);
  const size_t held = m_counts.of(tag);
  if (held == 0) return 0;
  const uint64_t first = start >> kPageShift, last = (end - 1) >> kPageShift;
  size_t n = 0;
  if (last - first + 1 <= 2 * capacity() / m_cfg.ways) {
    // Small range: probe each page, as a per-page INVLPG/TLBI would.
    for (uint64_t v = first; v <= last && n < held; ++v) {
      while (CachedTranslation* e = find(tag, v)) {
        drop(*e, EventKind::Drop, func);
        ++n;
      }
    }
    return n;
  }
  size_t seen = 0;
  for (auto it = m_entries.begin(); seen < held && it != m_entries.end(); ++it) {
    CachedTranslation& e = *it;
    if (!e.valid || e.tag != tag) continue;
    ++seen;
    const uint64_t lo = e.vpn, hi = e.vpn + (e.huge ? 512 : 1) - 1;
    if (hi >= first && lo <= last) {
      drop(e, EventKind::Drop, func);
      ++n;
    }
  }
  return n;
}

void TranslationCache::check_invariants() const {
  // A checked run calls this after every step for every cache of every CPU and device, and most
  // of them did not change: scanning them all was most of a checked run's time.
  if (checked_already()) return;
  const size_t valid = count_valid();
  TLBSIM_CHECK(valid == m_counts.total(), to_string(m_holder) << " holds " << valid << " entries but counts " << m_counts.total());
  TLBSIM_CHECK(m_entries.empty() || m_entries.size() == capacity(),
               to_string(m_holder) << " has " << m_entries.size() << " entries made of " << capacity());
  for (uint32_t s = 0; s < m_cfg.sets && !m_entries.empty(); ++s) {
    for (uint32_t w = 0; w < m_cfg.ways; ++w) {
      const auto& e = m_entries[size_t{s} * m_cfg.ways + w];
      if (!e.valid) continue;
      TLBSIM_CHECK(set_of(e.tag, e.vpn) == s, to_string(m_holder) << " entry " << hex(e.vpn << kPageShift) << " in wrong set");
      TLBSIM_CHECK(!e.huge || (e.vpn & 511) == 0, to_string(m_holder) << " huge entry not 2 MiB aligned");
      TLBSIM_CHECK(e.lru <= m_clock, "LRU stamp from the future");
      for (uint32_t w2 = w + 1; w2 < m_cfg.ways; ++w2) {
        const auto& o = m_entries[size_t{s} * m_cfg.ways + w2];
        TLBSIM_CHECK(!(o.valid && o.tag == e.tag && o.vpn == e.vpn && o.huge == e.huge),
                     to_string(m_holder) << " duplicate entry for " << hex(e.vpn << kPageShift));
      }
    }
  }
  mark_checked();
}

}  // namespace tlbsim
