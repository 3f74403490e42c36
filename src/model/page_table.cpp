// SPDX-License-Identifier: MIT
#include "model/page_table.h"

#include <algorithm>
#include <iterator>

#include "model/check.h"

namespace tlbsim {

PageTable::PageTable(PhysMem& mem, MmId mm, bool kernel) : m_mem(mem), m_mm(mm), m_kernel(kernel) {
  m_pgd = mem.alloc(FrameKind::Table, mm.value(), 4, kernel ? "swapper_pg_dir" : "pgd_alloc");
}

void PageTable::clone_kernel_pgds(const PageTable& init_mm) {
  for (unsigned i = kKernelPgdBoundary; i < kPtrsPerTable; ++i) {
    const Pte e{m_mem.entry(init_mm.pgd(), i)};
    if (e.none()) continue;
    set(PteRef{m_pgd, static_cast<uint16_t>(i), 4}, kernel_pgd_slot_addr(i), e, "pgd_ctor");
  }
}

PteRef PageTable::from_cursor(Vaddr va, unsigned level) const {
  if (level != 1 || (va.value() >> kPmdShift) != m_cursor_region) return {};
  record_cursor_path();
  return PteRef{m_cursor_table, static_cast<uint16_t>(table_index(va.value(), 1)), 1};
}

PteRef PageTable::walked_to(Vaddr va, unsigned level, Pfn table, const PteRef (&path)[3]) const {
  if (level == 1) {
    std::copy(std::begin(path), std::end(path), std::begin(m_cursor_path));
    m_cursor_region = va.value() >> kPmdShift;
    m_cursor_table = table;
  }
  return PteRef{table, static_cast<uint16_t>(table_index(va.value(), level)), static_cast<uint8_t>(level)};
}

uint64_t PageTable::none_entry_end(Vaddr va) const {
  const uint64_t span = lookup(va, 3).valid() ? kPudSize : kPudSize * kPtrsPerTable;
  const uint64_t next = (va.value() + span) & ~(span - 1);
  return next > va.value() ? next : UINT64_MAX;  // the last entry of the address space
}

PteRef PageTable::lookup(Vaddr va, unsigned level) const {
  if (const PteRef r = from_cursor(va, level); r.valid()) return r;
  Pfn t = m_pgd;
  PteRef path[3];
  for (unsigned l = 4; l > level; --l) {
    const auto idx = static_cast<uint16_t>(table_index(va.value(), l));
    path[4 - l] = PteRef{t, idx, static_cast<uint8_t>(l)};
    Pte e{m_mem.entry(t, idx)};
    if (!e.present() || e.huge()) return {};
    t = e.pfn();
  }
  return walked_to(va, level, t, path);
}

PteRef PageTable::alloc(Vaddr va, unsigned level, const char* func) {
  if (const PteRef r = from_cursor(va, level); r.valid()) return r;
  Pfn t = m_pgd;
  PteRef path[3];
  for (unsigned l = 4; l > level; --l) {
    PteRef r{t, static_cast<uint16_t>(table_index(va.value(), l)), static_cast<uint8_t>(l)};
    path[4 - l] = r;
    Pte e = get(r);
    TLBSIM_CHECK(!e.huge(), "alloc below a huge entry at " << hex(va.value()));
    if (!e.present()) {
      TLBSIM_CHECK(e.none(), "non-present non-none upper entry at " << hex(va.value()));
      Pfn nt = m_mem.alloc(FrameKind::Table, m_mm.value(), l - 1, func);
      ++m_tables;
      e = m_kernel ? Pte::kernel_table(nt) : Pte::table(nt);
      set(r, va, e, func);
    }
    t = e.pfn();
  }
  return walked_to(va, level, t, path);
}

void PageTable::recheck_live(const PteMap& m) const {
  TLBSIM_CHECK(m_mem.is_live_table(m.table) && m_mem.frame(m.table).generation == m.gen,
               "pfn " << m.table.value() << " is not a live page table");
  m.live_at = m_mem.table_frees();
}

void PageTable::emit_store(PteRef r, Vaddr va, Pte old, Pte v, const char* func) const {
  Event e{.kind = EventKind::PteStore, .level = r.level, .mm = m_mm, .func = func};
  const uint64_t mask = ~((uint64_t{1} << level_shift(r.level)) - 1);
  e.va = va.value() & mask;
  e.end = e.va + (uint64_t{1} << level_shift(r.level));
  e.old_val = old.raw();
  e.new_val = v.raw();
  e.pfn = r.table;
  e.aux = r.index;
  m_mem.bus().emit(std::move(e));
}

Pte PageTable::leaf(Vaddr va, unsigned* level_out) const {
  Pfn t = m_pgd;
  for (unsigned l = 4; l >= 1; --l) {
    Pte e{m_mem.entry(t, table_index(va.value(), l))};
    if (l == 1 || !e.present() || e.huge()) {
      if (level_out) *level_out = l;
      return (l == 1 || e.huge()) ? e : Pte{};
    }
    t = e.pfn();
  }
  return {};
}

namespace {
/// Slots [from, to) of table `t` and everything below them.
void check_table(const PhysMem& mem, Pfn t, unsigned level, MmId mm, size_t& count, unsigned from = 0, unsigned to = kPtrsPerTable) {
  TLBSIM_CHECK(mem.is_live_table(t), "page table of mm " << mm.value() << " references dead table pfn " << t.value());
  TLBSIM_CHECK(mem.frame(t).owner == mm.value(), "table pfn " << t.value() << " owned by another mm");
  ++count;
  if (level == 1) return;
  const auto* body = mem.walker_view(t);
  for (unsigned i = from; i < to; ++i) {
    Pte e{(*body)[i]};
    if (e.present() && !e.huge()) check_table(mem, e.pfn(), level - 1, mm, count);
  }
}
}  // namespace

void PageTable::check_invariants() const {
  size_t count = 0;
  // A user mm's PGD shares init_mm's kernel half; init_mm owns nothing below it.
  if (m_kernel)
    check_table(m_mem, m_pgd, 4, m_mm, count, kKernelPgdBoundary, kPtrsPerTable);
  else
    check_table(m_mem, m_pgd, 4, m_mm, count, 0, kKernelPgdBoundary);
  TLBSIM_CHECK(count + m_unlinked == m_tables,
               "mm " << m_mm.value() << " reaches " << count << " tables, holds " << m_unlinked << " unlinked, accounts " << m_tables);
}

}  // namespace tlbsim
