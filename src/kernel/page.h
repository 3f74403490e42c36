// SPDX-License-Identifier: MIT
#pragma once
/// struct page bookkeeping the paths need: references (get_page/put_page, freeing at zero),
/// map counts (rmap add/remove), anonymous and page-cache allocation, and rmap walks over the
/// VMAs that may map a page (anon_vma chain, file i_mmap in tree order).
#include <functional>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

void get_page(Kernel& k, Pfn pfn);
/// put_page(): drop a reference; the last one frees the frame.
void put_page(Kernel& k, Pfn pfn, const char* func);
void page_add_rmap(Kernel& k, Pfn pfn);
void page_remove_rmap(Kernel& k, Pfn pfn);

/// trylock_page(): PG_locked (Frame::locked), taken only if free; false when another holder
/// has it. Only the migration paths and reclaim take the page lock in the model.
bool trylock_page(Kernel& k, Pfn page);
/// unlock_page(); the holder must drop it before its last reference (a locked page is never freed).
void unlock_page(Kernel& k, Pfn page);

/// copy_highpage() and friends: copy `from`'s contents to `to` and record it (a Copy event), so
/// a later write to `from` through a stale translation is seen as lost.
void copy_page(Kernel& k, MmId mm, Vaddr va, Pfn from, Pfn to, const char* func);

/// anon_vma_prepare() (mm/rmap.c): before the first anonymous page of a VMA, give it an
/// anon_vma, so rmap_walk() finds that page. Anonymous VMAs get theirs at mmap time in the model
/// (their first fault would give it at once); a private file VMA gets one at its first COW
/// (do_cow_fault(), wp_page_copy()). Sets it on the mm's VMA and on the caller's copy.
void anon_vma_prepare(Kernel& k, AddressSpace& mm, Vma& vma);
/// A kernel path reads vma->anon_vma through its pointer, so it sees an anon_vma another
/// fault's anon_vma_prepare() gave the VMA after this path looked it up; a model path holds a
/// copy of the VMA. This reads the mm's VMA again where the copy has none (do_swap_page(): a swap
/// entry in a private file VMA means an earlier COW gave it one).
void refresh_anon_vma(AddressSpace& mm, Vma& vma);
/// A zeroed anonymous page for `va` in `vma` (alloc_zeroed_user_highpage_movable()); the VMA
/// has its anon_vma (anon_vma_prepare()), whose id the page's rmap key takes.
Pfn alloc_anon_page(Kernel& k, const Vma& vma, Vaddr va, const char* func);
/// filemap_fault()/find_or_create_page(): the page-cache page at `index`, allocated if absent.
Pfn filemap_get_page(Kernel& k, File& f, uint64_t index, const char* func);

struct RmapTarget {
  AddressSpace* mm;
  Vma vma;  ///< a copy: the walk's caller may change the mm's VMA list
  uint64_t addr;
};
/// vma_interval_tree_foreach() over a file's i_mmap: the VMAs (of any mm, detached ones included
/// until free_pgtables() unlinks them) that map file pages [first, first + nr), by vm_pgoff then
/// insertion order.
std::vector<RmapTarget> i_mmap_walk(Kernel& k, uint32_t file, uint64_t first, uint64_t nr);

/// The VMAs rmap_walk() visits for `pfn`, in its order, without its locks: for tests and
/// diagnostics, never for a path that acts on them.
std::vector<RmapTarget> rmap_vmas(Kernel& k, Pfn pfn);

/// rmap_one of an rmap_walk_control: what to do at one VMA that may map the page.
using RmapOne = std::function<Task<>(RmapTarget)>;
/// rmap_walk() (mm/rmap.c, v6.0) with `rmap_one` and `done` (rwc->done, e.g. folio_not_mapped),
/// over every VMA that may map `page`, taking the locks the kernel takes for reading:
/// - rmap_walk_anon()/rmap_walk_file(): the page's anon_vma or its file's i_mmap_rwsem once,
///   around the whole walk (anon_vma chain; i_mmap interval tree by vm_pgoff, then insertion
///   order; detached VMAs stay until free_pgtables() unlinks them, as in the kernel);
/// - rmap_walk_ksm() (mm/ksm.c) for a KSM page: each rmap_item of its stable node in turn, under
///   that item's anon_vma lock, the VMAs of that anon_vma covering the item's address: first
///   the one of the item's own mm, then, in a second pass over the items, those of other mms
///   ("in case they were forked from the original since ksmd passed"). A KSM page whose stable
///   node is still NULL (between try_to_merge_one_page() and stable_tree_insert()) is walked
///   over nothing.
/// The caller holds the page lock, which keeps the stable node's items still (stable_tree_append()
/// takes it), and a reference, since the locks are keyed by the page's owner.
Task<> rmap_walk(Kernel& k, Pfn page, RmapOne rmap_one, std::function<bool()> done = {});

/// Invariant (RunOptions::check_invariants): rmap_walk() finds a VMA for every mapped anonymous
/// page that is not KSM's (its anon_vma and index are some VMA's), so migration, reclaim and
/// remove_migration_ptes() can reach its mappings. Records no touches.
void check_anon_rmap(Kernel& k);

}  // namespace tlbsim::kernel
