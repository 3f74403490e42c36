// SPDX-License-Identifier: MIT
// Scenario files on which the kernel source the model follows hangs (tests/scenarios/kernel-races):
// each one's own schedule must end in a deadlock under every policy, with every model invariant
// checked after each step, and `tlbsim explore`'s default search must establish the verdicts it
// states. A model change that makes one complete has removed a behaviour of the kernel, or the
// kernel's race was misread: either way the file's description must be revisited.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include "kernel/policy.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"
#include "support/scenario_dir.h"
#include "support/valid_soak.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

std::vector<std::filesystem::path> race_files() { return test::scenario_dir_files("tests/scenarios/kernel-races"); }

// Where each file's hang leaves a thread waiting (the kernel function its README names). A deadlock
// elsewhere is some other hang, model or kernel, and the file's claim no longer holds. A new file
// needs a row here.
const std::map<std::string, std::string>& race_wait_sites() {
  static const std::map<std::string, std::string> sites{
      {"migrate-vma-in-ksm-null-stable-node-window.json", "migration_entry_wait"},
  };
  return sites;
}

bool a_thread_waits_at(const RunResult& r, const std::string& site) {
  return std::any_of(r.threads.begin(), r.threads.end(), [&](const ThreadOutcome& t) { return !t.done && t.next.rfind(site, 0) == 0; });
}

}  // namespace

TEST_CASE("every kernel-race scenario's own schedule ends in a deadlock at the hang its file names, with every invariant checked",
          "[scenarios][kernel-races]") {
  const std::vector<std::filesystem::path> files = race_files();
  REQUIRE_FALSE(files.empty());
  for (const auto& path : files) {
    INFO(path.filename().string());
    const auto site = race_wait_sites().find(path.filename().string());
    REQUIRE(site != race_wait_sites().end());
    for (const ScenarioSpec& s : load_scenario_file(path.string()).scenarios)
      for (const char* pol : {"old", "fixed"}) {
        INFO(s.name << " under " << pol);
        RunResult r;
        CHECK_NOTHROW(r = test::run_checked(s, *kernel::find_policy(pol), 0));
        CHECK(r.status == RunResult::Status::Deadlock);
        CHECK(a_thread_waits_at(r, site->second));
      }
  }
}

TEST_CASE("tlbsim explore's default search establishes every verdict a kernel-race scenario states",
          "[scenarios][kernel-races][explore][heavy]") {
  CHECK(test::check_stated_verdicts(race_files()) > 0);
}
