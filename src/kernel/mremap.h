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

/// The mremap(2) flags beyond MREMAP_MAYMOVE | MREMAP_FIXED, which every call has.
struct MremapFlags {
  /// MREMAP_DONTUNMAP (e346b3813067, v5.7): the old VMA stays, with no PTEs; a later fault there
  /// gets a fresh page (anonymous) or the page cache's (shared and file mappings, allowed since
  /// v5.13).
  bool dontunmap = false;
};

/// mremap(old_addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED [| MREMAP_DONTUNMAP], new_addr):
/// mremap_to() unmaps the destination, move_vma() copies the VMA (copy_vma(), possibly merging
/// into the VMA ending at new_addr), moves the page tables (move_page_tables()) and unmaps the
/// old range, or with MREMAP_DONTUNMAP keeps it.
Task<> sys_mremap(Kernel& k, AddressSpace& mm, Vaddr old_addr, uint64_t len, Vaddr new_addr, MremapFlags flags = {});

}  // namespace tlbsim::kernel
