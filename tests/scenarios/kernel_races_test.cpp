// SPDX-License-Identifier: MIT
// Scenario files on which the kernel source the model follows hangs (tests/scenarios/kernel-races):
// each one's own schedule must end in a deadlock under every policy, with every model invariant
// checked after each step, and `tlbsim explore`'s default search must establish the verdicts it
// states. A model change that makes one complete has removed a behaviour of the kernel, or the
// kernel's race was misread: either way the file's description must be revisited.
#include <catch2/catch.hpp>

#include <filesystem>

#include "kernel/policy.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"
#include "support/scenario_dir.h"
#include "support/valid_soak.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

std::vector<std::filesystem::path> race_files() { return test::scenario_dir_files("tests/scenarios/kernel-races"); }

}  // namespace

TEST_CASE("every kernel-race scenario's own schedule ends in a deadlock, with every invariant checked", "[scenarios][kernel-races]") {
  const std::vector<std::filesystem::path> files = race_files();
  REQUIRE_FALSE(files.empty());
  for (const auto& path : files)
    for (const ScenarioSpec& s : load_scenario_file(path.string()).scenarios)
      for (const char* pol : {"old", "fixed"}) {
        INFO(path.filename().string() << ": " << s.name << " under " << pol);
        RunResult r;
        CHECK_NOTHROW(r = test::run_checked(s, *kernel::find_policy(pol), 0));
        CHECK(r.status == RunResult::Status::Deadlock);
      }
}

TEST_CASE("tlbsim explore's default search establishes every verdict a kernel-race scenario states", "[scenarios][kernel-races][explore]") {
  CHECK(test::check_stated_verdicts(race_files()) > 0);
}
