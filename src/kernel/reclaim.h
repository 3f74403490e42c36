// SPDX-License-Identifier: MIT
#pragma once
/// Page reclaim's batched unmap (mm/vmscan.c shrink_folio_list(), called shrink_page_list() in
/// 6.0; mm/rmap.c try_to_unmap_one(); primer section 7.3). try_to_unmap() runs with
/// TTU_BATCH_FLUSH: where should_defer_flush() allows, the PTE is cleared without a flush and the
/// flush is queued in the task's tlb_ubc, completed by try_to_unmap_flush_dirty() before pageout
/// and try_to_unmap_flush() before the pages are freed. OLD invalidates the secondary TLB with an
/// explicit mmu_notifier_invalidate_range() under the PTL for anonymous pages and with the
/// closing mmu_notifier_invalidate_range_end() for file pages; FIXED at
/// arch_tlbbatch_add_pending() (x86: the whole address space) or inside ptep_clear_flush().
#include <vector>

#include "kernel/arch_flush.h"
#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// should_defer_flush(mm, TTU_BATCH_FLUSH): x86 defers when the mm has run on more than one CPU
/// (6.0: cpumask_any_but(mm_cpumask(mm), this cpu)); arm64 always (43b3dfdd0455, ~6.5).
bool should_defer_flush(Kernel& k, const AddressSpace& mm);
/// try_to_unmap(folio, TTU_BATCH_FLUSH): rmap walk under the rmap lock, try_to_unmap_one() per
/// VMA, stopping as soon as the folio is unmapped (rwc.done = folio_not_mapped, primer 4.3).
/// Anonymous pages get a swap entry (`swap_slot`), file pages an empty PTE.
Task<> try_to_unmap(Kernel& k, TlbBatch& tlb_ubc, Pfn page, uint64_t swap_slot);
/// try_to_unmap_flush(): complete the batched flushes (arch_tlbbatch_flush()).
void try_to_unmap_flush(Kernel& k, TlbBatch& tlb_ubc);
/// try_to_unmap_flush_dirty(): the same, if a dirty (possibly writable) PTE was queued.
void try_to_unmap_flush_dirty(Kernel& k, TlbBatch& tlb_ubc);

/// shrink_folio_list() over isolated anonymous and page-cache pages. Anonymous pages get a swap
/// slot (add_to_swap() marks them dirty), are unmapped, written by a synchronous pageout() (a
/// swap device that completes at once, like zram) and freed. Clean file pages are unmapped,
/// removed from the page cache (__remove_mapping()) and freed; dirty ones are kept for a later
/// pass (writeback is not modelled). Pages still mapped or with extra references are kept.
/// Every page is freed only after try_to_unmap_flush().
Task<> shrink_folio_list(Kernel& k, std::vector<Pfn> pages);

}  // namespace tlbsim::kernel
