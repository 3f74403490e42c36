// SPDX-License-Identifier: MIT
#pragma once
/// mremap(2) with MREMAP_MAYMOVE|MREMAP_FIXED (mm/mremap.c; primer section 4): the PTEs move
/// from the old range to the new one under the page-table locks, and the CPU TLB for the old
/// range is flushed before those locks are dropped (eb66ae030829). OLD invalidates the IOMMU
/// only at the final mmu_notifier_invalidate_range_end(old range); FIXED inside every
/// flush_tlb_range() under the locks. No page is freed by mremap itself.
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// mremap(old_addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, new_addr): mremap_to() unmaps the
/// destination, move_vma() copies the VMA (copy_vma(), possibly merging into the VMA ending at
/// new_addr), moves the page tables (move_page_tables()) and unmaps the old range.
Task<> sys_mremap(Kernel& k, AddressSpace& mm, uint64_t old_addr, uint64_t len, uint64_t new_addr);

}  // namespace tlbsim::kernel
