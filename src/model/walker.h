// SPDX-License-Identifier: MIT
#pragma once
/// The hardware page walker shared by CPUs and IOMMUs: reads the same table pages the kernel
/// writes, may start from a walk-cache entry, sets the accessed/dirty bits, and reports a fault
/// when the leaf does not allow the access. A walk that starts from a walk-cache entry whose table
/// page is no longer that table emits StaleTableWalk and reads whatever the frame now holds.
#include <cstdint>

#include "model/phys_mem.h"
#include "model/pte.h"
#include "model/walk_cache.h"

namespace tlbsim {

/// The translation context: which tables, under which tag, for which mm.
struct WalkContext {
  MmId mm = kNoMm;
  uint32_t tag = 0;  ///< ASID or PASID
  Pfn root = kNoPfn;
};

struct WalkParams {
  /// Keep non-leaf entries in the walk cache even when the walk ended at a non-present leaf, as
  /// the Intel SDM allows for paging-structure caches (Vol. 3A 4.10.3.1).
  bool cache_nonleaf_on_fault = true;
  /// A user-mode request (an SVA device's, PASID entry without supervisor requests): the walk
  /// faults unless every entry on the path has _PAGE_USER, and it learns so only at the leaf.
  bool user_request = false;
  /// Keep the non-leaf entries of a walk that ended in that user/supervisor fault: the
  /// e37d5a2d60a3 series reports IOMMUs cache "intermediate page table entries" as long as they
  /// are valid, "no matter the permissions".
  bool cache_nonleaf_on_supervisor_fault = true;
  /// Hardware sets PTE accessed/dirty bits (x86, ARMv8.1 HAFDBS, SVA IOMMUs).
  bool set_access_dirty = true;
  const char* func = "page walk";
};

enum class WalkFault : uint8_t { None, NotPresent, WriteProtect, StaleTable, Supervisor };

struct WalkResult {
  WalkFault fault = WalkFault::None;
  Pte leaf{};
  uint8_t leaf_level = 1;
  bool stale_table = false;  ///< started from a walk-cache entry whose table was freed or reused
  /// The level of the walk-cache entry the walk resumed from; 0 when it began at the root.
  uint8_t walk_cache_level = 0;
  /// Whose translation the walk read: the context's mm, or, resumed from a walk-cache entry of a
  /// user address, that entry's mm (after a PASID or ASID moved to another mm, an entry the move
  /// left behind leads into the old mm's tables). Kernel addresses keep the context's mm.
  MmId mm = kNoMm;
  Pfn pfn_for(uint64_t va) const { return leaf_level == 2 ? Pfn{leaf.pfn().value() + uint32_t((va >> kPageShift) & 511)} : leaf.pfn(); }
};

WalkResult hw_walk(PhysMem& mem, const WalkContext& ctx, Vaddr va, bool write, WalkCache* pwc, const WalkParams& p);

}  // namespace tlbsim
