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
#include "kernel/task.h"

namespace tlbsim::kernel {

/// write_protect_page(): the read-only PTE now mapping `page` at `addr`, or nullopt if the page
/// is not mapped there or has extra references (the PTE is then restored).
Task<std::optional<Pte>> write_protect_page(Kernel& k, AddressSpace& mm, Pfn page, uint64_t addr);
/// replace_page(): if the PTE is still `orig_pte`, map `kpage` read-only instead and drop the
/// mapping of `page` (its last reference is KSM's own, dropped by the caller).
Task<bool> replace_page(Kernel& k, AddressSpace& mm, Pfn page, Pfn kpage, uint64_t addr, Pte orig_pte);

/// try_to_merge_with_ksm_page() for the anonymous page mapped at `addr`: mmap_read_lock,
/// follow_page(FOLL_GET), try_to_merge_one_page() (write_protect_page(), pages_identical(),
/// replace_page()), unlock, then ksm_do_scan()'s put_page() which frees the merged page.
/// With `kpage` == kNoPfn the page itself becomes the KSM page (first of a pair). True if merged.
Task<bool> ksm_merge(Kernel& k, AddressSpace& mm, uint64_t addr, Pfn kpage);

}  // namespace tlbsim::kernel
