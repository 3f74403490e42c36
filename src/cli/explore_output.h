// SPDX-License-Identifier: MIT
#pragma once
/// What `tlbsim explore` prints and writes with --json for a list of results, in order; `tlbsim
/// merge` renders shards' merged results with the same code, so the bytes are the same.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "scenarios/explore.h"

namespace tlbsim::cli {

class ExploreOutput {
 public:
  /// The result of `s` (from `file`) under r.policy; `budget`: --budget-executions (0: none).
  void add(const std::string& file, const scenarios::ScenarioSpec& s, const scenarios::ExploreResult& r, uint64_t budget);
  /// The report, with the count of stated verdicts that disagree or are not established.
  std::string text() const;
  /// The --json document.
  std::string json() const;
  /// 1 (kExitExpectation) when a stated verdict disagrees, else 0.
  int exit_status() const;

 private:
  std::string m_text;
  nlohmann::ordered_json m_results = nlohmann::ordered_json::array();
  size_t m_disagree = 0, m_unestablished = 0;
};

}  // namespace tlbsim::cli
