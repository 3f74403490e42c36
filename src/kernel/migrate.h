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
/// soon as the folio is unmapped (rwc.done = folio_not_mapped). A device-private page's
/// entries are found too (page_vma_mapped_walk()'s check_pte()).
Task<> try_to_migrate(Kernel& k, Pfn page);
/// remove_migration_ptes(src, dst): every migration entry for `src` becomes a PTE to `dst` with
/// the entry's write permission (a device-private entry when `dst` is device memory).
/// non-present -> present: no flush and no notifier in either policy.
Task<> remove_migration_ptes(Kernel& k, Pfn src, Pfn dst);

/// struct migrate_vma (include/linux/migrate.h): the VMA and range, which pages to select
/// (MIGRATE_VMA_SELECT_SYSTEM to move system pages to the device, _DEVICE_PRIVATE to bring the
/// device's own pages back) and per page the source, the destination and MIGRATE_PFN_* flags.
struct MigrateVma {
  static constexpr uint8_t kMigrate = 1;  ///< MIGRATE_PFN_MIGRATE
  static constexpr uint8_t kWrite = 2;    ///< MIGRATE_PFN_WRITE
  enum class Select : uint8_t { System, DevicePrivate };
  AddressSpace* mm = nullptr;
  Vma vma;  ///< args->vma; the caller holds mmap_read_lock, so it cannot change
  uint64_t start = 0;
  uint64_t end = 0;
  Select select = Select::System;
  std::vector<Pfn> src;  ///< kNoPfn for a hole (pte_none) or a page not collected
  std::vector<Pfn> dst;  ///< filled by the driver
  std::vector<uint8_t> flags;
};

/// migrate_vma_setup() (mm/migrate_device.c, v6.0): migrate_vma_collect() (MN_START(
/// MMU_NOTIFY_MIGRATE), per PMD migrate_vma_collect_pmd(), MN_END), then migrate_vma_unmap().
/// Collect takes a reference and the page lock (trylock_page(): a page another migration holds
/// is skipped), and makes the PTE a migration entry under the PTL: an exclusive anonymous page
/// with ptep_clear_flush(), a shared one with ptep_get_and_clear() and the range flush before
/// the PTL is dropped (60bae7370896). Unmap takes system pages off the LRU (a page reclaim or
/// compaction holds is restored), try_to_migrate()s the mappings collect did not see (other mms
/// after fork) and keeps only pages without extra references (migrate_vma_check_page()).
/// Model scope: anonymous and page-cache pages; a huge PMD is skipped (as when split_huge_page()
/// fails), and the subpages of a split THP count as small pages.
Task<> migrate_vma_setup(Kernel& k, MigrateVma& m);
/// lib/test_hmm.c dmirror_migrate_alloc_and_copy(): a locked device-private page per collected
/// entry, filled from the source (or zeroed for a hole).
void dmirror_migrate_alloc_and_copy(Kernel& k, MigrateVma& m);
/// lib/test_hmm.c dmirror_devmem_fault_alloc_and_copy(): a locked system page per collected
/// device-private page, filled from it.
void dmirror_devmem_fault_alloc_and_copy(Kernel& k, MigrateVma& m);
/// migrate_vma_pages(): holes get migrate_vma_insert_page() inside a lazily opened notifier
/// bracket closed with _only_end in OLD; a page-cache page cannot go to device memory; others
/// pass folio_migrate_mapping()'s refcount check.
Task<> migrate_vma_pages(Kernel& k, MigrateVma& m);
/// migrate_vma_finalize(): remove_migration_ptes() to the new (or, on failure, the old) page,
/// unlock, then drop the collected pages (a migrated one is freed) and the driver's references.
Task<> migrate_vma_finalize(Kernel& k, MigrateVma& m);
/// lib/test_hmm.c dmirror_migrate(), the HMM_DMIRROR_MIGRATE ioctl (v6.0): under
/// mmap_read_lock, per VMA and at most 64 pages at a time, setup (SELECT_SYSTEM), copy, pages,
/// finalize. A gap in [start, end) ends it (-EINVAL) after the chunks before it.
Task<> dmirror_migrate(Kernel& k, AddressSpace& mm, VaRange range);
/// lib/test_hmm.c dmirror_devmem_fault(), the device-private pgmap's migrate_to_ram(), which
/// do_swap_page() calls on a device-private entry with mmap_read_lock held (v6.0 takes no page
/// reference around it; 16ce101db85d in 6.1 does): the one page at `addr` goes back to system
/// memory (setup with SELECT_DEVICE_PRIVATE, copy, pages, finalize), and the fault retries.
Task<> dmirror_devmem_fault(Kernel& k, AddressSpace& mm, const Vma& vma, Vaddr addr);

}  // namespace tlbsim::kernel
