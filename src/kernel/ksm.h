// SPDX-License-Identifier: MIT
#pragma once
/// KSM merging (mm/ksm.c, v6.0; primer section 7.4): write_protect_page() makes the candidate
/// read-only with ptep_clear_flush() and checks that nobody but its mappings and KSM holds a
/// reference (GUP/O_DIRECT); the content comparison comes after write_protect_page() returns,
/// and replace_page() points the PTE at the KSM page. Neither clear-flush notifies in OLD (a
/// downgrade, and a read-only page replaced by an identical read-only page, per the comments);
/// OLD's secondary invalidation is each mmu_notifier_invalidate_range_end(), FIXED's is inside
/// ptep_clear_flush().
#include <cstdint>
#include <optional>

#include "kernel/kernel.h"
#include "kernel/ksm_state.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// write_protect_page(): the read-only PTE now mapping `page` at `addr`, or nullopt if the page
/// is not mapped there or has extra references (the PTE is then restored).
Task<std::optional<Pte>> write_protect_page(Kernel& k, AddressSpace& mm, Pfn page, Vaddr addr);
/// replace_page(): if the PTE is still `orig_pte`, map `kpage` read-only instead and drop the
/// mapping of `page` (its last reference is KSM's own, dropped by the caller).
Task<bool> replace_page(Kernel& k, AddressSpace& mm, Pfn page, Pfn kpage, Vaddr addr, Pte orig_pte);

/// try_to_merge_with_ksm_page() for the anonymous page mapped at `addr`: mmap_read_lock,
/// follow_page(FOLL_GET), try_to_merge_one_page() (trylock_page(), write_protect_page(),
/// pages_identical(), replace_page()), unlock, then ksm_do_scan()'s put_page() which frees the
/// merged page. With `kpage` == kNoPfn the page itself becomes a KSM page with a NULL stable
/// node (set_page_stable_node(page, NULL); first of a pair). True if merged; then `item`, if
/// given, is the rmap_item to append (its anon_vma read under mmap_lock, as the kernel does).
Task<bool> ksm_merge(Kernel& k, AddressSpace& mm, Vaddr addr, Pfn kpage, KsmRmapItem* item = nullptr);

/// break_cow() -> break_ksm(): under mmap_read_lock, write-fault (FAULT_FLAG_WRITE |
/// FAULT_FLAG_REMOTE) the KSM page at `addr` until a private copy replaces it, waiting on a
/// migration entry as follow_page(FOLL_MIGRATION) does.
Task<> break_cow(Kernel& k, AddressSpace& mm, Vaddr addr);

/// ksm_madvise(MADV_UNMERGEABLE) -> unmerge_ksm_pages() over [start, end) of `vma`, whose mm's
/// mmap_lock the caller holds: break_ksm() at each page (move_vma() does this before it moves a
/// range). Only an anonymous VMA of an mm ksmd has scanned can hold KSM pages (VM_MERGEABLE is
/// implied by the merge op); elsewhere nothing is done.
Task<> unmerge_ksm_pages(Kernel& k, AddressSpace& mm, const Vma& vma, VaRange range);

/// ksmd's merging of [addr, addr + pages pages) into the first page, as cmp_and_merge_page()
/// meets the range: try_to_merge_two_pages() makes the first page the KSM page and merges the
/// second into it (break_cow() of the first if that fails), then lock_page(kpage),
/// stable_tree_insert() and stable_tree_append() of both rmap_items; each following page is
/// merged into the page the stable node names now (get_ksm_page(): a migration may have moved
/// it, a free made the node stale) and its rmap_item appended under lock_page(kpage).
Task<> ksm_merge_range(Kernel& k, AddressSpace& mm, Vaddr addr, uint64_t pages);

/// ksm_exit(), from __mmput() before exit_mmap(): an mm ksmd has scanned is not "easy_to_free",
/// so take and drop mmap_write_lock, which waits until ksmd has left its mmap_read_lock section;
/// any later one finds ksm_test_exit() true. An mm ksmd never scanned is just dropped.
Task<> ksm_exit(Kernel& k, AddressSpace& mm);

/// folio_migrate_ksm(), from folio_migrate_flags(): a migrated KSM page's stable node moves to
/// the new page (which folio_migrate_mapping() gave the old one's page->mapping).
void folio_migrate_ksm(Kernel& k, Pfn newpage, Pfn page);

}  // namespace tlbsim::kernel
