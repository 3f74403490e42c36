// SPDX-License-Identifier: MIT
#pragma once
/// Notifier policies: where secondary-TLB invalidations are issued, as a set of named switches.
/// `old` is Linux 6.0 (invalidate_range() from mmu_notifier_invalidate_range_end(), from
/// tlb_flush_mmu_tlbonly() and from the *_clear_flush_notify() helpers); `fixed` is Linux 6.6
/// (arch_invalidate_secondary_tlbs() from the arch TLB-flush primitives only). Ablations apply
/// one fix at a time; historical switches reproduce earlier kernels' orderings.
#include <string>
#include <string_view>
#include <vector>

#include "kernel/sva_decoding.h"

namespace tlbsim::kernel {

struct Policy {
  std::string name;
  std::string description;
  /// The kernel release this policy models ("6.0"), empty for an ablation. `--policy versions`
  /// runs every release policy in release order.
  std::string release;
  /// The SVA driver decodings of that release: what a device's `"decoding": "intel"` (or
  /// "amd", "arm-smmu-v3") means under this policy.
  ReleaseDecodings decodings;
  /// OLD: mn_hlist_invalidate_end() calls each subscriber's invalidate_range() unless the caller
  /// used mmu_notifier_invalidate_range_only_end(). Removed by ec8832d007cb.
  bool sec_inv_from_range_end = true;
  /// OLD: tlb_flush_mmu_tlbonly() calls mmu_notifier_invalidate_range(tlb->start, tlb->end).
  /// Removed by 6bbd42e2df8f.
  bool sec_inv_from_tlbonly = true;
  /// OLD: ptep_clear_flush_notify() and friends, and the explicit calls in rmap.c, call
  /// invalidate_range() under the PTL. Removed by ec8832d007cb.
  bool sec_inv_from_notify_helpers = true;
  /// FIXED: flush_tlb_mm_range(), flush_tlb_mm(), __flush_tlb_range(), arch_tlbbatch_add_pending()
  /// call mmu_notifier_arch_invalidate_secondary_tlbs(). Added by 6bbd42e2df8f.
  bool sec_inv_from_arch_flush = false;
  /// Seed mail step 2: fork's COW bracket ends with _only_end and one invalidate_range(0, -1) goes
  /// with flush_tlb_mm() in dup_mmap().
  bool fork_sec_inv_at_flush_tlb_mm = false;
  /// Seed mail step 3: tlb_flush_mmu_tlbonly() turns the fullmm (~0, ~0) range into (0, -1).
  bool tlbonly_sends_full_range = false;
  /// Before eb66ae030829 (v4.19): move_ptes() flushed under the PTLs only for dirty PTEs and
  /// otherwise once at the end of move_page_tables() (CVE-2018-18281).
  bool mremap_flush_dirty_only = false;
  /// e346b3813067 (v5.7): mremap() knows MREMAP_DONTUNMAP. Before, sys_mremap() refused it as an
  /// unknown flag (-EINVAL).
  bool mremap_dontunmap = true;
  /// 99baac21e458 (v4.13): tlb_finish_mmu() flushes everything when another gatherer is active
  /// on the mm (mm_tlb_flush_nested()). Without it, a concurrent MADV_DONTNEED that found the
  /// PTEs already cleared returns while other CPUs still cache them.
  bool tlb_finish_nested_flush = true;
  /// f268f6cf875f (v6.1): khugepaged's retract_page_tables() brackets the PMD clear and the
  /// page-table free with mmu_notifier start/end. v6.0 (OLD) called no notifier at all there.
  bool retract_page_tables_notifier = false;
  /// 4a18419f71cd (v5.19): mprotect runs inside an mmu_gather (tlb_gather_mmu() in
  /// do_mprotect_pkey(), tlb_flush_pte_range() for each PTE that pte_needs_flush(), the flush at
  /// tlb_end_vma()/tlb_finish_mmu()). Before it, change_protection_range() did
  /// inc_tlb_flush_pending(), the walk and one flush_tlb_range() over the whole range.
  bool mprotect_mmu_gather = true;
  /// Before 60bae7370896 (v6.0-rc): migrate_vma_collect_pmd() flushed after dropping the PTL.
  bool migrate_vma_flush_after_unlock = false;
  /// 6c287605fd56 (v5.19, PG_anon_exclusive): migrate_vma_collect_pmd() clears an exclusive
  /// anonymous page's PTE with ptep_clear_flush(), a flush per page under the PTL, before
  /// page_try_share_anon_rmap(). Before it every PTE was ptep_get_and_clear()ed and only the
  /// range flush at the end of the PTE table covered them.
  bool migrate_vma_exclusive_clear_flush = true;
  /// 4a02ed8e1cc3 (v6.15): flush_tlb_mm_range() leaves the full-flush decision to
  /// get_flush_tlb_info() and passes the notifier the caller's range even when the CPU flush is
  /// full. Before, a range over tlb_single_page_flush_ceiling reached the IOMMU as (0, -1).
  bool x86_notifier_caller_range = false;
  /// 4b634918384c (v6.16): arm64 arch_flush_tlb_batched_pending() is flush_tlb_mm(), which
  /// completes the batch's TLBIs issued on other CPUs (and notifies (0, -1)); before, a
  /// dsb(ish) that completes only this CPU's.
  bool arm64_batched_pending_flush_mm = false;
  /// v6.9, "arm64/mm: Split __flush_tlb_range() to elide trailing DSB" (contpte series):
  /// __flush_tlb_range() notifies between issuing its TLBIs and the dsb(ish) that completes
  /// them, as flush_tlb_page() has since 6.6; before, after the DSB. flush_tlb_mm() notifies
  /// after its DSB in every release. With an SMMU relying on BTM, the ATC is invalidated before
  /// the SMMU TLB is (mainline primer B5).
  bool arm64_range_notify_before_dsb = false;
  /// 5ba2f0a15564 + e37d5a2d60a3 (v6.19, x86 with IOMMU_SVA): a kernel page table is freed by
  /// a worker that first invalidates (PAGE_OFFSET, -1) in every SVA mm's secondary TLBs. Before,
  /// pmd_free_pte_page() freed it at once and no IOMMU heard of it.
  bool deferred_kernel_pgtable_free = false;
};

/// The registry: every policy with a one-line description, in a fixed order.
const std::vector<Policy>& policies();
/// Look up by name; nullptr if unknown.
const Policy* find_policy(std::string_view name);
/// The release policies, oldest release first (`--policy versions`).
std::vector<const Policy*> release_policies();

}  // namespace tlbsim::kernel
