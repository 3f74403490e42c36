// SPDX-License-Identifier: MIT
#include "kernel/fault.h"

#include "kernel/arch_flush.h"
#include "kernel/exit.h"
#include "kernel/locking.h"
#include "kernel/lru.h"
#include "kernel/migrate.h"
#include "kernel/mmu_notifier.h"
#include "kernel/outcome.h"
#include "kernel/page.h"
#include "kernel/pgtable_generic.h"
#include "kernel/swap.h"
#include "kernel/thp.h"
#include "model/check.h"

namespace tlbsim::kernel {

namespace {

/// ptep_set_access_flags(): make an existing PTE young/dirty/writable. arm64 invalidates the
/// stale read-only entry with flush_tlb_page() when it sets dirty (arch/arm64/mm/fault.c);
/// x86 just stores, because its TLB drops an entry on a permission fault.
Task<> ptep_set_access_flags(Kernel& k, AddressSpace& mm, PteRef r, uint64_t addr, Pte entry, bool dirty) {
  const Pte old = mm.pt().get(r);
  if (old == entry) co_return;
  mm.pt().set(r, Vaddr{addr}, entry, "ptep_set_access_flags");
  if (k.config().arch == Arch::Arm64 && dirty) co_await flush_tlb_page(k, mm, Vaddr{addr});
}

/// wp_page_copy(): copy to a new page, then switch the PTE with clear+flush before set, under
/// the PTL (case B of the 2017 rule: OLD adds the secondary invalidation there).
Task<FaultResult> wp_page_copy(Kernel& k, AddressSpace& mm, Vma vma, uint64_t addr, PteRef r, Pte orig) {
  const Pfn old_pfn = orig.pfn();
  anon_vma_prepare(k, mm, vma);
  const Pfn new_pfn = alloc_anon_page(k, vma, Vaddr{addr}, "wp_page_copy");
  // Nobody else may reach the copy before it is mapped: v6.0 adds it to the LRU under the PTL,
  // after page_add_new_anon_rmap(), so reclaim cannot isolate it while this fault waits for the
  // lock or flushes.
  new_page_off_lru(k, new_pfn);
  copy_page(k, mm.id(), Vaddr{addr}, old_pfn, new_pfn, "__wp_page_copy_user");
  const uint64_t page = addr & ~(kPageSize - 1);
  mmu_notifier_invalidate_range_start(k, mm, VaRange{page, page + kPageSize}, "wp_page_copy");
  SimLock& ptl = k.ptl(r.table);
  co_await lock(k, ptl, LockMode::Write, "pte_offset_map_lock");
  if (mm.pt().get(r) != orig) {
    // pte_same() failed: someone else handled it.
    unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
    put_page(k, new_pfn, "wp_page_copy");
    mmu_notifier_invalidate_range_only_end(k, mm, VaRange{page, page + kPageSize}, "wp_page_copy");
    co_return FaultResult::Retry;
  }
  co_await ptep_clear_flush_notify(k, mm, r, Vaddr{page});
  page_add_rmap(k, new_pfn);  // page_add_new_anon_rmap()
  folio_add_lru(k, new_pfn);  // lru_cache_add_inactive_or_unevictable()
  mm.pt().set(r, Vaddr{page}, Pte::make(new_pfn, true).with(Pte::kDirty | Pte::kAccessed), "set_pte_at_notify");
  page_remove_rmap(k, old_pfn);
  unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
  mmu_notifier_invalidate_range_only_end(k, mm, VaRange{page, page + kPageSize}, "wp_page_copy");
  // The old mapping's reference goes after the unlock and after the notifier end (v6.0 source;
  // the primer places it before the unlock, docs/kernel-notes.md item 7).
  put_page(k, old_pfn, "wp_page_copy");
  co_return FaultResult::Handled;
}

/// do_swap_page() (v6.0) on a swap PTE, entered with the PTL dropped: the swap cache's page
/// (lookup_swap_cache()), or a new page the slot is read into (swap_readpage(); it joins the
/// swap cache only if other swap PTEs still refer to the slot, as SWP_SYNCHRONOUS_IO devices
/// skip the cache for a slot with one user). Then, under the PTL, the PTE must still be the
/// swap entry (pte_same(), else out_nomap and a retry), the page is mapped, and the slot loses
/// this reference (swap_free()). The PTE is writable only on a write fault to a page nobody else
/// can reach (no other swap PTE or mapping): otherwise read-only, and a write fault goes on to
/// do_wp_page() (here: the retry), which copies it. Going from not present to present, nothing
/// is flushed.
Task<FaultResult> do_swap_page(Kernel& k, AddressSpace& mm, Vma vma, uint64_t page, PteRef r, Pte orig, bool write) {
  // The fault looked the VMA up before it slept (a lock, another thread's steps); the page it
  // maps back is anonymous, added to the VMA's anon_vma as it is now (page_add_anon_rmap()).
  refresh_anon_vma(mm, vma);
  const uint64_t slot = orig.swp_offset();
  trace_call(k, "do_swap_page", mm.id(), VaRange{page, page + kPageSize});
  SwapSlot s = k.swap().slot(slot);
  Pfn pfn;
  bool fresh = false;
  if (s.cache != kNoPfn) {
    pfn = s.cache;
    get_page(k, pfn);
  } else {
    TLBSIM_CHECK(s.written && s.count > 0, "do_swap_page: swap slot " << slot << " was never written or has no user");
    pfn = alloc_anon_page(k, vma, Vaddr{page}, "do_swap_page");
    // v6.0 puts the new folio on the LRU before the read (folio_add_lru() in
    // __read_swap_cache_async(), or on the SWP_SYNCHRONOUS_IO path), but locked until it is
    // mapped: reclaim's and swap-entry freeing's folio_trylock() fail, and compaction's
    // MIGRATE_ASYNC gives up on it. The model's fault takes no page lock, so the page stays off
    // the LRU instead, to the same effect, until the PTL is held.
    new_page_off_lru(k, pfn);
    fresh = true;
    k.mem().set_content(pfn, s.content);
    if (s.count > 1) {
      s.cache = pfn;  // add_to_swap_cache(), with the cache's reference
      k.swap().set(slot, s);
      k.mem().set_swap_cache(pfn, slot);
      get_page(k, pfn);
    }
  }
  co_await yield_point("do_swap_page");  // folio_lock_or_retry(), the read
  SimLock& ptl = k.ptl(r.table);
  co_await lock(k, ptl, LockMode::Write, "pte_offset_map_lock");
  // Mapped below or left to the swap cache (out_nomap), the page is an ordinary LRU page from
  // here on: v6.0 unlocks it after set_pte_at() or at out_nomap, and from here to either the
  // model reaches no scheduling point, so the two orders are the same.
  if (fresh) folio_add_lru(k, pfn);
  if (mm.pt().get(r) != orig) {
    unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
    put_page(k, pfn, "do_swap_page");  // out_nomap
    co_return FaultResult::Retry;
  }
  const bool exclusive = k.swap().slot(slot).count == 1 && k.mem().mapcount(pfn) == 0 && !k.mem().frame(pfn).ksm;
  const bool writable = write && exclusive;
  mm.pt().set(r, Vaddr{page}, Pte::make(pfn, writable).with(Pte::kAccessed | (writable ? Pte::kDirty : 0)), "set_pte_at");
  page_add_rmap(k, pfn);  // page_add_anon_rmap()
  swap_free(k, slot, "swap_free");
  unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
  co_return write && !writable ? FaultResult::Retry : FaultResult::Handled;
}

}  // namespace

Task<FaultResult> handle_mm_fault(Kernel& k, AddressSpace& mm, Vaddr addr_va, bool write) {
  const uint64_t addr = addr_va.value();
  const Vma* vp = mm.find_vma(addr);
  if (!vp || (write && !vp->writable()) || vp->pfnmap()) co_return FaultResult::Sigsegv;
  Vma vma = *vp;  // anon_vma_prepare() may give it an anon_vma
  trace_call(k, "handle_mm_fault", mm.id(), VaRange{addr, addr + 1});
  const uint64_t page = addr & ~(kPageSize - 1);
  unsigned level = 1;
  const Pte leaf = mm.pt().leaf(Vaddr{page}, &level);
  if (level == 2) {
    const PteRef pmd = mm.pt().lookup(Vaddr{page}, 2);
    const Pte pmdval = pmd.valid() ? mm.pt().get(pmd) : Pte{};
    if (pmd_trans_huge(pmdval) && !pmdval.present()) {
      // A split in progress made the PMD invalid (pmdp_invalidate()). It is still
      // pmd_trans_huge(), so __handle_mm_fault() goes to huge_pmd_set_accessed(), which waits
      // for the PMD lock, finds the PMD changed (!pmd_same()) and returns: the access retries.
      co_await lock(k, k.ptl(pmd.table), LockMode::Write, "huge_pmd_set_accessed");
      unlock(k, k.ptl(pmd.table), LockMode::Write, "spin_unlock");
      co_return FaultResult::Retry;
    }
  }
  if (level == 2 && leaf.huge()) {
    const Pte pmd = leaf;
    if (write && !pmd.writable()) {
      // do_huge_pmd_wp_page() (v6.0): a shared or COW huge page is split, and the fault is
      // retried on the PTEs (wp_page_copy() or reuse there).
      co_await __split_huge_pmd(k, mm, vma, Vaddr{page});
      co_return FaultResult::Retry;
    }
    // huge_pmd_set_accessed(): the hardware walk sets the accessed/dirty bits itself here.
    co_return FaultResult::Handled;
  }
  const PteRef r = mm.pt().alloc(Vaddr{page}, 1, "__pte_alloc");
  SimLock& ptl = k.ptl(r.table);
  co_await lock(k, ptl, LockMode::Write, "pte_offset_map_lock");
  const Pte pte = mm.pt().get(r);
  if (pte.none()) {
    Pfn pfn;
    bool writable;
    if (vma.anon()) {
      // do_anonymous_page(): a zeroed page (the shared zero page for reads is not modelled), in
      // the VMA's anon_vma; one that mremap(MREMAP_DONTUNMAP) emptied has none until this fault.
      anon_vma_prepare(k, mm, vma);
      pfn = alloc_anon_page(k, vma, Vaddr{page}, "do_anonymous_page");
      writable = vma.writable();
    } else if (vma.shared()) {
      // do_shared_fault(): writable only on a write fault (dirty tracking, page_mkwrite), except
      // for shmem, whose vm_page_prot carries write (no writenotify): shmem_fault(), then
      // do_set_pte() with vm_page_prot.
      File& f = k.file(vma.file);
      pfn = filemap_get_page(k, f, vma.index_of(page), f.shmem ? "shmem_fault" : "filemap_fault");
      get_page(k, pfn);
      writable = write || (f.shmem && vma.writable());
    } else if (write) {
      // do_cow_fault(): a private copy of the file page.
      const Pfn src = filemap_get_page(k, k.file(vma.file), vma.index_of(page), "filemap_fault");
      anon_vma_prepare(k, mm, vma);
      pfn = alloc_anon_page(k, vma, Vaddr{page}, "do_cow_fault");
      copy_page(k, mm.id(), Vaddr{page}, src, pfn, "do_cow_fault");
      writable = true;
    } else {
      // do_read_fault(): the page-cache page, read-only in a private mapping.
      pfn = filemap_get_page(k, k.file(vma.file), vma.index_of(page), "filemap_fault");
      get_page(k, pfn);
      writable = false;
    }
    page_add_rmap(k, pfn);
    Pte np = Pte::make(pfn, writable).with(Pte::kAccessed | (write ? Pte::kDirty : 0));
    mm.pt().set(r, Vaddr{page}, np, "set_pte_at");
    if (!vma.anon() && write) k.file(vma.file).set_dirty(vma.index_of(page), true);
    unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
    co_return FaultResult::Handled;
  }
  if (pte.is_migration()) {
    // migration_entry_wait(): sleep until remove_migration_ptes() replaced the entry.
    unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
    co_await wait_until("migration_entry_wait", [&mm, r] { return !mm.pt().get(r).is_migration(); });
    co_return FaultResult::Retry;
  }
  if (pte.swp_type() == Pte::SwpType::Swap) {
    unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
    co_return co_await do_swap_page(k, mm, vma, page, r, pte, write);
  }
  if (pte.is_device_private()) {
    // do_swap_page(): is_device_private_entry() -> pgmap->ops->migrate_to_ram(), with
    // mmap_read_lock held and (v6.0) no reference on the device page. The page comes back to
    // system memory, or stays if another migration holds it; either way the access retries.
    unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
    trace_call(k, "do_swap_page", mm.id(), VaRange{page, page + kPageSize});
    co_await dmirror_devmem_fault(k, mm, vma, Vaddr{page});
    co_return FaultResult::Retry;
  }
  if (!pte.present()) {
    unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
    co_return FaultResult::Sigsegv;  // no other non-present entry kind exists in the model
  }
  if (write && !pte.writable()) {
    const Frame& f = k.mem().frame(pte.pfn());
    // do_wp_page(): "if (PageKsm(page) || page_count(page) > 3) goto copy;" a KSM page is
    // always copied.
    const bool reuse =
        vma.shared() || (f.kind == FrameKind::Anon && !f.ksm && k.mem().mapcount(pte.pfn()) == 1 && k.mem().refcount(pte.pfn()) == 1);
    if (reuse) {
      // wp_page_reuse() / wp_page_shared(): the same page becomes writable.
      co_await ptep_set_access_flags(k, mm, r, page, pte.with(Pte::kWrite | Pte::kDirty | Pte::kAccessed), true);
      if (!vma.anon()) k.file(vma.file).set_dirty(vma.index_of(page), true);
      unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
      co_return FaultResult::Handled;
    }
    get_page(k, pte.pfn());
    unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
    const FaultResult res = co_await wp_page_copy(k, mm, vma, page, r, pte);
    put_page(k, pte.pfn(), "wp_page_copy");
    co_return res;
  }
  // Spurious: already allowed (another CPU or device fixed it). Mark young/dirty.
  co_await ptep_set_access_flags(k, mm, r, page, pte.with(Pte::kAccessed | (write ? Pte::kDirty : 0)), write);
  unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
  co_return FaultResult::Handled;
}

namespace {
void livelock(Kernel& k, AddressSpace& mm, uint64_t addr, bool write, unsigned n, const char* who, uint32_t dev) {
  if (!k.bus().active()) return;
  Event e{.kind = EventKind::Fault, .flags = uint8_t((write ? kEvWrite : 0) | kEvGaveUp), .mm = mm.id(), .func = who};
  e.va = addr;
  e.aux = dev;
  e.note = "livelock: " + std::to_string(n) + " faults without progress";
  k.bus().emit(std::move(e));
}
}  // namespace

Task<> user_access(Kernel& k, unsigned cpu, AddressSpace& mm, Vaddr addr_va, bool write, unsigned max_faults) {
  const uint64_t addr = addr_va.value();
  mm.add_cpu(cpu);  // switch_mm(): this CPU now caches the mm
  for (unsigned n = 0; n <= max_faults; ++n) {
    // From here to the next scheduling point only the CPU runs (a fault suspends at
    // mmap_read_lock() before exc_page_fault()'s kernel code does).
    co_await hardware_point(write ? "store" : "load");
    const AccessResult a = k.cpu(cpu).access(k.walk_context(mm), addr_va, write);
    if (a.ok() || a.fault == AccessFault::StaleTable) co_return;
    co_await mmap_read_lock(k, mm);
    const FaultResult r = co_await handle_mm_fault(k, mm, addr_va, write);
    mmap_read_unlock(k, mm);
    if (r == FaultResult::Sigsegv) {
      force_sig_fault(k, mm.id(), addr_va, Signal::Sigsegv);
      co_return;
    }
  }
  livelock(k, mm, addr, write, max_faults, "exc_page_fault", 0);
}

Task<> device_dma(Kernel& k, unsigned iommu_index, uint16_t device, AddressSpace& mm, Vaddr addr_va, bool write, unsigned max_faults) {
  const uint64_t addr = addr_va.value();
  iommu::Iommu& io = k.iommu(iommu_index);
  for (unsigned n = 0; n <= max_faults; ++n) {
    // From here to the next scheduling point only the IOMMU runs: a fault suspends at
    // mmap_read_lock() before any kernel code (iommu_sva_handle_iopf()) does.
    co_await hardware_point(write ? "DMA write" : "DMA read");
    const std::optional<Pasid> pasid = mm.pasid();
    if (!pasid) co_return;
    const iommu::DmaResult d = io.dma(device, *pasid, addr_va, write);
    if (d.ok() || d.fault == iommu::DmaFault::StaleTable || d.fault == iommu::DmaFault::NotBound) co_return;
    // A request translated through a PASID-table entry the IOMMU still caches after the
    // driver's release cleared it (IommuConfig::pasid_table_cached): iommu_sva_handle_iopf()'s
    // mmget_not_zero() fails, the mm having exited, and the response is INVALID.
    if (!io.device_bound(device, *pasid)) {
      fault_rejected(k, "iommu_sva_handle_iopf", mm.id(), addr_va, device, "IOMMU_PAGE_RESP_INVALID: mmget_not_zero");
      co_return;
    }
    // iommu_sva_handle_iopf() in the fault workqueue: iommu_sva_find() takes a reference with
    // mmget_not_zero(), which fails once __mmput() has begun (exit_mmap() may already have
    // zapped the range: a page faulted in now would outlive its VMA); then mmap_read_lock(),
    // handle_mm_fault(FAULT_FLAG_REMOTE), the page response, and mmput() (the last reference
    // runs exit_mmap() here); the device retries. The reference is taken in the step that gets
    // the lock: a schedule where it is taken earlier, before another thread's mmput(), reaches
    // the same states with that mmput() after this step, as it only drops a count.
    co_await mmap_read_lock(k, mm);
    if (!mmget_not_zero(mm)) {
      mmap_read_unlock(k, mm);
      fault_rejected(k, "iommu_sva_handle_iopf", mm.id(), addr_va, device, "IOMMU_PAGE_RESP_INVALID: mmget_not_zero");
      co_return;
    }
    const FaultResult r = co_await handle_mm_fault(k, mm, addr_va, write);
    mmap_read_unlock(k, mm);
    co_await mmput(k, mm);
    if (r == FaultResult::Sigsegv) {
      fault_rejected(k, "iommu_sva_handle_iopf", mm.id(), addr_va, device, "IOMMU_PAGE_RESP_INVALID");
      co_return;
    }
  }
  livelock(k, mm, addr, write, max_faults, "iommu_sva_handle_iopf", device);
}

Vma mmap_region(Kernel& k, AddressSpace& mm, Vaddr start_va, uint64_t len, uint32_t flags, uint32_t file, uint64_t pgoff) {
  const uint64_t start = start_va.value();
  TLBSIM_CHECK(!mm.overlaps(start, start + len), "mmap_region over an existing mapping at " << hex(start));
  Vma v;
  v.start = start;
  v.end = start + len;
  // do_mmap(): VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC on every mapping; only a shared mapping of a
  // file opened read-only loses VM_MAYWRITE, and the model's files are all opened for writing.
  // So a private read-only mapping is a COW mapping (is_cow_mapping()) that mprotect() may make
  // writable.
  v.flags = flags | uint32_t{kVmMayWrite};
  v.file = file;
  v.pgoff = file ? pgoff : start >> kPageShift;
  v.anon_vma = file ? 0 : k.new_anon_vma();
  if (!file) v.flags |= kVmAnon;
  v.seq = k.next_vma_seq();
  mm.insert_vma(v);
  return v;
}

void populate(Kernel& k, AddressSpace& mm, Vaddr start_va, uint64_t len, bool write) {
  const uint64_t start = start_va.value();
  // Run the fault path to completion outside any schedule (MAP_POPULATE at setup time).
  for (uint64_t a = start; a < start + len; a += kPageSize) {
    Task<FaultResult> t = handle_mm_fault(k, mm, Vaddr{a}, write);
    TLBSIM_CHECK(run_sync(t) != FaultResult::Sigsegv, "populate: no VMA allows access at " << hex(a));
  }
}

}  // namespace tlbsim::kernel
