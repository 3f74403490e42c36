// SPDX-License-Identifier: MIT
#include "kernel/reclaim.h"

#include <bit>

#include "kernel/locking.h"
#include "kernel/lru.h"
#include "kernel/mmu_notifier.h"
#include "kernel/page.h"
#include "kernel/pgtable_generic.h"
#include "kernel/swap.h"

namespace tlbsim::kernel {

namespace {

/// set_tlb_ubc_flush_pending(): queue the flush; a dirty PTE makes the batch "writable" so a
/// flush must complete before the page is written back.
Task<> set_tlb_ubc_flush_pending(Kernel& k, TlbBatch& tlb_ubc, AddressSpace& mm, Pte pteval, uint64_t addr) {
  if (!pteval.present()) co_return;  // !pte_accessible(): nothing cached
  co_await arch_tlbbatch_add_pending(k, tlb_ubc, mm, Vaddr{addr});
  tlb_ubc.flush_required = true;
  // Read by flush_tlb_batched_pending() under the PTL (3ea277194daa).
  mm.set_tlb_flush_batched(true);
  if (pteval.dirty()) tlb_ubc.writable = true;
}

/// try_to_unmap_one() for one VMA (mm/rmap.c, v6.0).
Task<> try_to_unmap_one(Kernel& k, TlbBatch& tlb_ubc, Pfn page, RmapTarget t, uint64_t swap_slot) {
  AddressSpace& mm = *t.mm;
  const uint64_t addr = t.addr;
  const bool anon = k.mem().frame(page).kind == FrameKind::Anon;
  mmu_notifier_invalidate_range_start(k, mm, VaRange{addr, addr + kPageSize}, "try_to_unmap_one");
  const PteRef r = co_await pte_offset_map_lock(k, mm, Vaddr{addr}, "page_vma_mapped_walk");
  if (r.valid()) {
    const Pte pte = mm.pt().get(r);
    if (pte.present() && pte.pfn() == page) {
      Pte pteval;
      if (should_defer_flush(k, mm)) {
        // The CPU flush is deferred to try_to_unmap_flush(); FIXED's secondary invalidation is
        // inside arch_tlbbatch_add_pending().
        pteval = mm.pt().set(r, Vaddr{addr}, Pte{}, "ptep_get_and_clear");
        co_await set_tlb_ubc_flush_pending(k, tlb_ubc, mm, pteval, addr);
      } else {
        pteval = co_await ptep_clear_flush(k, mm, r, Vaddr{addr});
      }
      if (pteval.dirty()) folio_mark_dirty(k, page);
      if (anon) {
        swap_duplicate(k, swap_slot);
        mm.pt().set(r, Vaddr{addr}, Pte::swap_entry(Pte::SwpType::Swap, swap_slot), "set_pte_at");
        // OLD: "Invalidate as we cleared the pte" -- before the deferred CPU flush.
        if (k.policy().sec_inv_from_notify_helpers)
          co_await mmu_notifier_invalidate_range(k, mm, VaRange{addr, addr + kPageSize}, "try_to_unmap_one");
      }
      // File pages: the folio is locked, so it cannot be replaced in the page cache before
      // mmu_notifier_invalidate_range_end(); OLD relies on that call.
      page_remove_rmap(k, page);
      put_page(k, page, "try_to_unmap_one");  // the mapping's reference; reclaim holds one more
      co_await yield_point("try_to_unmap_one");
    }
    pte_unmap_unlock(k, r, "page_vma_mapped_walk_done");
  }
  co_await yield_point("mmu_notifier_invalidate_range_end");
  co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{addr, addr + kPageSize}, "try_to_unmap_one");
}

/// The page stays (activate_locked / keep_locked): back on the LRU. An anonymous page keeps its
/// swap cache while swap PTEs refer to its slot (a fault will find it there); with none, it
/// leaves the cache (try_to_free_swap()).
void keep_locked(Kernel& k, Pfn page, bool anon, uint64_t slot) {
  unlock_page(k, page);
  putback_lru_page(k, page, "putback_lru_page");
  if (anon && k.swap().slot(slot).count == 0 && k.mem().frame(page).swapcache) delete_from_swap_cache(k, page, "try_to_free_swap");
}

}  // namespace

bool should_defer_flush(Kernel& k, const AddressSpace& mm) {
  if (!k.config().batch_unmap_flush) return false;  // a kernel without TTU_BATCH_FLUSH
  if (k.config().arch == Arch::Arm64) return true;  // arch_tlbbatch_should_defer()
  return std::popcount(mm.cpumask()) > 1;
}

