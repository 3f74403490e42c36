// SPDX-License-Identifier: MIT
#include "kernel/ksm.h"

#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"
#include "kernel/page.h"
#include "kernel/pgtable_generic.h"

namespace tlbsim::kernel {

Task<std::optional<Pte>> write_protect_page(Kernel& k, AddressSpace& mm, Pfn page, uint64_t addr) {
  addr &= ~(kPageSize - 1);
  mmu_notifier_invalidate_range_start(k, mm, addr, addr + kPageSize, "write_protect_page");
  std::optional<Pte> result;
  const PteRef r = co_await pte_offset_map_lock(k, mm, addr, "page_vma_mapped_walk");
  if (r.valid()) {
    const Pte pte = mm.pt().get(r);
    if (pte.present() && pte.pfn() == page) {
      if (pte.writable() || pte.dirty() || mm.tlb_flush_pending() > 0) {
        // Clear and flush *before* the refcount check, so no GUP-fast/O_DIRECT user can get a
        // new reference through a stale writable TLB entry after it. No notify: a downgrade
        // (mmu_notifier.rst), so OLD leaves the secondary TLB to range_end.
        const Pte entry = co_await ptep_clear_flush(k, mm, r, addr);
        co_await yield_point("write_protect_page");
        const Frame& f = k.mem().frame(page);
        if (f.mapcount + 1 != f.refcount) {
          // O_DIRECT or similar I/O in progress: put the PTE back and give up.
          mm.pt().set(r, Vaddr{addr}, entry, "set_pte_at");
        } else {
          if (entry.dirty()) folio_mark_dirty(k, page);
          result = entry.wrprotect().without(Pte::kDirty);  // pte_mkclean(pte_wrprotect())
          // set_pte_at_notify(): OLD's change_pte() callback is not modelled (no SVA user).
          mm.pt().set(r, Vaddr{addr}, *result, "set_pte_at_notify");
        }
      } else {
        result = pte;
      }
    }
    pte_unmap_unlock(k, r, "page_vma_mapped_walk_done");
  }
  co_await yield_point("mmu_notifier_invalidate_range_end");
  co_await mmu_notifier_invalidate_range_end(k, mm, addr, addr + kPageSize, "write_protect_page");
  co_return result;
}

Task<bool> replace_page(Kernel& k, AddressSpace& mm, Pfn page, Pfn kpage, uint64_t addr, Pte orig_pte) {
  addr &= ~(kPageSize - 1);
  mmu_notifier_invalidate_range_start(k, mm, addr, addr + kPageSize, "replace_page");
  bool done = false;
  const PteRef r = co_await pte_offset_map_lock(k, mm, addr);
  if (r.valid()) {
    if (mm.pt().get(r) == orig_pte) {
      get_page(k, kpage);
      page_add_rmap(k, kpage);  // page_add_anon_rmap()
      // mk_pte(kpage, vm_page_prot): read-only in a private mapping. No notify: a read-only
      // page replaced by a read-only page with the same content (mmu_notifier.rst).
      co_await ptep_clear_flush(k, mm, r, addr);
      mm.pt().set(r, Vaddr{addr}, Pte::make(kpage, false).with(Pte::kAccessed), "set_pte_at_notify");
      page_remove_rmap(k, page);
      put_page(k, page, "replace_page");  // the mapping's reference; KSM still holds its own
      done = true;
      co_await yield_point("replace_page");
    }
    pte_unmap_unlock(k, r);
  }
  co_await yield_point("mmu_notifier_invalidate_range_end");
  co_await mmu_notifier_invalidate_range_end(k, mm, addr, addr + kPageSize, "replace_page");
  co_return done;
}

Task<bool> ksm_merge(Kernel& k, AddressSpace& mm, uint64_t addr, Pfn kpage) {
  addr &= ~(kPageSize - 1);
  co_await mmap_read_lock(k, mm);
  trace_call(k, "try_to_merge_with_ksm_page", mm.id(), addr, addr + kPageSize);
  if (kpage != kNoPfn) {
    // get_ksm_page(): the stable page must still be one (a munmap, reclaim or migration may have
    // freed it since it was made), and KSM holds a reference on it while it merges into it.
    const Frame& kf = k.mem().frame(kpage);
    if (!kf.allocated || !kf.ksm) {
      trace_call(k, "get_ksm_page: stale stable node", mm.id(), addr, addr + kPageSize);
      mmap_read_unlock(k, mm);
      co_return false;
    }
    get_page(k, kpage);
  }
  const Vma* vma = mm.find_vma(addr);
  Pfn page = kNoPfn;
  if (vma && vma->anon()) {
    // follow_page(FOLL_GET) under the PTL: KSM's own reference.
    const PteRef r = co_await pte_offset_map_lock(k, mm, addr, "follow_page_pte");
    if (r.valid()) {
      const Pte pte = mm.pt().get(r);
      if (pte.present() && !pte.special() && k.mem().frame(pte.pfn()).kind == FrameKind::Anon) {
        page = pte.pfn();
        get_page(k, page);
      }
      pte_unmap_unlock(k, r);
    }
  }
  bool merged = false;
  if (page != kNoPfn && page == kpage) {
    merged = true;  // already the KSM page (a forked mapping)
  } else if (page != kNoPfn) {
    // try_to_merge_one_page()
    const std::optional<Pte> orig = co_await write_protect_page(k, mm, page, addr);
    if (orig) {
      if (kpage == kNoPfn) {
        merged = true;                       // the page becomes the stable KSM page, now read-only
        k.mem().frame_mut(page).ksm = true;  // stable_tree_insert() -> set_page_stable_node()
      } else {
        // pages_identical(): after write_protect_page() returned, i.e. after MN_END in OLD, so
        // writes through a stale secondary entry are seen by the comparison.
        trace_call(k, "pages_identical", mm.id(), addr, addr + kPageSize);
        if (k.mem().content(page) == k.mem().content(kpage)) merged = co_await replace_page(k, mm, page, kpage, addr, *orig);
      }
    }
  }
  mmap_read_unlock(k, mm);
  if (page != kNoPfn) put_page(k, page, "ksm_do_scan");  // frees a replaced page
  if (kpage != kNoPfn) put_page(k, kpage, "ksm_do_scan");
  co_return merged;
}

}  // namespace tlbsim::kernel
