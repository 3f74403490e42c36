// SPDX-License-Identifier: MIT
#pragma once
/// Transparent huge pages (mm/huge_memory.c, mm/khugepaged.c; primer section 7.5): splitting a
/// PMD mapping into 512 PTEs and khugepaged's collapse of 512 small anonymous pages into one
/// huge page. A huge folio is 512 contiguous frames (PhysMem::alloc_contig()), each with its
/// own refcount and mapcount, as if every subpage were a small page.
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// pmd_trans_huge(): a huge PMD, also while __split_huge_pmd_locked() holds it invalid
/// (pmd_mkinvalid() keeps PSE, and x86 pmd_present() checks PSE too), so the caller waits for
/// the PMD lock instead of reading the entry as a PTE table.
inline bool pmd_trans_huge(Pte pmd) { return !pmd.none() && (pmd.raw() & Pte::kHuge); }

/// __split_huge_pmd() for the PMD covering `address`: MN_START(HPAGE range), pmd_lock,
/// __split_huge_pmd_locked(), unlock, then [OLD] mmu_notifier_invalidate_range_only_end() /
/// [FIXED] mmu_notifier_invalidate_range_end(). Anonymous: pmdp_invalidate() (CPU flush, and
/// FIXED's secondary one; OLD sends none at all: the PTEs map the same pages), then the
/// withdrawn PTE table is filled with 512 PTEs and populated. File: pmdp_huge_clear_flush_notify()
/// and the mapping is dropped (later faults map 4 KiB pages from the page cache). The caller
/// holds mmap_lock (or the rmap lock). Nothing happens if no huge PMD maps `address`. `vma` is
/// the VMA the caller works on, as in the kernel: a munmap's may already be detached.
Task<> __split_huge_pmd(Kernel& k, AddressSpace& mm, Vma vma, Vaddr address);
/// vma_adjust_trans_huge() (v6.0, from __split_vma() -> vma_adjust()): before a VMA is split at
/// `start` or `end`, split_huge_pmd_if_needed() splits a huge PMD the boundary falls inside, so
/// that no huge mapping spans two VMAs. munmap, MAP_FIXED, mremap, brk and mprotect call it
/// before they split VMAs; a boundary on a 2 MiB line or at a VMA's edge splits nothing.
Task<> vma_adjust_trans_huge(Kernel& k, AddressSpace& mm, VaRange range);

/// collapse_huge_page() (anonymous, khugepaged, v6.0): allocate the huge page,
/// mmap_write_lock, anon_vma_lock_write, MN_START, pmd_lock, pmdp_collapse_flush(), unlock,
/// MN_END ([OLD] the secondary invalidation), isolate the PTEs
/// (every present page anonymous with refcount 1, no swap/migration entries, one writable),
/// copy the pages (pte_none ones stay zero), free them, free the PTE table, install the huge
/// PMD. False (and the PMD restored) when the PTEs do not qualify.
Task<bool> collapse_huge_page(Kernel& k, AddressSpace& mm, Vaddr address);

/// retract_page_tables() (khugepaged collapse_file() for file/shmem THP, v6.0/v6.6): for every
/// VMA whose PMD-aligned 2 MiB maps file pages [pgoff, pgoff + 512): i_mmap_lock_write,
/// mmap_write_trylock (on failure the mm is skipped: khugepaged_add_pte_mapped_thp() queues a
/// retry the model does not run), pmd_lock, pmdp_collapse_flush() (PMD cleared, CPU flush,
/// FIXED's secondary invalidation), drop what the table still maps (collapse_pte_mapped_thp()
/// since 27e1f8273113), pte_free() at once. [OLD = v6.0] no notifier call at all; f268f6cf875f
/// added the bracket.
Task<> retract_page_tables(Kernel& k, uint32_t file, uint64_t pgoff);

/// Setup helpers, run before any thread starts (no locks, no notifier calls).
/// do_huge_pmd_anonymous_page(): a huge anonymous folio mapped by a PMD at the 2 MiB-aligned
/// `haddr` inside an anonymous VMA, writable and dirty if the VMA is writable. Returns the
/// first frame.
Pfn map_huge_anon(Kernel& k, AddressSpace& mm, Vaddr haddr);
/// do_set_pmd(): a huge page-cache folio (file pages of the VMA's range, not yet cached) mapped
/// by a PMD at `haddr`; writable and dirty only for a write in a shared writable VMA.
Pfn map_huge_file(Kernel& k, AddressSpace& mm, Vaddr haddr, bool write);

}  // namespace tlbsim::kernel
