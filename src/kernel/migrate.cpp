// SPDX-License-Identifier: MIT
#include "kernel/migrate.h"

#include <algorithm>

#include "kernel/arch_flush.h"
#include "kernel/ksm.h"
#include "kernel/locking.h"
#include "kernel/lru.h"
#include "kernel/mmu_notifier.h"
#include "kernel/outcome.h"
#include "kernel/page.h"
#include "kernel/pgtable_generic.h"
#include "kernel/thp.h"
#include "model/check.h"

namespace tlbsim::kernel {

namespace {

/// try_to_migrate_one() for one VMA (mm/rmap.c, v6.0).
Task<> try_to_migrate_one(Kernel& k, Pfn page, RmapTarget t) {
  AddressSpace& mm = *t.mm;
  const uint64_t addr = t.addr;
  // MMU_NOTIFY_CLEAR over the folio's extent in the VMA (vma_address_end()), opened before
  // page_vma_mapped_walk() looks for a mapping, so it is sent even when none is found.
  mmu_notifier_invalidate_range_start(k, mm, VaRange{addr, addr + kPageSize}, "try_to_migrate_one");
  const PteRef r = co_await pte_offset_map_lock(k, mm, Vaddr{addr}, "page_vma_mapped_walk");
  if (r.valid()) {
    const Pte pte = mm.pt().get(r);
    // check_pte(): a present PTE to the page, or a device-private entry for it.
    const bool maps = pte.present() ? pte.pfn() == page : pte.is_device_private() && pte.swp_offset() == page.value();
    if (maps) {
      // Not TTU_BATCH_FLUSH in 6.0: the CPU flush (and FIXED's secondary one) completes here;
      // a device-private entry was never cached, so nothing is flushed for it.
      const Pte old = co_await ptep_clear_flush(k, mm, r, Vaddr{addr});
      if (old.dirty()) folio_mark_dirty(k, page);
      // A migration entry keeps the write permission; faults on it wait in
      // migration_entry_wait() until remove_migration_ptes().
      const bool write = old.writable() || old.swp_type() == Pte::SwpType::DevicePrivateWrite;
      const auto type = write ? Pte::SwpType::MigrationWrite : Pte::SwpType::MigrationRead;
      mm.pt().set(r, Vaddr{addr}, Pte::swap_entry(type, page.value()), "set_pte_at");
      page_remove_rmap(k, page);
      put_page(k, page, "try_to_migrate_one");  // the mapping's reference; migration holds one more
      co_await yield_point("try_to_migrate_one");
    }
    pte_unmap_unlock(k, r, "page_vma_mapped_walk_done");
  }
  co_await yield_point("mmu_notifier_invalidate_range_end");
  // OLD: the hidden invalidate_range() here is this path's only secondary invalidation
  // (ec8832d007cb's diff shows no explicit call for the migration-entry case).
  co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{addr, addr + kPageSize}, "try_to_migrate_one");
}

/// remove_migration_pte() for one VMA.
Task<> remove_migration_pte(Kernel& k, RmapTarget t, Pfn src, Pfn dst) {
  AddressSpace& mm = *t.mm;
  const PteRef r = co_await pte_offset_map_lock(k, mm, Vaddr{t.addr}, "page_vma_mapped_walk");
  if (!r.valid()) co_return;
  const Pte pte = mm.pt().get(r);
  if (pte.is_migration() && pte.swp_offset() == src.value()) {
    const bool write = pte.swp_type() == Pte::SwpType::MigrationWrite && t.vma.writable();
    // pte_mkold(mk_pte(new, vm_page_prot)) + maybe_mkwrite(); 6.0 keeps no young/dirty bits in
    // the entry (Peter Xu's "remember young/dirty bit" is 6.1). Device memory gets a
    // device-private entry with that write permission.
    Pte npte = Pte::make(dst, write);
    if (k.mem().frame(dst).kind == FrameKind::DevicePrivate)
      npte = Pte::swap_entry(write ? Pte::SwpType::DevicePrivateWrite : Pte::SwpType::DevicePrivateRead, dst.value());
    get_page(k, dst);  // folio_get()
    page_add_rmap(k, dst);
    mm.pt().set(r, Vaddr{t.addr}, npte, "set_pte_at");
    co_await yield_point("remove_migration_pte");
  }
  pte_unmap_unlock(k, r, "page_vma_mapped_walk_done");
}

}  // namespace

