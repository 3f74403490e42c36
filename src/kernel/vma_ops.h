// SPDX-License-Identifier: MIT
#pragma once
/// VMA-tree edits shared by the paths that reshape an mm's mappings (mm/mmap.c): splitting a
/// VMA at an address, detaching the VMAs of a range for unmapping, and listing the VMAs of a
/// range. munmap, mremap and mprotect all start with these.
#include <cstdint>
#include <vector>

#include "kernel/kernel.h"

namespace tlbsim::kernel {

/// __split_vma() at `addr` if a live VMA straddles it: the tail gets the linear pgoff of `addr`
/// and a new creation sequence (it is a new VMA in i_mmap/anon_vma order).
void split_at(Kernel& k, AddressSpace& mm, Vaddr addr);
/// detach_vmas_to_be_unmapped(): split at both ends and mark the VMAs inside [start, end)
/// detached. They stay visible to rmap walkers until free_pgtables() unlinks them.
std::vector<Vma> detach_range(Kernel& k, AddressSpace& mm, VaRange range);
/// Copies of the live VMAs intersecting [start, end), in address order.
std::vector<Vma> vmas_in(const AddressSpace& mm, VaRange range);

}  // namespace tlbsim::kernel
