// SPDX-License-Identifier: MIT
#pragma once
/// Reports are pure functions of run results: a terminal table per scenario and policy with
/// the worst window told as a story in kernel terms, and the same data as JSON.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenarios/detector.h"
#include "scenarios/runner.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

struct ExpectationCheck {
  std::string metric;  ///< the expectation's key: a metric, or an op's outcome ("T1:op 2:errno")
  Bound bound;
  uint64_t actual = 0;
  bool holds = false;
  /// The actual value as the bound is written: a count, or an errno's name ("none" for 0).
  std::string actual_text() const {
    return bound.is_errno ? Bound{.op = Bound::Op::Eq, .value = actual, .is_errno = true}.text() : std::to_string(actual);
  }
};

struct PolicyOutcome {
  RunResult run;
  DetectorResult det;
  std::vector<ExpectationCheck> checks;
  bool expected = false;  ///< the scenario states expectations for this policy
  bool pass() const;
};

struct ScenarioOutcome {
  const ScenarioSpec* spec = nullptr;
  std::vector<PolicyOutcome> policies;
};

/// Judge one run against the scenario's expectations for its policy.
PolicyOutcome judge(const ScenarioSpec& s, RunResult run);

/// The worst window as a short story in kernel terms (lines without trailing newline).
std::vector<std::string> witness_story(const PolicyOutcome& o);

std::string text_report(const std::string& file, const std::vector<ScenarioOutcome>& outcomes);
nlohmann::ordered_json json_report(const std::string& file, const std::vector<ScenarioOutcome>& outcomes);

/// True when every judged run met its expectations and completed.
bool all_pass(const std::vector<ScenarioOutcome>& outcomes);

}  // namespace tlbsim::scenarios
