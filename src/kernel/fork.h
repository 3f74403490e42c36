// SPDX-License-Identifier: MIT
#pragma once
/// fork(2)'s address-space copy (kernel/fork.c dup_mmap(), mm/memory.c copy_page_range(); primer
/// section 5): COW VMAs are write-protected in the parent under the notifier bracket, and the
/// CPU TLB is flushed once with flush_tlb_mm() before the parent's mmap_lock is released. OLD
/// invalidates the IOMMU at each COW VMA's mmu_notifier_invalidate_range_end(); FIXED inside
/// flush_tlb_mm(); the seed mail's step 2 (policy fork_sec_inv_at_flush_tlb_mm) once after it.
#include <string>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// dup_mmap(): copy every VMA of `oldmm` into the empty `newmm` and copy_page_range() each.
Task<> dup_mmap(Kernel& k, AddressSpace& oldmm, AddressSpace& newmm);

/// fork(): dup_mm() creates the child mm (k.create_mm) and runs dup_mmap(); returns the child.
/// The name is taken by value: the coroutine starts suspended and may outlive the caller's string.
Task<AddressSpace*> sys_fork(Kernel& k, AddressSpace& parent, std::string child_name);

}  // namespace tlbsim::kernel
