// SPDX-License-Identifier: MIT
#pragma once
/// mprotect(2) (mm/mprotect.c; primer section 7.2). Since v5.19 (4a18419f71cd "mm/mprotect: use
/// mmu_gather", so in both 6.0 and 6.6) do_mprotect_pkey() runs the whole call inside one
/// mmu_gather: each PTE is rewritten under its PTL with ptep_modify_prot_start()/_commit() inside
/// an MMU_NOTIFY_PROTECTION_VMA bracket started lazily at the first populated PMD, the PTEs that
/// pte_needs_flush() are gathered, and the CPU TLB is flushed at tlb_end_vma() (arm64) or
/// tlb_finish_mmu() (x86). OLD invalidates the IOMMU at the bracket's end, before the CPU flush,
/// and again from tlb_flush_mmu_tlbonly(); FIXED inside the flush. Policies with
/// mprotect_mmu_gather unset (v4.12, v4.18) run the earlier walk with one flush_tlb_range().
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// mprotect(start, len, PROT_READ | (writable ? PROT_WRITE : 0)): do_mprotect_pkey() under
/// mmap_write_lock, mprotect_fixup() per VMA (split, new vm_flags, change_protection()).
Task<> sys_mprotect(Kernel& k, AddressSpace& mm, Vaddr start, uint64_t len, bool writable);

}  // namespace tlbsim::kernel
