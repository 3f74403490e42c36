// SPDX-License-Identifier: MIT
#pragma once
/// What a sweep asks for: its options parsed once, for `tlbsim sweep` and for `tlbsim merge`,
/// which re-reads them from sweep shard files (docs/scale-out.md), and the grid of cells
/// (strategy x range size) the sweep runs, each one batching workload run.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "kernel/flush_strategy.h"
#include "scenarios/batching_workload.h"
#include "scenarios/shard.h"

namespace tlbsim::cli {

/// The options that shape a sweep's result (not outputs or --shard).
void add_sweep_options(po::options_description& opts);

struct SweepRequest {
  std::string workload;                      ///< its name
  std::vector<kernel::Strategy> strategies;  ///< swept, in the order given
  std::vector<uint64_t> sizes;               ///< range sizes in pages, ascending, distinct
  std::string policy;
  kernel::Strategy cpu_base, iommu_base;  ///< each side's strategy while the other is swept
  bool no_ats = false;
  std::optional<std::string> costs_file;
  /// Every cell's parameters but the range size and strategies.
  scenarios::WorkloadParams base;
};

/// Throws UsageError for a value out of range or an unknown name; ScenarioError for a bad
/// --costs file.
SweepRequest read_sweep_request(const po::variables_map& vm);

/// The strategies a sweep runs (--strategies, or every side's main ones) and each side's
/// strategy while the other is swept (--cpu-base, --iommu-base). Throws UsageError.
struct SweepStrategies {
  std::vector<kernel::Strategy> strategies;
  kernel::Strategy cpu_base, iommu_base;
  /// The CPU and IOMMU strategies in force while `s` is swept.
  std::pair<kernel::CpuStrategy, iommu::IommuStrategy> in_force(const kernel::Strategy& s) const;
};
SweepStrategies read_sweep_strategies(const po::variables_map& vm);

/// One run of the grid: strategy `strategy` (an index into SweepRequest::strategies) at `pages`.
struct SweepCell {
  size_t strategy = 0;
  uint64_t pages = 0;
};

/// The grid in the order sweep prints it: strategy by strategy, sizes ascending.
std::vector<SweepCell> sweep_cells(const SweepRequest& rq);

/// The workload parameters of one cell.
scenarios::WorkloadParams cell_params(const SweepRequest& rq, const SweepCell& c);

/// An estimate of each cell's run size, by which deal_to_shard() gives a shard its cells: a
/// function of the options only, so the assignment is one of the options and the shard count.
std::vector<uint64_t> cell_estimates(const SweepRequest& rq, const std::vector<SweepCell>& cells);

}  // namespace tlbsim::cli
