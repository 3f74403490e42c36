// SPDX-License-Identifier: MIT
#include "model/cpu.h"

#include "model/access_event.h"

namespace tlbsim {

Cpu::Cpu(CpuId id, CpuConfig cfg, PhysMem& mem)
    : m_id(id),
      m_cfg(cfg),
      m_mem(mem),
      m_tlb(cfg.tlb, Holder{HolderKind::CpuTlb, id.value()}, mem.bus()),
      m_pwc(cfg.walk_cache_entries, Holder{HolderKind::CpuWalkCache, id.value()}, mem.bus()) {}

namespace {
void emit_access(EventBus& bus, MmId mm, uint32_t tag, Vaddr va, bool write, Pfn pfn, Holder via, uint8_t walk_level = 0) {
  tlbsim::emit_access(
      bus,
      {.mm = mm, .tag = tag, .va = va, .write = write, .pfn = pfn, .via = via, .walk_level = walk_level, .func = write ? "store" : "load"});
}
void emit_fault(EventBus& bus, MmId mm, Vaddr va, bool write, const char* what) {
  touch_access(mm, va, false, kNoPfn);
  if (!bus.active()) return;
  Event e{.kind = EventKind::Fault, .flags = uint8_t((write ? kEvWrite : 0) | kEvUser), .mm = mm, .func = "exc_page_fault"};
  e.va = va.value();
  e.note = what;
  bus.emit(std::move(e));
}
}  // namespace

AccessResult Cpu::access(const WalkContext& ctx, Vaddr va, bool write) {
  EventBus& bus = m_mem.bus();
  // The lookup records what it read, a miss included (TranslationCache::lookup()).
  if (const CachedTranslation* c = m_tlb.lookup(ctx.tag, va)) {
    // A write through a clean entry makes the CPU walk again to set the PTE's dirty bit, and
    // that walk faults if the PTE no longer allows the write (SDM 4.8: D is set before the write).
    if (!write || (c->writable && c->dirty)) {
      const Pfn pfn = c->pfn_for(va.vpn());
      // A stale huge entry's window covers all 512 frames: whether any was freed decides it.
      if (c->huge) touch::frame(false, c->pfn, kPtrsPerTable);
      if (write) m_mem.write_content(pfn);
      // The entry's own mm: after an ASID/PCID is reused, a stale entry is another mm's translation.
      emit_access(bus, c->mm, ctx.tag, va, write, pfn, m_tlb.holder());
      return {AccessFault::None, pfn, true};
    }
    if (c->writable) {
      // Dirty assist: fall through to the walk below, which refills the entry.
    } else if (!m_cfg.fault_drops_entry) {
      emit_fault(bus, ctx.mm, va, write, "write to read-only TLB entry");
      return {AccessFault::WriteProtect, kNoPfn, true};
    } else {
      m_tlb.invalidate_range(ctx.tag, va.page().value(), va.page().value() + kPageSize, "permission fault drops TLB entry");
    }
  }
  WalkResult w = hw_walk(m_mem, ctx, va, write, &m_pwc, WalkParams{.func = "cpu page walk"});
  // x86 invalidates the TLB entries of a faulting address (SDM 4.10.4.2).
  if (w.fault != WalkFault::None && m_cfg.fault_drops_entry)
    m_tlb.invalidate_range(ctx.tag, va.page().value(), va.page().value() + kPageSize, "page fault drops TLB entry");
  switch (w.fault) {
    case WalkFault::None: break;
    case WalkFault::NotPresent: emit_fault(bus, ctx.mm, va, write, "not present"); return {AccessFault::NotPresent};
    // Only a walk with user_request set reports it; a user access that meets it ends in
    // handle_mm_fault()'s missing VMA, as a not-present one does.
    case WalkFault::Supervisor: emit_fault(bus, ctx.mm, va, write, "supervisor page"); return {AccessFault::NotPresent};
    case WalkFault::WriteProtect: emit_fault(bus, ctx.mm, va, write, "write protected"); return {AccessFault::WriteProtect};
    case WalkFault::StaleTable:
      emit_fault(bus, ctx.mm, va, write, "walk through a page-table page reused as data");
      return {AccessFault::StaleTable};
  }
  // The walk's mm: the context's, or the walk-cache entry's it resumed from (WalkResult::mm).
  m_tlb.fill(ctx.tag, w.mm, va, w.leaf_level == 2 ? w.leaf.pfn() : w.pfn_for(va.value()), w.leaf.writable(), w.leaf_level == 2,
             "cpu page walk", w.leaf.dirty());
  const Pfn pfn = w.pfn_for(va.value());
  if (write) m_mem.write_content(pfn);
  // A walk that resumed from a walk-cache entry used that entry: report it as the holder, with
  // its level unless the walker reported the walk already (a StaleTableWalk event: its table
  // page was freed or reused), so the detector counts a use of an entry whose table was
  // unlinked but not freed (move_normal_pmd() before the flush).
  const Holder via = w.walk_cache_level ? m_pwc.holder() : Holder{};
  emit_access(bus, w.mm, ctx.tag, va, write, pfn, via, w.stale_table ? 0 : w.walk_cache_level);
  return {AccessFault::None, pfn, false};
}

}  // namespace tlbsim
