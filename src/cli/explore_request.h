// SPDX-License-Identifier: MIT
#pragma once
/// What an explore command asks for: its options parsed once, for `tlbsim explore` and for
/// `tlbsim merge`, which re-reads them from the shard files (docs/scale-out.md). The options
/// that shape the result are recorded as the command-line tokens that gave them, so a merge
/// computes exactly what the unsharded command would.
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "scenarios/explore.h"

namespace tlbsim::cli {

/// The options that select the scenarios and shape the search (not outputs, --shard or --jobs).
void add_explore_options(po::options_description& opts);

struct ExploreRequest {
  Selection sel;
  scenarios::ExploreOptions eo;    ///< without jobs, progress, file, deadline and shard
  std::optional<int> preemptions;  ///< --preemptions: one round at this bound
  std::optional<double> seconds;   ///< --budget
};

/// Throws UsageError for a value out of range.
ExploreRequest read_explore_request(const po::variables_map& vm);

/// One scenario under one policy, in the order explore runs them.
struct ExploreJob {
  const scenarios::ScenarioFile* file;
  const scenarios::ScenarioSpec* spec;
  std::string policy;
};
/// Throws UsageError if --scenario names no scenario.
std::vector<ExploreJob> explore_jobs(const std::vector<scenarios::ScenarioFile>& loaded, const Selection& sel);

}  // namespace tlbsim::cli
