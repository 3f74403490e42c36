// SPDX-License-Identifier: MIT
#include "kernel/thp.h"

#include "kernel/arch_flush.h"
#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"
#include "kernel/page.h"
#include "kernel/pgtable_generic.h"
#include "model/check.h"

namespace tlbsim::kernel {

namespace {

constexpr uint32_t kHpageNr = kPtrsPerTable;  // HPAGE_PMD_NR

/// __split_huge_pmd_locked(): the PMD lock is held.
Task<> __split_huge_pmd_locked(Kernel& k, AddressSpace& mm, const Vma& vma, PteRef pmd, uint64_t haddr) {
  if (!vma.anon()) {
    // File/shmem: no deposited table on x86/arm64; the mapping goes and faults refill it.
    const Pte old = co_await pmdp_huge_clear_flush_notify(k, mm, pmd, Vaddr{haddr});
    co_await yield_point("__split_huge_pmd_locked");
    for (uint32_t i = 0; i < kHpageNr; ++i) {
      const Pfn p{old.pfn().value() + i};
      if (old.dirty()) folio_mark_dirty(k, p);
      page_remove_rmap(k, p);
      put_page(k, p, "__split_huge_pmd_locked");  // the page cache keeps its reference
    }
    co_return;
  }
  // Make the PMD non-present and flush before PTEs appear, so no TLB holds a 2 MiB and a 4 KiB
  // entry for one address (AMD erratum 383). OLD: no secondary invalidation, the PTEs map the
  // same pages; a later 4 KiB invalidation must drop a cached 2 MiB entry.
  const Pte old = co_await pmdp_invalidate(k, mm, pmd, Vaddr{haddr});
  co_await yield_point("__split_huge_pmd_locked");
  // pgtable_trans_huge_withdraw(): the model keeps no deposit list (see collapse_huge_page()),
  // so the table is allocated here.
  const Pfn pgtable = k.mem().alloc(FrameKind::Table, mm.id().value(), 1, "pgtable_trans_huge_withdraw");
  mm.pt().note_table_allocated();
  for (uint32_t i = 0; i < kHpageNr; ++i) {
    Pte e = Pte::make(Pfn{old.pfn().value() + i}, old.writable());
    if (old.young()) e = e.with(Pte::kAccessed);
    if (old.dirty()) e = e.with(Pte::kDirty);
    mm.pt().set(PteRef{pgtable, static_cast<uint16_t>(i), 1}, Vaddr{haddr + (uint64_t{i} << kPageShift)}, e, "set_pte_at");
  }
  // smp_wmb(): the PTEs are visible before the PMD that points at them.
  mm.pt().set(pmd, Vaddr{haddr}, Pte::table(pgtable), "pmd_populate");
}

const Vma* vma_covering(const AddressSpace& mm, uint64_t haddr) {
  const Vma* v = mm.find_vma(haddr);
  if (!v || v->start > haddr || v->end < haddr + kPmdSize) return nullptr;
  return v;
}

}  // namespace

Task<> __split_huge_pmd(Kernel& k, AddressSpace& mm, Vma vma, Vaddr address_va) {
  const uint64_t address = address_va.value();
  const uint64_t haddr = address & ~(kPmdSize - 1);
  trace_call(k, "__split_huge_pmd", mm.id(), VaRange{haddr, haddr + kPmdSize});
  mmu_notifier_invalidate_range_start(k, mm, VaRange{haddr, haddr + kPmdSize}, "__split_huge_pmd");
  const PteRef pmd = mm.pt().lookup(Vaddr{haddr}, 2);
  if (pmd.valid()) {
    co_await lock(k, k.ptl(pmd.table), LockMode::Write, "pmd_lock");
    if (mm.pt().get(pmd).huge()) co_await __split_huge_pmd_locked(k, mm, vma, pmd, haddr);
    unlock(k, k.ptl(pmd.table), LockMode::Write, "spin_unlock");
  }
  co_await yield_point("mmu_notifier_invalidate_range_end");
  // "No need to double call mmu_notifier->invalidate_range()": OLD ends with _only_end.
  co_await mmu_notifier_invalidate_range_end_after_notify(k, mm, VaRange{haddr, haddr + kPmdSize}, "__split_huge_pmd");
}

Task<> vma_adjust_trans_huge(Kernel& k, AddressSpace& mm, VaRange range) {
  const uint64_t start = range.lo(), end = range.hi();
  for (const uint64_t b : {start, end}) {
    if (b % kPmdSize == 0) continue;
    const Vma* vp = mm.find_vma(b);
    // __split_vma() splits only a VMA the boundary falls strictly inside; range_in_vma(): the
    // whole 2 MiB around it must be in that VMA for a huge PMD to map it.
    if (!vp || vp->start == b) continue;
    const uint64_t h = b & ~(kPmdSize - 1);
    if (h < vp->start || h + kPmdSize > vp->end) continue;
    co_await __split_huge_pmd(k, mm, *vp, Vaddr{b});  // split_huge_pmd_address()
  }
}

Task<bool> collapse_huge_page(Kernel& k, AddressSpace& mm, Vaddr address_va) {
  const uint64_t address = address_va.value();
  const uint64_t haddr = address & ~(kPmdSize - 1);
  const Vma* vp = vma_covering(mm, haddr);
  // "Anon VMA expected" (hugepage_vma_revalidate()): a VMA whose anon_vma mremap's
  // MREMAP_DONTUNMAP unlinked has no page to collapse until its next fault gives it one.
  if (!vp || !vp->anon() || !vp->anon_vma) co_return false;
  trace_call(k, "collapse_huge_page", mm.id(), VaRange{haddr, haddr + kPmdSize});
  // khugepaged_alloc_page(): before mmap_lock is taken for writing.
  const Pfn hpage = k.mem().alloc_contig(FrameKind::Anon, vp->anon_vma, vp->index_of(haddr), kHpageNr, "khugepaged_alloc_page");
  auto free_hpage = [&] {
    for (uint32_t i = 0; i < kHpageNr; ++i) put_page(k, Pfn{hpage.value() + i}, "collapse_huge_page");
  };
  co_await mmap_write_lock(k, mm);
  // hugepage_vma_revalidate(), find_pmd_or_thp_or_none(): still an anonymous VMA over a PTE table.
  vp = vma_covering(mm, haddr);
  const PteRef pmd = mm.pt().lookup(Vaddr{haddr}, 2);
  if (!vp || !vp->anon() || !vp->anon_vma || !pmd.valid() || !mm.pt().get(pmd).present() || mm.pt().get(pmd).huge()) {
    mmap_write_unlock(k, mm);
    free_hpage();
    co_return false;
  }
  const Vma vma = *vp;
  SimLock& pmd_ptl = k.ptl(pmd.table);
  // Rmap walkers (reclaim, migration) must not look for these PTEs while the PMD is cleared.
  co_await lock(k, k.anon_vma_lock(vma.anon_vma), LockMode::Write, "anon_vma_lock_write");
  mmu_notifier_invalidate_range_start(k, mm, VaRange{haddr, haddr + kPmdSize}, "collapse_huge_page");
  co_await lock(k, pmd_ptl, LockMode::Write, "pmd_lock");
  // The PTE table is detached and every TLB entry it fed is flushed (FIXED: with the
  // secondary invalidation inside flush_tlb_range()).
  const Pte _pmd = co_await pmdp_collapse_flush(k, mm, pmd, Vaddr{haddr});  // the PTE table is unlinked
  unlock(k, pmd_ptl, LockMode::Write, "spin_unlock");
  co_await yield_point("mmu_notifier_invalidate_range_end");
  co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{haddr, haddr + kPmdSize}, "collapse_huge_page");
  // No tlb_remove_table_sync_one() here: 2ba99c5e0881 added that IPI against GUP-fast in 6.1
  // (docs/kernel-notes.md item 9), and GUP-fast is not modelled.
  const Pfn pte_table = _pmd.pfn();
  SimLock& pte_ptl = k.ptl(pte_table);
  co_await lock(k, pte_ptl, LockMode::Write, "spin_lock");
  // __collapse_huge_page_isolate()
  bool ok = true, writable = false;
  for (uint32_t i = 0; i < kHpageNr && ok; ++i) {
    const Pte pte{k.mem().entry(pte_table, i)};
    if (pte.none()) continue;
    if (!pte.present() || pte.special()) {
      ok = false;  // SCAN_PTE_NON_PRESENT
      break;
    }
    const Frame& f = k.mem().frame(pte.pfn());
    if (f.kind != FrameKind::Anon || k.mem().refcount(pte.pfn()) != 1 || k.mem().mapcount(pte.pfn()) != 1) ok = false;  // SCAN_PAGE_COUNT
    writable |= pte.writable();
  }
  ok &= writable;  // SCAN_PAGE_RO
  unlock(k, pte_ptl, LockMode::Write, "spin_unlock");
  if (!ok) {
    co_await lock(k, pmd_ptl, LockMode::Write, "pmd_lock");
    mm.pt().set(pmd, Vaddr{haddr}, _pmd, "pmd_populate");
    mm.pt().note_table_allocated();  // linked again
    unlock(k, pmd_ptl, LockMode::Write, "spin_unlock");
    unlock(k, k.anon_vma_lock(vma.anon_vma), LockMode::Write, "anon_vma_unlock_write");
    mmap_write_unlock(k, mm);
    free_hpage();
    trace_call(k, "collapse_huge_page: failed isolation", mm.id(), VaRange{haddr, haddr + kPmdSize});
    co_return false;
  }
  unlock(k, k.anon_vma_lock(vma.anon_vma), LockMode::Write, "anon_vma_unlock_write");
  // __collapse_huge_page_copy(): after the secondary invalidation in both policies, so no
  // device write through a stale entry can land in a small page after it was copied.
  for (uint32_t i = 0; i < kHpageNr; ++i) {
    const uint64_t addr = haddr + (uint64_t{i} << kPageShift);
    const PteRef r{pte_table, static_cast<uint16_t>(i), 1};
    const Pte pte = mm.pt().get(r);
    if (pte.none()) continue;  // clear_user_highpage(): the new subpage is already zero
    const Pfn src = pte.pfn();
    copy_page(k, mm.id(), Vaddr{addr}, src, Pfn{hpage.value() + i}, "__collapse_huge_page_copy");
    co_await lock(k, pte_ptl, LockMode::Write, "spin_lock");
    mm.pt().set(r, Vaddr{addr}, Pte{}, "ptep_clear");  // the table is detached: nothing to flush
    page_remove_rmap(k, src);
    unlock(k, pte_ptl, LockMode::Write, "spin_unlock");
    put_page(k, src, "free_page_and_swap_cache");
    co_await yield_point("__collapse_huge_page_copy");
  }
  co_await lock(k, pmd_ptl, LockMode::Write, "pmd_lock");
  for (uint32_t i = 0; i < kHpageNr; ++i) page_add_rmap(k, Pfn{hpage.value() + i});  // page_add_new_anon_rmap()
  // pgtable_trans_huge_deposit() keeps the old PTE table for a later split; the model has no
  // deposit list, so it frees it (pte_free()) and __split_huge_pmd() allocates a fresh one. It
  // is unreachable (unlinked and counted so at pmdp_collapse_flush()) and was flushed there.
  k.mem().free(pte_table, "pte_free");
  mm.pt().set(pmd, Vaddr{haddr}, Pte::make(hpage, vma.writable()).with(Pte::kHuge | Pte::kAccessed | Pte::kDirty), "set_pmd_at");
  unlock(k, pmd_ptl, LockMode::Write, "spin_unlock");
  mmap_write_unlock(k, mm);
  co_return true;
}

