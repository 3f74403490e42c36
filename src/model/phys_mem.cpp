// SPDX-License-Identifier: MIT
#include "model/phys_mem.h"

#include <algorithm>

#include "model/check.h"

namespace tlbsim {

namespace {
constexpr uint32_t kNoBody = ~uint32_t{0};
}  // namespace

void PhysMem::set_counts(Pfn pfn, Counts c) {
  Slot& s = slot(pfn);
  TLBSIM_CHECK(s.f.allocated, "counts of free pfn " << pfn.value() << " changed");
  const bool small = c.ref < kSmallCount && c.map < kSmallCount;
  if (small && s.word != kBigCounts) {
    s.word = c.ref | c.map << 16;
    return;
  }
  sample_state();  // the large counts change
  if (small) {
    m_big_counts.erase(pfn.value());
    s.word = c.ref | c.map << 16;
  } else {
    m_big_counts[pfn.value()] = c;
    s.word = kBigCounts;
  }
}

uint32_t PhysMem::step_count(Pfn pfn, uint32_t Counts::*which, bool up) {
  touch::frame(true, pfn);
  Counts c = counts(pfn);
  uint32_t& v = c.*which;
  TLBSIM_CHECK(!up || v < UINT32_MAX, (which == &Counts::ref ? "refcount" : "mapcount")
                                          << " of pfn " << pfn.value() << " would pass 2^32 - 1");
  v = up ? v + 1 : v - 1;  // a decrement's caller checked v > 0
  set_counts(pfn, c);
  return v;
}

void PhysMem::ref_inc(Pfn pfn) { step_count(pfn, &Counts::ref, true); }

uint32_t PhysMem::ref_dec(Pfn pfn) {
  const uint32_t n = refcount(pfn);
  TLBSIM_CHECK(n > 0, "put_page on pfn " << pfn.value() << " with refcount " << n);
  return step_count(pfn, &Counts::ref, false);
}

void PhysMem::map_inc(Pfn pfn) { step_count(pfn, &Counts::map, true); }

void PhysMem::map_dec(Pfn pfn) {
  TLBSIM_CHECK(mapcount(pfn) > 0, "page_remove_rmap on unmapped pfn " << pfn.value());
  step_count(pfn, &Counts::map, false);
}

void PhysMem::push_free(uint32_t n) {
  // Only alloc() and free() read or write the links, and both write the allocator (touch::write
  // of Touch::Obj::Allocator), so the link stored into the old tail needs no record of its own:
  // no reader of that frame (refcount() and mapcount() of a free frame are 0) can see it.
  ++m_free_count;
  if (m_cfg.reuse == ReuseOrder::Lifo) {
    m_frames[n].word = m_free_head;
    m_free_head = n;
    return;
  }
  m_frames[n].word = kNoFrame;
  if (m_free_tail == kNoFrame)
    m_free_head = n;
  else
    m_frames[m_free_tail].word = n;
  m_free_tail = n;
}

Pfn PhysMem::alloc(FrameKind kind, uint32_t owner, uint64_t index, const char* func) {
  TLBSIM_CHECK(index >> kFrameIndexBits == 0, "page index " << index << " is past any 64-bit address");
  sample_state();
  uint32_t n;
  if (m_free_head != kNoFrame) {
    n = m_free_head;
    m_free_head = m_frames[n].word;
    if (m_free_head == kNoFrame) m_free_tail = kNoFrame;
    --m_free_count;
  } else {
    TLBSIM_CHECK(m_frames.size() < m_cfg.max_frames, "out of physical memory (" << m_cfg.max_frames << " frames)");
    n = static_cast<uint32_t>(m_frames.size());
    m_frames.push_back(Slot{.f = Frame{.aux = kNoBody}});
  }
  // The frame, its table slots (a table comes zeroed) and the free lists change.
  touch::write(Touch::Obj::Allocator, 0);
  touch::frame(true, Pfn{n});
  if (kind == FrameKind::Table) touch::table_page(true, Pfn{n});
  Slot& s = m_frames[n];
  Frame& f = s.f;
  const bool had_body = f.kind == FrameKind::Table && f.aux != kNoBody;
  if (kind == FrameKind::Table) {
    uint32_t body;
    if (had_body) {
      body = static_cast<uint32_t>(f.aux);
    } else if (!m_free_bodies.empty()) {
      body = m_free_bodies.back();
      m_free_bodies.pop_back();
    } else {
      body = static_cast<uint32_t>(m_bodies.size());
      m_bodies.emplace_back();
    }
    m_chunks.clear(m_bodies[body]);  // pte_alloc_one() returns a zeroed page
    f.aux = body;
    ++m_tables_in_use;
  } else {
    if (had_body) {  // the stale table contents are overwritten by data
      m_chunks.clear(m_bodies[f.aux]);
      m_free_bodies.push_back(static_cast<uint32_t>(f.aux));
    }
    f.aux = index & ((uint64_t{1} << kFrameIndexBits) - 1);  // checked above: nothing is cut
  }
  f.kind = kind;
  f.owner = owner;
  f.allocated = true;
  f.isolated = false;
  f.ksm = false;
  f.locked = false;
  if (f.swapcache) m_swap_private.erase(n);
  f.swapcache = false;
  s.word = 1;  // refcount 1, mapcount 0
  ++f.generation;
  ++s.content;
  ++m_in_use;
  if (m_bus.active()) {
    Event e{.kind = EventKind::FrameAlloc, .flags = uint8_t(kind == FrameKind::Table ? kEvTable : 0), .func = func};
    e.pfn = Pfn{n};
    e.gen = f.generation;
    e.aux = owner;
    m_bus.emit(std::move(e));
  }
  return Pfn{n};
}

Pfn PhysMem::alloc_contig(FrameKind kind, uint32_t owner, uint64_t first_index, uint32_t n, const char* func) {
  TLBSIM_CHECK(kind != FrameKind::Table, "alloc_contig is for data pages, not page tables");
  TLBSIM_CHECK(n > 0, "alloc_contig of zero frames");
  // n is below 2^32, so a first index below 2^52 cannot wrap.
  TLBSIM_CHECK(first_index >> kFrameIndexBits == 0 && (first_index + n) >> kFrameIndexBits == 0,
               "page index " << first_index << " + " << n << " is past any 64-bit address");
  sample_state();
  TLBSIM_CHECK(m_frames.size() + n <= m_cfg.max_frames, "out of physical memory (" << m_cfg.max_frames << " frames)");
  const auto first = static_cast<uint32_t>(m_frames.size());
  touch::write(Touch::Obj::Allocator, 0);
  for (uint32_t i = 0; i < n; ++i) {
    touch::frame(true, Pfn{first + i});
    m_frames.push_back(Slot{.f = Frame{.generation = 1,
                                       .owner = owner,
                                       .aux = (first_index + i) & ((uint64_t{1} << kFrameIndexBits) - 1),
                                       .kind = kind,
                                       .allocated = true},
                            .content = 1,
                            .word = 1});  // refcount 1, mapcount 0
    ++m_in_use;
    if (m_bus.active()) {
      Event e{.kind = EventKind::FrameAlloc, .func = func};
      e.pfn = Pfn{first + i};
      e.gen = 1;
      e.aux = owner;
      m_bus.emit(std::move(e));
    }
  }
  return Pfn{first};
}

void PhysMem::free(Pfn pfn, const char* func) {
  TLBSIM_CHECK(valid(pfn), "free of invalid pfn " << pfn.value());
  sample_state();
  touch::write(Touch::Obj::Allocator, 0);
  touch::frame(true, pfn);
  Slot& s = m_frames[pfn.value()];
  Frame& f = s.f;
  TLBSIM_CHECK(f.allocated, "double free of pfn " << pfn.value() << " gen " << f.generation);
  // free_pages_check(): a page still locked is a bad page; its lock holder had a reference.
  TLBSIM_CHECK(!f.locked, "free of locked pfn " << pfn.value());
  f.allocated = false;
  f.isolated = false;                                         // free_pages_prepare(): a page freed while isolated leaves the LRU's care
  if (s.word == kBigCounts) m_big_counts.erase(pfn.value());  // sampled above
  --m_in_use;
  if (f.kind == FrameKind::Table) {
    --m_tables_in_use;
    ++m_table_frees;
  }
  push_free(pfn.value());
  if (m_bus.active()) {
    Event e{.kind = EventKind::FrameFree, .flags = uint8_t(f.kind == FrameKind::Table ? kEvTable : 0), .func = func};
    e.pfn = pfn;
    e.gen = f.generation;
    e.aux = f.owner;
    m_bus.emit(std::move(e));
  }
}

const PhysMem::TableBody* PhysMem::walker_view(Pfn pfn) const {
  if (!valid(pfn)) return nullptr;
  touch::frame(false, pfn);
  const Frame& f = m_frames[pfn.value()].f;
  if (f.kind != FrameKind::Table || f.aux == kNoBody) return nullptr;
  return &m_bodies[f.aux];
}

std::optional<uint64_t> PhysMem::swap_cache(Pfn pfn) const {
  touch::frame(false, pfn);
  if (!m_frames[pfn.value()].f.swapcache) return std::nullopt;
  return m_swap_private.at(pfn.value());
}

void PhysMem::set_swap_cache(Pfn pfn, uint64_t slot) {
  touch::frame(true, pfn);
  sample_state();
  m_frames[pfn.value()].f.swapcache = true;
  m_swap_private[pfn.value()] = slot;
}

void PhysMem::clear_swap_cache(Pfn pfn) {
  touch::frame(true, pfn);
  sample_state();
  m_frames[pfn.value()].f.swapcache = false;
  m_swap_private.erase(pfn.value());
}

size_t PhysMem::state_bytes() const {
  // An unordered_map node: the key and value, the next pointer and the cached hash; its bucket.
  constexpr size_t kSwapNodeBytes = 2 * sizeof(uint64_t) + 2 * sizeof(void*);
  constexpr size_t kCountsNodeBytes = sizeof(uint64_t) + sizeof(Counts) + 2 * sizeof(void*);
  return m_frames.bytes() + m_big_counts.size() * kCountsNodeBytes + m_big_counts.bucket_count() * sizeof(void*) +
         m_bodies.size() * sizeof(TableBody) + m_free_bodies.capacity() * sizeof(uint32_t) + m_chunks.bytes() +
         m_swap_private.size() * kSwapNodeBytes + m_swap_private.bucket_count() * sizeof(void*);
}

void PhysMem::check_quiescent() const {
  for (size_t n = 0; n < m_frames.size(); ++n) {
    const Frame& f = m_frames[n].f;
    TLBSIM_CHECK(!f.locked, "pfn " << n << " is still locked after every thread finished");
    TLBSIM_CHECK(!(f.allocated && f.isolated), "pfn " << n << " is still off the LRU after every thread finished");
  }
}

void PhysMem::check_invariants() const {
  size_t in_use = 0, tables = 0;
  std::vector<uint8_t> seen_free(m_frames.size(), 0);
  size_t on_list = 0;
  uint32_t last = kNoFrame;
  for (uint32_t n = m_free_head; n != kNoFrame; n = m_frames[n].word) {
    TLBSIM_CHECK(n < m_frames.size(), "free list holds pfn " << n << " past the end");
    TLBSIM_CHECK(!seen_free[n], "pfn " << n << " is on the free list twice");  // so the walk ends
    TLBSIM_CHECK(!m_frames[n].f.allocated, "allocated pfn " << n << " is on the free list");
    seen_free[n] = 1;
    ++on_list;
    last = n;
  }
  TLBSIM_CHECK(on_list == m_free_count, "free list holds " << on_list << " frames but counts " << m_free_count);
  TLBSIM_CHECK(m_cfg.reuse == ReuseOrder::Lifo || last == m_free_tail,
               "free list tail " << m_free_tail << " is not its last frame " << last);
  std::vector<uint8_t> body_owner(m_bodies.size(), 0);
  for (uint32_t b : m_free_bodies) {
    TLBSIM_CHECK(b < m_bodies.size() && !body_owner[b], "table body " << b << " free twice");
    body_owner[b] = 1;
    for (unsigned c = 0; c < TableBody::kChunks; ++c)
      TLBSIM_CHECK(!m_bodies[b].chunk(c), "free table body " << b << " still holds a chunk of entries");
  }
  // As many chunks held by bodies or free as were made: a chunk lost, or held twice, changes the
  // count (only both at once would not).
  size_t chunks_held = m_chunks.free_chunks();
  for (const TableBody& b : m_bodies)
    for (unsigned c = 0; c < TableBody::kChunks; ++c) chunks_held += b.chunk(c) != nullptr;
  TLBSIM_CHECK(chunks_held == m_chunks.chunks(), m_chunks.chunks() << " table-entry chunks made but " << chunks_held << " held");
  size_t big = 0;
  for (size_t n = 0; n < m_frames.size(); ++n) {
    const Slot& s = m_frames[n];
    const Frame& f = s.f;
    if (f.allocated) {
      ++in_use;
      TLBSIM_CHECK(!seen_free[n], "pfn " << n << " allocated and free");
      TLBSIM_CHECK(!f.isolated || f.kind == FrameKind::Anon || f.kind == FrameKind::File,
                   "pfn " << n << " is isolated from the LRU but is not an LRU page");
      if (s.word == kBigCounts) {
        ++big;
        const auto it = m_big_counts.find(static_cast<uint32_t>(n));
        TLBSIM_CHECK(it != m_big_counts.end(), "pfn " << n << " has large counts kept nowhere");
        TLBSIM_CHECK(it->second.ref >= kSmallCount || it->second.map >= kSmallCount,
                     "pfn " << n << " keeps small counts " << it->second.ref << "/" << it->second.map << " aside");
      }
    } else {
      TLBSIM_CHECK(seen_free[n] || f.generation == 0, "pfn " << n << " is neither allocated nor free");
    }
    TLBSIM_CHECK(f.swapcache == m_swap_private.contains(static_cast<uint32_t>(n)),
                 "pfn " << n << (f.swapcache ? " is in the swap cache with no slot" : " has a swap slot but is in no swap cache"));
    if (f.kind == FrameKind::Table && f.aux != kNoBody) {
      if (f.allocated) ++tables;
      TLBSIM_CHECK(f.aux < m_bodies.size() && !body_owner[f.aux], "table body of pfn " << n << " shared");
      body_owner[f.aux] = 1;
    }
  }
  TLBSIM_CHECK(big == m_big_counts.size(), m_big_counts.size() << " frames' large counts kept but " << big << " frames have them");
  TLBSIM_CHECK(in_use == m_in_use, "in-use count " << m_in_use << " but " << in_use << " frames allocated");
  TLBSIM_CHECK(tables == m_tables_in_use, "table count mismatch");
}

}  // namespace tlbsim
