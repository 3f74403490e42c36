// SPDX-License-Identifier: MIT
// Valid scenario files on which the model once failed (tests/scenarios/regressions): an
// internal invariant violation, or a deadlock the kernel cannot have. Each scenario must run
// under old and fixed with every model invariant checked after each step (`tlbsim run --check`),
// under its own schedule and random ones; a random sample of `tlbsim explore` must meet no
// invariant violation; and where the file states verdicts, the search `tlbsim explore` makes
// (the default budget) must establish every one of them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "kernel/policy.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "scenarios/rng.h"
#include "scenarios/runner.h"
#include "support/valid_soak.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

std::vector<std::filesystem::path> regression_files() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(TLBSIM_SOURCE_DIR) / "tests/scenarios/regressions"))
    if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

constexpr uint64_t kRandomRuns = 20;
constexpr uint64_t kExploreSample = 300;

}  // namespace

TEST_CASE("every regression scenario runs with every invariant checked, under its own and random schedules", "[scenarios][regressions]") {
  const std::vector<std::filesystem::path> files = regression_files();
  REQUIRE_FALSE(files.empty());
  for (const auto& path : files)
    for (const ScenarioSpec& s : load_scenario_file(path.string()).scenarios)
      for (const char* pol : {"old", "fixed"})
        for (uint64_t seed = 0; seed <= kRandomRuns; ++seed) {
          INFO(path.filename().string() << ": " << s.name << " under " << pol << ", seed " << seed);
          RunResult r;
          CHECK_NOTHROW(r = test::run_checked(s, *kernel::find_policy(pol), seed));
          CHECK(r.status != RunResult::Status::Deadlock);
        }
}

TEST_CASE("a random sample of every regression scenario's schedules meets no model invariant violation",
          "[scenarios][regressions][explore]") {
  for (const auto& path : regression_files())
    for (const ScenarioSpec& s : load_scenario_file(path.string()).scenarios)
      for (const char* pol : {"old", "fixed"}) {
        INFO(path.filename().string() << ": " << s.name << " under " << pol);
        ExploreOptions eo;
        eo.mode = ExploreOptions::Mode::Random;
        eo.runs = kExploreSample;
        const ExploreResult r = explore(s, *kernel::find_policy(pol), eo);
        CHECK(r.executions == kExploreSample);
        if (r.invariant) FAIL_CHECK(schedule_text(s, r.invariant->first) << ": " << r.invariant->second);
      }
}

TEST_CASE("tlbsim explore's default search establishes every verdict a regression scenario states", "[scenarios][regressions][explore]") {
  size_t stated = 0;
  for (const auto& path : regression_files())
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
  CHECK(stated > 0);
}