Pfn map_huge_anon(Kernel& k, AddressSpace& mm, Vaddr haddr_va) {
  const uint64_t haddr = haddr_va.value();
  TLBSIM_CHECK((haddr & (kPmdSize - 1)) == 0, "map_huge_anon at unaligned " << hex(haddr));
  const Vma* v = vma_covering(mm, haddr);
  TLBSIM_CHECK(v && v->anon(), "map_huge_anon: no anonymous VMA covers " << hex(haddr) << " + 2 MiB");
  const PteRef pmd = mm.pt().alloc(haddr_va, 2, "__pmd_alloc");
  TLBSIM_CHECK(mm.pt().get(pmd).none(), "map_huge_anon: the PMD at " << hex(haddr) << " is in use");
  const Pfn hpage = k.mem().alloc_contig(FrameKind::Anon, v->anon_vma, v->index_of(haddr), kHpageNr, "do_huge_pmd_anonymous_page");
  for (uint32_t i = 0; i < kHpageNr; ++i) page_add_rmap(k, Pfn{hpage.value() + i});
  const uint64_t bits = Pte::kHuge | Pte::kAccessed | (v->writable() ? Pte::kDirty : 0);
  mm.pt().set(pmd, haddr_va, Pte::make(hpage, v->writable()).with(bits), "set_pmd_at");
  return hpage;
}

