// SPDX-License-Identifier: MIT
#include "model/walker.h"

#include "model/page_table.h"

namespace tlbsim {

WalkResult hw_walk(PhysMem& mem, const WalkContext& ctx, Vaddr va, bool write, WalkCache* pwc, const WalkParams& p) {
  WalkResult r;
  EventBus& bus = mem.bus();
  Pfn t = ctx.root;
  unsigned level = 4;
  // _PAGE_USER of every entry so far: a paging-structure cache entry keeps its path's (Intel
  // SDM Vol. 3A 4.10.3.1), so a walk resumed from one knows it too.
  bool user = true;
  // The kernel half's tables below the PGD are init_mm's: their entries are named by it, as the
  // kernel's stores to them are.
  const bool kernel_half = is_kernel_half(va.value());
  MmId owner = kernel_half ? kInitMm : ctx.mm;
  r.mm = ctx.mm;
  if (pwc && pwc->enabled()) {
    if (const WalkCacheEntry* w = pwc->lookup(ctx.tag, va.value())) {
      t = w->table;
      level = w->level - 1u;
      r.walk_cache_level = w->level;
      if (!kernel_half) owner = r.mm = w->mm;
      user = w->user;
      const Frame& f = mem.frame(t);
      if (!f.allocated || f.kind != FrameKind::Table || f.generation != w->table_gen) {
        r.stale_table = true;
        const bool data = mem.walker_view(t) == nullptr;
        if (bus.active()) {
          Event e{
              .kind = EventKind::StaleTableWalk, .level = w->level, .holder = pwc->holder(), .mm = w->mm, .tag = ctx.tag, .func = p.func};
          e.va = va.value();
          e.pfn = t;
          e.gen = w->table_gen;
          e.note = !f.allocated ? "table page freed" : data ? "table page reused as data" : "table page reused as another table";
          bus.emit(std::move(e));
        }
        if (data) {
          r.fault = WalkFault::StaleTable;
          return r;
        }
      }
    }
  }
  struct Pending {
    uint8_t level;
    Pfn table;
    uint32_t gen;
    bool user;
  } pending[3];
  unsigned npending = 0;
  for (;; --level) {
    const auto* body = mem.walker_view(t);
    if (!body) {
      r.fault = WalkFault::StaleTable;
      return r;
    }
    const unsigned idx = table_index(va.value(), level);
    // The slot is read whether the table is live or a freed page still holding its entries.
    touch::table_slot(false, t, idx);
    Pte e{(*body)[idx]};
    if (!e.present()) {
      r.fault = WalkFault::NotPresent;
      r.leaf = e;
      r.leaf_level = static_cast<uint8_t>(level);
      break;
    }
    user = user && e.user();
    if (level == 1 || e.huge()) {
      r.leaf = e;
      r.leaf_level = static_cast<uint8_t>(level);
      if (p.user_request && !user)
        r.fault = WalkFault::Supervisor;
      else if (write && !e.writable())
        r.fault = WalkFault::WriteProtect;
      if (r.fault == WalkFault::None && p.set_access_dirty && !r.stale_table) {
        Pte ne = e.with(Pte::kAccessed | (write ? Pte::kDirty : 0));
        if (ne != e) {
          // The hardware A/D update is an atomic store into the table page.
          mem.entry_mut(t, idx) = ne.raw();
          if (touch::recording()) {
            const uint64_t lo = va.value() & ~((uint64_t{1} << level_shift(level)) - 1);
            touch::write(Touch::Obj::PtRange, r.mm.value(), lo, lo + (uint64_t{1} << level_shift(level)));
          }
          r.leaf = ne;
          if (bus.active()) {
            Event ev{.kind = EventKind::PteStore, .level = uint8_t(level), .mm = r.mm, .func = "hardware A/D update"};
            ev.va = va.value() & ~((uint64_t{1} << level_shift(level)) - 1);
            ev.end = ev.va + (uint64_t{1} << level_shift(level));
            ev.old_val = e.raw();
            ev.new_val = ne.raw();
            ev.pfn = t;
            ev.aux = idx;
            bus.emit(std::move(ev));
          }
        }
      }
      break;
    }
    pending[npending++] = Pending{static_cast<uint8_t>(level), e.pfn(), mem.frame(e.pfn()).generation, user};
    t = e.pfn();
  }
  const bool keep =
      r.fault == WalkFault::None || (r.fault == WalkFault::Supervisor ? p.cache_nonleaf_on_supervisor_fault : p.cache_nonleaf_on_fault);
  if (pwc && pwc->enabled() && keep)
    for (unsigned i = 0; i < npending; ++i)
      pwc->fill(ctx.tag, owner, va.value(), pending[i].level, pending[i].table, pending[i].gen, p.func, pending[i].user);
  return r;
}

}  // namespace tlbsim