Task<> try_to_migrate(Kernel& k, Pfn page) {
  // rwc.done = folio_not_mapped (primer 4.3)
  co_await rmap_walk(
      k, page, [&k, page](RmapTarget t) { return try_to_migrate_one(k, page, t); }, [&k, page] { return !folio_mapped(k, page); });
}

Task<> remove_migration_ptes(Kernel& k, Pfn src, Pfn dst) {
  co_await rmap_walk(k, dst, [&k, src, dst](RmapTarget t) { return remove_migration_pte(k, t, src, dst); });
}

std::vector<Pfn> isolate_migratepages_block(Kernel& k, const std::vector<Pfn>& pfns, unsigned* failed) {
  std::vector<Pfn> out;
  for (const Pfn p : pfns) {
    // The lockless PageLRU() test, then the reference ("Be careful not to clear PageLRU until
    // after we're sure the page is not being freed elsewhere"), then TestClearPageLRU(), which
    // fails when another isolation won (isolate_fail_put: our reference goes again).
    bool ok = k.mem().valid(p) && page_lru(k, p) && get_page_unless_zero(k, p);
    if (ok && !test_clear_page_lru(k, p)) {
      put_page(k, p, "isolate_migratepages_block");
      ok = false;
    }
    if (ok) {
      out.push_back(p);
    } else {
      trace_call(k, "isolate_migratepages_block: not isolated");
      if (failed) ++*failed;
    }
  }
  return out;
}

namespace {

/// unmap_and_move() with __unmap_and_move() and move_to_new_folio() for one isolated page
/// (mm/migrate.c, v6.0): true for MIGRATEPAGE_SUCCESS, false for -EAGAIN.
Task<bool> unmap_and_move(Kernel& k, Pfn page) {
  // "Page was freed from under us. So we are done.": while the page waited on the list every
  // other user let it go (munmap, exit, MADV_DONTNEED, truncate), and the isolation's
  // reference is the last. Its put frees the page; v6.0 counts that a success.
  if (k.mem().refcount(page) == 1) {
    trace_call(k, "unmap_and_move: freed from under us");
    put_page(k, page, "unmap_and_move");
    co_return true;
  }
  const Frame f = k.mem().frame(page);  // a copy: what the page was when migration began
  // get_new_page() (compaction_alloc(), alloc_migration_target()) before anything is unmapped.
  const Pfn newpage = k.mem().alloc(f.kind, f.owner, f.aux, "alloc_migration_target");
  new_page_off_lru(k, newpage);
  co_await yield_point("__unmap_and_move");
  // __unmap_and_move(): folio_trylock(); compaction migrates MIGRATE_ASYNC, so a page locked by
  // another migration (migrate_vma) is -EAGAIN at once. The page lock is held from here to the
  // end, and the new page is locked before it can be mapped. Only the migration paths take the
  // page lock in the model: a truncate that the kernel would make wait for it here may remove
  // the page from the page cache meanwhile (after zapping its mappings, migration entries
  // included); the page is then migrated without a mapping, as v6.0 migrates a page truncated
  // before the lock, and both pages end up freed, as after the kernel's truncate of the new page.
  if (!trylock_page(k, page)) {
    trace_call(k, "migrate_pages: -EAGAIN (page locked)");
    put_page(k, newpage, "migrate_pages");
    putback_lru_page(k, page, "putback_lru_page");
    co_return false;
  }
  trylock_page(k, newpage);
  if (folio_mapped(k, page)) co_await try_to_migrate(k, page);
  co_await yield_point("move_to_new_folio");

  // folio_migrate_mapping(): the refcount must be exactly ours plus the page cache's (none once
  // truncated: folio_mapping() is NULL); any other reference (GUP, a racing lookup) means
  // -EAGAIN.
  const Frame now = k.mem().frame(page);
  const bool cached = f.kind == FrameKind::File && now.aux < k.file(now.owner).size() && k.file(now.owner).page(now.aux) == page;
  const uint32_t expected = 1 + (cached ? 1 : 0);
  if (folio_mapped(k, page) || k.mem().refcount(page) != expected) {
    trace_call(k, "migrate_pages: -EAGAIN");
    co_await remove_migration_ptes(k, page, page);
    unlock_page(k, newpage);
    put_page(k, newpage, "migrate_pages");  // the target goes back to the allocator
    unlock_page(k, page);
    putback_lru_page(k, page, "putback_lru_page");
    co_return false;
  }
  if (cached) {
    // xas_store() of the new folio: the page cache reference moves with it.
    get_page(k, newpage);
    k.file(now.owner).set_page(now.aux, newpage);
    put_page(k, page, "folio_migrate_mapping");
  }
  // folio_migrate_copy(): after the secondary invalidation in both policies, so a device write
  // through a stale entry before it is copied, and none can come after.
  copy_page(k, kNoMm, Vaddr{0}, page, newpage, "folio_migrate_copy");
  folio_migrate_ksm(k, newpage, page);  // folio_migrate_flags()
  co_await yield_point("remove_migration_ptes");
  co_await remove_migration_ptes(k, page, newpage);
  unlock_page(k, newpage);
  unlock_page(k, page);
  co_await yield_point("putback_lru_page");
  putback_lru_page(k, newpage, "putback_lru_page");  // the allocation reference; the mappings hold theirs
  put_page(k, page, "unmap_and_move");               // the isolation reference ("releases reference grabbed during isolation"): freed
  co_return true;
}

}  // namespace