Pfn map_huge_file(Kernel& k, AddressSpace& mm, Vaddr haddr_va, bool write) {
  const uint64_t haddr = haddr_va.value();
  TLBSIM_CHECK((haddr & (kPmdSize - 1)) == 0, "map_huge_file at unaligned " << hex(haddr));
  const Vma* v = vma_covering(mm, haddr);
  TLBSIM_CHECK(v && v->file, "map_huge_file: no file VMA covers " << hex(haddr) << " + 2 MiB");
  File& f = k.file(v->file);
  const uint64_t first = v->index_of(haddr);
  TLBSIM_CHECK(first + kHpageNr <= f.size(), "map_huge_file: file " << f.name << " is too short");
  for (uint32_t i = 0; i < kHpageNr; ++i)
    TLBSIM_CHECK(f.page(first + i) == kNoPfn, "map_huge_file: page " << first + i << " already cached");
  const PteRef pmd = mm.pt().alloc(haddr_va, 2, "__pmd_alloc");
  TLBSIM_CHECK(mm.pt().get(pmd).none(), "map_huge_file: the PMD at " << hex(haddr) << " is in use");
  // The page cache's references come with the allocation; the mapping takes one more each.
  const Pfn hpage = k.mem().alloc_contig(FrameKind::File, f.id, static_cast<uint32_t>(first), kHpageNr, "filemap_fault");
  const bool writable = write && v->shared() && v->writable();
  for (uint32_t i = 0; i < kHpageNr; ++i) {
    const Pfn p{hpage.value() + i};
    f.set_page(first + i, p);
    get_page(k, p);
    page_add_rmap(k, p);
    if (writable) f.set_dirty(first + i, true);
  }
  const uint64_t bits = Pte::kHuge | Pte::kAccessed | (writable ? Pte::kDirty : 0);
  mm.pt().set(pmd, haddr_va, Pte::make(hpage, writable).with(bits), "set_pmd_at");
  return hpage;
}

