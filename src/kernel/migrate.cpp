// SPDX-License-Identifier: MIT
#include "kernel/migrate.h"

#include <algorithm>

#include "kernel/arch_flush.h"
#include "kernel/locking.h"
#include "kernel/lru.h"
#include "kernel/mmu_notifier.h"
#include "kernel/page.h"
#include "kernel/pgtable_generic.h"
#include "model/check.h"

namespace tlbsim::kernel {

namespace {


/// try_to_migrate_one() for one VMA (mm/rmap.c, v6.0).
Task<> try_to_migrate_one(Kernel& k, Pfn page, RmapTarget t) {
  AddressSpace& mm = *t.mm;
  const uint64_t addr = t.addr;
  // MMU_NOTIFY_CLEAR over the folio's extent in the VMA (vma_address_end()), opened before
  // page_vma_mapped_walk() looks for a mapping, so it is sent even when none is found.
  mmu_notifier_invalidate_range_start(k, mm, addr, addr + kPageSize, "try_to_migrate_one");
  const PteRef r = co_await pte_offset_map_lock(k, mm, addr, "page_vma_mapped_walk");
  if (r.valid()) {
    const Pte pte = mm.pt().get(r);
    if (pte.present() && pte.pfn() == page) {
      // Not TTU_BATCH_FLUSH in 6.0: the CPU flush (and FIXED's secondary one) completes here.
      const Pte old = ptep_clear_flush(k, mm, r, addr);
      if (old.dirty()) folio_mark_dirty(k, page);
      // A migration entry keeps the write permission; faults on it wait in
      // migration_entry_wait() until remove_migration_ptes().
      const auto type = old.writable() ? Pte::SwpType::MigrationWrite : Pte::SwpType::MigrationRead;
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
  mmu_notifier_invalidate_range_end(k, mm, addr, addr + kPageSize, "try_to_migrate_one");
}

/// remove_migration_pte() for one VMA.
Task<> remove_migration_pte(Kernel& k, RmapTarget t, Pfn src, Pfn dst, bool dst_device_private) {
  AddressSpace& mm = *t.mm;
  const PteRef r = co_await pte_offset_map_lock(k, mm, t.addr, "page_vma_mapped_walk");
  if (!r.valid()) co_return;
  const Pte pte = mm.pt().get(r);
  if (pte.is_migration() && pte.swp_offset() == src.value()) {
    const bool write = pte.swp_type() == Pte::SwpType::MigrationWrite && t.vma.writable();
    // pte_mkold(mk_pte(new, vm_page_prot)) + maybe_mkwrite(); 6.0 keeps no young/dirty bits in
    // the entry (Peter Xu's "remember young/dirty bit" is 6.1).
    const Pte npte = dst_device_private
                         ? Pte::swap_entry(Pte::SwpType::DevicePrivate, dst.value())
                         : Pte::make(dst, write);
    get_page(k, dst);  // folio_get()
    page_add_rmap(k, dst);
    mm.pt().set(r, Vaddr{t.addr}, npte, "set_pte_at");
    co_await yield_point("remove_migration_pte");
  }
  pte_unmap_unlock(k, r, "page_vma_mapped_walk_done");
}

}  // namespace

Task<> try_to_migrate(Kernel& k, Pfn page) {
  co_await rmap_lock_read(k, page);
  for (const RmapTarget& t : rmap_walk(k, page)) {
    co_await try_to_migrate_one(k, page, t);
    if (!folio_mapped(k, page)) break;  // rwc.done = folio_not_mapped (primer 4.3)
  }
  rmap_unlock_read(k, page);
}

Task<> remove_migration_ptes(Kernel& k, Pfn src, Pfn dst, bool dst_device_private) {
  co_await rmap_lock_read(k, dst);
  for (const RmapTarget& t : rmap_walk(k, dst)) co_await remove_migration_pte(k, t, src, dst, dst_device_private);
  rmap_unlock_read(k, dst);
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
  if (k.mem().frame(page).refcount == 1) {
    trace_call(k, "unmap_and_move: freed from under us");
    put_page(k, page, "unmap_and_move");
    co_return true;
  }
  const Frame f = k.mem().frame(page);  // a copy: alloc() below may move the frame array
  // get_new_page() (compaction_alloc(), alloc_migration_target()) before anything is unmapped.
  const Pfn newpage = k.mem().alloc(f.kind, f.owner, f.aux, "alloc_migration_target");
  co_await yield_point("__unmap_and_move");
  // __unmap_and_move() holds the page lock from here to the end. The model has no page lock:
  // a truncate that the kernel would make wait for it here may remove the page from the page
  // cache meanwhile (after zapping its mappings, migration entries included); the page is then
  // migrated without a mapping, as v6.0 migrates a page truncated before the lock, and both
  // pages end up freed, as after the kernel's truncate of the new page.
  if (folio_mapped(k, page)) co_await try_to_migrate(k, page);
  co_await yield_point("move_to_new_folio");

  // folio_migrate_mapping(): the refcount must be exactly ours plus the page cache's (none once
  // truncated: folio_mapping() is NULL); any other reference (GUP, a racing lookup) means
  // -EAGAIN.
  const Frame now = k.mem().frame(page);
  const bool cached = f.kind == FrameKind::File && now.aux < k.file(now.owner).size() && k.file(now.owner).page(now.aux) == page;
  const uint32_t expected = 1 + (cached ? 1 : 0);
  if (folio_mapped(k, page) || now.refcount != expected) {
    trace_call(k, "migrate_pages: -EAGAIN");
    co_await remove_migration_ptes(k, page, page);
    put_page(k, newpage, "migrate_pages");  // the target goes back to the allocator
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
  copy_page(k, kNoMm, 0, page, newpage, "folio_migrate_copy");
  co_await yield_point("remove_migration_ptes");
  co_await remove_migration_ptes(k, page, newpage);
  co_await yield_point("putback_lru_page");
  putback_lru_page(k, newpage, "putback_lru_page");  // the allocation reference; the mappings hold theirs
  put_page(k, page, "unmap_and_move");  // the isolation reference ("releases reference grabbed during isolation"): freed
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
// migrate_vma (mm/migrate_device.c in 6.1; mm/migrate.c in 6.0)

namespace {

/// migrate_vma_collect_pmd() over one PTE table's part [addr, end) of the range.
Task<> migrate_vma_collect_pmd(Kernel& k, MigrateVma& m, uint64_t addr, uint64_t end) {
  AddressSpace& mm = *m.mm;
  const PteRef first = co_await pte_offset_map_lock(k, mm, addr);
  if (!first.valid()) {
    // migrate_vma_collect_hole(): nothing mapped; the device may fill it.
    for (uint64_t a = addr; a < end; a += kPageSize) m.flags[(a - m.start) >> kPageShift] = MigrateVma::kMigrate;
    co_return;
  }
  unsigned unmapped = 0;
  for (uint64_t a = addr; a < end; a += kPageSize) {
    const size_t i = (a - m.start) >> kPageShift;
    const PteRef r{first.table, static_cast<uint16_t>(table_index(a, 1)), 1};
    const Pte pte = mm.pt().get(r);
    if (pte.none()) {
      m.flags[i] = MigrateVma::kMigrate;
      continue;
    }
    if (!pte.present() || pte.special()) continue;  // swap/migration/device entries: not collected
    const Pfn page = pte.pfn();
    if (k.mem().frame(page).kind != FrameKind::Anon) continue;
    // get_page() + trylock_page(): the collected reference; then the PTE becomes a migration
    // entry right away (ptep_get_and_clear(), no flush yet).
    get_page(k, page);
    const Pte old = mm.pt().set(r, Vaddr{a}, Pte{}, "ptep_get_and_clear");
    if (old.dirty()) folio_mark_dirty(k, page);  // fd35ca3d12cc
    const auto type = old.writable() ? Pte::SwpType::MigrationWrite : Pte::SwpType::MigrationRead;
    mm.pt().set(r, Vaddr{a}, Pte::swap_entry(type, page.value()), "set_pte_at");
    page_remove_rmap(k, page);
    put_page(k, page, "migrate_vma_collect_pmd");
    m.src[i] = page;
    m.flags[i] = MigrateVma::kMigrate | (old.writable() ? MigrateVma::kWrite : 0);
    ++unmapped;
    co_await yield_point("migrate_vma_collect_pmd");
  }
  const bool after_unlock = k.policy().migrate_vma_flush_after_unlock;
  // 60bae7370896: flush before dropping the PTL, or a racing MADV_DONTNEED that sees only
  // migration entries returns while a TLB still maps the pages.
  if (unmapped && !after_unlock) flush_tlb_range(k, mm, addr, end);
  pte_unmap_unlock(k, first);
  if (unmapped && after_unlock) {
    co_await yield_point("flush_tlb_range");
    flush_tlb_range(k, mm, addr, end);
  }
}

/// migrate_vma_insert_page(): a hole gets the device page; it was non-present, so no flush.
Task<bool> migrate_vma_insert_page(Kernel& k, MigrateVma& m, uint64_t addr, Pfn page) {
  AddressSpace& mm = *m.mm;
  if (!mm.pt().lookup(Vaddr{addr}, 1).valid()) mm.pt().alloc(Vaddr{addr}, 1, "__pte_alloc");
  const PteRef r = co_await pte_offset_map_lock(k, mm, addr);
  if (!r.valid()) co_return false;
  if (!mm.pt().get(r).none()) {  // the zero-page branch (ptep_clear_flush_notify) is not modelled
    pte_unmap_unlock(k, r);
    co_return false;
  }
  page_add_rmap(k, page);  // page_add_new_anon_rmap()
  get_page(k, page);
  mm.pt().set(r, Vaddr{addr}, Pte::swap_entry(Pte::SwpType::DevicePrivate, page.value()), "set_pte_at");
  pte_unmap_unlock(k, r);
  co_return true;
}

const Vma* anon_vma_covering(const AddressSpace& mm, uint64_t start, uint64_t end) {
  const Vma* v = mm.find_vma(start);
  if (!v || !v->anon() || end > v->end) return nullptr;
  return v;
}

}  // namespace

Task<> migrate_vma_setup(Kernel& k, MigrateVma& m) {
  AddressSpace& mm = *m.mm;
  const size_t n = (m.end - m.start) >> kPageShift;
  m.src.assign(n, kNoPfn);
  m.dst.assign(n, kNoPfn);
  m.flags.assign(n, 0);
  if (!anon_vma_covering(mm, m.start, m.end)) co_return;
  trace_call(k, "migrate_vma_setup", mm.id(), m.start, m.end);
  // migrate_vma_collect(): mmu_notifier_range_init_owner(MMU_NOTIFY_MIGRATE, pgmap_owner).
  mmu_notifier_invalidate_range_start(k, mm, m.start, m.end, "migrate_vma_collect");
  for (uint64_t a = m.start; a < m.end;) {
    const uint64_t next = std::min(m.end, (a + kPmdSize) & ~(kPmdSize - 1));
    co_await migrate_vma_collect_pmd(k, m, a, next);
    a = next;
  }
  co_await yield_point("mmu_notifier_invalidate_range_end");
  mmu_notifier_invalidate_range_end(k, mm, m.start, m.end, "migrate_vma_collect");
  // migrate_vma_unmap() -> migrate_vma_check_page(): only the collected reference may remain.
  for (size_t i = 0; i < n; ++i) {
    const Pfn p = m.src[i];
    if (p == kNoPfn || k.mem().frame(p).refcount == 1) continue;
    co_await remove_migration_ptes(k, p, p);
    put_page(k, p, "migrate_vma_unmap");
    m.src[i] = kNoPfn;
    m.flags[i] = 0;
  }
}

void dmirror_migrate_alloc_and_copy(Kernel& k, MigrateVma& m) {
  const Vma* v = anon_vma_covering(*m.mm, m.start, m.end);
  if (!v) return;
  for (size_t i = 0; i < m.src.size(); ++i) {
    if (!(m.flags[i] & MigrateVma::kMigrate)) continue;
    const uint64_t addr = m.start + (i << kPageShift);
    // dmirror_devmem_alloc_page(): a device-private page (anon rmap like the page it replaces).
    m.dst[i] = k.mem().alloc(FrameKind::Anon, v->anon_vma, static_cast<uint32_t>(v->index_of(addr)),
                             "dmirror_devmem_alloc_page");
    if (m.src[i] != kNoPfn) copy_page(k, m.mm->id(), addr, m.src[i], m.dst[i], "dmirror_migrate_alloc_and_copy");
  }
}

Task<> migrate_vma_pages(Kernel& k, MigrateVma& m) {
  AddressSpace& mm = *m.mm;
  if (!anon_vma_covering(mm, m.start, m.end)) co_return;
  bool notified = false;
  uint64_t notified_from = 0;
  for (size_t i = 0; i < m.src.size(); ++i) {
    const uint64_t addr = m.start + (i << kPageShift);
    if (m.dst[i] == kNoPfn) {
      m.flags[i] &= static_cast<uint8_t>(~MigrateVma::kMigrate);
      continue;
    }
    if (m.src[i] == kNoPfn) {
      if (!(m.flags[i] & MigrateVma::kMigrate)) continue;
      if (!notified) {
        notified = true;
        notified_from = addr;
        mmu_notifier_invalidate_range_start(k, mm, addr, m.end, "migrate_vma_pages");
      }
      if (!co_await migrate_vma_insert_page(k, m, addr, m.dst[i]))
        m.flags[i] &= static_cast<uint8_t>(~MigrateVma::kMigrate);
      continue;
    }
    // migrate_folio(MIGRATE_SYNC_NO_COPY) -> folio_migrate_mapping(): anonymous, refcount check.
    if (k.mem().frame(m.src[i]).refcount != 1) m.flags[i] &= static_cast<uint8_t>(~MigrateVma::kMigrate);
  }
  // OLD: _only_end, the insert path having notified under the PTL where it had to.
  if (notified) mmu_notifier_invalidate_range_end_after_notify(k, mm, notified_from, m.end, "migrate_vma_pages");
}

Task<> migrate_vma_finalize(Kernel& k, MigrateVma& m) {
  for (size_t i = 0; i < m.src.size(); ++i) {
    const Pfn page = m.src[i];
    Pfn newpage = m.dst[i];
    if (page == kNoPfn) {
      if (newpage != kNoPfn) put_page(k, newpage, "migrate_vma_finalize");
      continue;
    }
    if (!(m.flags[i] & MigrateVma::kMigrate) || newpage == kNoPfn) {
      if (newpage != kNoPfn) put_page(k, newpage, "migrate_vma_finalize");
      newpage = page;
    }
    co_await remove_migration_ptes(k, page, newpage, newpage != page);
    put_page(k, page, "migrate_vma_finalize");  // the collected reference: a migrated page is freed
    if (newpage != page) put_page(k, newpage, "migrate_vma_finalize");
  }
}

Task<> migrate_vma(Kernel& k, AddressSpace& mm, uint64_t start, uint64_t end) {
  co_await mmap_read_lock(k, mm);
  trace_call(k, "dmirror_migrate_to_device", mm.id(), start, end);
  MigrateVma m{.mm = &mm, .start = start, .end = end};
  co_await migrate_vma_setup(k, m);
  co_await yield_point("dmirror_migrate_alloc_and_copy");
  dmirror_migrate_alloc_and_copy(k, m);
  co_await migrate_vma_pages(k, m);
  co_await migrate_vma_finalize(k, m);
  mmap_read_unlock(k, mm);
}

}  // namespace tlbsim::kernel