Task<MigrateCounts> migrate_pages(Kernel& k, std::vector<Pfn> from) {
  MigrateCounts c;
  if (from.empty()) co_return c;
  trace_call(k, "migrate_pages");
  for (const Pfn page : from) {
    if (co_await unmap_and_move(k, page))
      ++c.succeeded;
    else
      ++c.failed;
  }
  co_return c;
}

// ---------------------------------------------------------------------------------------------
// migrate_vma (mm/migrate_device.c, v6.0) and the lib/test_hmm.c driver that calls it

namespace {

size_t slot_of(const MigrateVma& m, uint64_t addr) { return static_cast<size_t>((addr - m.start) >> kPageShift); }

/// migrate_vma_collect_hole(): a hole the device may fill, in an anonymous VMA only
/// (migrate_vma_collect_skip() otherwise).
void migrate_vma_collect_hole(MigrateVma& m, uint64_t addr, uint64_t end) {
  if (!m.vma.anon()) return;
  for (uint64_t a = addr; a < end; a += kPageSize) m.flags[slot_of(m, a)] = MigrateVma::kMigrate;
}

/// PageAnonExclusive(), as the model can tell it: an anonymous page mapped once and not KSM's
/// (fork, which makes pages shared, and KSM clear it; the model keeps no separate bit).
bool anon_exclusive(const PhysMem& mem, Pfn page) {
  const Frame& f = mem.frame(page);
  return (f.kind == FrameKind::Anon || f.kind == FrameKind::DevicePrivate) && !f.ksm && mem.mapcount(page) == 1;
}

/// migrate_vma_collect_pmd() over one PMD's part [addr, end) of the range.
Task<> migrate_vma_collect_pmd(Kernel& k, MigrateVma& m, uint64_t addr, uint64_t end) {
  AddressSpace& mm = *m.mm;
  for (;;) {  // again:
    const PteRef pmd = mm.pt().lookup(Vaddr{addr}, 2);
    const Pte pmdval = pmd.valid() ? mm.pt().get(pmd) : Pte{};
    if (pmdval.none()) {
      migrate_vma_collect_hole(m, addr, end);
      co_return;
    }
    if (!pmd_trans_huge(pmdval)) break;
    // pmd_lock(), re-checked: a split in progress holds it and leaves a PTE table. A huge page
    // still there would be split by split_huge_page(), which the model does not have: it is
    // skipped, as when that split fails (migrate_vma_collect_skip()).
    SimLock& pmd_ptl = k.ptl(pmd.table);
    co_await lock(k, pmd_ptl, LockMode::Write, "pmd_lock");
    const bool still_huge = pmd_trans_huge(mm.pt().get(pmd));
    unlock(k, pmd_ptl, LockMode::Write, "spin_unlock");
    if (still_huge) {
      trace_call(k, "migrate_vma_collect_skip: huge PMD", mm.id(), VaRange{addr, end});
      co_return;
    }
  }
  const PteRef first = co_await pte_offset_map_lock(k, mm, Vaddr{addr});
  if (!first.valid()) co_return;  // the table went away (not under mmap_read_lock in v6.0): skip
  unsigned unmapped = 0;
  for (uint64_t a = addr; a < end; a += kPageSize) {
    const size_t i = slot_of(m, a);
    const PteRef r{first.table, static_cast<uint16_t>(table_index(a, 1)), 1};
    const Pte pte = mm.pt().get(r);
    if (pte.none()) {
      if (m.vma.anon()) m.flags[i] = MigrateVma::kMigrate;
      continue;
    }
    Pfn page;
    bool write = false;
    if (!pte.present()) {
      // Only device-private entries, and only when bringing device pages back; swap and
      // migration entries are left alone.
      if (!pte.is_device_private() || m.select != MigrateVma::Select::DevicePrivate) continue;
      page = Pfn{static_cast<uint32_t>(pte.swp_offset())};
      write = pte.swp_type() == Pte::SwpType::DevicePrivateWrite;
    } else {
      // vm_normal_page(): none for a PFNMAP entry; system pages only when selected.
      if (pte.special() || m.select != MigrateVma::Select::System) continue;
      page = pte.pfn();
      write = pte.writable();
    }
    // "FIXME support THP" / !page->mapping: only anonymous and page-cache pages.
    const FrameKind kind = k.mem().frame(page).kind;
    if (kind != FrameKind::Anon && kind != FrameKind::File && kind != FrameKind::DevicePrivate) continue;
    // folio_get() pins the page; trylock_page() fails when another migration holds it.
    get_page(k, page);
    if (!trylock_page(k, page)) {
      put_page(k, page, "migrate_vma_collect_pmd");
      continue;
    }
    // An exclusive anonymous page is cleared and flushed at once (ptep_clear_flush(), since
    // 6c287605fd56, so that page_try_share_anon_rmap() sees no TLB that could still write it;
    // that never fails here: SVA devices do not pin); others are cleared and covered by the
    // range flush below.
    const bool clear_flush = k.policy().migrate_vma_exclusive_clear_flush && anon_exclusive(k.mem(), page);
    Pte old;
    if (clear_flush)
      old = co_await ptep_clear_flush(k, mm, r, Vaddr{a}, "ptep_clear_flush");
    else
      old = mm.pt().set(r, Vaddr{a}, Pte{}, "ptep_get_and_clear");
    if (old.dirty()) folio_mark_dirty(k, page);  // fd35ca3d12cc
    const auto type = write ? Pte::SwpType::MigrationWrite : Pte::SwpType::MigrationRead;
    mm.pt().set(r, Vaddr{a}, Pte::swap_entry(type, page.value()), "set_pte_at");
    page_remove_rmap(k, page);
    put_page(k, page, "migrate_vma_collect_pmd");  // the mapping's; collect's own stays
    m.src[i] = page;
    m.flags[i] = MigrateVma::kMigrate | (write ? MigrateVma::kWrite : 0);
    if (old.present()) ++unmapped;
    co_await yield_point("migrate_vma_collect_pmd");
  }
  const bool after_unlock = k.policy().migrate_vma_flush_after_unlock;
  // 60bae7370896: flush before dropping the PTL, or a racing MADV_DONTNEED that sees only
  // migration entries returns while a TLB still maps the pages.
  if (unmapped && !after_unlock) co_await flush_tlb_range(k, mm, VaRange{addr, end});
  pte_unmap_unlock(k, first);
  if (unmapped && after_unlock) {
    co_await yield_point("flush_tlb_range");
    co_await flush_tlb_range(k, mm, VaRange{addr, end});
  }
}

/// migrate_vma_check_page(): no reference beyond the caller's (isolation or collect), the
/// page cache's and, as v6.0 still counts it, one for a ZONE_DEVICE page.
bool migrate_vma_check_page(Kernel& k, Pfn page) {
  const Frame& f = k.mem().frame(page);
  int64_t extra = 1;
  if (f.kind == FrameKind::DevicePrivate) ++extra;
  if (f.kind == FrameKind::File) ++extra;  // page_mapping(): the page cache's reference
  return int64_t{k.mem().refcount(page)} - extra <= int64_t{k.mem().mapcount(page)};
}

/// migrate_vma_unmap(): system pages leave the LRU (isolate_lru_page(), whose reference
/// replaces collect's); mappings collect did not reach are made migration entries by
/// try_to_migrate(); a page still mapped or with extra references is restored and unlocked.
Task<> migrate_vma_unmap(Kernel& k, MigrateVma& m) {
  std::vector<size_t> restore;
  for (size_t i = 0; i < m.src.size(); ++i) {
    const Pfn page = m.src[i];
    if (page == kNoPfn) continue;
    const bool device = k.mem().frame(page).kind == FrameKind::DevicePrivate;
    if (!device) {
      // isolate_lru_page(): fails when reclaim or compaction has the page.
      if (!test_clear_page_lru(k, page)) {
        m.flags[i] &= static_cast<uint8_t>(~MigrateVma::kMigrate);
        restore.push_back(i);
        continue;
      }
      get_page(k, page);                       // folio_isolate_lru()'s reference
      put_page(k, page, "migrate_vma_unmap");  // "Drop the reference we took in collect"
    }
    if (folio_mapped(k, page)) co_await try_to_migrate(k, page);
    if (folio_mapped(k, page) || !migrate_vma_check_page(k, page)) {
      if (!device) {
        get_page(k, page);
        putback_lru_page(k, page, "putback_lru_page");
      }
      m.flags[i] &= static_cast<uint8_t>(~MigrateVma::kMigrate);
      restore.push_back(i);
    }
  }
  for (const size_t i : restore) {
    const Pfn page = m.src[i];
    trace_call(k, "migrate_vma_unmap: restored");
    co_await remove_migration_ptes(k, page, page);
    m.src[i] = kNoPfn;
    unlock_page(k, page);
    put_page(k, page, "migrate_vma_unmap");
  }
}

/// migrate_vma_insert_page(): a hole of an anonymous VMA gets the device page; it was
/// non-present, so no flush. Aborts on a huge PMD and when the slot is no longer empty (the
/// zero-page branch, ptep_clear_flush_notify(), does not occur: the model has no zero page).
Task<bool> migrate_vma_insert_page(Kernel& k, MigrateVma& m, uint64_t addr, Pfn page) {
  AddressSpace& mm = *m.mm;
  if (!m.vma.anon()) co_return false;
  const PteRef pmd = mm.pt().lookup(Vaddr{addr}, 2);
  if (pmd.valid() && pmd_trans_huge(mm.pt().get(pmd))) co_return false;
  if (!mm.pt().lookup(Vaddr{addr}, 1).valid()) mm.pt().alloc(Vaddr{addr}, 1, "__pte_alloc");
  const PteRef r = co_await pte_offset_map_lock(k, mm, Vaddr{addr});
  if (!r.valid()) co_return false;
  if (!mm.pt().get(r).none()) {
    pte_unmap_unlock(k, r);
    co_return false;
  }
  page_add_rmap(k, page);  // page_add_new_anon_rmap()
  get_page(k, page);
  const auto type = m.vma.writable() ? Pte::SwpType::DevicePrivateWrite : Pte::SwpType::DevicePrivateRead;
  mm.pt().set(r, Vaddr{addr}, Pte::swap_entry(type, page.value()), "set_pte_at");
  pte_unmap_unlock(k, r);
  co_return true;
}

/// The owner and index a new page takes so that rmap finds the mappings of the page it
/// replaces (the anon_vma and index of that page; of the VMA for a hole).
std::pair<uint32_t, uint64_t> rmap_key(Kernel& k, const MigrateVma& m, size_t i) {
  if (m.src[i] != kNoPfn) {
    const Frame& f = k.mem().frame(m.src[i]);
    return {f.owner, f.aux};
  }
  return {m.vma.anon_vma, m.vma.index_of(m.start + (i << kPageShift))};
}

}  // namespace

