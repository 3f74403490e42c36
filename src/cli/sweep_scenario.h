// SPDX-License-Identifier: MIT
#pragma once
/// `tlbsim sweep --workload FILE.json`: a scenario (a recorded program's import) run under each
/// invalidation strategy and policy, one table row each (docs/workloads.md).
#include <string>

#include "cli/cli_common.h"

namespace tlbsim::cli {

/// Whether --workload names a scenario file rather than a built-in workload: it ends in ".json".
bool is_scenario_workload(const std::string& workload);

/// The whole sweep of a scenario file; returns the exit status. Throws UsageError for options
/// that only a range sweep takes (--sizes, --svg, --shard), ScenarioError for a bad file.
int sweep_scenario_workload(const po::variables_map& vm);

}  // namespace tlbsim::cli
