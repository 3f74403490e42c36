// SPDX-License-Identifier: MIT
#pragma once
/// Scenario files: read, check every field and every cross-reference, and either return a spec
/// that can run or throw ScenarioError with all the problems of the file at once.
#include <cstdint>
#include <string>

#include "scenarios/errors.h"
#include "scenarios/memory_estimate.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// What a scenario may need, checked before anything is built (memory_estimate.h).
struct LoadLimits {
  /// `--max-memory`: the estimate of one run's memory, in MiB.
  uint64_t max_memory_mib = kDefaultMaxMemoryMib;
};

/// Load and validate `path`. Throws ScenarioError (exit status 2 in the CLI).
ScenarioFile load_scenario_file(const std::string& path, const LoadLimits& limits = {});
/// The same for text already in memory (tests, fuzzers); `path` names it in messages.
ScenarioFile parse_scenario_text(const std::string& text, const std::string& path, const LoadLimits& limits = {});

}  // namespace tlbsim::scenarios
