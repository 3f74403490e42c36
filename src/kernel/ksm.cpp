// SPDX-License-Identifier: MIT
#include "kernel/ksm.h"

#include "kernel/fault.h"
#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"
#include "kernel/page.h"
#include "kernel/pgtable_generic.h"

namespace tlbsim::kernel {

namespace {

/// ksm_test_exit(): the process is exiting and its last mm_users reference is gone (__mmput()
/// has begun). Before a group exit the model's count may read 0 while the process lives.
bool ksm_test_exit(const AddressSpace& mm) { return mm.group_exit() && mm.users_zero(); }

/// find_mergeable_vma(): the VMA covering `addr`, unless the mm is exiting. VM_MERGEABLE
/// (madvise(MADV_MERGEABLE)) is implied by the op that asks ksmd to merge.
const Vma* find_mergeable_vma(const AddressSpace& mm, uint64_t addr) {
  if (ksm_test_exit(mm)) return nullptr;
  const Vma* vma = mm.find_vma(addr);
  return vma && addr >= vma->start ? vma : nullptr;
}

}  // namespace

Task<std::optional<Pte>> write_protect_page(Kernel& k, AddressSpace& mm, Pfn page, Vaddr addr_va) {
  const uint64_t addr = addr_va.page().value();
  mmu_notifier_invalidate_range_start(k, mm, VaRange{addr, addr + kPageSize}, "write_protect_page");
  std::optional<Pte> result;
  const PteRef r = co_await pte_offset_map_lock(k, mm, Vaddr{addr}, "page_vma_mapped_walk");
  if (r.valid()) {
    const Pte pte = mm.pt().get(r);
    if (pte.present() && pte.pfn() == page) {
      if (pte.writable() || pte.dirty() || mm.tlb_flush_pending() > 0) {
        // Clear and flush *before* the refcount check, so no GUP-fast/O_DIRECT user can get a
        // new reference through a stale writable TLB entry after it. No notify: a downgrade
        // (mmu_notifier.rst), so OLD leaves the secondary TLB to range_end.
        const Pte entry = co_await ptep_clear_flush(k, mm, r, Vaddr{addr});
        co_await yield_point("write_protect_page");
        if (uint64_t{k.mem().mapcount(page)} + 1 != k.mem().refcount(page)) {
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
  co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{addr, addr + kPageSize}, "write_protect_page");
  co_return result;
}

Task<bool> replace_page(Kernel& k, AddressSpace& mm, Pfn page, Pfn kpage, Vaddr addr_va, Pte orig_pte) {
  const uint64_t addr = addr_va.page().value();
  mmu_notifier_invalidate_range_start(k, mm, VaRange{addr, addr + kPageSize}, "replace_page");
  bool done = false;
  const PteRef r = co_await pte_offset_map_lock(k, mm, Vaddr{addr});
  if (r.valid()) {
    if (mm.pt().get(r) == orig_pte) {
      get_page(k, kpage);
      page_add_rmap(k, kpage);  // page_add_anon_rmap()
      // mk_pte(kpage, vm_page_prot): read-only in a private mapping. No notify: a read-only
      // page replaced by a read-only page with the same content (mmu_notifier.rst).
      co_await ptep_clear_flush(k, mm, r, Vaddr{addr});
      mm.pt().set(r, Vaddr{addr}, Pte::make(kpage, false).with(Pte::kAccessed), "set_pte_at_notify");
      page_remove_rmap(k, page);
      put_page(k, page, "replace_page");  // the mapping's reference; KSM still holds its own
      done = true;
      co_await yield_point("replace_page");
    }
    pte_unmap_unlock(k, r);
  }
  co_await yield_point("mmu_notifier_invalidate_range_end");
  co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{addr, addr + kPageSize}, "replace_page");
  co_return done;
}

Task<bool> ksm_merge(Kernel& k, AddressSpace& mm, Vaddr addr_va, Pfn kpage, KsmRmapItem* item) {
  const uint64_t addr = addr_va.page().value();
  // The caller's kpage is that allocation of the frame (its step named it).
  const uint32_t kgeneration = kpage != kNoPfn ? k.mem().frame(kpage).generation : 0;
  co_await mmap_read_lock(k, mm);
  trace_call(k, "try_to_merge_with_ksm_page", mm.id(), VaRange{addr, addr + kPageSize});
  if (kpage != kNoPfn) {
    // get_ksm_page(): the stable page must still be one (a munmap, reclaim or migration may have
    // freed it since it was made), and KSM holds a reference on it while it merges into it.
    const Frame& kf = k.mem().frame(kpage);
    if (!kf.allocated || !kf.ksm || kf.generation != kgeneration) {
      trace_call(k, "get_ksm_page: stale stable node", mm.id(), VaRange{addr, addr + kPageSize});
      mmap_read_unlock(k, mm);
      co_return false;
    }
    get_page(k, kpage);
  }
  const Vma* vma = find_mergeable_vma(mm, addr);
  const uint32_t anon_vma = vma ? vma->anon_vma : 0;
  Pfn page = kNoPfn;
  if (vma && vma->anon()) {
    // follow_page(FOLL_GET) under the PTL: KSM's own reference.
    const PteRef r = co_await pte_offset_map_lock(k, mm, Vaddr{addr}, "follow_page_pte");
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
  } else if (page != kNoPfn && trylock_page(k, page)) {
    // try_to_merge_one_page(), under the page lock it only tries for ("if (!trylock_page(page))
    // goto out": a migration holds it).
    const std::optional<Pte> orig = co_await write_protect_page(k, mm, page, Vaddr{addr});
    if (orig) {
      if (kpage == kNoPfn) {
        // set_page_stable_node(page, NULL): PageKsm with no stable node until stable_tree_insert().
        merged = true;
        Frame& f = k.mem().frame_mut(page);
        f.ksm = true;
        f.owner = 0;
      } else {
        // pages_identical(): after write_protect_page() returned, i.e. after MN_END in OLD, so
        // writes through a stale secondary entry are seen by the comparison.
        trace_call(k, "pages_identical", mm.id(), VaRange{addr, addr + kPageSize});
        if (k.mem().content(page) == k.mem().content(kpage)) merged = co_await replace_page(k, mm, page, kpage, Vaddr{addr}, *orig);
      }
    }
    unlock_page(k, page);
  }
  // rmap_item->anon_vma = vma->anon_vma ("Must get reference to anon_vma while still holding
  // mmap_lock").
  if (merged && item) *item = KsmRmapItem{.mm = mm.id(), .address = addr, .anon_vma = anon_vma};
  mmap_read_unlock(k, mm);
  if (page != kNoPfn) put_page(k, page, "ksm_do_scan");  // frees a replaced page
  if (kpage != kNoPfn) put_page(k, kpage, "ksm_do_scan");
  co_return merged;
}

namespace {

/// lock_page(): sleep until the page lock is free, then take it.
Task<> lock_page(Kernel& k, Pfn page) {
  co_await wait_until("lock_page", [&k, page] { return !k.mem().frame(page).locked; });
  trylock_page(k, page);
}

/// get_ksm_page(): the page the stable node names, if it is still that node's KSM page.
Pfn get_ksm_page(Kernel& k, uint32_t node) {
  const Pfn kpfn = k.ksm().node(node).kpfn;
  const Frame& f = k.mem().frame(kpfn);
  return f.allocated && f.ksm && f.owner == node ? kpfn : kNoPfn;
}

}  // namespace

namespace {

/// break_ksm(), under the caller's mmap_lock: write-fault (FAULT_FLAG_WRITE | FAULT_FLAG_REMOTE)
/// while `addr` maps a KSM page or a migration entry (follow_page(FOLL_MIGRATION) waits on one);
/// "do { ... } while (!(ret & (VM_FAULT_WRITE | VM_FAULT_SIGBUS | ...)))", bounded here as a
/// user access is.
Task<> break_ksm(Kernel& k, AddressSpace& mm, uint64_t addr) {
  for (unsigned tries = 0; tries < 16; ++tries) {
    const Pte pte = mm.pt().leaf(Vaddr{addr});
    const bool ksm_page = pte.present() ? k.mem().frame(pte.pfn()).ksm : pte.is_migration();
    if (!ksm_page) break;
    if (co_await handle_mm_fault(k, mm, Vaddr{addr}, true) == FaultResult::Sigsegv) break;
  }
}

}  // namespace

Task<> break_cow(Kernel& k, AddressSpace& mm, Vaddr addr_va) {
  const uint64_t addr = addr_va.page().value();
  co_await mmap_read_lock(k, mm);
  trace_call(k, "break_cow", mm.id(), VaRange{addr, addr + kPageSize});
  const Vma* vma = find_mergeable_vma(mm, addr);
  if (vma && vma->anon()) co_await break_ksm(k, mm, addr);
  mmap_read_unlock(k, mm);
}

Task<> unmerge_ksm_pages(Kernel& k, AddressSpace& mm, const Vma& vma, VaRange range) {
  const uint64_t start = range.lo(), end = range.hi();
  if (!vma.anon() || !k.ksm().scanned(mm.id())) co_return;
  trace_call(k, "unmerge_ksm_pages", mm.id(), range);
  for (uint64_t addr = start; addr < end; addr += kPageSize) {
    if (ksm_test_exit(mm)) co_return;  // -EFAULT
    co_await break_ksm(k, mm, addr);
  }
}

Task<> ksm_merge_range(Kernel& k, AddressSpace& mm, Vaddr addr_va, uint64_t pages) {
  const uint64_t addr = addr_va.value();
  k.ksm().scan_mm(mm.id());  // ksm_scan.mm_slot: ksm_exit() now waits for ksmd
  // try_to_merge_two_pages(rmap_item, page, tree_rmap_item, tree_page): the first page becomes
  // the KSM page, then the second is merged into it.
  KsmRmapItem first, second;
  if (!co_await ksm_merge(k, mm, addr_va, kNoPfn, &first)) co_return;
  // The KSM page is the one now mapped read-only at addr: rmap_item->address's page. ksmd keeps
  // the reference its scan took (put by ksm_do_scan() after cmp_and_merge_page()).
  const Pte kp = mm.pt().leaf(addr_va);
  if (!kp.present() || !k.mem().frame(kp.pfn()).ksm) co_return;
  const Pfn kpage = kp.pfn();
  get_page(k, kpage);
  if (pages < 2 || !co_await ksm_merge(k, mm, Vaddr{addr + kPageSize}, kpage, &second)) {
    // "If that fails, we have a ksm page with only one pte pointing to it: so break it."
    co_await break_cow(k, mm, addr_va);
    put_page(k, kpage, "ksm_do_scan");
    co_return;
  }
  // cmp_and_merge_page(): lock_page(kpage); stable_tree_insert(); stable_tree_append() of the
  // tree's item, then the scanned one; unlock_page().
  co_await lock_page(k, kpage);
  const uint32_t node = k.ksm().insert(kpage);
  k.mem().frame_mut(kpage).owner = node;  // set_page_stable_node()
  k.ksm().append(node, second);
  k.ksm().append(node, first);
  unlock_page(k, kpage);
  put_page(k, kpage, "ksm_do_scan");
  // Each following page: cmp_and_merge_page() finds the stable node (stable_tree_search()).
  for (uint64_t i = 2; i < pages; ++i) {
    const Pfn now = get_ksm_page(k, node);
    if (now == kNoPfn) {
      trace_call(k, "get_ksm_page: stale stable node", mm.id(), VaRange{addr, addr + kPageSize});
      co_return;
    }
    // stable_tree_search() returns the KSM page with a reference, taken by
    // get_ksm_page(GET_KSM_PAGE_TRYLOCK) with a trylock and unlock "so that page migration is
    // sure to notice its raised count": a migration past its refcount check holds the page
    // lock (-EBUSY, no merge this round); one before it sees the reference and backs off
    // (-EAGAIN). Without the reference the merge mapped the old page after a migration had
    // copied it away, leaving it mapped and isolated for ever.
    get_page(k, now);
    if (!trylock_page(k, now)) {
      trace_call(k, "stable_tree_search: -EBUSY", mm.id(), VaRange{addr, addr + kPageSize});
      put_page(k, now, "stable_tree_search");
      continue;
    }
    unlock_page(k, now);
    KsmRmapItem item;
    if (co_await ksm_merge(k, mm, Vaddr{addr + i * kPageSize}, now, &item)) {
      // cmp_and_merge_page(): lock_page(kpage); stable_tree_append(); unlock_page().
      co_await lock_page(k, now);
      k.ksm().append(node, item);
      unlock_page(k, now);
    }
    put_page(k, now, "cmp_and_merge_page");
  }
}

Task<> ksm_exit(Kernel& k, AddressSpace& mm) {
  if (!k.ksm().scanned(mm.id())) co_return;  // easy_to_free
  co_await mmap_write_lock(k, mm);
  mmap_write_unlock(k, mm);
}

void folio_migrate_ksm(Kernel& k, Pfn newpage, Pfn page) {
  const Frame old = k.mem().frame(page);
  if (!old.ksm) return;
  Frame& f = k.mem().frame_mut(newpage);
  f.ksm = true;
  f.owner = old.owner;
  if (old.owner != 0) k.ksm().set_kpfn(old.owner, newpage);
}

}  // namespace tlbsim::kernel
