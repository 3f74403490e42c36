// SPDX-License-Identifier: MIT
#include "cli/sweep_scenario.h"

#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/output_set.h"
#include "cli/sweep_request.h"
#include "cli/sweep_scenario_svg.h"
#include "model/saturating.h"
#include "scenarios/costs.h"
#include "scenarios/loader.h"
#include "scenarios/memory_estimate.h"
#include "scenarios/scenario_sweep.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

struct Row {
  std::string strategy, policy;
  ScenarioSweepResult r;
  /// Not run: the strategy's estimate is over --max-memory (this many bytes).
  uint64_t refused_bytes = 0;
};

/// IOMMU and ATC invalidation commands per second of the program's recorded run time (the
/// scenario's recorded_ns), as text with one decimal; empty when the scenario has no recording.
std::string per_recorded_second(const ScenarioSweepResult& r, uint64_t recorded_ns) {
  if (recorded_ns == 0) return "";
  const double commands = static_cast<double>(r.iommu.iommu_commands) + static_cast<double>(r.iommu.atc_commands);
  char out[64];
  std::snprintf(out, sizeof out, "%.1f", commands * 1e9 / static_cast<double>(recorded_ns));
  return out;
}

std::string csv(const std::vector<Row>& rows, uint64_t recorded_ns) {
  std::string out =
      "strategy,policy,cpu_flushes,cpu_flush_ns,iommu_commands,atc_commands,syncs,iommu_ns,iotlb_misses,atc_misses,refill_ns,"
      "invalidation_ns,total_ns,after_return_windows,unsafe_windows,completed,invalidations_per_recorded_s\n";
  for (const Row& x : rows) {
    const ScenarioSweepResult& r = x.r;
    if (x.refused_bytes) {
      out += x.strategy + "," + x.policy + ",,,,,,,,,,,,,,not run: needs an estimated " + std::to_string(x.refused_bytes) + " bytes,\n";
      continue;
    }
    out += x.strategy + "," + x.policy + "," + std::to_string(r.cpu.cpu_flushes) + "," + std::to_string(r.cpu.cpu_flush_ns) + "," +
           std::to_string(r.iommu.iommu_commands) + "," + std::to_string(r.iommu.atc_commands) + "," + std::to_string(r.iommu.syncs) + "," +
           std::to_string(r.iommu.iommu_ns) + "," + std::to_string(r.iommu.iotlb_misses) + "," + std::to_string(r.iommu.atc_misses) + "," +
           std::to_string(r.iommu.refill_ns) + "," + std::to_string(r.invalidation_ns()) + "," + std::to_string(r.total_ns()) + "," +
           std::to_string(r.after_return) + "," + std::to_string(r.unsafe) + "," + (r.completed ? "yes" : "no") + "," +
           per_recorded_second(r, recorded_ns) + "\n";
  }
  return out;
}

std::string text(const std::string& file, const ScenarioSpec& s, const std::vector<Row>& rows) {
  std::string out = "sweep of " + file + " (scenario " + s.name + "): each strategy on the scenario's own schedule\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-22s %-6s %9s %9s %9s %9s %12s %12s %12s %8s %7s %10s\n", "strategy", "policy", "cpu flush",
                "iommu cmd", "atc inv", "syncs", "inv ns", "refill ns", "total ns", "after-rt", "unsafe", "inv/rec s");
  out += line;
  for (const Row& x : rows) {
    const ScenarioSweepResult& r = x.r;
    if (x.refused_bytes) {
      std::snprintf(line, sizeof line, "%-22s %-6s not run: needs an estimated %s, over --max-memory\n", x.strategy.c_str(),
                    x.policy.c_str(), format_bytes(x.refused_bytes).c_str());
      out += line;
      continue;
    }
    const std::string rate = per_recorded_second(r, s.recorded_ns);
    std::snprintf(line, sizeof line, "%-22s %-6s %9llu %9llu %9llu %9llu %12llu %12llu %12llu %8llu %7llu %10s%s\n", x.strategy.c_str(),
                  x.policy.c_str(), static_cast<unsigned long long>(r.cpu.cpu_flushes),
                  static_cast<unsigned long long>(r.iommu.iommu_commands), static_cast<unsigned long long>(r.iommu.atc_commands),
                  static_cast<unsigned long long>(r.iommu.syncs), static_cast<unsigned long long>(r.invalidation_ns()),
                  static_cast<unsigned long long>(r.iommu.refill_ns), static_cast<unsigned long long>(r.total_ns()),
                  static_cast<unsigned long long>(r.after_return), static_cast<unsigned long long>(r.unsafe),
                  rate.empty() ? "-" : rate.c_str(), r.completed ? "" : "  (did not complete)");
    out += line;
  }
  out +=
      "after-rt: windows open after the op that made them stale returned; unsafe: windows open past the free of their\n"
      "frame or table (freed, reused, table-freed); inv/rec s: IOMMU and ATC invalidation commands per second of the\n"
      "program's recorded run time (the scenario's recorded_ns; -: not a recording). Costs in simulated ns (docs/cost-model.md).\n";
  return out;
}

}  // namespace

