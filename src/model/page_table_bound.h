// SPDX-License-Identifier: MIT
#pragma once
/// How many page tables a range can need, for estimates made before anything is built (the
/// loader's memory estimate, `sweep`'s workload sizing). One formula, so that both count the
/// same tables __pte_alloc(), __pmd_alloc() and __pud_alloc() would allocate.
#include <cstdint>

namespace tlbsim {

/// Page tables below an existing PGD that a range of `pages` 4 KiB pages can need at most: its
/// PTE tables (one more than the pages divide into, for a range that straddles a 2 MiB boundary
/// at each end), PMD tables likewise at 1 GiB, and two PUD tables, for a range that straddles one
/// 512 GiB boundary. Holds for ranges up to 512 GiB (2^27 pages), far above what the model's
/// frames allow.
constexpr uint64_t max_tables_for_range(uint64_t pages) { return pages / 512 + 2 + pages / (uint64_t{512} * 512) + 2 + 2; }

}  // namespace tlbsim
