// SPDX-License-Identifier: MIT
#pragma once
/// mmap(2) at a given address (mm/mmap.c, v6.0): vm_mmap_pgoff() -> do_mmap() -> mmap_region()
/// under mmap_write_lock, then mm_populate() for MAP_POPULATE after the lock is dropped.
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

struct MmapRequest {
  uint64_t addr = 0;
  uint64_t len = 0;
  bool writable = false;  ///< PROT_READ|PROT_WRITE, else PROT_READ
  bool shared = false;    ///< MAP_SHARED, else MAP_PRIVATE
  /// MAP_FIXED: whatever is mapped in the range is unmapped first. Without it the request is
  /// MAP_FIXED_NOREPLACE: the address is still where the mapping goes, and a mapping already
  /// there makes it fail with -EEXIST (the model picks no other address).
  bool fixed = false;
  bool populate = false;  ///< MAP_POPULATE
  uint32_t file = 0;      ///< the file mapped (a shmem file for MAP_SHARED|MAP_ANONYMOUS), 0: anonymous
  uint64_t pgoff = 0;     ///< page offset in the file
};

/// mmap(2). The old mappings of a MAP_FIXED range are unmapped by do_munmap() without a
/// downgrade (munmap_vma_range() in v6.0, do_mas_munmap(..., false) in v6.1): unmap_region()
/// and its tlb_finish_mmu() run under the write lock, and only a gatherer that takes no
/// mmap_lock (unmap_mapping_range() of a truncate, on a file this mm maps) can nest with it.
Task<> sys_mmap(Kernel& k, AddressSpace& mm, MmapRequest req);

}  // namespace tlbsim::kernel
