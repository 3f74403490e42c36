// SPDX-License-Identifier: MIT
#pragma once
/// A scenario (a recorded program's import, docs/workloads.md) run under invalidation strategies
/// instead of its devices' driver decodings: what `tlbsim sweep --workload FILE.json` reports
/// for each strategy and policy.
#include <cstdint>
#include <string>

#include "iommu/cost_model.h"
#include "kernel/flush_strategy.h"
#include "kernel/policy.h"
#include "scenarios/memory_estimate.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

struct ScenarioSweepResult {
  iommu::CostCounters cpu;    ///< cpu_flushes, cpu_flush_ns over the whole run
  iommu::CostCounters iommu;  ///< commands, syncs, iommu_ns, misses, refill_ns, summed over the IOMMUs
  /// Stale-translation windows still open after the op that made them stale returned (the
  /// kernel's contract), and those open past the free of their frame or table (freed, reused,
  /// table-freed): both must be 0 for a strategy that is safe.
  uint64_t after_return = 0;
  uint64_t unsafe = 0;
  bool completed = false;  ///< the run finished (no deadlock or step budget)
  uint64_t invalidation_ns() const { return cpu.cpu_flush_ns + iommu.iommu_ns; }
  uint64_t total_ns() const { return invalidation_ns() + iommu.refill_ns; }
};

/// The memory a run of `s` with the IOMMU strategy `iommu` in force may need: the scenario's
/// estimate, with the commands per page of a range the strategy may send (a per-page strategy
/// sends one per page of every range, however large).
MemoryEstimate estimate_with_strategy(const ScenarioSpec& s, const iommu::IommuStrategy& iommu);

/// Runs `s` once on its own schedule under `policy` with the CPU side's strategy `cpu` and the
/// IOMMU side's `iommu` in force and the costs `cost`.
ScenarioSweepResult run_scenario_strategy(const ScenarioSpec& s, const kernel::Policy& policy, const kernel::CpuStrategy& cpu,
                                          const iommu::IommuStrategy& iommu, const iommu::CostModel& cost);

}  // namespace tlbsim::scenarios
