// SPDX-License-Identifier: MIT
#pragma once
/// Invalidation and refill costs in nanoseconds. Defaults are bare-metal figures with their
/// sources in docs/cost-model.md; every field can be overridden from a scenario's "costs" key or
/// a JSON costs file (`tlbsim sweep --costs FILE`, src/scenarios/costs.h).
#include <cstdint>

#include "model/saturating.h"

namespace tlbsim::iommu {

struct CostModel {
  uint64_t pte_write = 5;         ///< one PTE store, cache-hot
  uint64_t cpu_invlpg = 100;      ///< per-page local CPU flush (INVLPG / TLBI VALE1IS)
  uint64_t cpu_full_flush = 40;   ///< CR3 write / TLBI ASIDE1IS
  uint64_t cpu_walk = 15;         ///< CPU TLB miss refill
  uint64_t ipi_first = 800;       ///< shootdown of the first remote CPU
  uint64_t ipi_each = 70;         ///< each further remote CPU
  uint64_t iommu_cmd = 50;        ///< one queued per-page invalidation command
  uint64_t iommu_range_cmd = 50;  ///< one queued command covering more than one page
  uint64_t iommu_pasid_cmd = 50;  ///< one queued PASID/ASID-wide command
  uint64_t iommu_sync = 1000;     ///< CMD_SYNC / COMPLETION_WAIT / qi wait descriptor
  uint64_t iotlb_walk = 300;      ///< IOMMU walk on an IOTLB miss
  uint64_t atc_inv_rtt = 2000;    ///< ATS Invalidate Request -> Completion
  uint64_t atc_miss = 1500;       ///< ATS Translation Request round trip
};

/// What one run spent on invalidation, for reports and benches.
struct CostCounters {
  uint64_t cpu_flushes = 0;
  uint64_t cpu_flush_ns = 0;
  uint64_t iommu_commands = 0;
  uint64_t atc_commands = 0;
  uint64_t syncs = 0;
  uint64_t iommu_ns = 0;
  uint64_t iotlb_misses = 0;
  uint64_t atc_misses = 0;
  uint64_t refill_ns = 0;
  /// Secondary-TLB invalidation requests received by an SVA notifier (invalidate_range() /
  /// arch_invalidate_secondary_tlbs() calls), before the driver turns them into commands.
  uint64_t sec_inv_requests = 0;
};

/// Sums of counters (several IOMMUs' into one run's): every field, saturating (model/saturating.h).
inline CostCounters& operator+=(CostCounters& a, const CostCounters& b) {
  a.cpu_flushes = sat_add(a.cpu_flushes, b.cpu_flushes);
  a.cpu_flush_ns = sat_add(a.cpu_flush_ns, b.cpu_flush_ns);
  a.iommu_commands = sat_add(a.iommu_commands, b.iommu_commands);
  a.atc_commands = sat_add(a.atc_commands, b.atc_commands);
  a.syncs = sat_add(a.syncs, b.syncs);
  a.iommu_ns = sat_add(a.iommu_ns, b.iommu_ns);
  a.iotlb_misses = sat_add(a.iotlb_misses, b.iotlb_misses);
  a.atc_misses = sat_add(a.atc_misses, b.atc_misses);
  a.refill_ns = sat_add(a.refill_ns, b.refill_ns);
  a.sec_inv_requests = sat_add(a.sec_inv_requests, b.sec_inv_requests);
  return a;
}

/// What was counted between two snapshots of the same counters (`later` - `earlier`, field by
/// field): counters only grow, so every difference is the count over the interval.
inline CostCounters operator-(const CostCounters& later, const CostCounters& earlier) {
  return CostCounters{
      .cpu_flushes = later.cpu_flushes - earlier.cpu_flushes,
      .cpu_flush_ns = later.cpu_flush_ns - earlier.cpu_flush_ns,
      .iommu_commands = later.iommu_commands - earlier.iommu_commands,
      .atc_commands = later.atc_commands - earlier.atc_commands,
      .syncs = later.syncs - earlier.syncs,
      .iommu_ns = later.iommu_ns - earlier.iommu_ns,
      .iotlb_misses = later.iotlb_misses - earlier.iotlb_misses,
      .atc_misses = later.atc_misses - earlier.atc_misses,
      .refill_ns = later.refill_ns - earlier.refill_ns,
      .sec_inv_requests = later.sec_inv_requests - earlier.sec_inv_requests,
  };
}

}  // namespace tlbsim::iommu
