// SPDX-License-Identifier: MIT
// Real programs replayed: each recording in bench/workloads/ (tlbsim record; how each was made is
// in bench/workloads/README.md) is imported once as `tlbsim import --device busiest` does (an SVA
// device bound to the process that touched the most pages, mirroring its touches), and each
// iteration runs that scenario on its recorded schedule under one policy and runs the detector
// over it.
//
//   BM_Replay/<workload>/<policy>
//
// Counters (the run is deterministic): syscalls (calls read from the trace), faults (page faults
// read), ops and steps of the scenario, cpu_flushes, commands (IOMMU + ATC invalidations),
// syncs, sim_ns (simulated invalidation + refill ns), after_return (windows open after their
// op returned), recorded_ms (the program's run time under strace and perf, first to last traced
// event), wall_ratio (one replay's wall time / recorded_ms: below 1, the replay is faster than
// the program was), frames_peak (frames the machine held at most: data and page-table pages),
// bytes_per_frame (PhysMem::state_bytes() / frames_peak: the model's memory per page it holds,
// table bodies and the spare slots of the last block of frames included), mapped_pages (the most pages the
// program had mapped at once, as the import saw them) and bytes_per_mapped_page (state bytes per
// simulated mapped page: what the model costs per page of the program's address space).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kernel/policy.h"
#include "scenarios/detector.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"
#include "trace/import.h"
#include "trace/trace_file.h"

namespace tlbsim {
namespace {

namespace fs = std::filesystem;

const fs::path kWorkloads = fs::path(TLBSIM_SOURCE_DIR) / "bench" / "workloads";

struct Replay {
  trace::ImportSummary summary;
  scenarios::ScenarioFile file;
};

/// The workload's scenario, imported on first use (a benchmark function runs several times).
const Replay& replay(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Replay>> cache;
  auto& slot = cache[name];
  if (!slot) {
    std::ifstream in(kWorkloads / (name + ".trace"), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    uint64_t unreadable = 0;
    const trace::Trace tr = trace::read_trace(text.str(), 1, &unreadable);
    if (unreadable) throw std::runtime_error(name + ": " + std::to_string(unreadable) + " unreadable lines");
    trace::ImportOptions opt;
    opt.name = name;
    opt.device = trace::ImportOptions::Device::Busiest;
    trace::ImportResult r = trace::import_trace(tr.records, opt, tr.faults);
    slot =
        std::make_unique<Replay>(Replay{.summary = r.summary, .file = scenarios::parse_scenario_text(r.document.dump(), name + ".json")});
  }
  return *slot;
}

void BM_Replay(benchmark::State& state, const std::string& name, const std::string& policy) {
  const Replay* rp = nullptr;
  try {
    rp = &replay(name);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const scenarios::ScenarioSpec& s = rp->file.scenarios.at(0);
  scenarios::RunResult r;
  uint64_t after_return = 0;
  double wall_ns = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    r = scenarios::run_scenario(s, *kernel::find_policy(policy), {});
    after_return = scenarios::detect(r).metric("after-return");
    wall_ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  }
  if (r.status != scenarios::RunResult::Status::Completed) state.SkipWithError("the replay did not complete");
  const double iterations = std::max<double>(1, double(state.iterations()));
  state.counters["syscalls"] = double(rp->summary.records);
  state.counters["faults"] = double(rp->summary.faults);
  state.counters["ops"] = double(rp->summary.ops);
  state.counters["steps"] = double(r.steps);
  state.counters["cpu_flushes"] = double(r.cpu_cost.cpu_flushes);
  state.counters["commands"] = double(r.iommu_cost.iommu_commands + r.iommu_cost.atc_commands);
  state.counters["syncs"] = double(r.iommu_cost.syncs);
  state.counters["sim_ns"] = double(r.cpu_cost.cpu_flush_ns + r.iommu_cost.iommu_ns + r.iommu_cost.refill_ns);
  state.counters["after_return"] = double(after_return);
  state.counters["recorded_ms"] = double(s.recorded_ns) / 1e6;
  state.counters["wall_ratio"] = s.recorded_ns ? wall_ns / iterations / double(s.recorded_ns) : 0;
  state.counters["frames_peak"] = double(r.frames_peak);
  state.counters["bytes_per_frame"] = r.frames_peak ? double(r.state_bytes) / double(r.frames_peak) : 0;
  state.counters["mapped_pages"] = double(rp->summary.peak_mapped_pages);
  state.counters["bytes_per_mapped_page"] =
      rp->summary.peak_mapped_pages ? double(r.state_bytes) / double(rp->summary.peak_mapped_pages) : 0;
}

[[maybe_unused]] const int kRegistered = [] {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kWorkloads, ec))
    if (e.path().extension() == ".trace") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  for (const std::string& n : names)
    for (const char* policy : {"old", "fixed"})
      benchmark::RegisterBenchmark(("BM_Replay/" + n + "/" + policy).c_str(), BM_Replay, n, std::string(policy))
          ->Unit(benchmark::kMillisecond);
  return 0;
}();

}  // namespace
}  // namespace tlbsim
