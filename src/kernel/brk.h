// SPDX-License-Identifier: MIT
#pragma once
/// brk(2) (mm/mmap.c, v6.0): the heap grows by do_brk_flags(), which extends the heap's VMA or
/// links a new one and touches no page table; it shrinks by __do_munmap() with a downgrade,
/// the munmap(2) route (unmap_region() under the read mmap_lock).
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// sys_brk(brk) for a page-aligned break. Refused, leaving mm->brk as it was, when the new
/// break is below mm->start_brk or growing would come within a page of the next mapping. There
/// is no RLIMIT_DATA, and mm->def_flags has no VM_LOCKED (no mlockall(MCL_FUTURE)), so growing
/// never populates.
Task<> sys_brk(Kernel& k, AddressSpace& mm, Vaddr brk);

}  // namespace tlbsim::kernel
