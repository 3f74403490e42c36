// SPDX-License-Identifier: MIT
#pragma once
/// struct mmu_gather (mm/mmu_gather.c, include/asm-generic/tlb.h; primer section 3): collect the
/// range of cleared PTEs and the pages and page tables to free, flush the TLB, then free. The
/// secondary-TLB invalidation is where the policy puts it: OLD in tlb_flush_mmu_tlbonly() with
/// tlb->start/end, FIXED inside the arch flush.
#include <cstdint>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

struct MmuGather {
  AddressSpace* mm = nullptr;
  bool fullmm = false;
  bool need_flush_all = false;
  bool freed_tables = false;
  bool cleared_ptes = false;
  bool cleared_pmds = false;
  bool cleared_puds = false;
  bool vma_pfn = false;  ///< the current VMA is VM_PFNMAP/VM_MIXEDMAP (tlb_start_vma)
  uint64_t start = 0;
  uint64_t end = 0;
  std::vector<Pfn> pages;   ///< the page batch: references dropped after the flush
  std::vector<Pfn> tables;  ///< tlb_remove_table() batch
  bool needs_flush() const { return freed_tables || cleared_ptes || cleared_pmds || cleared_puds; }
};

/// tlb_gather_mmu(): also inc_tlb_flush_pending(mm).
void tlb_gather_mmu(Kernel& k, MmuGather& tlb, AddressSpace& mm);
/// tlb_gather_mmu_fullmm(): exit_mmap()'s whole-mm gather.
void tlb_gather_mmu_fullmm(Kernel& k, MmuGather& tlb, AddressSpace& mm);
/// __tlb_reset_range(): fullmm gives start = end = ~0; else an empty range; flags cleared.
void __tlb_reset_range(MmuGather& tlb);
/// tlb_remove_tlb_entry(): widen the range by one page, cleared_ptes.
void tlb_remove_tlb_entry(MmuGather& tlb, Vaddr addr);
/// tlb_remove_pmd_tlb_entry(): widen by the huge page, cleared_pmds.
void tlb_remove_pmd_tlb_entry(MmuGather& tlb, Vaddr addr);
/// tlb_flush_pte_range()/tlb_flush_pmd_range(): record a PTE (4 KiB) or huge PMD (2 MiB) whose
/// change needs a flush but frees nothing (mprotect's change_pte_range()/change_huge_pmd()).
void tlb_flush_pte_range(MmuGather& tlb, Vaddr addr, uint64_t size);
void tlb_flush_pmd_range(MmuGather& tlb, Vaddr addr, uint64_t size);
/// __tlb_remove_page(): add to the batch; true when full and the caller must flush.
bool __tlb_remove_page(Kernel& k, MmuGather& tlb, Pfn pfn);
/// pte_free_tlb()/pmd_free_tlb()/pud_free_tlb(): queue a page-table page (tlb_remove_table()).
void free_table_tlb(Kernel& k, MmuGather& tlb, Pfn table, unsigned level, Vaddr addr);

/// tlb_flush_mmu_tlbonly(): arch tlb_flush(), [OLD] mmu_notifier_invalidate_range(start, end),
/// then __tlb_reset_range().
Task<> tlb_flush_mmu_tlbonly(Kernel& k, MmuGather& tlb);
/// tlb_flush_mmu(): tlbonly, then tlb_flush_mmu_free() (tables, then pages).
Task<> tlb_flush_mmu(Kernel& k, MmuGather& tlb);
/// tlb_finish_mmu(): the nested-flush branch (mm_tlb_flush_nested() -> fullmm, reset, freed
/// tables), tlb_flush_mmu(), dec_tlb_flush_pending().
Task<> tlb_finish_mmu(Kernel& k, MmuGather& tlb);

/// tlb_start_vma()/tlb_end_vma(): no-op under fullmm; since b67fbebd4cf9 tlb_end_vma() flushes
/// for VM_PFNMAP/VM_MIXEDMAP VMAs (x86 selects MMU_GATHER_MERGE_VMAS, so only those).
void tlb_start_vma(Kernel& k, MmuGather& tlb, const Vma& vma);
Task<> tlb_end_vma(Kernel& k, MmuGather& tlb, const Vma& vma);

}  // namespace tlbsim::kernel
