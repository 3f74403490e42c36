// SPDX-License-Identifier: MIT
#pragma once
/// A folder of scenario files the tests hold to their word (tests/scenarios/regressions,
/// tests/scenarios/kernel-races): its files, and the check that `tlbsim explore`'s default search
/// establishes every verdict they state.
#include <cstddef>
#include <filesystem>
#include <vector>

namespace tlbsim::test {

/// The .json files of `dir` (relative to the source tree), sorted.
std::vector<std::filesystem::path> scenario_dir_files(const char* dir);

/// For each file, scenario and policy with stated verdicts: explore_rounds() with the default
/// execution budget meets no invariant violation and establishes every verdict (Catch checks).
/// Returns how many verdicts were stated.
size_t check_stated_verdicts(const std::vector<std::filesystem::path>& files);

}  // namespace tlbsim::test
