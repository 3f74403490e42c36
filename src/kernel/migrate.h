// SPDX-License-Identifier: MIT
#pragma once
/// Page migration (mm/migrate.c, mm/rmap.c try_to_migrate_one(), mm/migrate_device.c; primer
/// section 6), as in Linux 6.0: one folio at a time with an immediate ptep_clear_flush() (the
/// batched flush of 7e12beb8ca2a is 6.3). The secondary invalidation is where the policy puts
/// it: OLD at the mmu_notifier_invalidate_range_end() closing each try_to_migrate_one(), FIXED
/// inside flush_tlb_page(); both precede the copy.
#include <cstdint>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// isolate_migratepages_block() (mm/compaction.c, v6.0) over frames chosen by PFN: a page is
/// taken when PageLRU(), get_page_unless_zero() and TestClearPageLRU() all succeed, and then
/// carries migration's reference. A frame that is free, not an LRU page (a page table, a
/// freed-and-reused frame) or already isolated (by another migration or reclaim) is skipped and
/// counted in `failed`. All under lru_lock: one step.
std::vector<Pfn> isolate_migratepages_block(Kernel& k, const std::vector<Pfn>& pfns, unsigned* failed = nullptr);

/// What migrate_pages() did with its list (its nr_succeeded and nr_failed).
struct MigrateCounts {
  unsigned succeeded = 0;  ///< migrated, or found freed from under us (MIGRATEPAGE_SUCCESS)
  unsigned failed = 0;     ///< -EAGAIN: an extra reference; the page is put back
};

/// migrate_pages() of isolated pages (compaction, NUMA balancing, move_pages), one
/// unmap_and_move() each: a page whose only reference left is the isolation's was freed from
/// under us and is released; otherwise allocate the target, try_to_migrate() (migration
/// entries), folio_migrate_mapping() with its refcount check, folio_migrate_copy(),
/// remove_migration_ptes(), drop the old page (freed). On a refcount mismatch (-EAGAIN, e.g. a
/// GUP reference) the migration entries are restored, the target freed and the page put back
/// (v6.0 retries up to 10 passes; the model gives up at once).
Task<MigrateCounts> migrate_pages(Kernel& k, std::vector<Pfn> from);

/// try_to_migrate(): rmap walk under the rmap lock, try_to_migrate_one() per VMA, stopping as
/// soon as the folio is unmapped (rwc.done = folio_not_mapped).
Task<> try_to_migrate(Kernel& k, Pfn page);
/// remove_migration_ptes(src, dst): every migration entry for `src` becomes a PTE to `dst` with
/// the entry's write permission (or a device-private entry when `dst_device_private`).
/// non-present -> present: no flush and no notifier in either policy.
Task<> remove_migration_ptes(Kernel& k, Pfn src, Pfn dst, bool dst_device_private = false);

/// struct migrate_vma (include/linux/migrate.h): the range and per page the source, the
/// destination and MIGRATE_PFN_* flags.
struct MigrateVma {
  static constexpr uint8_t kMigrate = 1;  ///< MIGRATE_PFN_MIGRATE
  static constexpr uint8_t kWrite = 2;    ///< MIGRATE_PFN_WRITE
  AddressSpace* mm = nullptr;
  uint64_t start = 0;
  uint64_t end = 0;
  std::vector<Pfn> src;  ///< kNoPfn for a hole (pte_none)
  std::vector<Pfn> dst;  ///< filled by the driver
  std::vector<uint8_t> flags;
};

/// migrate_vma_setup(): migrate_vma_collect() (MN_START(MMU_NOTIFY_MIGRATE), per PTE table
/// migrate_vma_collect_pmd(), MN_END) then migrate_vma_unmap()'s refcount check, restoring
/// pages that cannot move. The caller holds mmap_read_lock. Anonymous VMAs only (6.0's
/// migrate_vma_pages() refuses file pages for device-private memory).
Task<> migrate_vma_setup(Kernel& k, MigrateVma& m);
/// The driver's copy (lib/test_hmm.c dmirror_migrate_alloc_and_copy()): a device-private page
/// per collected entry, filled from the source (or zeroed for a hole).
void dmirror_migrate_alloc_and_copy(Kernel& k, MigrateVma& m);
/// migrate_vma_pages(): holes get migrate_vma_insert_page() inside a lazily opened notifier
/// bracket closed with _only_end in OLD; pages get folio_migrate_mapping().
Task<> migrate_vma_pages(Kernel& k, MigrateVma& m);
/// migrate_vma_finalize(): remove_migration_ptes() to the new (or, on failure, the old) page,
/// then drop the old pages (freed) and the driver's references to the new ones.
Task<> migrate_vma_finalize(Kernel& k, MigrateVma& m);
/// dmirror_migrate_to_device(): mmap_read_lock, setup, copy, pages, finalize, unlock. The range
/// ends up mapped by device-private entries.
Task<> migrate_vma(Kernel& k, AddressSpace& mm, uint64_t start, uint64_t end);

}  // namespace tlbsim::kernel
