// SPDX-License-Identifier: MIT
#pragma once
/// mm/mmu_notifier.c and include/linux/mmu_notifier.h: the calls kernel paths make, and where the
/// policy routes the secondary-TLB invalidation. Each call is skipped when the mm has no
/// subscribers (mm_has_notifiers()). The calls that reach a subscriber's secondary-TLB invalidation
/// or release are tasks: an SVA driver waits for its IOMMU's command queue there.
#include <cstdint>

#include "kernel/kernel.h"

namespace tlbsim::kernel {

/// mmu_notifier_invalidate_range_start()
void mmu_notifier_invalidate_range_start(Kernel& k, AddressSpace& mm, VaRange range, const char* site);
/// mmu_notifier_invalidate_range_end(): OLD calls invalidate_range() on every subscriber first
/// (mn_hlist_invalidate_end() with only_end == false).
Task<> mmu_notifier_invalidate_range_end(Kernel& k, AddressSpace& mm, VaRange range, const char* site);
/// mmu_notifier_invalidate_range_only_end(): OLD skips the hidden invalidate_range(). FIXED
/// deleted the variant (ec8832d007cb): its callers use plain range_end, which is the same now.
void mmu_notifier_invalidate_range_only_end(Kernel& k, AddressSpace& mm, VaRange range, const char* site);
/// mmu_notifier_invalidate_range() (OLD explicit call sites and *_clear_flush_notify()).
Task<> mmu_notifier_invalidate_range(Kernel& k, AddressSpace& mm, VaRange range, const char* site);
/// mmu_notifier_arch_invalidate_secondary_tlbs() (FIXED, from arch flush code).
Task<> mmu_notifier_arch_invalidate_secondary_tlbs(Kernel& k, AddressSpace& mm, VaRange range, const char* site);
/// mmu_notifier_register() (v6.0 mm/mmu_notifier.c): mmap_write_lock(), then
/// __mmu_notifier_register()'s mm_take_all_locks() (every i_mmap_rwsem, then every anon_vma lock,
/// of the mm's VMAs, for write) around adding the subscription, so that an invalidation not under
/// mmap_lock (reclaim's and migration's rmap walks hold one of those locks from start to end)
/// reaches the new subscriber for the whole of its range or not at all.
Task<> mmu_notifier_register(Kernel& k, AddressSpace& mm, std::unique_ptr<SecondaryMmu> s);
/// mmu_notifier_release(): exit_mmap() before tearing down.
Task<> mmu_notifier_release(Kernel& k, AddressSpace& mm);

bool mm_has_notifiers(Kernel& k, const AddressSpace& mm);

}  // namespace tlbsim::kernel