bool is_scenario_workload(const std::string& workload) {
  return workload.size() > 5 && workload.compare(workload.size() - 5, 5, ".json") == 0;
}

int sweep_scenario_workload(const po::variables_map& vm) {
  for (const char* only : {"sizes", "shard", "json"})
    if (vm.count(only))
      throw UsageError(std::string("--") + only +
                       " is for a sweep over range sizes; a scenario workload runs at its own sizes (use --csv or --svg)");
  const std::string file = vm["workload"].as<std::string>();
  std::vector<NamedPath> inputs{{"--workload scenario file", file}};
  if (vm.count("costs")) inputs.push_back(NamedPath{"--costs file", vm["costs"].as<std::string>()});
  OutputSet outputs(inputs, named_outputs(vm, {"csv", "svg"}));
  const SweepStrategies st = read_sweep_strategies(vm);
  const std::vector<std::string> policies =
      vm["policy"].defaulted() ? std::vector<std::string>{"old", "fixed"} : resolve_policies({vm["policy"].as<std::string>()});
  const LoadLimits limits = read_limits(vm);
  const ScenarioFile f = load_scenario_file(file, limits);
  if (f.scenarios.size() != 1)
    throw UsageError("--workload " + file + ": a scenario workload file holds one scenario, this one holds " +
                     std::to_string(f.scenarios.size()));
  const ScenarioSpec& s = f.scenarios[0];
  const iommu::CostModel cost = vm.count("costs") ? load_costs_file(vm["costs"].as<std::string>()) : s.cost;
  std::vector<Row> rows;
  for (const kernel::Strategy& strategy : st.strategies)
    for (const std::string& p : policies) {
      const auto [cpu, iommu] = st.in_force(strategy);
      // A strategy that sends a command per page of every range may need far more than the
      // scenario's own decodings: such a run is left out, not begun (docs/workloads.md).
      const MemoryEstimate need = estimate_with_strategy(s, iommu);
      if (need.bytes > sat_mul(limits.max_memory_mib, uint64_t{1} << 20)) {
        rows.push_back(Row{.strategy = strategy.label, .policy = p, .r = {}, .refused_bytes = need.bytes});
        continue;
      }
      rows.push_back(
          Row{.strategy = strategy.label, .policy = p, .r = run_scenario_strategy(s, *kernel::find_policy(p), cpu, iommu, cost)});
    }
  if (vm.count("csv")) outputs.set("--csv", csv(rows, s.recorded_ns));
  if (vm.count("svg")) {
    std::vector<ScenarioSweepBar> bars;
    for (const Row& x : rows)
      bars.push_back(ScenarioSweepBar{.strategy = x.strategy,
                                      .policy = x.policy,
                                      .invalidation_ns = x.r.invalidation_ns(),
                                      .refill_ns = x.r.iommu.refill_ns,
                                      .run = x.refused_bytes == 0});
    outputs.set("--svg", scenario_sweep_svg("tlbsim sweep of " + file + " (scenario " + s.name + ")", bars));
  }
  outputs.commit();
  std::cout << text(file, s, rows);
  return kExitOk;
}

}  // namespace tlbsim::cli
