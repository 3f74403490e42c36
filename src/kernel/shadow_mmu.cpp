// SPDX-License-Identifier: MIT
#include "kernel/shadow_mmu.h"

#include "kernel/exit.h"
#include "kernel/fault.h"
#include "kernel/locking.h"
#include "kernel/outcome.h"
#include "kernel/page.h"
#include "model/access_event.h"
#include "model/check.h"

namespace tlbsim::kernel {

namespace {
void emit_entry(Kernel& k, EventKind kind, Holder h, MmId mm, uint64_t va, const ShadowMmu::Entry& e, const char* func) {
  if (!k.bus().active()) return;
  Event ev{.kind = kind, .flags = uint8_t(e.writable ? kEvWrite : 0), .level = 1, .holder = h, .mm = mm, .func = func};
  ev.va = va;
  ev.end = va + kPageSize;
  ev.pfn = e.pfn;
  k.bus().emit(std::move(ev));
}
}  // namespace

std::string ShadowMmu::name() const { return "shadow-mmu(" + std::to_string(m_index) + ")"; }

void ShadowMmu::drop_range(Kernel& k, MmId mm, VaRange range, const char* func) {
  const uint64_t start = range.lo(), end = range.hi();
  if (end <= start) return;
  touch::cache_entries(false, holder(), start, end);
  auto it = m_entries.lower_bound(start >> kPageShift);
  const uint64_t last = (end - 1) >> kPageShift;
  while (it != m_entries.end() && it->first <= last) {
    touch::cache_entries(true, holder(), it->first << kPageShift, (it->first + 1) << kPageShift);
    emit_entry(k, EventKind::Drop, holder(), mm, it->first << kPageShift, it->second, func);
    it = m_entries.erase(it);
  }
}

void ShadowMmu::invalidate_range_start(Kernel& k, AddressSpace& mm, VaRange range) {
  touch::cache_sequence(true, holder());
  ++m_in_progress;  // kvm_mmu_invalidate_begin(): faults now retry
  drop_range(k, mm.id(), range, "kvm_unmap_gfn_range");
}

void ShadowMmu::invalidate_range_end(Kernel&, AddressSpace&, VaRange) {
  // kvm_mmu_invalidate_end(): the sequence first, so a fault that sampled it before the start
  // sees a change even once in_progress is back to zero.
  touch::cache_sequence(true, holder());
  ++m_seq;
  TLBSIM_CHECK(m_in_progress > 0, name() << ": invalidate_range_end without a start");
  --m_in_progress;
}

Task<> ShadowMmu::release(Kernel& k, AddressSpace& mm) {
  drop_range(k, mm.id(), VaRange::all(), "kvm_mmu_notifier_release");
  co_return;
}

void ShadowMmu::check_invariants() const {
  TLBSIM_CHECK(m_in_progress >= 0, name() << ": negative invalidations in progress");
  // Not a structured binding: TLBSIM_CHECK's message is a lambda, and clang 14 cannot capture one.
  for (const auto& entry : m_entries) TLBSIM_CHECK(entry.second.pfn != kNoPfn, name() << ": entry without a pfn at vpn " << entry.first);
}

const ShadowMmu::Entry* ShadowMmu::lookup(Vaddr va) const {
  touch::cache_entries(false, holder(), va.page().value(), va.page().value() + kPageSize);
  auto it = m_entries.find(va.vpn());
  return it == m_entries.end() ? nullptr : &it->second;
}

void ShadowMmu::install(Kernel& k, MmId mm, Vaddr va, Pfn pfn, bool writable, const char* func) {
  const Entry e{pfn, writable};
  touch::cache_entries(true, holder(), va.page().value(), va.page().value() + kPageSize);
  m_entries[va.vpn()] = e;
  emit_entry(k, EventKind::Fill, holder(), mm, va.page().value(), e, func);
}

namespace {

void emit_access(Kernel& k, const ShadowMmu& s, MmId mm, uint64_t addr, bool write, Pfn pfn) {
  // As a CPU's or a device's access: the detector judges it against the PTE and the frame.
  tlbsim::emit_access(
      k.bus(),
      {.mm = mm, .va = Vaddr{addr}, .write = write, .pfn = pfn, .via = s.holder(), .func = write ? "shadow store" : "shadow load"});
}

/// What GUP found: the page (with an extra reference) or kNoPfn.
struct Gup {
  Pfn pfn = kNoPfn;
  bool writable = false;
};

/// follow_page_pte()/follow_huge_pmd(): read the leaf under its PTL and take a reference if it
/// allows the access (a write needs a writable, dirty PTE, as FOLL_WRITE does).
Task<Gup> follow_page(Kernel& k, AddressSpace& mm, uint64_t page, bool write) {
  unsigned level = 1;
  mm.pt().leaf(Vaddr{page}, &level);
  const PteRef r = mm.pt().lookup(Vaddr{page}, level == 2 ? 2 : 1);
  if (!r.valid()) co_return Gup{};
  co_await lock(k, k.ptl(r.table), LockMode::Write, level == 2 ? "pmd_lock" : "pte_offset_map_lock");
  Gup g;
  // Re-read under the lock: the table could have been detached meanwhile.
  const PteRef again = mm.pt().lookup(Vaddr{page}, level == 2 ? 2 : 1);
  const Pte pte = mm.pt().get(r);
  const bool usable = again.valid() && again.table == r.table && pte.present() && (level == 1 || pte.huge()) && !pte.special() &&
                      (!write || (pte.writable() && pte.dirty()));
  if (usable) {
    g.pfn = level == 2 ? Pfn{pte.pfn().value() + uint32_t((page >> kPageShift) & 511)} : pte.pfn();
    // A write fault maps writable; a read maps read-only so the first device write comes back
    // through the primary fault path and dirties the PTE.
    g.writable = write;
    get_page(k, g.pfn);
  }
  unlock(k, k.ptl(r.table), LockMode::Write, level == 2 ? "spin_unlock" : "pte_unmap_unlock");
  co_return g;
}

}  // namespace

Task<> shadow_access(Kernel& k, ShadowMmu& s, AddressSpace& mm, Vaddr addr_va, bool write, unsigned max_faults) {
  const uint64_t addr = addr_va.value();
  const uint64_t page = addr & ~(kPageSize - 1);
  for (unsigned n = 0; n <= max_faults; ++n) {
    co_await yield_point(write ? "shadow store" : "shadow load");
    if (const ShadowMmu::Entry* e = s.lookup(Vaddr{page}); e && (!write || e->writable)) {
      if (write) k.mem().write_content(e->pfn);
      emit_access(k, s, mm.id(), addr, write, e->pfn);
      co_return;
    }
    // kvm_faultin_pfn(): never start while an invalidation is in progress (its entries would be
    // zapped at once or be stale), then sample the sequence.
    co_await wait_until("mmu_invalidate_retry (in progress)", [&s] { return s.in_progress() == 0; });
    const uint64_t mmu_seq = s.seq();
    // A reference on the mm until the entry is installed, as HMM's dmirror_fault() holds one
    // from mmget_not_zero() to mmput() (and a vCPU thread has, being one of the process's
    // threads, until its exit kills it): no fault once __mmput() has begun, whose exit_mmap()
    // may have zapped the range already. Taken in the step that gets mmap_read_lock, as
    // device_dma()'s page request does (kernel/fault.cpp).
    co_await mmap_read_lock(k, mm);
    if (!mmget_not_zero(mm)) {
      mmap_read_unlock(k, mm);
      fault_rejected(k, "kvm_faultin_pfn", mm.id(), Vaddr{page}, s.holder().index, "-EFAULT: mmget_not_zero");
      co_return;
    }
    Gup g = co_await follow_page(k, mm, page, write);
    if (g.pfn == kNoPfn) {
      // Not present or not enough: the primary fault path (get_user_pages() -> handle_mm_fault()).
      const FaultResult r = co_await handle_mm_fault(k, mm, Vaddr{page}, write);
      if (r == FaultResult::Sigsegv) {
        mmap_read_unlock(k, mm);
        co_await mmput(k, mm);
        fault_rejected(k, "kvm_faultin_pfn", mm.id(), Vaddr{page}, s.holder().index, "-EFAULT");
        co_return;
      }
      if (r == FaultResult::Handled) g = co_await follow_page(k, mm, page, write);
    }
    mmap_read_unlock(k, mm);
    if (g.pfn == kNoPfn) {
      co_await mmput(k, mm);
      continue;
    }
    co_await yield_point("mmu_invalidate_retry");
    // Under kvm->mmu_lock: an invalidation that started (in_progress) or ended (seq) since the
    // sample may have zapped what the PTE read saw.
    if (s.in_progress() > 0 || s.seq() != mmu_seq) {
      trace_call(k, "mmu_invalidate_retry: retry", mm.id(), VaRange{page, page + kPageSize});
    } else {
      s.install(k, mm.id(), Vaddr{page}, g.pfn, g.writable, "kvm_tdp_mmu_map");
    }
    put_page(k, g.pfn, "kvm_release_pfn_clean");
    co_await mmput(k, mm);
  }
  if (k.bus().active()) {
    Event e{.kind = EventKind::Fault,
            .flags = uint8_t((write ? kEvWrite : 0) | kEvGaveUp),
            .holder = s.holder(),
            .mm = mm.id(),
            .func = "kvm_mmu_page_fault"};
    e.va = addr;
    e.note = "livelock: " + std::to_string(max_faults) + " faults without progress";
    k.bus().emit(std::move(e));
  }
}

}  // namespace tlbsim::kernel