Task<> migrate_vma_setup(Kernel& k, MigrateVma& m) {
  AddressSpace& mm = *m.mm;
  const size_t n = (m.end - m.start) >> kPageShift;
  m.src.assign(n, kNoPfn);
  m.dst.assign(n, kNoPfn);
  m.flags.assign(n, 0);
  // -EINVAL for VM_SPECIAL (PFNMAP) VMAs and a range outside the VMA.
  if (m.vma.pfnmap() || m.start < m.vma.start || m.end > m.vma.end || m.start >= m.end) co_return;
  trace_call(k, "migrate_vma_setup", mm.id(), VaRange{m.start, m.end});
  // migrate_vma_collect(): mmu_notifier_range_init_owner(MMU_NOTIFY_MIGRATE, pgmap_owner).
  mmu_notifier_invalidate_range_start(k, mm, VaRange{m.start, m.end}, "migrate_vma_collect");
  for (uint64_t a = m.start; a < m.end;) {
    const uint64_t next = std::min(m.end, (a + kPmdSize) & ~(kPmdSize - 1));
    co_await migrate_vma_collect_pmd(k, m, a, next);
    a = next;
  }
  co_await yield_point("mmu_notifier_invalidate_range_end");
  co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{m.start, m.end}, "migrate_vma_collect");
  co_await migrate_vma_unmap(k, m);
}

