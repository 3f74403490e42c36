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
#include "support/scenario_dir.h"
#include "support/valid_soak.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

std::vector<std::filesystem::path> regression_files() { return test::scenario_dir_files("tests/scenarios/regressions"); }

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
  CHECK(test::check_stated_verdicts(regression_files()) > 0);
}
