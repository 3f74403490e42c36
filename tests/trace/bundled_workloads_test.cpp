// SPDX-License-Identifier: MIT
// The recordings in bench/workloads/, imported as `tlbsim import --device busiest` does and
// replayed on their recorded schedule: the model's state stays within 32 bytes per page the
// program had mapped (issue: real workloads), under both policies. The figure is deterministic
// (PhysMem::peak_state_bytes()); BM_Replay reports it beside the times.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "kernel/policy.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"
#include "trace/import.h"
#include "trace/trace_file.h"

namespace tlbsim {
namespace {

namespace fs = std::filesystem;

TEST_CASE("every bundled workload replays within 32 bytes of model state per mapped page", "[trace]") {
  const std::string name = GENERATE("cxx-compile", "git-log", "python-json", "sh-forks", "xz-threads");
  const std::string policy = GENERATE("old", "fixed");
  const fs::path path = fs::path(TLBSIM_SOURCE_DIR) / "bench" / "workloads" / (name + ".trace");
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  uint64_t unreadable = 0;
  const trace::Trace tr = trace::read_trace(text.str(), 1, &unreadable);
  REQUIRE(unreadable == 0);
  trace::ImportOptions opt;
  opt.name = name;
  opt.device = trace::ImportOptions::Device::Busiest;
  const trace::ImportResult r = trace::import_trace(tr.records, opt, tr.faults);
  const scenarios::ScenarioFile file = scenarios::parse_scenario_text(r.document.dump(), name + ".json");
  const scenarios::RunResult run = scenarios::run_scenario(file.scenarios.at(0), *kernel::find_policy(policy), {});
  REQUIRE(run.status == scenarios::RunResult::Status::Completed);
  REQUIRE(r.summary.peak_mapped_pages > 0);
  INFO(name << " under " << policy << ": " << run.state_bytes << " bytes for " << r.summary.peak_mapped_pages << " mapped pages");
  CHECK(run.state_bytes <= 32 * r.summary.peak_mapped_pages);
}

}  // namespace
}  // namespace tlbsim
