// SPDX-License-Identifier: MIT
#include "kernel/arch_flush.h"

#include <bit>

#include "kernel/mmu_notifier.h"
#include "model/saturating.h"

namespace tlbsim::kernel {

namespace {

enum class PwcScope { Keep, Range, All };

/// The hardware effect on every CPU, plus its cost (local flush, IPIs to the rest of mm_cpumask).
void cpu_flush(Kernel& k, AddressSpace& mm, VaRange range, PwcScope pwc, const char* func, const char* how) {
  const bool full = range.is_all();
  const uint64_t start = range.lo(), end = range.hi();
  const uint64_t pages = full ? 0 : (end - start + kPageSize - 1) >> kPageShift;
  for (unsigned c = 0; c < k.cpus(); ++c) {
    Cpu& cpu = k.cpu(c);
    if (full) {
      cpu.tlb().invalidate_tag(mm.asid().value(), func);
    } else {
      cpu.tlb().invalidate_range(mm.asid().value(), start, end, func);
    }
    if (full || pwc == PwcScope::All)
      cpu.walk_cache().invalidate_tag(mm.asid().value(), func);
    else if (pwc == PwcScope::Range)
      cpu.walk_cache().invalidate_range(mm.asid().value(), start, end, func);
  }
  const auto& cost = k.config().cost;
  const int remote = std::max(0, std::popcount(mm.cpumask()) - 1);
  uint64_t ns = full ? cost.cpu_full_flush : sat_mul(pages, cost.cpu_invlpg);
  if (remote > 0) ns = sat_add(ns, sat_add(cost.ipi_first, sat_mul(uint64_t(remote - 1), cost.ipi_each)));
  auto& ctr = k.cpu_counters();
  ++ctr.cpu_flushes;
  ctr.cpu_flush_ns = sat_add(ctr.cpu_flush_ns, ns);
  k.bus().advance(ns);
  if (k.bus().active()) {
    Event e{.kind = EventKind::CpuFlush, .mm = mm.id(), .tag = mm.asid().value(), .func = func};
    e.va = start;
    e.end = end;
    e.note = how;
    k.bus().emit(std::move(e));
  }
}

/// SMMUv3 with BTM snoops broadcast TLBIs (arm64 only; x86 IOMMUs never do).
void btm_snoop(Kernel& k, AddressSpace& mm, VaRange range, bool leaf_only) {
  if (k.config().arch != Arch::Arm64 || !mm.pasid()) return;
  for (unsigned i = 0; i < k.iommus(); ++i) k.iommu(i).snoop_cpu_tlbi(mm.pasid()->value(), range.lo(), range.hi(), leaf_only);
}

Task<> secondary(Kernel& k, AddressSpace& mm, VaRange range, const char* site) {
  if (k.policy().sec_inv_from_arch_flush) co_await mmu_notifier_arch_invalidate_secondary_tlbs(k, mm, range, site);
}

/// An arm64 *_nosync() flush followed by its dsb(ish): the TLBIs are issued, the notifier runs
/// (`site`), and only the DSB waits for the TLBIs to complete on every CPU and in an SMMU that
/// snoops them (BTM). The model applies a TLBI's effect at that completion, the latest point the
/// architecture allows. When a subscriber heard the notifier, a device may translate before the
/// DSB: its ATC was just invalidated, and with BTM the SMMU TLB may still answer from the entry
/// the TLBI is about to remove (mainline primer B5; Will Deacon's review of the v6.9 split).
Task<> notify_then_dsb(Kernel& k, AddressSpace& mm, VaRange range, PwcScope pwc, const char* func, const char* how, const char* site) {
  co_await secondary(k, mm, range, site);
  if (k.policy().sec_inv_from_arch_flush && mm_has_notifiers(k, mm)) co_await yield_point("dsb(ish)");
  cpu_flush(k, mm, range, pwc, func, how);
  btm_snoop(k, mm, range, pwc == PwcScope::Keep);
}

Task<> arm64_flush_tlb_mm(Kernel& k, AddressSpace& mm) {
  // dsb(ishst); TLBI ASIDE1IS; dsb(ish)
  cpu_flush(k, mm, VaRange::all(), PwcScope::All, "flush_tlb_mm", "TLBI ASIDE1IS");
  btm_snoop(k, mm, VaRange::all(), false);
  co_await secondary(k, mm, VaRange::all(), "flush_tlb_mm");
}

}  // namespace

Task<> flush_tlb_mm_range(Kernel& k, AddressSpace& mm, VaRange range, unsigned stride_shift, bool freed_tables) {
  (void)freed_tables;  // x86 INVLPG drops every paging-structure-cache entry of the PCID anyway
  const uint64_t start = range.lo(), end = range.hi();
  VaRange flush = range;
  if (end == kFlushAll || ((end - start) >> stride_shift) > k.config().tlb_single_page_flush_ceiling) flush = VaRange::all();
  // inc_mm_tlb_gen(); flush_tlb_multi() to mm_cpumask; the local flush_tlb_func().
  cpu_flush(k, mm, flush, PwcScope::All, "flush_tlb_mm_range", flush.is_all() ? "full flush" : "INVLPG per page");
  // 6bbd42e2df8f: the notifier call sits at the very end. Up to v6.14 the function had widened
  // its own start/end, so the IOMMU got (0, -1); from 4a02ed8e1cc3 (v6.15) the widening is in
  // get_flush_tlb_info() and the notifier gets the caller's range.
  if (k.policy().x86_notifier_caller_range)
    co_await secondary(k, mm, range, "flush_tlb_mm_range");
  else
    co_await secondary(k, mm, flush, "flush_tlb_mm_range");
}

Task<> arm64_flush_tlb_range(Kernel& k, AddressSpace& mm, VaRange range, uint64_t stride, bool last_level) {
  const uint64_t start = range.lo() & ~(stride - 1);
  const uint64_t end = (range.hi() + stride - 1) & ~(stride - 1);
  const VaRange aligned{start, end};
  const uint64_t pages = (end - start) >> kPageShift;
  constexpr uint64_t kMaxTlbiOps = 512;                       // PTRS_PER_PTE
  constexpr uint64_t kMaxTlbiRangePages = uint64_t{1} << 21;  // num = 31, scale = 3
  if ((!k.config().arm64_tlbi_range && (end - start) >= kMaxTlbiOps * stride) || pages >= kMaxTlbiRangePages) {
    co_await arm64_flush_tlb_mm(k, mm);  // notifies after its DSB in every release
    co_return;
  }
  const PwcScope pwc = last_level ? PwcScope::Keep : PwcScope::Range;
  const char* how = last_level ? "TLBI VALE1IS per page" : "TLBI VAE1IS per page";
  if (k.policy().arm64_range_notify_before_dsb) {
    // v6.9 ("arm64/mm: Split __flush_tlb_range() to elide trailing DSB"):
    // __flush_tlb_range_nosync() issues the TLBIs and notifies; __flush_tlb_range() adds dsb(ish).
    co_await notify_then_dsb(k, mm, aligned, pwc, "__flush_tlb_range", how, "__flush_tlb_range_nosync");
    co_return;
  }
  // 6.6 to 6.8: the notifier after the final DSB. f7edb07ad7c6's empty-range bug is not
  // modelled (performance only).
  cpu_flush(k, mm, aligned, pwc, "__flush_tlb_range", how);
  btm_snoop(k, mm, aligned, last_level);
  co_await secondary(k, mm, aligned, "__flush_tlb_range");
}

Task<> flush_tlb_mm(Kernel& k, AddressSpace& mm) {
  if (k.config().arch == Arch::Arm64)
    co_await arm64_flush_tlb_mm(k, mm);
  else
    co_await flush_tlb_mm_range(k, mm, VaRange::all(), kPageShift, true);
}

Task<> flush_tlb_range(Kernel& k, AddressSpace& mm, VaRange range) {
  if (k.config().arch == Arch::Arm64)
    co_await arm64_flush_tlb_range(k, mm, range, kPageSize, false);
  else
    co_await flush_tlb_mm_range(k, mm, range, kPageShift, false);
}

Task<> flush_tlb_page(Kernel& k, AddressSpace& mm, Vaddr addr) {
  const VaRange page = VaRange::page_of(addr);
  if (k.config().arch == Arch::Arm64) {
    // __flush_tlb_page_nosync() issues the TLBI and, since 6bbd42e2df8f (6.6), notifies;
    // flush_tlb_page() adds dsb(ish).
    co_await notify_then_dsb(k, mm, page, PwcScope::Keep, "flush_tlb_page", "TLBI VALE1IS", "__flush_tlb_page_nosync");
  } else {
    co_await flush_tlb_mm_range(k, mm, page, kPageShift, false);
  }
}

Task<> flush_pmd_tlb_range(Kernel& k, AddressSpace& mm, VaRange range) {
  if (k.config().arch == Arch::Arm64)
    co_await arm64_flush_tlb_range(k, mm, range, kPmdSize, false);
  else
    co_await flush_tlb_mm_range(k, mm, range, kPmdShift, false);
}

Task<> arch_tlbbatch_add_pending(Kernel& k, TlbBatch& batch, AddressSpace& mm, Vaddr addr) {
  batch.flush_required = true;
  batch.cpumask |= mm.cpumask();
  if (k.config().arch == Arch::Arm64) {
    // __flush_tlb_page_nosync(): the TLBI is issued now, completed by the DSB in
    // arch_tlbbatch_flush(); FIXED's notifier call is inside it.
    batch.pages.emplace_back(mm.id().value(), addr.page().value());
    co_await secondary(k, mm, VaRange::page_of(addr), "__flush_tlb_page_nosync");
  } else {
    // inc_mm_tlb_gen(); cpumask_or(); FIXED (v3 of the series): (0, -1) because the batch flush
    // has no mm to pass.
    batch.mms.insert(mm.id().value());
    co_await secondary(k, mm, VaRange::all(), "arch_tlbbatch_add_pending");
  }
}

void arch_tlbbatch_flush(Kernel& k, TlbBatch& batch) {
  if (!batch.flush_required) return;
  if (k.config().arch == Arch::Arm64) {
    for (auto [mmid, addr] : batch.pages) {
      AddressSpace& mm = k.mm(MmId{mmid});
      const VaRange page = VaRange::page_of(Vaddr{addr});
      cpu_flush(k, mm, page, PwcScope::Keep, "arch_tlbbatch_flush", "dsb(ish) completes TLBI VALE1IS");
      btm_snoop(k, mm, page, true);
    }
  } else {
    for (uint16_t mmid : batch.mms)
      cpu_flush(k, k.mm(MmId{mmid}), VaRange::all(), PwcScope::All, "arch_tlbbatch_flush", "flush_tlb_multi full flush");
  }
  batch = TlbBatch{};
}

Task<> flush_tlb_batched_pending(Kernel& k, AddressSpace& mm) {
  if (!mm.tlb_flush_batched()) co_return;
  // arch_flush_tlb_batched_pending(): x86 flush_tlb_mm(); arm64 up to v6.15 only dsb(ish),
  // which does not complete another CPU's TLBIs; flush_tlb_mm() from 4b634918384c (v6.16).
  if (k.config().arch == Arch::X86 || k.policy().arm64_batched_pending_flush_mm) co_await flush_tlb_mm(k, mm);
  mm.set_tlb_flush_batched(false);
}

}  // namespace tlbsim::kernel
