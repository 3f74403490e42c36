// SPDX-License-Identifier: MIT
#pragma once
/// Architecture TLB-flush primitives (primer section 8). Each one invalidates every CPU's TLB
/// entries for the mm as the hardware instruction would, and in FIXED calls
/// mmu_notifier_arch_invalidate_secondary_tlbs() with the range it actually flushed.
///
/// The arm64 page and range flushes are tasks: where the notifier runs between issuing the
/// TLBIs and the dsb(ish) that waits for them (__flush_tlb_page_nosync() since 6.6,
/// __flush_tlb_range_nosync() since v6.9), a device may translate in between, while an SMMU
/// that relies on broadcast TLB maintenance still holds what the TLBIs are about to remove
/// (mainline primer B5). x86 and flush_tlb_mm() never suspend.
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// x86 flush_tlb_mm_range(): ranges above tlb_single_page_flush_ceiling widen to a full flush,
/// and FIXED passes the widened (0, TLB_FLUSH_ALL) to the notifier.
Task<> flush_tlb_mm_range(Kernel& k, AddressSpace& mm, VaRange range, unsigned stride_shift, bool freed_tables);
/// arm64 __flush_tlb_range(): per-page TLBI (last level or all levels), or flush_tlb_mm() for
/// MAX_TLBI_OPS pages and more without FEAT_TLBIRANGE.
Task<> arm64_flush_tlb_range(Kernel& k, AddressSpace& mm, VaRange range, uint64_t stride, bool last_level);

/// flush_tlb_mm(): the whole ASID.
Task<> flush_tlb_mm(Kernel& k, AddressSpace& mm);
/// flush_tlb_range() for a VMA range (all levels).
Task<> flush_tlb_range(Kernel& k, AddressSpace& mm, VaRange range);
/// flush_tlb_page()
Task<> flush_tlb_page(Kernel& k, AddressSpace& mm, Vaddr addr);
/// flush_pmd_tlb_range(): a huge PMD's 2 MiB.
Task<> flush_pmd_tlb_range(Kernel& k, AddressSpace& mm, VaRange range);

/// struct arch_tlbflush_unmap_batch, the per-task tlb_ubc of deferred reclaim/migration flushes.
struct TlbBatch {
  uint64_t cpumask = 0;
  std::set<uint16_t> mms;                            ///< x86: whose ASIDs the full flush covers
  std::vector<std::pair<uint16_t, uint64_t>> pages;  ///< arm64: TLBIs issued, not yet completed by DSB
  bool flush_required = false;
  bool writable = false;
};
/// arch_tlbbatch_add_pending(): queue a deferred flush; FIXED x86 sends (0, -1) to the notifier
/// here, arm64 the page (__flush_tlb_page_nosync).
Task<> arch_tlbbatch_add_pending(Kernel& k, TlbBatch& batch, AddressSpace& mm, Vaddr addr);
/// arch_tlbbatch_flush(): complete every queued flush (x86 IPI full flush; arm64 DSB).
void arch_tlbbatch_flush(Kernel& k, TlbBatch& batch);
/// flush_tlb_batched_pending(): called under the PTL by zap/mprotect/mremap/madvise
/// (3ea277194daa) so a reclaim-deferred flush of this mm completes first.
Task<> flush_tlb_batched_pending(Kernel& k, AddressSpace& mm);

}  // namespace tlbsim::kernel