void dmirror_migrate_alloc_and_copy(Kernel& k, MigrateVma& m) {
  for (size_t i = 0; i < m.src.size(); ++i) {
    if (!(m.flags[i] & MigrateVma::kMigrate)) continue;
    // dmirror_devmem_alloc_page(), locked: device memory with the anon rmap of what it replaces.
    // For a hole that is the VMA's anon_vma, which migrate_vma_insert_page() prepares (a VMA
    // emptied by mremap(MREMAP_DONTUNMAP) has none yet); nothing but this page can see it earlier.
    if (m.src[i] == kNoPfn && !m.vma.file) anon_vma_prepare(k, *m.mm, m.vma);
    const auto [owner, index] = rmap_key(k, m, i);
    m.dst[i] = k.mem().alloc(FrameKind::DevicePrivate, owner, index, "dmirror_devmem_alloc_page");
    trylock_page(k, m.dst[i]);  // a new page: nobody else can hold it
    if (m.src[i] != kNoPfn)
      copy_page(k, m.mm->id(), Vaddr{m.start + (i << kPageShift)}, m.src[i], m.dst[i], "dmirror_migrate_alloc_and_copy");
  }
}

void dmirror_devmem_fault_alloc_and_copy(Kernel& k, MigrateVma& m) {
  for (size_t i = 0; i < m.src.size(); ++i) {
    if (m.src[i] == kNoPfn || !(m.flags[i] & MigrateVma::kMigrate)) continue;
    // alloc_page_vma() + lock_page(); xa_erase() of the driver's own mapping is not modelled.
    const auto [owner, index] = rmap_key(k, m, i);
    m.dst[i] = k.mem().alloc(FrameKind::Anon, owner, index, "alloc_page_vma");
    new_page_off_lru(k, m.dst[i]);
    trylock_page(k, m.dst[i]);
    copy_page(k, m.mm->id(), Vaddr{m.start + (i << kPageShift)}, m.src[i], m.dst[i], "dmirror_devmem_fault_alloc_and_copy");
  }
}

