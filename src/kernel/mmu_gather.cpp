// SPDX-License-Identifier: MIT
#include "kernel/mmu_gather.h"

#include <algorithm>

#include "kernel/arch_flush.h"
#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"
#include "kernel/page.h"
#include "kernel/swap.h"

namespace tlbsim::kernel {

namespace {
void adjust_range(MmuGather& tlb, uint64_t addr, uint64_t size) {
  tlb.start = std::min(tlb.start, addr);
  tlb.end = std::max(tlb.end, addr + size);
}

void __tlb_gather_mmu(Kernel& k, MmuGather& tlb, AddressSpace& mm, bool fullmm) {
  tlb = MmuGather{};
  tlb.mm = &mm;
  tlb.fullmm = fullmm;
  __tlb_reset_range(tlb);
  mm.inc_tlb_flush_pending();  // inc_tlb_flush_pending()
  trace_call(k, fullmm ? "tlb_gather_mmu_fullmm" : "tlb_gather_mmu", mm.id());
}

/// The arch tlb_flush() (arch/x86/include/asm/tlb.h, arch/arm64/include/asm/tlb.h).
Task<> tlb_flush(Kernel& k, MmuGather& tlb) {
  AddressSpace& mm = *tlb.mm;
  if (k.config().arch == Arch::Arm64) {
    const bool last_level = !tlb.freed_tables;
    if (tlb.fullmm) {
      // The ASID is not reused without a full invalidation, so only freed tables need one.
      if (!last_level) co_await flush_tlb_mm(k, mm);
      co_return;
    }
    const uint64_t stride = (tlb.cleared_pmds && !tlb.cleared_ptes) ? kPmdSize : kPageSize;
    co_await arm64_flush_tlb_range(k, mm, VaRange{tlb.start, tlb.end}, stride, last_level);
    co_return;
  }
  uint64_t start = tlb.start, end = tlb.end;
  if (tlb.fullmm || tlb.need_flush_all) {
    start = 0;
    end = kFlushAll;
  }
  const unsigned stride_shift = (tlb.cleared_pmds && !tlb.cleared_ptes) ? kPmdShift : kPageShift;
  co_await flush_tlb_mm_range(k, mm, VaRange{start, end}, stride_shift, tlb.freed_tables);
}

/// tlb_table_flush(): tlb_table_invalidate() then free the batch (directly; an RCU grace
/// period protects lockless software walkers, not hardware ones).
void tlb_table_flush(Kernel& k, MmuGather& tlb) {
  for (Pfn t : tlb.tables) k.mem().free(t, "tlb_remove_table_rcu");
  tlb.tables.clear();
}

/// tlb_batch_pages_flush() -> free_pages_and_swap_cache(): drop the gather's references.
void tlb_batch_pages_flush(Kernel& k, MmuGather& tlb) {
  for (Pfn p : tlb.pages) {
    free_swap_cache(k, p);
    put_page(k, p, "free_pages_and_swap_cache");
  }
  tlb.pages.clear();
}
}  // namespace

void tlb_gather_mmu(Kernel& k, MmuGather& tlb, AddressSpace& mm) { __tlb_gather_mmu(k, tlb, mm, false); }
void tlb_gather_mmu_fullmm(Kernel& k, MmuGather& tlb, AddressSpace& mm) { __tlb_gather_mmu(k, tlb, mm, true); }

void __tlb_reset_range(MmuGather& tlb) {
  if (tlb.fullmm) {
    tlb.start = tlb.end = kFlushAll;
  } else {
    tlb.start = kTaskSize;
    tlb.end = 0;
  }
  tlb.freed_tables = false;
  tlb.cleared_ptes = tlb.cleared_pmds = tlb.cleared_puds = false;
}

void tlb_remove_tlb_entry(MmuGather& tlb, Vaddr addr_va) {
  const uint64_t addr = addr_va.value();
  adjust_range(tlb, addr, kPageSize);
  tlb.cleared_ptes = true;
}

void tlb_remove_pmd_tlb_entry(MmuGather& tlb, Vaddr addr_va) {
  const uint64_t addr = addr_va.value();
  adjust_range(tlb, addr, kPmdSize);
  tlb.cleared_pmds = true;
}

void tlb_flush_pte_range(MmuGather& tlb, Vaddr addr_va, uint64_t size) {
  const uint64_t addr = addr_va.value();
  adjust_range(tlb, addr, size);
  tlb.cleared_ptes = true;
}

void tlb_flush_pmd_range(MmuGather& tlb, Vaddr addr_va, uint64_t size) {
  const uint64_t addr = addr_va.value();
  adjust_range(tlb, addr, size);
  tlb.cleared_pmds = true;
}

bool __tlb_remove_page(Kernel& k, MmuGather& tlb, Pfn pfn) {
  tlb.pages.push_back(pfn);
  return tlb.pages.size() >= k.config().gather_batch_pages;
}

void free_table_tlb(Kernel&, MmuGather& tlb, Pfn table, unsigned level, Vaddr addr_va) {
  const uint64_t addr = addr_va.value();
  tlb.mm->pt().note_table_freed();  // unlinked from the tree; the gather owns it until the flush
  // pte_free_tlb(): __tlb_adjust_range(addr, PAGE_SIZE), freed_tables, and the level above the
  // freed table is cleared (a PTE table hangs off a PMD entry).
  adjust_range(tlb, addr, kPageSize);
  tlb.freed_tables = true;
  if (level == 1)
    tlb.cleared_pmds = true;
  else
    tlb.cleared_puds = true;
  tlb.tables.push_back(table);
}

Task<> tlb_flush_mmu_tlbonly(Kernel& k, MmuGather& tlb) {
  // 0758cd830494: nothing recorded, nothing to flush.
  if (!tlb.needs_flush()) co_return;
  co_await tlb_flush(k, tlb);
  if (k.policy().sec_inv_from_tlbonly) {
    uint64_t start = tlb.start, end = tlb.end;
    if (k.policy().tlbonly_sends_full_range && tlb.fullmm) {
      start = 0;
      end = kFlushAll;
    }
    co_await mmu_notifier_invalidate_range(k, *tlb.mm, VaRange{start, end}, "tlb_flush_mmu_tlbonly");
  }
  __tlb_reset_range(tlb);
}

Task<> tlb_flush_mmu(Kernel& k, MmuGather& tlb) {
  co_await tlb_flush_mmu_tlbonly(k, tlb);
  if (!tlb.tables.empty() || !tlb.pages.empty()) {
    co_await yield_point("tlb_flush_mmu_free");
    tlb_table_flush(k, tlb);
    tlb_batch_pages_flush(k, tlb);
  }
}

Task<> tlb_finish_mmu(Kernel& k, MmuGather& tlb) {
  co_await yield_point("tlb_finish_mmu");
  AddressSpace& mm = *tlb.mm;
  trace_call(k, "tlb_finish_mmu", mm.id(), VaRange{tlb.start, tlb.end});
  // mm_tlb_flush_nested(): another gatherer is active on this mm. Flush everything, and say
  // tables were freed so arm64 also drops walk caches (7a30df49f63a). __tlb_reset_range() under
  // fullmm is what makes start = end = ~0.
  if (k.policy().tlb_finish_nested_flush && mm.tlb_flush_pending() > 1) {
    trace_call(k, "mm_tlb_flush_nested", mm.id());
    tlb.fullmm = true;
    __tlb_reset_range(tlb);
    tlb.freed_tables = true;
  }
  co_await tlb_flush_mmu(k, tlb);
  mm.dec_tlb_flush_pending();  // dec_tlb_flush_pending()
}

void tlb_start_vma(Kernel&, MmuGather& tlb, const Vma& vma) {
  if (tlb.fullmm) return;
  tlb.vma_pfn = vma.pfnmap();
}

Task<> tlb_end_vma(Kernel& k, MmuGather& tlb, const Vma&) {
  if (tlb.fullmm) co_return;
  // b67fbebd4cf9 (CVE-2022-39188): flush before the PFNMAP VMA is unlinked from i_mmap; on x86
  // (MMU_GATHER_MERGE_VMAS) only those VMAs flush here. arm64 does not select MERGE_VMAS.
  if (tlb.vma_pfn || k.config().arch == Arch::Arm64) co_await tlb_flush_mmu_tlbonly(k, tlb);
}

}  // namespace tlbsim::kernel
