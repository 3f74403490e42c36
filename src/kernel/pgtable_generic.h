// SPDX-License-Identifier: MIT
#pragma once
/// Clear-and-flush helpers of mm/pgtable-generic.c and the OLD *_clear_flush_notify() macros of
/// include/linux/mmu_notifier.h, shared by the rmap-based paths (migration, reclaim, KSM, THP).
/// The CPU flush goes through arch_flush.h, so FIXED's secondary invalidation happens inside it;
/// the `_notify` variants add OLD's explicit invalidate_range() under the caller's PTL when
/// policy.sec_inv_from_notify_helpers is set.
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// ptep_clear_flush(): ptep_get_and_clear(), then flush_tlb_page() if the old PTE was
/// pte_accessible() (present). Returns the old PTE. The caller holds the PTL.
Task<Pte> ptep_clear_flush(Kernel& k, AddressSpace& mm, PteRef r, Vaddr addr, const char* func = "ptep_clear_flush");
/// ptep_clear_flush_notify() (<= 6.5): ptep_clear_flush() + mmu_notifier_invalidate_range(page).
Task<Pte> ptep_clear_flush_notify(Kernel& k, AddressSpace& mm, PteRef r, Vaddr addr);

/// pmdp_invalidate(): the huge PMD made non-present (pmd_mkinvalid keeps pfn and PSE, so the
/// kernel still sees a huge PMD and no fault can install a PTE table), then
/// flush_pmd_tlb_range(). Returns the old PMD.
Task<Pte> pmdp_invalidate(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr);
/// pmdp_invalidate_ad() (4f83145721f3, v5.19), for callers that flush later through an
/// mmu_gather (change_huge_pmd()): x86 only makes the PMD non-present ("once an invalid PTE is
/// established, the PTE's access and dirty bits cannot be updated", arch/x86/mm/pgtable.c);
/// other architectures use the generic one, which is pmdp_invalidate(). Returns the old PMD.
Task<Pte> pmdp_invalidate_ad(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr);
/// pmdp_huge_clear_flush(): pmdp_huge_get_and_clear() + flush_pmd_tlb_range().
Task<Pte> pmdp_huge_clear_flush(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr);
/// pmdp_huge_clear_flush_notify() (<= 6.5): + mmu_notifier_invalidate_range(haddr, +HPAGE_PMD_SIZE).
Task<Pte> pmdp_huge_clear_flush_notify(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr);
/// pmdp_collapse_flush(): clear a PMD that points at a PTE table and flush_tlb_range() the
/// 2 MiB it mapped ("collapse entails shooting down ptes not pmd").
Task<Pte> pmdp_collapse_flush(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr);

/// The bracket end of a site that in 6.0 called mmu_notifier_invalidate_range_only_end()
/// because it had already notified under the PTL (__split_huge_pmd(), migrate_vma_pages());
/// ec8832d007cb turned those into plain mmu_notifier_invalidate_range_end(). Follows
/// policy.sec_inv_from_notify_helpers, the switch that carries the 6.0 helper structure.
Task<> mmu_notifier_invalidate_range_end_after_notify(Kernel& k, AddressSpace& mm, VaRange range, const char* site);

/// folio_mark_dirty(): a dirty PTE's state moves to the page (page cache dirty flag for file
/// pages; anonymous pages carry no flag in the model).
void folio_mark_dirty(Kernel& k, Pfn page);
/// pte_offset_map_lock(): the PTE slot for `addr` with its PTL held, re-checked after the lock
/// is taken; an invalid ref (and no lock) when no PTE table maps `addr` (pmd_none or huge).
Task<PteRef> pte_offset_map_lock(Kernel& k, AddressSpace& mm, Vaddr addr, const char* func = "pte_offset_map_lock");
/// pte_unmap_unlock()
void pte_unmap_unlock(Kernel& k, PteRef r, const char* func = "pte_unmap_unlock");
/// folio_mapped()
bool folio_mapped(Kernel& k, Pfn page);

}  // namespace tlbsim::kernel
