// SPDX-License-Identifier: MIT
#include "model/phys_mem.h"

#include <algorithm>

#include "model/check.h"

namespace tlbsim {

namespace {
constexpr uint32_t kNoBody = ~uint32_t{0};

/// Grow by an eighth instead of doubling: model state per page stays close to what is used.
template <class V>
void grow(V& v, size_t min_step) {
  if (v.size() < v.capacity()) return;
  v.reserve(v.capacity() + std::max<size_t>(v.capacity() / 8, min_step));
}
}  // namespace

Pfn PhysMem::alloc(FrameKind kind, uint32_t owner, uint64_t index, const char* func) {
  TLBSIM_CHECK(index >> kFrameIndexBits == 0, "page index " << index << " is past any 64-bit address");
  sample_state();
  uint32_t n;
  if (!m_free.empty()) {
    if (m_cfg.reuse == ReuseOrder::Lifo) {
      n = m_free.back();
      m_free.pop_back();
    } else {
      n = m_free.front();
      m_free.pop_front();
    }
  } else {
    TLBSIM_CHECK(m_frames.size() < m_cfg.max_frames, "out of physical memory (" << m_cfg.max_frames << " frames)");
    n = static_cast<uint32_t>(m_frames.size());
    grow(m_frames, 64);
    grow(m_content, 64);
    m_frames.push_back(Frame{.aux = kNoBody});
    m_content.push_back(0);
  }
  // The frame, its table slots (a table comes zeroed) and the free lists change.
  touch::write(Touch::Obj::Allocator, 0);
  touch::frame(true, Pfn{n});
  if (kind == FrameKind::Table) touch::table_page(true, Pfn{n});
  Frame& f = m_frames[n];
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
  f.refcount = 1;
  f.mapcount = 0;
  ++f.generation;
  ++m_content[n];
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
    grow(m_frames, 64);
    grow(m_content, 64);
    m_frames.push_back(Frame{.generation = 1,
                             .owner = owner,
                             .refcount = 1,
                             .mapcount = 0,
                             .aux = (first_index + i) & ((uint64_t{1} << kFrameIndexBits) - 1),
                             .kind = kind,
                             .allocated = true});
    m_content.push_back(1);
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
  Frame& f = m_frames[pfn.value()];
  TLBSIM_CHECK(f.allocated, "double free of pfn " << pfn.value() << " gen " << f.generation);
  // free_pages_check(): a page still locked is a bad page; its lock holder had a reference.
  TLBSIM_CHECK(!f.locked, "free of locked pfn " << pfn.value());
  f.allocated = false;
  f.isolated = false;  // free_pages_prepare(): a page freed while isolated leaves the LRU's care
  f.refcount = 0;
  f.mapcount = 0;
  --m_in_use;
  if (f.kind == FrameKind::Table) {
    --m_tables_in_use;
    ++m_table_frees;
  }
  m_free.push_back(pfn.value());
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
  const Frame& f = m_frames[pfn.value()];
  if (f.kind != FrameKind::Table || f.aux == kNoBody) return nullptr;
  return &m_bodies[f.aux];
}

std::optional<uint64_t> PhysMem::swap_cache(Pfn pfn) const {
  touch::frame(false, pfn);
  if (!m_frames[pfn.value()].swapcache) return std::nullopt;
  return m_swap_private.at(pfn.value());
}

void PhysMem::set_swap_cache(Pfn pfn, uint64_t slot) {
  touch::frame(true, pfn);
  sample_state();
  m_frames[pfn.value()].swapcache = true;
  m_swap_private[pfn.value()] = slot;
}

void PhysMem::clear_swap_cache(Pfn pfn) {
  touch::frame(true, pfn);
  sample_state();
  m_frames[pfn.value()].swapcache = false;
  m_swap_private.erase(pfn.value());
}

size_t PhysMem::state_bytes() const {
  // An unordered_map node: the key and value, the next pointer and the cached hash; its bucket.
  constexpr size_t kSwapNodeBytes = 2 * sizeof(uint64_t) + 2 * sizeof(void*);
  return m_frames.capacity() * sizeof(Frame) + m_content.capacity() * sizeof(uint32_t) + m_free.size() * sizeof(uint32_t) +
         m_bodies.size() * sizeof(TableBody) + m_free_bodies.capacity() * sizeof(uint32_t) + m_chunks.bytes() +
         m_swap_private.size() * kSwapNodeBytes + m_swap_private.bucket_count() * sizeof(void*);
}

void PhysMem::check_quiescent() const {
  for (size_t n = 0; n < m_frames.size(); ++n)
    TLBSIM_CHECK(!m_frames[n].locked, "pfn " << n << " is still locked after every thread finished");
}

void PhysMem::check_invariants() const {
  size_t in_use = 0, tables = 0;
  std::vector<uint8_t> seen_free(m_frames.size(), 0);
  for (uint32_t n : m_free) {
    TLBSIM_CHECK(n < m_frames.size(), "free list holds pfn " << n << " past the end");
    TLBSIM_CHECK(!seen_free[n], "pfn " << n << " is on the free list twice");
    TLBSIM_CHECK(!m_frames[n].allocated, "allocated pfn " << n << " is on the free list");
    seen_free[n] = 1;
  }
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
  for (size_t n = 0; n < m_frames.size(); ++n) {
    const Frame& f = m_frames[n];
    if (f.allocated) {
      ++in_use;
      TLBSIM_CHECK(!seen_free[n], "pfn " << n << " allocated and free");
      TLBSIM_CHECK(!f.isolated || f.kind == FrameKind::Anon || f.kind == FrameKind::File,
                   "pfn " << n << " is isolated from the LRU but is not an LRU page");
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
  TLBSIM_CHECK(in_use == m_in_use, "in-use count " << m_in_use << " but " << in_use << " frames allocated");
  TLBSIM_CHECK(tables == m_tables_in_use, "table count mismatch");
}

}  // namespace tlbsim
