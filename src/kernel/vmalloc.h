// SPDX-License-Identifier: MIT
#pragma once
/// The kernel half of the address space, as far as an SVA device can reach it (x86): vmalloc
/// areas mapped in init_mm's tables, which every mm's PGD shares, and the one path that frees a
/// kernel page table under a live mapping's range, ioremap()'s huge-PMD upgrade
/// (mm/vmalloc.c, arch/x86/mm/pgtable.c). An SVA device's request is user-mode, so its walk of
/// a kernel address faults at the leaf, but only after it may have cached the kernel's upper
/// entries (e37d5a2d60a3 series, v6.19); a later free of a table those entries point at leaves
/// the IOMMU walking a page the allocator has handed to someone else.
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// __vmalloc_node_range() at scenario setup: `pages` pages allocated and mapped at `addr` by
/// vmap_pages_range() -> vmap_pte_range(), its tables from pmd_alloc()/pte_alloc_kernel().
/// Kernel PTEs: present, writable, no _PAGE_USER.
void vmalloc_setup(Kernel& k, Vaddr addr, uint64_t pages);

/// vfree() of the area at [addr, addr + pages): remove_vm_area() -> free_unmap_vmap_area() ->
/// vunmap_range_noflush() clears the PTEs (vunmap_pte_range()) and frees no table ("vmap page
/// tables are never freed"); the lazy purge's flush_tlb_kernel_range() is folded in here (it
/// notifies nobody in any release); then __free_page() of each page.
Task<> vfree(Kernel& k, Vaddr addr, uint64_t pages);

/// ioremap() of the 2 MiB block at `addr`: vmap_range() -> vmap_pmd_range() ->
/// vmap_try_huge_pmd(). If the PMD entry still points at a PTE table (an earlier vfree()
/// emptied it), pmd_free_pte_page(): pmd_clear(), flush_tlb_kernel_range(addr, addr +
/// PAGE_SIZE - 1), and the table is freed: at once up to v6.18 (pte_free_kernel()), or from
/// v6.19 queued by pagetable_free_kernel() (5ba2f0a15564) for kernel_pgtable_work_func(). Then
/// pmd_set_huge() maps the block (an MMIO BAR above the end of RAM).
Task<> ioremap_huge(Kernel& k, Vaddr addr);

/// kernel_pgtable_work_func() (v6.19), the work item pagetable_free_kernel() schedules: it runs
/// on a kworker whenever tables are queued, takes the whole list, calls
/// iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL) (e37d5a2d60a3), then frees them.
/// The model's worker runs until no ioremap op is left that could queue a table; up to v6.18
/// nothing is ever queued and it does nothing.
Task<> kernel_pgtable_work_func(Kernel& k);

/// iommu_sva_invalidate_kva_range() (drivers/iommu/iommu-sva.c, v6.19): under iommu_sva_lock,
/// mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end) for every mm on iommu_sva_mms.
Task<> iommu_sva_invalidate_kva_range(Kernel& k, VaRange range);

}  // namespace tlbsim::kernel
