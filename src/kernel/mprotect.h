// SPDX-License-Identifier: MIT
#pragma once
/// mprotect(2) as in Linux 6.0 (mm/mprotect.c change_protection_range(); primer section 7.2):
/// each PTE is rewritten under its PTL with ptep_modify_prot_start()/_commit(), inside an
/// MMU_NOTIFY_PROTECTION_VMA bracket started lazily at the first populated PMD, and the CPU TLB
/// is flushed once after the walk if any PTE was touched. OLD invalidates the IOMMU at that
/// bracket's end, before the CPU flush; FIXED inside the flush. (v6.2 moved mprotect onto an
/// mmu_gather, 4a18419f71cd; the FIXED policy here keeps the v6.0 walk so the two differ only in
/// the notifier.)
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// mprotect(start, len, PROT_READ | (writable ? PROT_WRITE : 0)): do_mprotect_pkey() under
/// mmap_write_lock, mprotect_fixup() per VMA (split, new vm_flags, change_protection()).
Task<> sys_mprotect(Kernel& k, AddressSpace& mm, uint64_t start, uint64_t len, bool writable);

}  // namespace tlbsim::kernel