Task<> migrate_vma_pages(Kernel& k, MigrateVma& m) {
  AddressSpace& mm = *m.mm;
  bool notified = false;
  uint64_t notified_from = 0;
  for (size_t i = 0; i < m.src.size(); ++i) {
    const uint64_t addr = m.start + (i << kPageShift);
    const Pfn newpage = m.dst[i];
    const Pfn page = m.src[i];
    if (newpage == kNoPfn) {
      m.flags[i] &= static_cast<uint8_t>(~MigrateVma::kMigrate);
      continue;
    }
    if (page == kNoPfn) {
      if (!(m.flags[i] & MigrateVma::kMigrate)) continue;
      if (!notified) {
        notified = true;
        notified_from = addr;
        mmu_notifier_invalidate_range_start(k, mm, VaRange{addr, m.end}, "migrate_vma_pages");
      }
      if (!co_await migrate_vma_insert_page(k, m, addr, newpage)) m.flags[i] &= static_cast<uint8_t>(~MigrateVma::kMigrate);
      continue;
    }
    // "For now only support anonymous memory migrating to device private": page_mapping().
    if (k.mem().frame(newpage).kind == FrameKind::DevicePrivate && k.mem().frame(page).kind == FrameKind::File) {
      m.flags[i] &= static_cast<uint8_t>(~MigrateVma::kMigrate);
      continue;
    }
    // migrate_folio(MIGRATE_SYNC_NO_COPY) -> folio_migrate_mapping(): anonymous, only the
    // caller's reference may remain.
    if (k.mem().refcount(page) != 1)
      m.flags[i] &= static_cast<uint8_t>(~MigrateVma::kMigrate);
    else
      folio_migrate_ksm(k, newpage, page);  // migrate_folio() -> folio_migrate_flags()
  }
  // OLD: _only_end, the insert path having notified under the PTL where it had to.
  if (notified) co_await mmu_notifier_invalidate_range_end_after_notify(k, mm, VaRange{notified_from, m.end}, "migrate_vma_pages");
}

