// SPDX-License-Identifier: MIT
#pragma once
/// What one fuzz input does, shared by the libFuzzer targets and the regression test that
/// replays tests/scenarios/fuzz/ in the ordinary test suite.
#include <cstdint>
#include <string>

#include "kernel/policy.h"
#include "scenarios/errors.h"
#include "scenarios/loader.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"

namespace tlbsim::fuzz {

/// Caps that keep one run input to milliseconds.
constexpr uint64_t kMaxSteps = 2000;
constexpr uint64_t kMaxPages = 1024;  ///< per VMA, file and op
constexpr uint64_t kMaxEntries = 4096;
constexpr size_t kMaxRunInput = 4096;  ///< bytes

/// Loader and validator only. Bad input ends in ScenarioError, which is the expected outcome;
/// returns whether the text loaded.
inline bool load_input(const std::string& text, scenarios::ScenarioFile& out) {
  try {
    out = scenarios::parse_scenario_text(text, "fuzz.json");
    return true;
  } catch (const scenarios::ScenarioError&) {
    return false;
  }
}

/// Within the caps (max_steps aside, which run_input lowers).
inline bool small_enough(const scenarios::ScenarioSpec& s) {
  if (s.cpus > 16 || s.tlb_entries > kMaxEntries) return false;
  for (const auto& d : s.devices)
    if (d.atc_entries > kMaxEntries || d.iotlb_entries > kMaxEntries || d.walk_cache_entries > kMaxEntries) return false;
  for (const auto& f : s.files)
    if (f.pages > kMaxPages) return false;
  for (const auto& m : s.mms)
    for (const auto& v : m.vmas)
      if (v.pages > kMaxPages) return false;
  for (const auto& t : s.threads)
    for (const auto& o : t.ops)
      if (o.pages > kMaxPages) return false;
  return true;
}

/// Load, then run every scenario within the caps under `old` and `fixed` with every invariant
/// check on, and judge it. max_steps is lowered to kMaxSteps (the run then ends on its step
/// budget, as the CLI would with that budget). A schedule that cannot be followed ends in
/// ScenarioError, which is bad input; an InvariantViolation or any other exception propagates.
/// Returns the number of runs.
inline int run_input(const std::string& text) {
  if (text.size() > kMaxRunInput) return 0;
  scenarios::ScenarioFile f;
  if (!load_input(text, f)) return 0;
  int runs = 0;
  for (scenarios::ScenarioSpec& s : f.scenarios) {
    if (s.max_steps > kMaxSteps) s.max_steps = kMaxSteps;
    if (!small_enough(s)) continue;
    for (const char* p : {"old", "fixed"}) {
      try {
        (void)scenarios::judge(s, scenarios::run_scenario(s, *kernel::find_policy(p), {.check_invariants = true, .file = f.path}));
      } catch (const scenarios::ScenarioError&) {
        // A schedule that cannot be followed: bad input, exit status 2 in the CLI.
      }
      ++runs;
    }
  }
  return runs;
}

}  // namespace tlbsim::fuzz
