// SPDX-License-Identifier: MIT
#pragma once
/// The plot of `tlbsim sweep --workload FILE.json`: per strategy one bar per policy, the
/// simulated invalidation ns and the refill ns it caused stacked; plain SVG text, deterministic
/// for the same input.
#include <cstdint>
#include <string>
#include <vector>

namespace tlbsim::cli {

struct ScenarioSweepBar {
  std::string strategy, policy;
  uint64_t invalidation_ns = 0, refill_ns = 0;
  bool run = true;  ///< false: left out (over --max-memory), drawn as a label
};

std::string scenario_sweep_svg(const std::string& title, const std::vector<ScenarioSweepBar>& bars);

}  // namespace tlbsim::cli