Task<> try_to_unmap(Kernel& k, TlbBatch& tlb_ubc, Pfn page, uint64_t swap_slot) {
  // rwc.done = folio_not_mapped
  co_await rmap_walk(
      k, page, [&k, &tlb_ubc, page, swap_slot](RmapTarget t) { return try_to_unmap_one(k, tlb_ubc, page, t, swap_slot); },
      [&k, page] { return !folio_mapped(k, page); });
}

void try_to_unmap_flush(Kernel& k, TlbBatch& tlb_ubc) {
  if (!tlb_ubc.flush_required) return;
  trace_call(k, "try_to_unmap_flush");
  arch_tlbbatch_flush(k, tlb_ubc);  // resets the batch: flush_required = writable = false
}

void try_to_unmap_flush_dirty(Kernel& k, TlbBatch& tlb_ubc) {
  if (tlb_ubc.writable) try_to_unmap_flush(k, tlb_ubc);
}

Task<> shrink_folio_list(Kernel& k, std::vector<Pfn> pages) {
  trace_call(k, "shrink_folio_list");
  TlbBatch tlb_ubc;  // current->tlb_ubc
  std::vector<Pfn> free_folios;
  for (const Pfn page : pages) {
    // isolate_lru_folios() (isolate_lru_pages() in 6.0): reclaim's reference by
    // get_page_unless_zero(), then TestClearPageLRU() ("Another thread is already isolating
    // this page"). A page freed or reused as a table meanwhile, or isolated by a migration, is
    // left alone.
    if (!page_lru(k, page) || !get_page_unless_zero(k, page)) continue;
    if (!test_clear_page_lru(k, page)) {
      put_page(k, page, "isolate_lru_folios");
      continue;
    }
    const Frame f = k.mem().frame(page);
    const bool anon = f.kind == FrameKind::Anon;
    co_await yield_point("shrink_folio_list");
    // folio_trylock(): a page a migration holds is kept for a later pass.
    if (!trylock_page(k, page)) {
      trace_call(k, "shrink_folio_list: locked, keep");
      putback_lru_page(k, page, "putback_lru_page");
      continue;
    }
    // add_to_swap() (before unmapping): a slot and the swap cache, and the folio is dirty.
    const uint64_t slot = anon ? add_to_swap(k, page) : 0;
    if (folio_mapped(k, page)) co_await try_to_unmap(k, tlb_ubc, page, slot);
    if (folio_mapped(k, page)) {
      trace_call(k, "shrink_folio_list: still mapped, activate");
      keep_locked(k, page, anon, slot);
      continue;
    }
    // A file page truncated while still mapped has no mapping left to remove it from.
    const bool cached = !anon && f.aux < k.file(f.owner).size() && k.file(f.owner).page(f.aux) == page;
    if (anon) {
      // The folio is dirty: pageout() writes it to swap, and no TLB may still write it then.
      try_to_unmap_flush_dirty(k, tlb_ubc);
      trace_call(k, "pageout");
      swap_writepage(k, page, slot);
    } else if (cached) {
      File& file = k.file(f.owner);
      if (file.shmem && file.dirty(f.aux)) {
        // A shmem folio is swap-backed: pageout() -> shmem_writepage() moves it to the swap
        // cache, and the file's slot will be read back by shmem_fault() (shmem_swapin_folio()).
        // As for an anonymous page, no TLB may still write it once it is written out.
        try_to_unmap_flush_dirty(k, tlb_ubc);
        trace_call(k, "pageout");
        file.set_dirty(f.aux, false);
      } else if (file.dirty(f.aux)) {
        // Direct reclaim does not write file pages back: keep it for a later pass.
        trace_call(k, "shrink_folio_list: dirty file page, activate");
        unlock_page(k, page);
        putback_lru_page(k, page, "putback_lru_page");
        continue;
      }
    }
    // __remove_mapping(): folio_ref_freeze() succeeds only when the page cache (or swap cache)
    // and reclaim hold the only references.
    const uint32_t expected = cached || anon ? 2 : 1;
    if (k.mem().refcount(page) != expected) {
      trace_call(k, "__remove_mapping: extra references, keep");
      keep_locked(k, page, anon, slot);
      continue;
    }
    if (anon) delete_from_swap_cache(k, page, "__remove_mapping");  // __delete_from_swap_cache()
    if (cached) {
      k.file(f.owner).set_page(f.aux, kNoPfn);  // __filemap_remove_folio()
      put_page(k, page, "__remove_mapping");
    }
    unlock_page(k, page);  // __folio_clear_locked(): nobody else can reach it now
    free_folios.push_back(page);
  }
  // The end of shrink_folio_list(): no TLB may map a page when it goes back to the allocator.
  try_to_unmap_flush(k, tlb_ubc);
  co_await yield_point("free_unref_page_list");
  for (const Pfn p : free_folios) put_page(k, p, "free_unref_page_list");
}

}  // namespace tlbsim::kernel
