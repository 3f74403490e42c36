// SPDX-License-Identifier: MIT
#pragma once
/// Swapping anonymous pages out and in (mm/swap_state.c, mm/swapfile.c, mm/page_io.c,
/// mm/memory.c do_swap_page(), v6.0) on the slots of kernel/swap_space.h. Reclaim puts the page
/// in the swap cache (add_to_swap()), try_to_unmap_one() installs a swap PTE per mapping
/// (swap_duplicate()), pageout() writes the contents (swap_writepage()) and __remove_mapping()
/// takes the page out of the swap cache before it is freed. A fault on a swap PTE reads the
/// slot back into a new page, or maps the swap cache's page, and drops its swap reference
/// (swap_free()); a zap drops it too (free_swap_and_cache()).
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// add_to_swap(): the slot of the page's swap cache, taking a free slot and adding the page to
/// the swap cache (with the cache's page reference) if it is in none. get_swap_page() picks
/// the slot: the model derives it from the page's anon_vma and index, and takes the next free
/// one after it when that is in use (a fork child's COW copy has the same anon_vma and index),
/// so a slot is the same in every schedule that swaps the same pages out in the same order.
uint64_t add_to_swap(Kernel& k, Pfn page);
/// delete_from_swap_cache(): the page leaves its slot's swap cache and the cache's reference
/// is dropped (freeing the page if it was the last).
void delete_from_swap_cache(Kernel& k, Pfn page, const char* func);
/// swap_duplicate(): one more swap PTE refers to the slot (try_to_unmap_one(), fork).
void swap_duplicate(Kernel& k, uint64_t slot);
/// swap_free() / free_swap_and_cache(): one swap PTE less. When none is left, the swap cache's
/// page leaves the cache too (try_to_free_swap()), unless reclaim or migration holds it
/// isolated (the kernel's trylock_page() fails on it): reclaim takes it out itself.
void swap_free(Kernel& k, uint64_t slot, const char* func);
/// free_swap_cache() on a page whose last reference a zap is about to drop: out of the swap
/// cache if no swap PTE refers to its slot and nobody holds it isolated.
void free_swap_cache(Kernel& k, Pfn page);
/// swap_writepage(): the slot keeps the page's contents; a Copy event to the slot, so a write
/// through a stale translation after it is a lost write.
void swap_writepage(Kernel& k, Pfn page, uint64_t slot);

}  // namespace tlbsim::kernel
