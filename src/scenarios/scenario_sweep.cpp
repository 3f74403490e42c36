// SPDX-License-Identifier: MIT
#include "scenarios/scenario_sweep.h"

#include "model/saturating.h"
#include "scenarios/detector.h"
#include "scenarios/runner.h"

namespace tlbsim::scenarios {

MemoryEstimate estimate_with_strategy(const ScenarioSpec& s, const iommu::IommuStrategy& iommu) {
  EstimateOptions o;
  switch (iommu.kind) {
    case iommu::IommuStrategyKind::PerPage:
    case iommu::IommuStrategyKind::Cmdq: o.iommu_range_pages = UINT64_MAX; break;
    case iommu::IommuStrategyKind::FullAbove: o.iommu_range_pages = iommu.threshold_pages; break;
    case iommu::IommuStrategyKind::Range:  // at most two aligned blocks per bit of the page count
    case iommu::IommuStrategyKind::Full: o.iommu_range_pages = 128; break;
  }
  return estimate_memory(s, o);
}

ScenarioSweepResult run_scenario_strategy(const ScenarioSpec& s, const kernel::Policy& policy, const kernel::CpuStrategy& cpu,
                                          const iommu::IommuStrategy& iommu, const iommu::CostModel& cost) {
  RunOptions opt;
  opt.cpu_strategy = cpu;
  opt.iommu_strategy = iommu;
  opt.cost = cost;
  const RunResult run = run_scenario(s, policy, opt);
  const DetectorResult d = detect(run);
  ScenarioSweepResult r;
  r.cpu = run.cpu_cost;
  r.iommu = run.iommu_cost;
  r.after_return = d.metric("after-return");
  r.unsafe = sat_add(sat_add(d.metric("freed"), d.metric("reused")), d.metric("table-freed"));
  r.completed = run.status == RunResult::Status::Completed;
  return r;
}

}  // namespace tlbsim::scenarios
