// SPDX-License-Identifier: MIT
#include "support/scenario_dir.h"

#include <catch2/catch.hpp>

#include <algorithm>

#include "kernel/policy.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"

namespace tlbsim::test {

using namespace tlbsim::scenarios;

std::vector<std::filesystem::path> scenario_dir_files(const char* dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(TLBSIM_SOURCE_DIR) / dir))
    if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

size_t check_stated_verdicts(const std::vector<std::filesystem::path>& files) {
  size_t stated = 0;
  for (const auto& path : files)
    for (const ScenarioSpec& s : load_scenario_file(path.string()).scenarios)
      for (const auto& [pol, verdicts] : s.verdicts) {
        INFO(path.filename().string() << ": " << s.name << " under " << pol);
        ExploreOptions eo;
        eo.max_executions = kDefaultExecutionBudget;
        const ExploreResult r = explore_rounds(s, *kernel::find_policy(pol), eo, std::nullopt);
        if (r.invariant) FAIL_CHECK(schedule_text(s, r.invariant->first) << ": " << r.invariant->second);
        for (const VerdictCheck& v : check_verdicts(s, r)) {
          INFO(v.property << ": stated " << to_string(v.stated) << ", found " << to_string(v.found) << " " << v.detail);
          CHECK(v.status == VerdictCheck::Status::Holds);
          ++stated;
        }
      }
  return stated;
}

}  // namespace tlbsim::test