Task<> retract_page_tables(Kernel& k, uint32_t file, uint64_t pgoff) {
  File& f = k.file(file);
  co_await lock(k, f.i_mmap_rwsem, LockMode::Write, "i_mmap_lock_write");
  trace_call(k, "retract_page_tables");
  struct Target {
    MmId mm;
    uint64_t haddr;
  };
  std::vector<Target> targets;
  for (const RmapTarget& t : i_mmap_walk(k, file, pgoff, 1)) {
    // v6.0 skips a VMA with an anon_vma ("MAP_PRIVATE mappings that got written to"): its table
    // may map COW pages, which anonymous rmap walkers reach without i_mmap_rwsem.
    if (t.vma.detached || pgoff < t.vma.pgoff || t.vma.anon_vma) continue;
    const uint64_t haddr = t.vma.addr_of(pgoff);
    if (haddr % kPmdSize == 0 && haddr + kPmdSize <= t.vma.end) targets.push_back({t.mm->id(), haddr});
  }
  for (const Target& t : targets) {
    AddressSpace& mm = k.mm(t.mm);
    const PteRef pmd = mm.pt().lookup(Vaddr{t.haddr}, 2);
    if (!pmd.valid()) continue;
    const Pte entry = mm.pt().get(pmd);
    if (!entry.present() || entry.huge()) continue;
    // "We use trylock due to lock inversion": khugepaged holds the new huge page's lock and
    // i_mmap_rwsem here, while a fault takes mmap_lock first and then waits for a page (a
    // locked page, or in migration_entry_wait() for a migration that needs i_mmap_rwsem to
    // finish). Blocking here would close that cycle; v6.0 tries once and, on failure,
    // khugepaged_add_pte_mapped_thp() queues the address in the mm's khugepaged slot (up to
    // MAX_PTE_MAPPED_THP) for khugepaged_collapse_pte_mapped_thps() to retry on its next scan
    // of that mm. That later scan is not modelled: the table stays until something else frees
    // it. After a successful trylock v6.0 also skips an exiting mm (khugepaged_test_exit()) and
    // a uffd-wp VMA; neither exists in the model. 1d65b771bc08 (v6.6) retracts without
    // mmap_lock at all, freeing the table by RCU (pte_free_defer()); both policies here keep
    // v6.0's trylock.
    if (!co_await mmap_write_trylock(k, mm)) {
      trace_call(k, "khugepaged_add_pte_mapped_thp", mm.id(), VaRange{t.haddr, t.haddr + kPmdSize});
      continue;
    }
    // The anon_vma test above is racy, as the kernel's comment says; there the locked huge page
    // keeps a COW fault (filemap_fault()'s lock_page()) from mapping anything new meanwhile. The
    // model's faults do not wait for page locks, so the test is repeated under mmap_write_lock.
    const Vma* now = mm.find_vma(t.haddr);
    if (!now || now->anon_vma || now->file != file) {
      mmap_write_unlock(k, mm);
      continue;
    }
    const bool notify = k.policy().retract_page_tables_notifier;
    if (notify) mmu_notifier_invalidate_range_start(k, mm, VaRange{t.haddr, t.haddr + kPmdSize}, "retract_page_tables");
    SimLock& ptl = k.ptl(pmd.table);
    co_await lock(k, ptl, LockMode::Write, "pmd_lock");
    const Pte old = co_await pmdp_collapse_flush(k, mm, pmd, Vaddr{t.haddr});  // unlinked: mm_dec_nr_ptes()
    unlock(k, ptl, LockMode::Write, "spin_unlock");
    if (notify) co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{t.haddr, t.haddr + kPmdSize}, "retract_page_tables");
    // collapse_pte_mapped_thp(): whatever the retracted table still mapped loses that mapping.
    const Pfn table = old.pfn();
    for (uint64_t raw : k.mem().table_read(table)) {
      const Pte p{raw};
      if (!p.present() || p.special()) continue;
      page_remove_rmap(k, p.pfn());
      put_page(k, p.pfn(), "collapse_pte_mapped_thp");
    }
    co_await yield_point("pte_free");
    k.mem().free(table, "pte_free");  // pte_free(): no RCU, no gather
    mmap_write_unlock(k, mm);
  }
  unlock(k, f.i_mmap_rwsem, LockMode::Write, "i_mmap_unlock_write");
}

}  // namespace tlbsim::kernel