Task<> migrate_vma_finalize(Kernel& k, MigrateVma& m) {
  for (size_t i = 0; i < m.src.size(); ++i) {
    const Pfn page = m.src[i];
    Pfn newpage = m.dst[i];
    if (page == kNoPfn) {
      if (newpage != kNoPfn) {
        unlock_page(k, newpage);
        put_page(k, newpage, "migrate_vma_finalize");
      }
      continue;
    }
    if (!(m.flags[i] & MigrateVma::kMigrate) || newpage == kNoPfn) {
      if (newpage != kNoPfn) {
        unlock_page(k, newpage);
        put_page(k, newpage, "migrate_vma_finalize");
      }
      newpage = page;
    }
    co_await remove_migration_ptes(k, page, newpage);
    unlock_page(k, page);
    // The collected page: back on the LRU (a system page) or its reference dropped (device
    // memory); a migrated one is freed here.
    if (k.mem().frame(page).kind == FrameKind::DevicePrivate)
      put_page(k, page, "migrate_vma_finalize");
    else
      putback_lru_page(k, page, "putback_lru_page");
    if (newpage != page) {
      unlock_page(k, newpage);
      if (k.mem().frame(newpage).kind == FrameKind::DevicePrivate)
        put_page(k, newpage, "migrate_vma_finalize");
      else
        putback_lru_page(k, newpage, "putback_lru_page");
    }
  }
}

Task<> dmirror_migrate(Kernel& k, AddressSpace& mm, VaRange range) {
  const uint64_t start = range.lo(), end = range.hi();
  co_await mmap_read_lock(k, mm);
  trace_call(k, "dmirror_migrate", mm.id(), range);
  for (uint64_t addr = start; addr < end;) {
    const Vma* v = mm.find_vma(addr);
    if (!v || addr < v->start) {
      syscall_error(k, "dmirror_migrate", mm.id(), VaRange{addr, end}, Errno::Einval);
      break;
    }
    const uint64_t next = std::min({end, addr + 64 * kPageSize, v->end});  // src_pfns[64]
    MigrateVma m{.mm = &mm, .vma = *v, .start = addr, .end = next, .select = MigrateVma::Select::System};
    co_await migrate_vma_setup(k, m);
    co_await yield_point("dmirror_migrate_alloc_and_copy");
    dmirror_migrate_alloc_and_copy(k, m);
    co_await migrate_vma_pages(k, m);
    // dmirror_migrate_finalize_and_map(): the driver's own page table is not modelled.
    co_await migrate_vma_finalize(k, m);
    addr = next;
  }
  mmap_read_unlock(k, mm);
}

Task<> dmirror_devmem_fault(Kernel& k, AddressSpace& mm, const Vma& vma, Vaddr addr_va) {
  const uint64_t addr = addr_va.value();
  trace_call(k, "dmirror_devmem_fault", mm.id(), VaRange{addr, addr + kPageSize});
  MigrateVma m{.mm = &mm, .vma = vma, .start = addr, .end = addr + kPageSize, .select = MigrateVma::Select::DevicePrivate};
  co_await migrate_vma_setup(k, m);
  co_await yield_point("dmirror_devmem_fault_alloc_and_copy");
  dmirror_devmem_fault_alloc_and_copy(k, m);
  co_await migrate_vma_pages(k, m);
  co_await migrate_vma_finalize(k, m);
}

}  // namespace tlbsim::kernel
