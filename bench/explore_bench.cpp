// SPDX-License-Identifier: MIT
// Interleaving exploration (src/scenarios/explore.cpp) over every bundled scenario under old and
// fixed, at the preemption bound `tlbsim explore` uses by default (the scenario's own, else 2).
//
//   BM_Explore/<scenario>/<policy>            one complete exploration per iteration
//   BM_ExploreUnbounded/<scenario>/<policy>   the same with no preemption bound, for the bundled
//                                             scenarios small enough to exhaust (docs/explore.md)
//
// Counters: executions = executions explored; naive = interleavings plain enumeration would run
// (multinomial of the per-thread step counts of the least execution); reduction = naive /
// executions; naive_bounded = those with at most as many preemptions as the exploration allowed
// (what plain enumeration under the same bound would run; 0 if too many to count) and
// reduction_bounded = naive_bounded / executions; execs_per_s = executions per second of wall time.
#include <benchmark/benchmark.h>

#include <string>

#include "kernel/policy.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"

namespace {

using namespace tlbsim;
using namespace tlbsim::scenarios;

const ScenarioFile& bundled() {
  static const ScenarioFile f = load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  return f;
}

void BM_Explore(benchmark::State& state, const ScenarioSpec* s, const kernel::Policy* p, int preemptions) {
  ExploreOptions eo;
  eo.preemptions = preemptions;
  ExploreResult r;
  for (auto _ : state) {
    r = explore(*s, *p, eo);
    benchmark::DoNotOptimize(r.executions);
  }
  state.counters["executions"] = static_cast<double>(r.executions);
  state.counters["naive"] = r.naive_interleavings;
  state.counters["reduction"] = r.executions ? r.naive_interleavings / static_cast<double>(r.executions) : 0.0;
  state.counters["naive_bounded"] = r.naive_bounded;
  state.counters["reduction_bounded"] = r.executions ? r.naive_bounded / static_cast<double>(r.executions) : 0.0;
  state.counters["execs_per_s"] =
      benchmark::Counter(static_cast<double>(r.executions) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

const bool kRegistered = [] {
  for (const ScenarioSpec& s : bundled().scenarios)
    for (const char* pol : {"old", "fixed"})
      benchmark::RegisterBenchmark(("BM_Explore/" + s.name + "/" + pol).c_str(), BM_Explore, &s, kernel::find_policy(pol), preemption_bound(s, std::nullopt))
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1);
  for (const ScenarioSpec& s : bundled().scenarios)
    if (s.name == "khugepaged-retract-file-table" || s.name == "smmu-permission-upgrade-livelock" ||
        s.name == "fork-cow-device-write" || s.name == "migrate-device-write")
      for (const char* pol : {"old", "fixed"})
        benchmark::RegisterBenchmark(("BM_ExploreUnbounded/" + s.name + "/" + pol).c_str(), BM_Explore, &s, kernel::find_policy(pol), -1)
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1);
  return true;
}();

}  // namespace
