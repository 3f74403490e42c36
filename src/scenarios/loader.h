// SPDX-License-Identifier: MIT
#pragma once
/// Scenario files: read, check every field and every cross-reference, and either return a spec
/// that can run or throw ScenarioError with all the problems of the file at once.
#include <string>

#include "scenarios/errors.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// Load and validate `path`. Throws ScenarioError (exit status 2 in the CLI).
ScenarioFile load_scenario_file(const std::string& path);
/// The same for text already in memory (tests, fuzzers); `path` names it in messages.
ScenarioFile parse_scenario_text(const std::string& text, const std::string& path);

}  // namespace tlbsim::scenarios
